// A guest module instantiated on some runtime with the adapter's imports
// linked in: what wasikv-run and the tests drive, whatever the runtime.
#ifndef WASIKV_ADAPTER_GUEST_INSTANCE_H_
#define WASIKV_ADAPTER_GUEST_INSTANCE_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "wasikv/adapter/core_abi.h"

namespace wasikv::adapter {

// Owns one instance and its CoreGuest. Not thread-safe: call from one thread
// at a time (the instance's thread).
class GuestInstance {
 public:
  virtual ~GuestInstance() = default;

  // Calls an exported function. Integer arguments and results travel as
  // int64_t (i32 values sign-extended). A trap, in the guest or requested by
  // the adapter, is an ABORTED status whose message says why; the instance
  // must not be used after a trap.
  virtual absl::StatusOr<std::vector<int64_t>> Invoke(std::string_view export_name,
                                                      std::span<const int64_t> args = {}) = 0;
  virtual bool HasExport(std::string_view export_name) const = 0;

  // The guest's linear memory as it is now, for tests and diagnostics.
  virtual std::span<const uint8_t> memory() = 0;
  virtual CoreGuest& core() = 0;
};

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_GUEST_INSTANCE_H_
