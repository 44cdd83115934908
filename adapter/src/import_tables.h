// The import tables of each interface generation and the result-writing
// helpers their handlers share.
#ifndef WASIKV_ADAPTER_SRC_IMPORT_TABLES_H_
#define WASIKV_ADAPTER_SRC_IMPORT_TABLES_H_

#include <cstdint>
#include <span>
#include <utility>

#include "abi_call.h"
#include "absl/status/status.h"
#include "wasikv/adapter/core_abi.h"

namespace wasikv::adapter {

// wasi:keyvalue/{store,atomics,batch} at 0.2.0-draft and 0.2.0-draft2.
std::span<const CoreImport> StoreImports();
// Seed 001's keyvalue-handle-watch world and the wasi:io/streams it uses.
std::span<const CoreImport> SeedImports();

// An AbiCall limited by the guest's host options.
AbiCall StartCall(CoreGuest& guest);

inline uint32_t ArgU32(std::span<const uint64_t> args, size_t i) {
  return static_cast<uint32_t>(args[i]);
}
inline GuestSlice ArgSlice(std::span<const uint64_t> args, size_t i) {
  return {ArgU32(args, i), ArgU32(args, i + 1)};
}

// Writes wasi:keyvalue's `error` variant (tag, then other's string) at
// `offset` of a checked area.
absl::Status LowerError(AbiCall& call, uint32_t area, uint32_t offset, const absl::Status& error);

// Runs `body`, which stores the ok payload of a `result<T, error>` at `ret`.
// Sets the result tag, lowers a failure as the error variant at
// `error_offset`, and passes traps through.
template <typename Body>
absl::Status WithResult(AbiCall& call, uint32_t ret, uint32_t error_offset, Body&& body) {
  absl::Status status = std::forward<Body>(body)();
  if (IsGuestTrap(status)) return status;
  call.Store8(ret, 0, status.ok() ? 0 : 1);
  if (status.ok()) return status;
  return LowerError(call, ret, error_offset, status);
}

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_SRC_IMPORT_TABLES_H_
