// The CLI's command line (client/cli/args.h) as any words: flag parsing
// never crashes and keeps every word as a flag, a flag's value or a
// positional argument in order; numbers are whole decimal integers (checked
// against strtoll/strtoull) and durations stay within their stated range.
//
// Input: NUL-separated words.
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/cli/args.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using wasikv::cli::FlagSpec;

constexpr FlagSpec kFlags[] = {
    {"prefix", "P", "a flag with a value"},
    {"limit", "N", "another"},
    {"json", "", "a switch"},
    {"help", "", "the help switch"},
};

// [+-]?[0-9]+ in range, the reference for ParseInt64 (ParseUint64 takes no sign).
std::optional<int64_t> ReferenceInt64(const std::string& text) {
  size_t digits = text.starts_with('+') || text.starts_with('-') ? 1 : 0;
  if (digits == text.size()) return std::nullopt;
  for (size_t i = digits; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  errno = 0;
  const long long value = std::strtoll(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return std::nullopt;
  return value;
}

std::optional<uint64_t> ReferenceUint64(const std::string& text) {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  errno = 0;
  const unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return std::nullopt;
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wasikv::cli;
  std::vector<std::string> words;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  while (!text.empty() && words.size() < 64) {
    const size_t end = text.find('\0');
    words.emplace_back(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }

  const absl::StatusOr<ParsedArgs> parsed = ParseArgs(words, kFlags);
  if (parsed.ok()) {
    // Positional arguments are words of the input, in order.
    size_t at = 0;
    for (const std::string& positional : parsed->positional()) {
      while (at < words.size() && words[at] != positional) ++at;
      FUZZ_CHECK(at < words.size());
      ++at;
    }
    FUZZ_CHECK(parsed->positional().size() <= words.size());
  } else {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  }
  for (size_t from = 0; from <= words.size(); ++from) {
    FUZZ_CHECK(FindPositional(words, kFlags, from) <= words.size());
  }
  (void)WantsHelp(words);

  for (const std::string& word : words) {
    FUZZ_CHECK(ParseInt64(word) == ReferenceInt64(word));
    FUZZ_CHECK(ParseUint64(word) == ReferenceUint64(word));
    if (const std::optional<std::chrono::milliseconds> duration = ParseDuration(word)) {
      FUZZ_CHECK(duration->count() >= 1);
      FUZZ_CHECK(*duration <= std::chrono::hours(24 * 365));
    }
  }
  return 0;
}
