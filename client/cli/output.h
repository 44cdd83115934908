// Output: where a command's results and diagnostics go. Results go to
// standard output, raw or as JSON (one document per line); errors and notes
// go to standard error, prefixed "wasikv: ".
//
// Not thread-safe: one command writes at a time. Borrows the FILE streams.
#ifndef WASIKV_CLIENT_CLI_OUTPUT_H_
#define WASIKV_CLIENT_CLI_OUTPUT_H_

#include <cstdio>
#include <string_view>

#include "absl/status/status.h"
#include "client/cli/json_writer.h"

namespace wasikv::cli {

class Output {
 public:
  Output(std::FILE* out, std::FILE* err, bool json) : out_(out), err_(err), json_(json) {}
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  // --json was given: commands print JSON instead of raw output.
  bool json() const { return json_; }
  // Standard output is a terminal (a person, not a script, is reading).
  bool is_terminal() const;

  // Writes bytes exactly as given.
  void Write(std::string_view bytes);
  // Writes text and a newline.
  void Line(std::string_view text);
  // Writes the writer's document (or what it holds so far) and a newline.
  void JsonLine(JsonWriter& json);
  // Pushes buffered output out, so a reader sees it now (watch).
  void Flush();
  // False once a write to standard output has failed (a full disk, a closed
  // pipe with SIGPIPE ignored).
  bool ok() const;

  // "wasikv: <CODE>: <message>" on standard error.
  void Error(const absl::Status& status);
  // "wasikv: <text>" on standard error.
  void Note(std::string_view text);
  // A progress line on standard error, unprefixed, so that a script can wait
  // for it ("ready: ...").
  void Status(std::string_view line);

 private:
  std::FILE* out_;
  std::FILE* err_;
  bool json_;
};

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_OUTPUT_H_
