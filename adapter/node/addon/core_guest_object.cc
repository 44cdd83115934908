#include "core_guest_object.h"

#include <array>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

// The adapter's own lifting and lowering (adapter/src), so a watch event
// reaches the guest exactly as WatchDelivery lowers it on wabt and wasm2c.
#include "fmt/format.h"
#include "host_object.h"
#include "js_values.h"
#include "key_value_error.h"
#include "wasikv/internal/status_macros.h"
#include "wasikv/internal/status_text.h"

namespace wasikv::adapter::node {
namespace {

constexpr napi_type_tag kCoreGuestTag = {0x7761'7369'6b76'636fULL, 0x7265'0000'0000'0001ULL};
// Wasm functions have at most this many parameters in the adapter's imports
// (seed's compare-and-swap has 6); more arguments than this is a mismatch.
constexpr size_t kMaxImportArgs = 16;

napi_value ThrowCoded(napi_env env, const char* code, const std::string& message) {
  napi_throw_error(env, code, message.c_str());
  return nullptr;
}

napi_value ThrowTrap(napi_env env, const std::string& message) {
  return ThrowCoded(env, "ERR_WASIKV_TRAP", message);
}

// The pending exception's message, clearing it.
std::string TakeExceptionMessage(napi_env env) {
  napi_value error = nullptr;
  if (napi_get_and_clear_last_exception(env, &error) != napi_ok || error == nullptr) {
    return "unknown error";
  }
  napi_value text = error;
  napi_valuetype type = napi_undefined;
  napi_typeof(env, error, &type);
  if (type == napi_object) {
    bool has = false;
    if (napi_has_named_property(env, error, "message", &has) == napi_ok && has) {
      napi_get_named_property(env, error, "message", &text);
    }
  }
  napi_value string = nullptr;
  size_t length = 0;
  if (napi_coerce_to_string(env, text, &string) != napi_ok ||
      napi_get_value_string_utf8(env, string, nullptr, 0, &length) != napi_ok) {
    napi_get_and_clear_last_exception(env, &error);
    return "unprintable error";
  }
  std::string out(length + 1, '\0');
  napi_get_value_string_utf8(env, string, out.data(), out.size(), &length);
  out.resize(length);
  return out;
}

// A function-valued property of `object`, or nullptr (nothing pending).
napi_value FunctionProperty(napi_env env, napi_value object, std::string_view name) {
  const std::string key(name);
  bool has = false;
  napi_value value = nullptr;
  napi_valuetype type = napi_undefined;
  if (napi_has_named_property(env, object, key.c_str(), &has) != napi_ok || !has ||
      napi_get_named_property(env, object, key.c_str(), &value) != napi_ok ||
      napi_typeof(env, value, &type) != napi_ok || type != napi_function) {
    return nullptr;
  }
  return value;
}

napi_value ObjectProperty(napi_env env, napi_value object, std::string_view name) {
  const std::string key(name);
  bool has = false;
  napi_value value = nullptr;
  napi_valuetype type = napi_undefined;
  if (napi_has_named_property(env, object, key.c_str(), &has) != napi_ok || !has ||
      napi_get_named_property(env, object, key.c_str(), &value) != napi_ok ||
      napi_typeof(env, value, &type) != napi_ok || type != napi_object) {
    return nullptr;
  }
  return value;
}

napi_value RefValue(napi_env env, napi_ref ref) {
  napi_value value = nullptr;
  if (ref == nullptr || napi_get_reference_value(env, ref, &value) != napi_ok) return nullptr;
  return value;
}

void DeleteRef(napi_env env, napi_ref& ref) {
  if (ref != nullptr) napi_delete_reference(env, ref);
  ref = nullptr;
}

CoreGuestObject* Unwrap(napi_env env, napi_value value) {
  napi_valuetype type = napi_undefined;
  bool tagged = false;
  void* wrapped = nullptr;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_object ||
      napi_check_object_type_tag(env, value, &kCoreGuestTag, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, value, &wrapped) != napi_ok) {
    return nullptr;
  }
  return static_cast<CoreGuestObject*>(wrapped);
}

// The receiver of a method, or nullptr with a TypeError pending.
CoreGuestObject* Receiver(const JsCall& call) {
  if (!call.ok()) return nullptr;
  CoreGuestObject* object = Unwrap(call.env(), call.self());
  if (object == nullptr) ThrowTypeError(call.env(), "this is not a CoreModuleGuest");
  return object;
}

// Why `module.name` (kind `kind`) cannot be linked, or "" if it can.
std::string LinkProblem(std::string_view module, std::string_view name, std::string_view kind,
                        const CoreImport** out) {
  const std::string spelled = fmt::format("{}.{}", module, name);
  if (kind != "function") {
    return fmt::format("guest imports {} {}; the wasikv adapter provides functions only", kind,
                       spelled);
  }
  *out = FindImport(module, name);
  if (*out != nullptr) return "";
  if (IsAdapterModule(module)) {
    return fmt::format("guest imports {}, but {} has no function '{}'", spelled, module, name);
  }
  return fmt::format("guest imports {}, which the wasikv adapter does not provide", spelled);
}

}  // namespace

