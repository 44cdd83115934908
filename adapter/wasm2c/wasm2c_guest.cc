#include "wasikv/adapter/wasm2c_guest.h"

#include <csetjmp>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"
#include "wasikv/internal/status_text.h"
#include "wasm-rt-impl.h"

namespace wasikv::adapter {
namespace {

// wasm2c keeps the trap target (wasm_rt_jmp_buf) and the call depth in
// process-wide globals. The thread that holds a lease may run guest code;
// leases nest on one thread.
struct RuntimeOwner {
  absl::Mutex mu;
  std::thread::id thread ABSL_GUARDED_BY(mu);
  int depth ABSL_GUARDED_BY(mu) = 0;
};

RuntimeOwner& Owner() {
  static RuntimeOwner* const owner = new RuntimeOwner();
  return *owner;
}

class RuntimeLease {
 public:
  RuntimeLease() {
    RuntimeOwner& owner = Owner();
    absl::MutexLock lock(&owner.mu);
    if (owner.depth > 0 && owner.thread != std::this_thread::get_id()) return;
    owner.thread = std::this_thread::get_id();
    ++owner.depth;
    held_ = true;
  }
  ~RuntimeLease() {
    if (!held_) return;
    RuntimeOwner& owner = Owner();
    absl::MutexLock lock(&owner.mu);
    --owner.depth;
  }
  RuntimeLease(const RuntimeLease&) = delete;
  RuntimeLease& operator=(const RuntimeLease&) = delete;

  bool held() const { return held_; }

 private:
  bool held_ = false;
};

absl::Status Busy() {
  return absl::FailedPreconditionError(
      "another thread is running a wasm2c guest; wasm2c's runtime state is process-wide, so "
      "wasm2c guests run one thread at a time");
}

void InitRuntimeOnce() {
  static std::once_flag once;
  std::call_once(once, [] { wasm_rt_init(); });
}

// Runs fn(closure) with wasm2c's trap target set to this frame, then restores
// whatever target (and saved call depth) was there before, so that a trap
// returns here even inside an outer handler. Returns the trap, or
// WASM_RT_TRAP_NONE. No C++ object lives in this frame or in those fn runs
// in (the glue's thunks and wasm2c's C), so the longjmp skips no destructor.
[[gnu::noinline]] wasm_rt_trap_t GuardedCall(void (*fn)(void*), void* closure) {
  jmp_buf outer;
  std::memcpy(&outer, &wasm_rt_jmp_buf, sizeof(jmp_buf));
  WASM_RT_UNWIND_TARGET* const outer_target = wasm_rt_get_unwind_target();
#if WASM_RT_USE_STACK_DEPTH_COUNT
  const uint32_t outer_saved_depth = wasm_rt_saved_call_stack_depth;
#endif
  const wasm_rt_trap_t trap = static_cast<wasm_rt_trap_t>(wasm_rt_impl_try());
  if (trap == WASM_RT_TRAP_NONE) fn(closure);
  std::memcpy(&wasm_rt_jmp_buf, &outer, sizeof(jmp_buf));
  wasm_rt_set_unwind_target(outer_target);
#if WASM_RT_USE_STACK_DEPTH_COUNT
  wasm_rt_saved_call_stack_depth = outer_saved_depth;
#endif
  return trap;
}

struct ThunkCall {
  Wasm2cThunk thunk;
  void* instance;
  const int64_t* args;
  int64_t* results;
};

void RunThunk(void* closure) {
  const auto* call = static_cast<const ThunkCall*>(closure);
  call->thunk(call->instance, call->args, call->results);
}

struct InstantiateCall {
  void (*instantiate)(void* instance, void* import_context);
  void* instance;
  void* import_context;
};

void RunInstantiate(void* closure) {
  const auto* call = static_cast<const InstantiateCall*>(closure);
  call->instantiate(call->instance, call->import_context);
}

}  // namespace

class Wasm2cGuest::Memory final : public GuestMemory {
 public:
  explicit Memory(Wasm2cGuest* guest) : guest_(guest) {}

  std::span<uint8_t> Bytes() override {
    if (guest_->module_.memory == nullptr) return {};
    return guest_->module_.memory(guest_->instance_);
  }
  absl::StatusOr<uint32_t> Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                   uint32_t new_size) override {
    return guest_->Realloc(old_ptr, old_size, align, new_size);
  }

 private:
  Wasm2cGuest* guest_;
};

Wasm2cGuest::Wasm2cGuest(std::shared_ptr<const Host> host, const Wasm2cModule& module)
    : module_(module),
      instance_(module.create()),
      memory_(std::make_unique<Memory>(this)),
      core_(std::make_unique<CoreGuest>(std::move(host), memory_.get())) {}

Wasm2cGuest::~Wasm2cGuest() {
  core_.reset();
  module_.destroy(instance_);
}

