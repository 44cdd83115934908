// mset's standard input (client/cli/input.h, ParseKeyValueLines) as any
// bytes: parsing never crashes, a refusal names the line, and entries
// written back the way mget's raw output writes them (EscapeLine, a tab,
// one line each) parse to the same entries.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/cli/byte_encoding.h"
#include "client/cli/input.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wasikv::cli;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<std::vector<wasikv::KeyValue>> entries = ParseKeyValueLines(text);
  if (!entries.ok()) {
    FUZZ_CHECK(entries.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(wasikv::fuzz::MessageOf(entries.status()).starts_with("standard input line "));
    return 0;
  }
  std::string written;
  for (const wasikv::KeyValue& entry : *entries) {
    written += EscapeLine(entry.key) + "\t" + EscapeLine(entry.value) + "\n";
  }
  const absl::StatusOr<std::vector<wasikv::KeyValue>> again = ParseKeyValueLines(written);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->size() == entries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    FUZZ_CHECK((*again)[i].key == (*entries)[i].key);
    FUZZ_CHECK((*again)[i].value == (*entries)[i].value);
  }
  return 0;
}
