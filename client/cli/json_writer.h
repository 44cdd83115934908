// JsonWriter builds the CLI's --json output: compact JSON, one document per
// line, always valid UTF-8.
//
// Bytes fields (values) that are valid UTF-8 are written as JSON strings.
// Any other bytes are written base64-encoded, with a sibling field
// "<name>_encoding": "base64" saying so; the flag is absent for text. Keys and
// bucket names are UTF-8 by the server's contract and are always plain
// strings.
//
// Not thread-safe. The caller keeps the structure balanced; the writer only
// places commas and escapes.
#ifndef WASIKV_CLIENT_CLI_JSON_WRITER_H_
#define WASIKV_CLIENT_CLI_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wasikv::cli {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();

  // The name of the next member of the current object.
  JsonWriter& Key(std::string_view name);

  // Text. Bytes that are not valid UTF-8 become U+FFFD; use BytesMember for
  // data that may be binary.
  JsonWriter& String(std::string_view text);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Int(int64_t value);
  // Six significant digits; null for NaN and infinities.
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  // Shorthands for a member of the current object.
  JsonWriter& Member(std::string_view name, std::string_view text) {
    return Key(name).String(text);
  }
  JsonWriter& Member(std::string_view name, const char* text) { return Key(name).String(text); }
  JsonWriter& Member(std::string_view name, uint64_t value) { return Key(name).Uint(value); }
  JsonWriter& Member(std::string_view name, int64_t value) { return Key(name).Int(value); }
  JsonWriter& Member(std::string_view name, bool value) { return Key(name).Bool(value); }
  JsonWriter& Member(std::string_view name, double value) { return Key(name).Double(value); }
  // `name`: the bytes as a string if valid UTF-8, else base64 plus
  // `name`_encoding: "base64" (see the file comment).
  JsonWriter& BytesMember(std::string_view name, std::string_view bytes);

  // The text written since the last Take(), so long outputs can be streamed
  // while the document is still open.
  std::string Take();

 private:
  // Writes the comma before a value or member, if one is due.
  void Separate();

  std::string out_;
  // One entry per open object or array: does the next element need a comma.
  std::vector<bool> needs_comma_;
  bool after_key_ = false;
};

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_JSON_WRITER_H_
