// The addon's JS class `CoreModuleGuest`: one core wasm module instance on
// V8 (the WebAssembly JS API), its wasi:keyvalue imports served by a
// wasikv::adapter::CoreGuest, the canonical-ABI layer the wabt and wasm2c
// bindings use (core_abi.h). lib/run_core_module.mjs drives it:
//
//   const guest = new CoreModuleGuest(host);
//   importObject(imports): object       imports: WebAssembly.Module.imports(m).
//       The import object for WebAssembly.instantiate: one function per
//       import, each calling CoreGuest::Call. Throws an Error with code
//       ERR_WASIKV_LOAD naming `module.name` for an import the adapter does
//       not provide (or one that is not a function).
//   bind(exports): void                 after instantiating: the instance's
//       memory ("memory" or "cm32p2_memory") and realloc ("cabi_realloc" or
//       "cm32p2_realloc"), and its watch handlers if it exports a pair.
//       Until then an import call traps (a start function cannot call one).
//   watchHandlers: { onSet, onDelete, seed } | undefined
//       The handler exports bind found, as watch_delivery.h lists them.
//   deliverEvent(event): void           one takeEvents() event to the
//       guest's handler: a new bucket handle (Session::OpenResolved), key
//       and value lowered through the guest's realloc (seed 001: the value
//       as an incoming-value handle), then the handler is called. Throws what
//       the handler throws, or an ERR_WASIKV_TRAP Error if lowering failed.
//   close(): void                       stops watching and releases the
//       CoreGuest (every handle) and the instance's exports; imports throw
//       ERR_WASIKV_CLOSED after it.
// and Session's watch, takeEvents, openResolved, unwatch and openHandles
// (session_object.h), on the guest's own Session.
//
// Import functions pack their arguments as the canonical ABI's u64s (i32
// zero-extended, i64 from a BigInt) and return i32 as a number, i64 as a
// BigInt. A non-OK status from Call throws a plain Error with code
// ERR_WASIKV_TRAP and the adapter's message: the throw unwinds the wasm
// frames like a trap, and the guest must not be used again (its imports
// keep throwing). The guest's memory is re-read (memory.buffer) every time
// the adapter looks at it, as it detaches when memory grows.
//
// Used on one JS thread. A bound guest holds its instance (through memory,
// realloc and the handlers) until close(): call it when done.
#ifndef WASIKV_ADAPTER_NODE_ADDON_CORE_GUEST_OBJECT_H_
#define WASIKV_ADAPTER_NODE_ADDON_CORE_GUEST_OBJECT_H_

#include <node_api.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "session_object.h"
#include "wasikv/adapter/core_abi.h"
#include "wasikv/adapter/host.h"

namespace wasikv::adapter::node {

class CoreGuestObject final : public GuestMemory {
 public:
  // Adds the class to `exports` as `CoreModuleGuest`.
  static bool Define(napi_env env, napi_value exports);
  // The SessionObject of a CoreModuleGuest JS object, or nullptr (nothing
  // thrown) if `value` is not one.
  static SessionObject* SessionOf(napi_env env, napi_value value);

  CoreGuestObject(napi_env env, std::shared_ptr<const Host> host);
  ~CoreGuestObject() override;
  CoreGuestObject(const CoreGuestObject&) = delete;
  CoreGuestObject& operator=(const CoreGuestObject&) = delete;

  // GuestMemory
  std::span<uint8_t> Bytes() override;
  absl::StatusOr<uint32_t> Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                   uint32_t new_size) override;

 private:
  // One import function's binding (the napi function's data).
  struct Import {
    CoreGuestObject* guest;
    const CoreImport* core;
  };

  static napi_value New(napi_env env, napi_callback_info info);
  static napi_value ImportObject(napi_env env, napi_callback_info info);
  static napi_value Bind(napi_env env, napi_callback_info info);
  static napi_value WatchHandlers(napi_env env, napi_callback_info info);
  static napi_value DeliverEvent(napi_env env, napi_callback_info info);
  static napi_value Close(napi_env env, napi_callback_info info);
  static napi_value CallImport(napi_env env, napi_callback_info info);

  // Runs `import` on the CoreGuest; the JS result, or nullptr with an
  // exception pending.
  napi_value RunImport(const CoreImport& import, std::span<const uint64_t> args);
  // Calls export `name` with i32 arguments; false with its exception pending.
  bool CallExport(const std::string& name, std::span<const int64_t> args);
  void ReleaseAll();

  napi_env env_;
  std::unique_ptr<CoreGuest> core_;
  // Declared after core_: stops its feed before the session goes.
  std::unique_ptr<SessionObject> session_object_;
  std::vector<std::unique_ptr<Import>> imports_;
  napi_ref exports_ = nullptr;  // the instance's exports, once bound
  napi_ref memory_ = nullptr;   // its WebAssembly.Memory
  napi_ref realloc_ = nullptr;  // its realloc, if exported
  std::unique_ptr<adapter::WatchHandlers> handlers_;
  bool in_call_ = false;  // an import is running
  bool trapped_ = false;  // an import trapped: the guest is dead
};

}  // namespace wasikv::adapter::node

#endif  // WASIKV_ADAPTER_NODE_ADDON_CORE_GUEST_OBJECT_H_
