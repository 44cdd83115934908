// FUZZ_CHECK: a property a fuzzer asserts. A failure aborts, which libFuzzer
// reports as a crash and saves the input that caused it. MessageOf: what a
// fuzzer reads a status message through.
#ifndef WASIKV_TESTS_FUZZ_FUZZ_CHECK_H_
#define WASIKV_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "absl/status/status.h"

#define FUZZ_CHECK(condition)                                                                 \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace wasikv::fuzz {

// A status message as std::string_view (Debian's Abseil has its own
// absl::string_view).
inline std::string_view MessageOf(const absl::Status& status) {
  return std::string_view(status.message().data(), status.message().size());
}

}  // namespace wasikv::fuzz

#endif  // WASIKV_TESTS_FUZZ_FUZZ_CHECK_H_
