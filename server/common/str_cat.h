// StrCat for std::string_view. Debian's Abseil is built with its own
// absl::string_view, which does not accept std::string_view, so wasikv
// formats messages through fmt instead of absl::StrCat.
#ifndef WASIKV_SERVER_COMMON_STR_CAT_H_
#define WASIKV_SERVER_COMMON_STR_CAT_H_

#include <iterator>
#include <string>

#include "absl/strings/string_view.h"
#include "fmt/format.h"

// absl::Status::message() returns absl::string_view; let fmt print it.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  auto format(absl::string_view v, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(v.data(), v.size()), ctx);
  }
};

namespace wasikv {

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (fmt::format_to(std::back_inserter(out), "{}", args), ...);
  return out;
}

}  // namespace wasikv

#endif  // WASIKV_SERVER_COMMON_STR_CAT_H_