CoreGuestObject::CoreGuestObject(napi_env env, std::shared_ptr<const Host> host)
    : env_(env),
      core_(std::make_unique<CoreGuest>(std::move(host), this)),
      session_object_(std::make_unique<SessionObject>(&core_->session())) {}

CoreGuestObject::~CoreGuestObject() { ReleaseAll(); }

void CoreGuestObject::ReleaseAll() {
  session_object_->Release();  // stops the feed while the session exists
  core_.reset();
  handlers_.reset();
  DeleteRef(env_, exports_);
  DeleteRef(env_, memory_);
  DeleteRef(env_, realloc_);
}

SessionObject* CoreGuestObject::SessionOf(napi_env env, napi_value value) {
  CoreGuestObject* object = Unwrap(env, value);
  return object == nullptr ? nullptr : object->session_object_.get();
}

std::span<uint8_t> CoreGuestObject::Bytes() {
  napi_value memory = RefValue(env_, memory_);
  napi_value buffer = nullptr;
  void* data = nullptr;
  size_t length = 0;
  if (memory == nullptr || napi_get_named_property(env_, memory, "buffer", &buffer) != napi_ok ||
      napi_get_arraybuffer_info(env_, buffer, &data, &length) != napi_ok) {
    // An empty memory: every access is then out of bounds, a trap.
    napi_value ignored = nullptr;
    napi_get_and_clear_last_exception(env_, &ignored);
    return {};
  }
  return {static_cast<uint8_t*>(data), length};
}

absl::StatusOr<uint32_t> CoreGuestObject::Realloc(uint32_t old_ptr, uint32_t old_size,
                                                  uint32_t align, uint32_t new_size) {
  napi_value realloc = RefValue(env_, realloc_);
  if (realloc == nullptr) {
    return GuestTrap("guest exports no cabi_realloc, so it cannot receive strings or lists");
  }
  std::array<napi_value, 4> args{};
  const std::array<uint32_t, 4> values = {old_ptr, old_size, align, new_size};
  for (size_t i = 0; i < args.size(); ++i) {
    if (napi_create_uint32(env_, values[i], &args[i]) != napi_ok) {
      return GuestTrap("cannot pass arguments to the guest's realloc");
    }
  }
  napi_value result = nullptr;
  if (napi_call_function(env_, Undefined(env_), realloc, args.size(), args.data(), &result) !=
      napi_ok) {
    return GuestTrap(fmt::format("the guest's realloc failed: {}", TakeExceptionMessage(env_)));
  }
  int64_t pointer = 0;
  if (napi_get_value_int64(env_, result, &pointer) != napi_ok) {
    napi_value ignored = nullptr;
    napi_get_and_clear_last_exception(env_, &ignored);
    return GuestTrap("the guest's realloc returned no i32");
  }
  return static_cast<uint32_t>(pointer);  // an i32 comes back signed
}

bool CoreGuestObject::Define(napi_env env, napi_value exports) {
  std::vector<napi_property_descriptor> methods = SessionObject::SharedMethods();
  const auto method = [](const char* name, napi_callback callback) {
    return napi_property_descriptor{
        name, nullptr, callback, nullptr, nullptr, nullptr, napi_default_method, nullptr};
  };
  methods.push_back(method("importObject", &CoreGuestObject::ImportObject));
  methods.push_back(method("bind", &CoreGuestObject::Bind));
  methods.push_back(method("deliverEvent", &CoreGuestObject::DeliverEvent));
  methods.push_back(method("close", &CoreGuestObject::Close));
  methods.push_back(napi_property_descriptor{"watchHandlers", nullptr, nullptr,
                                             &CoreGuestObject::WatchHandlers, nullptr, nullptr,
                                             napi_default, nullptr});
  napi_value constructor = nullptr;
  return NapiOk(env,
                napi_define_class(env, "CoreModuleGuest", NAPI_AUTO_LENGTH, &CoreGuestObject::New,
                                  nullptr, methods.size(), methods.data(), &constructor)) &&
         SetProperty(env, exports, "CoreModuleGuest", constructor);
}

