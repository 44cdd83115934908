// The wasm2c binding: a guest compiled ahead of time to C by wabt's wasm2c,
// with its wasi:keyvalue imports wired to the adapter's core.
//
// A guest becomes a static library with wasikv_add_wasm2c_guest (CMake, in
// adapter/wasm2c/CMakeLists.txt), which runs wasm2c and wasikv-wasm2c-glue.
// The glue defines the imports wasm2c expects and a Wasm2cModule descriptor
// named kWasm2cModule_<NAME>:
//
//   WASIKV_DECLARE_WASM2C_MODULE(kv_guest);
//   ASSIGN_OR_RETURN(std::unique_ptr<Wasm2cGuest> guest,
//                    Wasm2cGuest::Create(host, kWasm2cModule_kv_guest));
//   const int64_t args[] = {7};
//   ASSIGN_OR_RETURN(std::vector<int64_t> results, guest->Invoke("run", args));
//
// wasm2c's runtime keeps its trap state (the jump buffer a trap returns to,
// the call-depth counter) in process-wide globals, so every wasm2c guest of
// a process, whatever its module, runs on one thread at a time. Create and
// Invoke return FAILED_PRECONDITION instead of running while a guest is
// running on another thread. Nesting on one thread (a host function that
// invokes another guest) is allowed.
#ifndef WASIKV_ADAPTER_WASM2C_GUEST_H_
#define WASIKV_ADAPTER_WASM2C_GUEST_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "wasikv/adapter/core_abi.h"
#include "wasikv/adapter/guest_instance.h"
#include "wasikv/adapter/host.h"

namespace wasikv::adapter {

// Calls one export of a wasm2c instance: `args` holds one value per param,
// `results` room for one per result. i32 and i64 travel as integers (i32
// results sign-extended), f32 and f64 as their bit patterns. May trap, so it
// runs only under the binding's trap handler.
using Wasm2cThunk = void (*)(void* instance, const int64_t* args, int64_t* results);

// One exported function. Types are spelled one letter per value: 'i' i32,
// 'I' i64, 'f' f32, 'F' f64.
struct Wasm2cExport {
  std::string_view name;
  std::string_view params;
  std::string_view results;
  Wasm2cThunk thunk;
};

// What wasikv-wasm2c-glue generates for one guest module: constant data and
// functions over wasm2c's generated code. Immutable; lives for the process.
struct Wasm2cModule {
  std::string_view name;  // the module name given to wasm2c -n and the glue
  // A zeroed instance struct, and its release (wasm2c's free, then delete).
  void* (*create)();
  void (*destroy)(void* instance);
  // wasm2c's instantiate, with `import_context` as every imported module's
  // instance; runs the module's one-time init first. May trap.
  void (*instantiate)(void* instance, void* import_context);
  // The exported memory (first of kMemoryExports) as it is now; nullptr if
  // the module exports none.
  std::span<uint8_t> (*memory)(void* instance);
  std::string_view memory_export;
  // The realloc export (first of kReallocExports, checked to be
  // (i32 i32 i32 i32) -> i32), or nullptr.
  Wasm2cThunk realloc;
  std::string_view realloc_export;
  // The reactor initialiser (first of kInitializeExports, () -> ()), or
  // nullptr.
  Wasm2cThunk initialize;
  std::string_view initialize_export;
  // Every function export whose types are numeric, in export order.
  std::span<const Wasm2cExport> exports;
};

// Declares the descriptor wasikv_add_wasm2c_guest(NAME name) generates, at
// namespace scope: WASIKV_DECLARE_WASM2C_MODULE(kv_guest);
#define WASIKV_DECLARE_WASM2C_MODULE(name) \
  extern const ::wasikv::adapter::Wasm2cModule kWasm2cModule_##name

// One wasm2c instance of a module and its CoreGuest.
//
// Not thread-safe, and, as the file comment says, no two wasm2c guests of a
// process run at the same time. Owns the instance (its memory and tables)
// and the CoreGuest's session; borrows the module, which outlives it. A trap
// leaves the instance unusable: later Invokes fail with FAILED_PRECONDITION.
class Wasm2cGuest : public GuestInstance {
 public:
  // Instantiates `module`, then runs its reactor initialiser if it exports
  // one. ABORTED if either traps.
  static absl::StatusOr<std::unique_ptr<Wasm2cGuest>> Create(std::shared_ptr<const Host> host,
                                                             const Wasm2cModule& module);
  ~Wasm2cGuest() override;
  Wasm2cGuest(const Wasm2cGuest&) = delete;
  Wasm2cGuest& operator=(const Wasm2cGuest&) = delete;

  // NOT_FOUND if there is no such function export, INVALID_ARGUMENT if the
  // argument count or an i32 argument's range is wrong, ABORTED on a trap:
  // "trap: <why>" for a trap in the guest, "trap: host function
  // <module>.<name> failed, <adapter's message>" when the adapter asked for it.
  // FAILED_PRECONDITION after an earlier trap, or while another thread runs a
  // wasm2c guest.
  absl::StatusOr<std::vector<int64_t>> Invoke(std::string_view export_name,
                                              std::span<const int64_t> args = {}) override;
  bool HasExport(std::string_view export_name) const override;
  std::span<const uint8_t> memory() override;
  CoreGuest& core() override { return *core_; }

  const Wasm2cModule& module() const { return module_; }

 private:
  class Memory;
  friend bool Wasm2cCallImport(void* import_context, const CoreImport* import,
                               const char* module_name, const char* name, const uint64_t* args,
                               uint64_t* results) noexcept;

  Wasm2cGuest(std::shared_ptr<const Host> host, const Wasm2cModule& module);

  const Wasm2cExport* FindExport(std::string_view export_name) const;
  // Runs `fn(closure)` under a trap handler of its own, nested in any outer
  // one; OK, or the ABORTED status that describes the trap.
  absl::Status RunGuarded(void (*fn)(void*), void* closure);
  absl::StatusOr<uint32_t> Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                   uint32_t new_size);
  bool CallImport(const CoreImport* import, const char* module_name, const char* name,
                  const uint64_t* args, uint64_t* results);

  const Wasm2cModule& module_;
  void* instance_;  // owned: module_.create(), released by module_.destroy()
  std::unique_ptr<Memory> memory_;
  std::unique_ptr<CoreGuest> core_;
  bool trapped_ = false;
  bool in_realloc_ = false;
  // Set by a host function that asks for a trap, read by the trap handler
  // it returns to.
  bool host_trap_ = false;
  std::string host_trap_message_;
};

// Called by the glue's import functions, never by hand: runs `import` for the
// Wasm2cGuest behind `import_context`. False means "trap now": the message is
// kept for the status Invoke returns. Nothing of the caller's frame outlives
// the call, so the glue's wasm_rt_trap skips no destructor.
bool Wasm2cCallImport(void* import_context, const CoreImport* import, const char* module_name,
                      const char* name, const uint64_t* args, uint64_t* results) noexcept;

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_WASM2C_GUEST_H_
