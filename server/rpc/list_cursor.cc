#include "server/rpc/list_cursor.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "server/common/str_cat.h"

namespace wasikv {
namespace {

constexpr char kCursorFormat = 0x02;
// A varint of a key length: 7 bits a byte.
constexpr size_t kMaxVarintBytes = 5;

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Reads a varint from the front of `in`; false if it is cut short or too long.
bool ConsumeVarint(std::string_view* in, uint64_t* value) {
  *value = 0;
  for (size_t i = 0; i < in->size() && i < kMaxVarintBytes; ++i) {
    const auto byte = static_cast<uint8_t>((*in)[i]);
    *value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if (byte < 0x80) {
      in->remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

absl::Status Malformed(std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(
      StrCat(field, ": malformed cursor (", why,
             "); pass back next_cursor from the previous page unchanged, or empty to start"));
}

}  // namespace

std::string EncodeListCursor(std::string_view prefix, std::string_view last_key) {
  std::string raw;
  raw.reserve(1 + kMaxVarintBytes + last_key.size());
  raw.push_back(kCursorFormat);
  AppendVarint(prefix.size(), &raw);
  raw.append(last_key);
  std::string out;
  absl::WebSafeBase64Escape(raw, &out);
  return out;
}

absl::StatusOr<std::string> DecodeListCursor(std::string_view field, std::string_view cursor,
                                             std::string_view prefix, size_t max_key_bytes) {
  // 4 base64 characters per 3 bytes of format byte, varint and key.
  if (cursor.size() > (1 + kMaxVarintBytes + max_key_bytes + 2) / 3 * 4) {
    return Malformed(field, "too long");
  }
  std::string raw;
  if (!absl::WebSafeBase64Unescape(std::string(cursor), &raw)) {
    return Malformed(field, "not base64url");
  }
  std::string_view rest(raw);
  if (rest.empty() || rest.front() != kCursorFormat) return Malformed(field, "unknown format");
  rest.remove_prefix(1);
  uint64_t prefix_size = 0;
  if (!ConsumeVarint(&rest, &prefix_size) || rest.empty() || prefix_size > rest.size()) {
    return Malformed(field, "bad length");
  }
  // The length check above is in base64 characters, which round up.
  if (rest.size() > max_key_bytes) return Malformed(field, "too long");
  if (prefix_size != prefix.size() || rest.compare(0, prefix.size(), prefix) != 0) {
    return absl::InvalidArgumentError(
        StrCat(field,
               ": cursor belongs to a listing with another prefix; "
               "a cursor is only valid with the prefix it was returned for"));
  }
  return std::string(rest);
}

}  // namespace wasikv
