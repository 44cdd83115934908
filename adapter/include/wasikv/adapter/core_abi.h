// The canonical-ABI layer: wasi:keyvalue imports as a core wasm module sees
// them, for any runtime that can call a host function with the guest's
// memory at hand.
//
// Wiring a runtime takes three things:
//  1. Implement GuestMemory over the instance's exported memory ("memory" or
//     "cm32p2_memory") and realloc ("cabi_realloc" or "cm32p2_realloc").
//  2. For each function import of the module, FindImport(module, name). It
//     accepts both manglings ("wasi:keyvalue/store@0.2.0-draft" / "open" and
//     "cm32p2|wasi:keyvalue/store@0.2.0-draft" / "open", "[resource-drop]bucket"
//     and "bucket_drop"). Check the runtime's import type against
//     CoreImport::params/results, and register a host function that calls
//     CoreGuest::Call with the arguments as uint64_t (i32 zero-extended).
//  3. If Call returns a non-OK status, trap the guest with its message. The
//     host never touches memory outside the guest's: every pointer and
//     length was checked first.
//
// Example, wasmtime's C API (one callback for every import):
//   const CoreImport* import = FindImport(module, name);
//   wasmtime_func_new(ctx, type_of(import), &Callback, import, nullptr, &func);
//   // Callback: copy args to uint64_t[], guest->Call(*import, args, results),
//   // on error return wasmtime_trap_new(status.message()).
#ifndef WASIKV_ADAPTER_CORE_ABI_H_
#define WASIKV_ADAPTER_CORE_ABI_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "wasikv/adapter/host.h"
#include "wasikv/adapter/session.h"

namespace wasikv::adapter {

// A guest's linear memory and allocator, supplied by the runtime binding.
// Only CoreGuest calls it, on the guest's thread, during an import call.
class GuestMemory {
 public:
  virtual ~GuestMemory() = default;
  // The memory as it is now. It can move or grow whenever the guest runs
  // (Realloc included), so callers fetch it again after each Realloc.
  virtual std::span<uint8_t> Bytes() = 0;
  // Calls the guest's cabi_realloc(old_ptr, old_size, align, new_size), on
  // the thread (and, for interpreters, the execution context) of the import
  // call that asked. A trap inside the guest comes back as a GuestTrap
  // status, and the import call then traps too; the caller checks that the
  // pointer returned is aligned and inside memory.
  virtual absl::StatusOr<uint32_t> Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                           uint32_t new_size) = 0;
};

class CoreGuest;

// One import the adapter provides. `params` and `results` spell the core
// signature, one letter per value: 'i' is i32, 'I' is i64.
struct CoreImport {
  std::string_view module;  // classic spelling, without "cm32p2|"
  std::string_view name;    // classic spelling, e.g. "[resource-drop]bucket"
  std::string_view params;
  std::string_view results;
  absl::Status (*handler)(CoreGuest& guest, std::span<const uint64_t> args,
                          std::span<uint64_t> results);
};

// The adapter's import for (module, name) in either mangling, or nullptr.
const CoreImport* FindImport(std::string_view module, std::string_view name);
// True for the module names the adapter serves (any mangling), so a binding
// can say "wasi:keyvalue/store@0.2.0-draft has no function 'frob'" instead
// of reporting an unknown module.
bool IsAdapterModule(std::string_view module);
// Every import, for runtimes that register a whole namespace up front.
std::span<const CoreImport> AllImports();
// A core signature in wasm's words, for messages: "(i32, i64) -> (i32)".
// Letters past 'i' and 'I': 'f' f32, 'F' f64, 'v' v128, 'r' funcref,
// 'e' externref.
std::string DescribeSignature(std::string_view params, std::string_view results);

// The names a core module exports its memory and realloc under, in the
// order a binding should look for them.
inline constexpr std::string_view kMemoryExports[] = {"memory", "cm32p2_memory"};
inline constexpr std::string_view kReallocExports[] = {"cabi_realloc", "cm32p2_realloc"};
// Reactor initialisers a binding calls once before any other export.
inline constexpr std::string_view kInitializeExports[] = {"_initialize", "cm32p2_initialize"};

// The export pair a core guest handles watch events with (watch-service's
// wasi:keyvalue/watcher, draft or draft2, either mangling; or seed 001's
// handle-watch), found through `has_export`; nullopt if it has none.
struct WatchHandlers {
  std::string on_set;
  std::string on_delete;
  bool seed = false;  // on-set takes an incoming-value handle, not the bytes
};
std::optional<WatchHandlers> FindWatchHandlers(
    const std::function<bool(std::string_view)>& has_export);

// One guest instance on a core-wasm runtime: its Session plus the
// canonical-ABI state (the seed world's value, error and stream handles).
// Not thread-safe; lives as long as the instance.
class CoreGuest {
 public:
  CoreGuest(std::shared_ptr<const Host> host, GuestMemory* memory);
  ~CoreGuest();
  CoreGuest(const CoreGuest&) = delete;
  CoreGuest& operator=(const CoreGuest&) = delete;

  // Runs `import` with core arguments `args` (params().size() of them) and
  // stores its core results. A non-OK status means: trap the guest. Not
  // re-entrant: bindings refuse (trap) an import called from inside the
  // guest's realloc while another import of the same guest is running.
  absl::Status Call(const CoreImport& import, std::span<const uint64_t> args,
                    std::span<uint64_t> results);

  Session& session() { return session_; }
  GuestMemory& memory() { return *memory_; }

  // The core arguments of a watch handler call for a change to `key` in
  // `bucket`: a new bucket handle the handler owns, the key, and for on-set
  // (`value` set) the value, lowered through the guest's realloc, or with
  // seed 001's handlers an incoming-value handle holding it. Call it outside
  // any import call; a GuestTrap if the guest's realloc misbehaves.
  absl::StatusOr<std::vector<int64_t>> LowerWatchEvent(const std::string& bucket,
                                                       std::string_view key,
                                                       const std::optional<std::string>& value,
                                                       bool seed_handlers);

  // The seed world's handle tables; defined in the .cc.
  struct SeedState;
  SeedState& seed();

 private:
  Session session_;
  GuestMemory* memory_;
  std::unique_ptr<SeedState> seed_;
};

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_CORE_ABI_H_
