// Compiled as C++17: see wabt_engine.h.
#include "wabt_engine.h"

#include <optional>
#include <utility>

#include "fmt/format.h"
#include "wabt/binary-reader.h"
#include "wabt/error-formatter.h"
#include "wabt/interp/binary-reader-interp.h"
#include "wabt/interp/interp.h"

namespace wasikv::adapter::wabt_internal {
namespace {

namespace wi = ::wabt::interp;

constexpr uint64_t kPageBytes = 65536;
// Import calls the guest makes from inside one (an import whose
// cabi_realloc calls an import). Each level costs native stack; real
// guests never nest at all.
constexpr int kMaxImportDepth = 8;
constexpr size_t kMaxImportValues = 16;

char Letter(wi::ValueType type) {
  switch (type) {
    case wi::ValueType::I32:
      return 'i';
    case wi::ValueType::I64:
      return 'I';
    case wi::ValueType::F32:
      return 'f';
    case wi::ValueType::F64:
      return 'F';
    case wi::ValueType::V128:
      return 'v';
    case wi::ValueType::FuncRef:
      return 'r';
    case wi::ValueType::ExternRef:
      return 'e';
    default:
      return '?';
  }
}

std::string Letters(const wi::ValueTypes& types) {
  std::string out;
  for (const wi::ValueType& type : types) out += Letter(type);
  return out;
}

ExternDesc Describe(std::string module, std::string name, const wi::ExternType& type) {
  ExternDesc desc{std::move(module), std::move(name), wi::GetName(type.kind), "", ""};
  if (const auto* func = wabt::dyn_cast<wi::FuncType>(&type)) {
    desc.params = Letters(func->params);
    desc.results = Letters(func->results);
  }
  return desc;
}

std::string TrapText(const wi::Trap::Ptr& trap) {
  return trap ? trap->message() : std::string("unknown trap");
}

wi::Value ToValue(wi::ValueType type, uint64_t bits) {
  return type == wi::ValueType::I64 ? wi::Value::Make(bits)
                                    : wi::Value::Make(static_cast<uint32_t>(bits));
}

uint64_t FromValue(wi::ValueType type, const wi::Value& value) {
  return type == wi::ValueType::I64 ? value.Get<uint64_t>() : value.Get<uint32_t>();
}

absl::Status ApplyLimits(const EngineLimits& limits, wi::ModuleDesc& desc) {
  for (size_t i = 0; i < desc.funcs.size(); ++i) {
    const std::vector<wi::LocalDesc>& locals = desc.funcs[i].locals;
    const uint64_t count = locals.empty() ? 0 : locals.back().end;
    if (count > limits.max_function_locals) {
      return absl::FailedPreconditionError(
          fmt::format("guest function {} has {} locals, more than the {} allowed",
                      desc.imports.size() + i, count, limits.max_function_locals));
    }
  }
  const uint64_t max_pages = limits.max_memory_bytes / kPageBytes;
  for (wi::MemoryDesc& memory : desc.memories) {
    wabt::Limits& memory_limits = memory.type.limits;
    if (memory_limits.is_64) {
      return absl::FailedPreconditionError("guest has a 64-bit memory; the adapter is wasm32 only");
    }
    if (memory_limits.initial > max_pages) {
      return absl::FailedPreconditionError(
          fmt::format("guest memory starts at {} bytes, more than the limit of {}",
                      memory_limits.initial * kPageBytes, max_pages * kPageBytes));
    }
    // memory.grow past the cap returns -1, as at any maximum.
    if (!memory_limits.has_max || memory_limits.max > max_pages) {
      memory_limits.has_max = true;
      memory_limits.max = max_pages;
    }
  }
  return absl::OkStatus();
}

}  // namespace

struct WabtEngine::Impl {
  wabt::Result CallImport(size_t index, wi::Thread& thread, const wi::Values& params,
                          wi::Values& results, wi::Trap::Ptr* out_trap);
  wi::Func::Ptr FindFunction(std::string_view name);

  // The store owns every wabt object; the references below must be released
  // before it, hence this order.
  std::unique_ptr<wi::Store> store;
  wi::Module::Ptr module;
  std::vector<wi::HostFunc::Ptr> host_funcs;
  wi::Instance::Ptr instance;
  wi::Memory::Ptr memory;
  wi::Func::Ptr realloc;
  std::vector<ExternDesc> imports;
  std::vector<ExternDesc> exports;

