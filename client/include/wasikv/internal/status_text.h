// Debian's Abseil has its own absl::string_view; code that formats with
// fmt and std::string_view takes status messages through here. Internal.
#ifndef WASIKV_INTERNAL_STATUS_TEXT_H_
#define WASIKV_INTERNAL_STATUS_TEXT_H_

#include <string_view>

#include "absl/status/status.h"

namespace wasikv {

inline std::string_view MessageOf(const absl::Status& status) {
  return std::string_view(status.message().data(), status.message().size());
}

}  // namespace wasikv

#endif  // WASIKV_INTERNAL_STATUS_TEXT_H_
