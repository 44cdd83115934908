// Debian's Abseil has its own absl::string_view; the adapter formats with
// fmt and std::string_view, so status messages cross over here.
#ifndef WASIKV_ADAPTER_SRC_STATUS_TEXT_H_
#define WASIKV_ADAPTER_SRC_STATUS_TEXT_H_

#include <string_view>

#include "absl/status/status.h"

namespace wasikv::adapter {

inline std::string_view MessageOf(const absl::Status& status) {
  return std::string_view(status.message().data(), status.message().size());
}

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_SRC_STATUS_TEXT_H_