  ImportHandler* handler = nullptr;
  // The wabt thread running the innermost import call.
  wi::Thread* import_thread = nullptr;
  int import_depth = 0;
  // The innermost cabi_realloc trap of the current import call, which ends
  // the whole call.
  std::optional<std::string> nested_trap;
};

wabt::Result WabtEngine::Impl::CallImport(size_t index, wi::Thread& thread,
                                          const wi::Values& params, wi::Values& results,
                                          wi::Trap::Ptr* out_trap) {
  const ExternDesc& import = imports[index];
  const wi::FuncType& type = *wabt::cast<wi::FuncType>(module->import_types()[index].type.get());
  if (import_depth == 0) nested_trap.reset();
  // Only the outermost import call names itself in the message; a trap from
  // inside cabi_realloc travels out through the nested calls unchanged.
  auto trap = [&](std::string message) {
    if (nested_trap) message = *nested_trap;
    if (import_depth == 0) {
      message = fmt::format("{} (in {}.{})", message, import.module, import.name);
    }
    *out_trap = wi::Trap::New(*store, message);
    return wabt::Result::Error;
  };
  if (import_depth >= kMaxImportDepth) {
    return trap(
        fmt::format("import calls nested {} deep (cabi_realloc calling an import)", import_depth));
  }
  if (params.size() > kMaxImportValues || results.size() > kMaxImportValues) {
    return trap("too many parameters or results");
  }
  uint64_t args[kMaxImportValues] = {};
  uint64_t outs[kMaxImportValues] = {};
  for (size_t i = 0; i < params.size(); ++i) args[i] = FromValue(type.params[i], params[i]);

  wi::Thread* const outer_thread = std::exchange(import_thread, &thread);
  ++import_depth;
  const absl::Status status = handler->CallImport(index, args, outs);
  --import_depth;
  import_thread = outer_thread;
  // After a trap in cabi_realloc the wabt thread is mid-call: the import
  // must trap even if the handler carried on.
  if (!status.ok() || nested_trap) {
    return trap(std::string(status.message().data(), status.message().size()));
  }
  for (size_t i = 0; i < results.size(); ++i) results[i] = ToValue(type.results[i], outs[i]);
  return wabt::Result::Ok;
}

wi::Func::Ptr WabtEngine::Impl::FindFunction(std::string_view name) {
  const std::vector<wi::ExportType>& types = module->export_types();
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i].name == name && types[i].type->kind == wi::ExternKind::Func) {
      return wi::Func::Ptr(*store, instance->exports()[i]);
    }
  }
  return {};
}

absl::StatusOr<std::unique_ptr<WabtEngine>> WabtEngine::Parse(const uint8_t* bytes, size_t size,
                                                              const EngineLimits& limits) {
  const wabt::Features features;
  wi::ModuleDesc desc;
  wabt::Errors errors;
  const wabt::ReadBinaryOptions options(features, /*log_stream=*/nullptr,
                                        /*read_debug_names=*/false,
                                        /*stop_on_first_error=*/true,
                                        /*fail_on_custom_section_error=*/false);
  if (wabt::Failed(wi::ReadBinaryInterp("guest.wasm", bytes, size, options, &errors, &desc))) {
    std::string text = wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return absl::InvalidArgumentError(fmt::format("guest is not a valid WebAssembly module: {}",
                                                  text.empty() ? "unreadable" : text));
  }
  if (absl::Status s = ApplyLimits(limits, desc); !s.ok()) return s;

  auto impl = std::make_unique<Impl>();
  impl->store = std::make_unique<wi::Store>(features);
  impl->module = wi::Module::New(*impl->store, std::move(desc));
  for (const wi::ImportType& import : impl->module->import_types()) {
    impl->imports.push_back(Describe(import.module, import.name, *import.type));
  }
  for (const wi::ExportType& export_type : impl->module->export_types()) {
    impl->exports.push_back(Describe("", export_type.name, *export_type.type));
  }
  return std::unique_ptr<WabtEngine>(new WabtEngine(std::move(impl)));
}

WabtEngine::WabtEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WabtEngine::~WabtEngine() = default;

const std::vector<ExternDesc>& WabtEngine::imports() const { return impl_->imports; }

const std::vector<ExternDesc>& WabtEngine::exports() const { return impl_->exports; }

