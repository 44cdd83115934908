// A guest core module run on wabt's interpreter (libwabt 1.0.32), with the
// wasi:keyvalue imports linked to the adapter. An interpreter, so slow, but
// it needs nothing beyond the library and runs anywhere: what wasikv-run and
// the adapter's tests use.
#ifndef WASIKV_ADAPTER_WABT_GUEST_H_
#define WASIKV_ADAPTER_WABT_GUEST_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "wasikv/adapter/guest_instance.h"
#include "wasikv/adapter/host.h"

namespace wasikv::adapter {

// What one instance may take from the process, past HostOptions.
struct WabtGuestOptions {
  // Linear memory may not grow past this (memory.grow returns -1); a module
  // whose initial memory is larger does not load. wabt commits every byte
  // of a memory as it grows.
  uint64_t max_memory_bytes = uint64_t{1} << 30;
  // Locals (parameters included) of one function. wabt pushes every local
  // on each call, so this and the interpreter's fixed call depth (64 KiB of
  // frames, about 1600 calls) bound the value stack.
  uint32_t max_function_locals = 50000;
};

// Owns a wabt store holding one instance of the guest and the guest's
// CoreGuest (its Session and handle tables).
//
// Not thread-safe: one thread at a time, as GuestInstance says. Load keeps
// `host` (shared) and copies the module bytes. A trap inside the guest, a
// trap the adapter asks for, or running out of call stack ("call stack
// exhausted") ends the instance: every later Invoke fails.
//
// wabt 1.0.32 has no fuel or deadline: a guest that loops forever blocks
// its caller. Every server call a guest makes has its deadline
// (HostOptions::call).
class WabtGuest final : public GuestInstance {
 public:
  // Parses and validates `wasm_bytes` (INVALID_ARGUMENT with wabt's
  // messages; FAILED_PRECONDITION past `options`' limits), links every
  // import to the adapter (FAILED_PRECONDITION naming the import when the
  // adapter has no such function, its type differs from the adapter's, or it
  // is not a function), instantiates, and runs the reactor initialiser
  // (_initialize or cm32p2_initialize) if exported. A trap while
  // instantiating or initialising is ABORTED, as from Invoke.
  //
  // The guest must export its memory ("memory" or "cm32p2_memory") if it
  // imports anything; "cabi_realloc" / "cm32p2_realloc" is needed only by
  // calls that return strings or lists (without it they trap).
  static absl::StatusOr<std::unique_ptr<WabtGuest>> Load(std::shared_ptr<const Host> host,
                                                         std::span<const uint8_t> wasm_bytes,
                                                         const WabtGuestOptions& options = {});

  ~WabtGuest() override;
  WabtGuest(const WabtGuest&) = delete;
  WabtGuest& operator=(const WabtGuest&) = delete;

  // Export parameters and results must be i32 or i64 (INVALID_ARGUMENT
  // otherwise, and for an i32 argument outside [-2^31, 2^32)). NOT_FOUND if
  // there is no function export of that name.
  absl::StatusOr<std::vector<int64_t>> Invoke(std::string_view export_name,
                                              std::span<const int64_t> args = {}) override;
  // True for a function export of that name.
  bool HasExport(std::string_view export_name) const override;
  // The names of the function exports, in the module's order.
  std::vector<std::string> FunctionExports() const;

  std::span<const uint8_t> memory() override;
  CoreGuest& core() override;

 private:
  struct State;
  explicit WabtGuest(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_WABT_GUEST_H_