napi_value CoreGuestObject::New(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  if (!call.ok()) return nullptr;
  napi_value target = nullptr;
  if (!NapiOk(env, napi_get_new_target(env, info, &target))) return nullptr;
  if (target == nullptr) return ThrowTypeError(env, "CoreModuleGuest must be called with new");
  HostObject* host = HostObject::Unwrap(env, call.arg(0), "the CoreModuleGuest's host");
  if (host == nullptr) return nullptr;
  auto* object = new CoreGuestObject(env, host->host());
  if (!NapiOk(env,
              napi_wrap(
                  env, call.self(), object,
                  [](napi_env, void* data, void*) { delete static_cast<CoreGuestObject*>(data); },
                  nullptr, nullptr))) {
    delete object;
    return nullptr;
  }
  if (!NapiOk(env, napi_type_tag_object(env, call.self(), &kCoreGuestTag))) return nullptr;
  return call.self();
}

napi_value CoreGuestObject::ImportObject(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  CoreGuestObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  bool is_array = false;
  napi_is_array(env, call.arg(0), &is_array);
  if (!is_array) return ThrowTypeError(env, "imports must be WebAssembly.Module.imports()");
  uint32_t count = 0;
  if (!NapiOk(env, napi_get_array_length(env, call.arg(0), &count))) return nullptr;
  napi_value object = nullptr;
  if (!NapiOk(env, napi_create_object(env, &object))) return nullptr;
  std::vector<std::string> problems;
  for (uint32_t i = 0; i < count; ++i) {
    napi_value entry = nullptr;
    if (!NapiOk(env, napi_get_element(env, call.arg(0), i, &entry))) return nullptr;
    std::optional<std::string> module, name, kind;
    for (auto [field, out] : {std::pair{"module", &module}, {"name", &name}, {"kind", &kind}}) {
      Property property = GetProperty(env, entry, field);
      if (!property.ok) return nullptr;
      if (property.value == nullptr) {
        return ThrowTypeError(env, fmt::format("imports[{}].{} is missing", i, field));
      }
      *out = ReadString(env, property.value, fmt::format("imports[{}].{}", i, field));
      if (!*out) return nullptr;
    }
    const CoreImport* core = nullptr;
    std::string problem = LinkProblem(*module, *name, *kind, &core);
    if (!problem.empty()) {
      problems.push_back(std::move(problem));
      continue;
    }
    auto binding = std::make_unique<Import>(Import{self, core});
    napi_value function = nullptr;
    if (!NapiOk(env,
                napi_create_function(env, name->c_str(), name->size(), &CoreGuestObject::CallImport,
                                     binding.get(), &function))) {
      return nullptr;
    }
    self->imports_.push_back(std::move(binding));
    // The function keeps the guest (and so its binding) alive.
    const napi_property_descriptor owner = {"wasikvGuest", nullptr,     nullptr,      nullptr,
                                            nullptr,       call.self(), napi_default, nullptr};
    if (!NapiOk(env, napi_define_properties(env, function, 1, &owner))) return nullptr;
    napi_value namespace_object = ObjectProperty(env, object, *module);
    if (namespace_object == nullptr) {
      if (!NapiOk(env, napi_create_object(env, &namespace_object)) ||
          !SetProperty(env, object, module->c_str(), namespace_object)) {
        return nullptr;
      }
    }
    if (!SetProperty(env, namespace_object, name->c_str(), function)) return nullptr;
  }
  if (!problems.empty()) {
    std::string message = problems.front();
    if (problems.size() > 1) message += fmt::format(" (and {} more)", problems.size() - 1);
    return ThrowCoded(env, "ERR_WASIKV_LOAD", message);
  }
  return object;
}