absl::Status WabtEngine::Instantiate(ImportHandler* handler) {
  Impl* const impl = impl_.get();
  impl->handler = handler;
  wi::RefVec refs;
  const std::vector<wi::ImportType>& imports = impl->module->import_types();
  for (size_t i = 0; i < imports.size(); ++i) {
    const auto* type = wabt::dyn_cast<wi::FuncType>(imports[i].type.get());
    if (type == nullptr) {
      return absl::FailedPreconditionError(
          fmt::format("import {}.{} is not a function", imports[i].module, imports[i].name));
    }
    wi::HostFunc::Ptr func =
        wi::HostFunc::New(*impl->store, *type,
                          [impl, i](wi::Thread& thread, const wi::Values& params,
                                    wi::Values& results, wi::Trap::Ptr* out_trap) {
                            return impl->CallImport(i, thread, params, results, out_trap);
                          });
    refs.push_back(func.ref());
    impl->host_funcs.push_back(std::move(func));
  }
  wi::Trap::Ptr trap;
  impl->instance = wi::Instance::Instantiate(*impl->store, impl->module.ref(), refs, &trap);
  if (!impl->instance) {
    return absl::AbortedError(fmt::format("trap: instantiating the guest: {}", TrapText(trap)));
  }
  return absl::OkStatus();
}

bool WabtEngine::BindMemory(std::string_view name) {
  const std::vector<wi::ExportType>& types = impl_->module->export_types();
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i].name == name && types[i].type->kind == wi::ExternKind::Memory) {
      impl_->memory = wi::Memory::Ptr(*impl_->store, impl_->instance->exports()[i]);
      return true;
    }
  }
  return false;
}

void WabtEngine::BindRealloc(std::string_view name) { impl_->realloc = impl_->FindFunction(name); }

bool WabtEngine::has_realloc() const { return static_cast<bool>(impl_->realloc); }

uint8_t* WabtEngine::memory_data() { return impl_->memory ? impl_->memory->UnsafeData() : nullptr; }

size_t WabtEngine::memory_size() {
  return impl_->memory ? static_cast<size_t>(impl_->memory->ByteSize()) : 0;
}

absl::StatusOr<uint32_t> WabtEngine::Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                             uint32_t new_size) {
  if (!impl_->realloc) return absl::FailedPreconditionError("guest exports no cabi_realloc");
  const wi::Values params = {wi::Value::Make(old_ptr), wi::Value::Make(old_size),
                             wi::Value::Make(align), wi::Value::Make(new_size)};
  wi::Values results;
  wi::Trap::Ptr trap;
  wabt::Result result;
  if (impl_->import_thread != nullptr) {
    // wabt returns from a function called on a thread that is inside a host
    // function back to that host function.
    result = impl_->realloc->Call(*impl_->import_thread, params, results, &trap);
  } else {
    wi::Thread thread(*impl_->store);
    result = impl_->realloc->Call(thread, params, results, &trap);
  }
  if (wabt::Failed(result)) {
    std::string message = fmt::format("cabi_realloc trapped: {}", TrapText(trap));
    if (!impl_->nested_trap) impl_->nested_trap = message;
    return absl::AbortedError(message);
  }
  return results[0].Get<uint32_t>();
}

absl::StatusOr<std::vector<uint64_t>> WabtEngine::Call(std::string_view name,
                                                       const std::vector<uint64_t>& args) {
  wi::Func::Ptr func = impl_->FindFunction(name);
  if (!func) return absl::NotFoundError(fmt::format("guest has no function export '{}'", name));
  const wi::FuncType& type = func->type();
  if (args.size() != type.params.size()) {
    return absl::InvalidArgumentError(fmt::format("export '{}' takes {} arguments, got {}", name,
                                                  type.params.size(), args.size()));
  }
  wi::Values params;
  for (size_t i = 0; i < args.size(); ++i) params.push_back(ToValue(type.params[i], args[i]));
  wi::Values results;
  wi::Trap::Ptr trap;
  wi::Thread thread(*impl_->store);
  if (wabt::Failed(func->Call(thread, params, results, &trap))) {
    return absl::AbortedError(fmt::format("trap: {}", TrapText(trap)));
  }
  std::vector<uint64_t> out;
  for (size_t i = 0; i < results.size(); ++i) out.push_back(FromValue(type.results[i], results[i]));
  return out;
}

}  // namespace wasikv::adapter::wabt_internal
