#include "client/cli/input.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "client/cli/byte_encoding.h"

namespace wasikv::cli {

absl::StatusOr<std::string> ReadStandardInput() {
  std::string data;
  char buffer[64 * 1024];
  while (true) {
    const ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
    if (n > 0) {
      data.append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      return data;
    } else if (errno != EINTR) {
      return absl::InternalError(std::string("reading standard input: ") + std::strerror(errno));
    }
  }
}

absl::StatusOr<std::vector<KeyValue>> ParseKeyValueLines(std::string_view text) {
  std::vector<KeyValue> entries;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      return absl::InvalidArgumentError("standard input line " + std::to_string(line_number) +
                                        ": expected key<TAB>value");
    }
    entries.push_back({UnescapeLine(line.substr(0, tab)), UnescapeLine(line.substr(tab + 1))});
  }
  return entries;
}

}  // namespace wasikv::cli