napi_value CoreGuestObject::Bind(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  CoreGuestObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  if (self->core_ == nullptr) return ThrowCoded(env, "ERR_WASIKV_CLOSED", "the guest is closed");
  if (self->exports_ != nullptr) return ThrowCoded(env, "ERR_WASIKV_LOAD", "already bound");
  napi_value exports = call.arg(0);
  napi_valuetype type = napi_undefined;
  napi_typeof(env, exports, &type);
  if (type != napi_object) return ThrowTypeError(env, "exports must be the instance's exports");
  napi_value memory = nullptr;
  for (std::string_view name : kMemoryExports) {
    memory = ObjectProperty(env, exports, name);
    if (memory != nullptr) break;
  }
  if (memory == nullptr) {
    return ThrowCoded(
        env, "ERR_WASIKV_LOAD",
        fmt::format("guest exports no memory (looked for {})", fmt::join(kMemoryExports, ", ")));
  }
  napi_value realloc = nullptr;
  for (std::string_view name : kReallocExports) {
    realloc = FunctionProperty(env, exports, name);
    if (realloc != nullptr) break;
  }
  std::optional<adapter::WatchHandlers> handlers = FindWatchHandlers(
      [&](std::string_view name) { return FunctionProperty(env, exports, name) != nullptr; });
  if (handlers) self->handlers_ = std::make_unique<adapter::WatchHandlers>(std::move(*handlers));
  if (!NapiOk(env, napi_create_reference(env, exports, 1, &self->exports_)) ||
      !NapiOk(env, napi_create_reference(env, memory, 1, &self->memory_)) ||
      (realloc != nullptr &&
       !NapiOk(env, napi_create_reference(env, realloc, 1, &self->realloc_)))) {
    return nullptr;
  }
  return Undefined(env);
}

napi_value CoreGuestObject::WatchHandlers(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  CoreGuestObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  if (self->handlers_ == nullptr) return Undefined(env);
  napi_value object = nullptr;
  if (!NapiOk(env, napi_create_object(env, &object)) ||
      !SetProperty(env, object, "onSet", MakeString(env, self->handlers_->on_set)) ||
      !SetProperty(env, object, "onDelete", MakeString(env, self->handlers_->on_delete)) ||
      !SetProperty(env, object, "seed", MakeBool(env, self->handlers_->seed))) {
    return nullptr;
  }
  return object;
}

napi_value CoreGuestObject::CallImport(napi_env env, napi_callback_info info) {
  size_t argc = kMaxImportArgs;
  std::array<napi_value, kMaxImportArgs> argv{};
  void* data = nullptr;
  if (!NapiOk(env, napi_get_cb_info(env, info, &argc, argv.data(), nullptr, &data))) {
    return nullptr;
  }
  const Import& import = *static_cast<Import*>(data);
  const CoreImport& core = *import.core;
  const auto mismatch = [&] {
    import.guest->trapped_ = true;
    return ThrowTrap(
        env, fmt::format("guest called {}.{} with arguments that do not match its "
                         "type {}",
                         core.module, core.name, DescribeSignature(core.params, core.results)));
  };
  if (argc != core.params.size()) return mismatch();
  std::array<uint64_t, kMaxImportArgs> args{};
  for (size_t i = 0; i < argc; ++i) {
    napi_valuetype type = napi_undefined;
    napi_typeof(env, argv[i], &type);
    if (core.params[i] == 'i') {
      int32_t value = 0;
      if (type != napi_number || napi_get_value_int32(env, argv[i], &value) != napi_ok) {
        return mismatch();
      }
      args[i] = static_cast<uint32_t>(value);  // i32 zero-extended
    } else {
      int64_t value = 0;
      bool lossless = false;
      if (type != napi_bigint ||
          napi_get_value_bigint_int64(env, argv[i], &value, &lossless) != napi_ok) {
        return mismatch();
      }
      args[i] = static_cast<uint64_t>(value);
    }
  }
  return import.guest->RunImport(core, std::span(args.data(), argc));
}