absl::StatusOr<std::unique_ptr<Wasm2cGuest>> Wasm2cGuest::Create(std::shared_ptr<const Host> host,
                                                                 const Wasm2cModule& module) {
  if (host == nullptr) return absl::InvalidArgumentError("Wasm2cGuest::Create: host is null");
  InitRuntimeOnce();
  RuntimeLease lease;
  if (!lease.held()) return Busy();

  // The guest is its imports' context: a start function may already call
  // them, so the CoreGuest exists before instantiate runs.
  std::unique_ptr<Wasm2cGuest> guest(new Wasm2cGuest(std::move(host), module));
  InstantiateCall instantiate{module.instantiate, guest->instance_, guest.get()};
  if (absl::Status status = guest->RunGuarded(&RunInstantiate, &instantiate); !status.ok()) {
    return absl::AbortedError(fmt::format("instantiating {}: {}", module.name, MessageOf(status)));
  }
  if (module.initialize != nullptr) {
    ThunkCall initialize{module.initialize, guest->instance_, nullptr, nullptr};
    if (absl::Status status = guest->RunGuarded(&RunThunk, &initialize); !status.ok()) {
      return absl::AbortedError(
          fmt::format("{} {}: {}", module.name, module.initialize_export, MessageOf(status)));
    }
  }
  return guest;
}

absl::StatusOr<std::vector<int64_t>> Wasm2cGuest::Invoke(std::string_view export_name,
                                                         std::span<const int64_t> args) {
  if (trapped_) {
    return absl::FailedPreconditionError(
        fmt::format("this instance of {} trapped earlier; create a new one to call {}",
                    module_.name, export_name));
  }
  const Wasm2cExport* function = FindExport(export_name);
  if (function == nullptr) {
    return absl::NotFoundError(
        fmt::format("guest {} has no function export '{}'", module_.name, export_name));
  }
  if (args.size() != function->params.size()) {
    return absl::InvalidArgumentError(fmt::format("{} takes {} arguments, got {}", export_name,
                                                  function->params.size(), args.size()));
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (function->params[i] == 'i' && (args[i] < INT32_MIN || args[i] > int64_t{UINT32_MAX})) {
      return absl::InvalidArgumentError(fmt::format(
          "argument {} of {} is an i32; {} is out of its range", i, export_name, args[i]));
    }
  }
  RuntimeLease lease;
  if (!lease.held()) return Busy();

  std::vector<int64_t> results(function->results.size());
  ThunkCall call{function->thunk, instance_, args.data(), results.data()};
  if (absl::Status status = RunGuarded(&RunThunk, &call); !status.ok()) return status;
  return results;
}

bool Wasm2cGuest::HasExport(std::string_view export_name) const {
  return FindExport(export_name) != nullptr;
}

std::span<const uint8_t> Wasm2cGuest::memory() { return memory_->Bytes(); }

const Wasm2cExport* Wasm2cGuest::FindExport(std::string_view export_name) const {
  for (const Wasm2cExport& function : module_.exports) {
    if (function.name == export_name) return &function;
  }
  return nullptr;
}

absl::Status Wasm2cGuest::RunGuarded(void (*fn)(void*), void* closure) {
  host_trap_ = false;
  const wasm_rt_trap_t trap = GuardedCall(fn, closure);
  if (trap == WASM_RT_TRAP_NONE) return absl::OkStatus();
  trapped_ = true;
  // host_trap_ is only ever set right before the glue traps, so it belongs
  // to this trap.
  std::string message = host_trap_ ? fmt::format("trap: {}", host_trap_message_)
                                   : fmt::format("trap: {}", wasm_rt_strerror(trap));
  host_trap_ = false;
  host_trap_message_.clear();
  return absl::AbortedError(message);
}

absl::StatusOr<uint32_t> Wasm2cGuest::Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                              uint32_t new_size) {
  if (module_.realloc == nullptr) {
    return GuestTrap(fmt::format("guest {} exports no {} or {} to allocate results with",
                                 module_.name, kReallocExports[0], kReallocExports[1]));
  }
  // Called from a host function, under the export's trap handler: this
  // handler nests inside it, so a trap in realloc comes back as a status and
  // the host function unwinds normally before the guest traps.
  RuntimeLease lease;
  if (!lease.held()) return Busy();
  const int64_t args[] = {old_ptr, old_size, align, new_size};
  int64_t result = 0;
  ThunkCall call{module_.realloc, instance_, args, &result};
  in_realloc_ = true;
  absl::Status status = RunGuarded(&RunThunk, &call);
  in_realloc_ = false;
  if (!status.ok()) {
    return GuestTrap(fmt::format("{} failed, {}", module_.realloc_export, MessageOf(status)));
  }
  return static_cast<uint32_t>(result);
}

bool Wasm2cGuest::CallImport(const CoreImport* import, const char* module_name, const char* name,
                             const uint64_t* args, uint64_t* results) {
  absl::Status status;
  if (import == nullptr) {
    status = absl::InternalError("the adapter has no such function");
  } else if (in_realloc_) {
    status = GuestTrap("called from inside the guest's realloc");
  } else {
    status = core_->Call(*import, std::span<const uint64_t>(args, import->params.size()),
                         std::span<uint64_t>(results, import->results.size()));
  }
  if (status.ok()) return true;
  host_trap_ = true;
  host_trap_message_ =
      fmt::format("host function {}.{} failed, {}", module_name, name, MessageOf(status));
  return false;
}

bool Wasm2cCallImport(void* import_context, const CoreImport* import, const char* module_name,
                      const char* name, const uint64_t* args, uint64_t* results) noexcept {
  return static_cast<Wasm2cGuest*>(import_context)
      ->CallImport(import, module_name, name, args, results);
}

}  // namespace wasikv::adapter
