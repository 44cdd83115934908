// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status and absl::StatusOr.
#ifndef WASIKV_SERVER_COMMON_STATUS_MACROS_H_
#define WASIKV_SERVER_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define WASIKV_CONCAT_INNER_(a, b) a##b
#define WASIKV_CONCAT_(a, b) WASIKV_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status wasikv_status_ = (expr);          \
    if (!wasikv_status_.ok()) return wasikv_status_; \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  WASIKV_ASSIGN_OR_RETURN_IMPL_(WASIKV_CONCAT_(wasikv_statusor_, __LINE__), lhs, expr)

#define WASIKV_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // WASIKV_SERVER_COMMON_STATUS_MACROS_H_