napi_value CoreGuestObject::RunImport(const CoreImport& import, std::span<const uint64_t> args) {
  if (core_ == nullptr) {
    return ThrowCoded(env_, "ERR_WASIKV_CLOSED", "this wasi:keyvalue guest is closed");
  }
  if (trapped_) {
    return ThrowTrap(env_, fmt::format("cannot call {}.{}: the guest trapped earlier",
                                       import.module, import.name));
  }
  if (memory_ == nullptr) {
    trapped_ = true;
    return ThrowTrap(env_,
                     "the guest called an import while it was being instantiated (start function)");
  }
  if (in_call_) {
    trapped_ = true;
    return ThrowTrap(env_, fmt::format("the guest called {}.{} from its realloc, during another "
                                       "import call",
                                       import.module, import.name));
  }
  std::array<uint64_t, 2> results{};
  if (import.results.size() > results.size()) return ThrowTrap(env_, "too many results");
  in_call_ = true;
  absl::Status status = core_->Call(import, args, std::span(results.data(), import.results.size()));
  in_call_ = false;
  if (!status.ok()) {
    trapped_ = true;
    // Not the guest's fault: keep the code in the message, as wabt does.
    return ThrowTrap(env_, IsGuestTrap(status)
                               ? std::string(MessageOf(status))
                               : fmt::format("{}: {}", absl::StatusCodeToString(status.code()),
                                             MessageOf(status)));
  }
  std::vector<napi_value> values;
  for (size_t i = 0; i < import.results.size(); ++i) {
    values.push_back(import.results[i] == 'i'
                         ? MakeU32(env_, static_cast<uint32_t>(results[i]))
                         : MakeBigInt64(env_, static_cast<int64_t>(results[i])));
    if (values.back() == nullptr) return nullptr;
  }
  if (values.empty()) return Undefined(env_);
  if (values.size() == 1) return values.front();
  napi_value array = nullptr;
  if (!NapiOk(env_, napi_create_array_with_length(env_, values.size(), &array))) return nullptr;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!NapiOk(env_, napi_set_element(env_, array, static_cast<uint32_t>(i), values[i]))) {
      return nullptr;
    }
  }
  return array;
}

bool CoreGuestObject::CallExport(const std::string& name, std::span<const int64_t> args) {
  napi_value exports = RefValue(env_, exports_);
  napi_value function = exports == nullptr ? nullptr : FunctionProperty(env_, exports, name);
  if (function == nullptr) {
    ThrowTrap(env_, fmt::format("the guest has no function export '{}'", name));
    return false;
  }
  std::vector<napi_value> values(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    // Every handler parameter is an i32 (handles, pointers, lengths).
    values[i] = MakeU32(env_, static_cast<uint32_t>(args[i]));
    if (values[i] == nullptr) return false;
  }
  napi_value result = nullptr;
  if (napi_call_function(env_, Undefined(env_), function, values.size(), values.data(), &result) !=
      napi_ok) {
    trapped_ = true;  // a handler that throws has trapped
    return false;
  }
  return true;
}

napi_value CoreGuestObject::DeliverEvent(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  CoreGuestObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  napi_value event = call.arg(0);
  std::optional<std::string> bucket_name, type, key, value;
  for (auto [field, out] : {std::pair{"bucket", &bucket_name}, {"type", &type}, {"key", &key}}) {
    Property property = GetProperty(env, event, field);
    if (!property.ok) return nullptr;
    if (property.value == nullptr) {
      return ThrowTypeError(env, fmt::format("event.{} is missing", field));
    }
    *out = ReadString(env, property.value, fmt::format("event.{}", field));
    if (!*out) return nullptr;
  }
  if (*type != "set" && *type != "delete") {
    return ThrowTypeError(env, "event.type must be 'set' or 'delete'");
  }
  const bool is_set = *type == "set";
  if (is_set) {
    Property property = GetProperty(env, event, "value");
    if (!property.ok) return nullptr;
    if (property.value == nullptr) return ThrowTypeError(env, "event.value is missing");
    value = ReadBytes(env, property.value, "event.value");
    if (!value) return nullptr;
  }
  if (self->core_ == nullptr) {
    return ThrowCoded(env, "ERR_WASIKV_CLOSED", "this wasi:keyvalue guest is closed");
  }
  if (self->handlers_ == nullptr) {
    return ThrowCoded(env, "ERR_WASIKV_NOT_WATCHING",
                      "the guest exports no watch handlers (wasi:keyvalue/watcher on-set and "
                      "on-delete, or seed 001's handle-watch)");
  }
  if (self->trapped_) return ThrowTrap(env, "the guest trapped earlier");
  if (self->in_call_) return ThrowTrap(env, "an import of the guest is running");

  self->in_call_ = true;  // the guest's realloc must not call an import
  absl::StatusOr<std::vector<int64_t>> lowered =
      self->core_->LowerWatchEvent(*bucket_name, *key, value, self->handlers_->seed);
  self->in_call_ = false;
  if (!lowered.ok()) {
    if (IsGuestTrap(lowered.status())) {
      self->trapped_ = true;
      return ThrowTrap(env, std::string(MessageOf(lowered.status())));
    }
    return ThrowStatus(env, lowered.status());
  }
  if (!self->CallExport(is_set ? self->handlers_->on_set : self->handlers_->on_delete, *lowered)) {
    return nullptr;
  }
  return Undefined(env);
}

napi_value CoreGuestObject::Close(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  CoreGuestObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  self->ReleaseAll();
  return Undefined(env);
}

}  // namespace wasikv::adapter::node
