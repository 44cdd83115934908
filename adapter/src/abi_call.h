// One import call's view of guest memory: the canonical ABI's lifting and
// lowering, with every pointer checked and every host allocation counted.
#ifndef WASIKV_ADAPTER_SRC_ABI_CALL_H_
#define WASIKV_ADAPTER_SRC_ABI_CALL_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "wasikv/adapter/core_abi.h"
#include "wasikv/types.h"

namespace wasikv::adapter {

// A (pointer, length) pair as the guest passed it.
struct GuestSlice {
  uint32_t ptr = 0;
  uint32_t len = 0;
};

// Wraps GuestMemory for one call. Reads copy out of guest memory (the guest
// can change it while the host waits on the server, and memory can move
// when realloc grows it). Any check that fails is a GuestTrap.
class AbiCall {
 public:
  AbiCall(GuestMemory& memory, uint32_t allocation_limit)
      : memory_(memory), allocation_limit_(allocation_limit) {}

  // Lifting. `what` names the argument in trap messages.
  absl::StatusOr<std::string> ReadBytes(GuestSlice slice, std::string_view what);
  // Strings must be UTF-8, as the component model requires.
  absl::StatusOr<std::string> ReadString(GuestSlice slice, std::string_view what);
  // list<string>: elements of 8 bytes (ptr, len).
  absl::StatusOr<std::vector<std::string>> ReadStringList(GuestSlice list, std::string_view what);
  // A list of `element_size`-byte elements aligned to `align`: the raw
  // element bytes, for callers that decode records.
  absl::StatusOr<std::string> ReadElements(GuestSlice list, uint32_t element_size, uint32_t align,
                                           std::string_view what);

  // The return area: checked once, whole, before anything is written, so a
  // bad pointer traps before the server is called.
  absl::Status CheckArea(uint32_t ptr, uint32_t size, uint32_t align, std::string_view what);
  // Writes into a checked area (offsets relative to its start).
  void Store8(uint32_t area, uint32_t offset, uint8_t value);
  void Store32(uint32_t area, uint32_t offset, uint32_t value);
  void Store64(uint32_t area, uint32_t offset, uint64_t value);

  // Fails with an `other`-class error, before allocating anything, if
  // `bytes` more would pass the call's allocation limit. Callers reserve a
  // result's whole size first, so a result is lowered whole or not at all.
  absl::Status Reserve(uint64_t bytes, std::string_view what);
  // Allocates through the guest's realloc and checks the pointer it returns.
  // A zero-byte allocation is `align` without calling the guest, the
  // dangling pointer wit-bindgen guests expect.
  absl::StatusOr<uint32_t> Allocate(uint32_t size, uint32_t align);
  // Allocates and copies; returns the (ptr, len) to store for the guest.
  absl::StatusOr<GuestSlice> LowerBytes(std::string_view bytes);
  // list<string> as (ptr, len) element pairs.
  absl::StatusOr<GuestSlice> LowerStringList(std::span<const std::string> strings);
  // Copies bytes to a guest address inside an allocation made by Allocate.
  void CopyOut(uint32_t ptr, std::string_view bytes);

 private:
  absl::Status CheckRange(uint64_t ptr, uint64_t size, std::string_view what);

  GuestMemory& memory_;
  uint64_t allocation_limit_;
  uint64_t allocated_ = 0;  // bytes realloc'd in the guest by this call
  uint64_t lifted_ = 0;     // bytes copied out of the guest by this call
};

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_SRC_ABI_CALL_H_
