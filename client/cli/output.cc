#include "client/cli/output.h"

#include <unistd.h>

#include <string>

namespace wasikv::cli {

bool Output::is_terminal() const { return isatty(fileno(out_)) == 1; }

void Output::Write(std::string_view bytes) { std::fwrite(bytes.data(), 1, bytes.size(), out_); }

void Output::Line(std::string_view text) {
  Write(text);
  std::fputc('\n', out_);
}

void Output::JsonLine(JsonWriter& json) { Line(json.Take()); }

void Output::Flush() { std::fflush(out_); }

bool Output::ok() const { return std::ferror(out_) == 0; }

void Output::Error(const absl::Status& status) {
  const std::string code = absl::StatusCodeToString(status.code());
  const std::string message(status.message());
  std::fprintf(err_, "wasikv: %s: %s\n", code.c_str(), message.c_str());
}

void Output::Note(std::string_view text) {
  std::fprintf(err_, "wasikv: %.*s\n", static_cast<int>(text.size()), text.data());
  std::fflush(err_);
}

void Output::Status(std::string_view line) {
  std::fprintf(err_, "%.*s\n", static_cast<int>(line.size()), line.data());
  std::fflush(err_);
}

}  // namespace wasikv::cli
