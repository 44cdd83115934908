#include "wasikv/adapter/wabt_guest.h"

#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "wabt_engine.h"
#include "wasikv/adapter/core_abi.h"
#include "wasikv/internal/status_text.h"

namespace wasikv::adapter {
namespace {

using wabt_internal::ExternDesc;
using wabt_internal::WabtEngine;

bool IntegersOnly(std::string_view letters) {
  return letters.find_first_not_of("iI") == std::string_view::npos;
}

// Why the adapter cannot link `import`, or "" if it can (then `*out` is the
// adapter's function).
std::string LinkProblem(const ExternDesc& import, const CoreImport** out) {
  const std::string spelled = fmt::format("{}.{}", import.module, import.name);
  if (import.kind != "func") {
    return fmt::format("guest imports {} {}; the wasikv adapter provides functions only",
                       import.kind, spelled);
  }
  const CoreImport* core = FindImport(import.module, import.name);
  if (core == nullptr) {
    if (IsAdapterModule(import.module)) {
      return fmt::format("guest imports {}, but {} has no function '{}'", spelled, import.module,
                         import.name);
    }
    return fmt::format("guest imports {}, which the wasikv adapter does not provide", spelled);
  }
  if (import.params != core->params || import.results != core->results) {
    return fmt::format("guest imports {} with type {}, expected {}", spelled,
                       DescribeSignature(import.params, import.results),
                       DescribeSignature(core->params, core->results));
  }
  *out = core;
  return "";
}

const ExternDesc* FindExport(const WabtEngine& engine, std::string_view name,
                             std::string_view kind) {
  for (const ExternDesc& e : engine.exports()) {
    if (e.name == name && e.kind == kind) return &e;
  }
  return nullptr;
}

}  // namespace

struct WabtGuest::State final : public GuestMemory, public wabt_internal::ImportHandler {
  // GuestMemory
  std::span<uint8_t> Bytes() override { return {engine->memory_data(), engine->memory_size()}; }
  absl::StatusOr<uint32_t> Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                   uint32_t new_size) override {
    if (!engine->has_realloc()) {
      return GuestTrap("guest exports no cabi_realloc, so it cannot receive strings or lists");
    }
    absl::StatusOr<uint32_t> ptr = engine->Realloc(old_ptr, old_size, align, new_size);
    if (!ptr.ok()) return GuestTrap(MessageOf(ptr.status()));
    return ptr;
  }

  // ImportHandler
  absl::Status CallImport(size_t import, const uint64_t* args, uint64_t* results) override {
    if (!ready) {
      return absl::FailedPreconditionError(
          "the guest called an import while it was being instantiated (start function)");
    }
    const CoreImport& core_import = *linked[import];
    absl::Status status = core->Call(core_import, std::span(args, core_import.params.size()),
                                     std::span(results, core_import.results.size()));
    if (status.ok() || IsGuestTrap(status)) return status;
    // Not the guest's fault: keep the code in the trap message.
    return absl::Status(
        status.code(),
        fmt::format("{}: {}", absl::StatusCodeToString(status.code()), MessageOf(status)));
  }

  // Runs an export; a trap ends the instance.
  absl::StatusOr<std::vector<uint64_t>> Call(std::string_view name,
                                             const std::vector<uint64_t>& args) {
    if (trapped) {
      return absl::FailedPreconditionError(
          fmt::format("cannot call '{}': the guest trapped earlier", name));
    }
    absl::StatusOr<std::vector<uint64_t>> results = engine->Call(name, args);
    if (results.status().code() == absl::StatusCode::kAborted) trapped = true;
    return results;
  }

  std::unique_ptr<WabtEngine> engine;
  std::vector<const CoreImport*> linked;  // by import index
  std::unique_ptr<CoreGuest> core;
  bool ready = false;  // exports bound: imports may run
  bool trapped = false;
};

absl::StatusOr<std::unique_ptr<WabtGuest>> WabtGuest::Load(std::shared_ptr<const Host> host,
                                                           std::span<const uint8_t> wasm_bytes,
                                                           const WabtGuestOptions& options) {
  auto state = std::make_unique<State>();
  absl::StatusOr<std::unique_ptr<WabtEngine>> engine =
      WabtEngine::Parse(wasm_bytes.data(), wasm_bytes.size(),
                        {.max_memory_bytes = options.max_memory_bytes,
                         .max_function_locals = options.max_function_locals});
  if (!engine.ok()) return engine.status();
  state->engine = *std::move(engine);

  // Link every import, reporting the first problem and how many more.
  std::vector<std::string> problems;
  for (const ExternDesc& import : state->engine->imports()) {
    const CoreImport* core = nullptr;
    std::string problem = LinkProblem(import, &core);
    if (!problem.empty()) problems.push_back(std::move(problem));
    state->linked.push_back(core);
  }
  if (!problems.empty()) {
    std::string message = problems.front();
    if (problems.size() > 1) message += fmt::format(" (and {} more)", problems.size() - 1);
    return absl::FailedPreconditionError(message);
  }

  state->core = std::make_unique<CoreGuest>(std::move(host), state.get());
  if (absl::Status s = state->engine->Instantiate(state.get()); !s.ok()) return s;

  bool has_memory = false;
  for (std::string_view name : kMemoryExports) {
    if (state->engine->BindMemory(name)) {
      has_memory = true;
      break;
    }
  }
  if (!has_memory && !state->linked.empty()) {
    return absl::FailedPreconditionError(
        fmt::format("guest imports from the wasikv adapter but exports no memory (looked for {})",
                    fmt::join(kMemoryExports, ", ")));
  }
  for (std::string_view name : kReallocExports) {
    const ExternDesc* realloc = FindExport(*state->engine, name, "func");
    if (realloc == nullptr) continue;
    if (realloc->params != "iiii" || realloc->results != "i") {
      return absl::FailedPreconditionError(fmt::format(
          "guest exports {} with type {}, expected {}", name,
          DescribeSignature(realloc->params, realloc->results), DescribeSignature("iiii", "i")));
    }
    state->engine->BindRealloc(name);
    break;
  }
  state->ready = true;

  std::unique_ptr<WabtGuest> guest(new WabtGuest(std::move(state)));
  for (std::string_view name : kInitializeExports) {
    if (!guest->HasExport(name)) continue;
    absl::StatusOr<std::vector<int64_t>> initialized = guest->Invoke(name);
    if (!initialized.ok()) {
      return absl::Status(initialized.status().code(),
                          fmt::format("{} (in {})", MessageOf(initialized.status()), name));
    }
    break;
  }
  return guest;
}

WabtGuest::WabtGuest(std::unique_ptr<State> state) : state_(std::move(state)) {}

WabtGuest::~WabtGuest() = default;

absl::StatusOr<std::vector<int64_t>> WabtGuest::Invoke(std::string_view export_name,
                                                       std::span<const int64_t> args) {
  const ExternDesc* e = FindExport(*state_->engine, export_name, "func");
  if (e == nullptr) {
    return absl::NotFoundError(fmt::format("guest has no function export '{}'", export_name));
  }
  if (!IntegersOnly(e->params) || !IntegersOnly(e->results)) {
    return absl::InvalidArgumentError(fmt::format(
        "export '{}' has type {}; only i32 and i64 parameters and results are supported",
        export_name, DescribeSignature(e->params, e->results)));
  }
  if (args.size() != e->params.size()) {
    return absl::InvalidArgumentError(fmt::format("export '{}' takes {} arguments, got {}",
                                                  export_name, e->params.size(), args.size()));
  }
  std::vector<uint64_t> bits;
  for (size_t i = 0; i < args.size(); ++i) {
    if (e->params[i] == 'i' && (args[i] < std::numeric_limits<int32_t>::min() ||
                                args[i] > std::numeric_limits<uint32_t>::max())) {
      return absl::InvalidArgumentError(
          fmt::format("argument {} of '{}' is an i32; {} does not fit in 32 bits", i + 1,
                      export_name, args[i]));
    }
    bits.push_back(e->params[i] == 'i' ? uint64_t{static_cast<uint32_t>(args[i])}
                                       : static_cast<uint64_t>(args[i]));
  }
  absl::StatusOr<std::vector<uint64_t>> results = state_->Call(export_name, bits);
  if (!results.ok()) return results.status();
  std::vector<int64_t> out;
  for (size_t i = 0; i < results->size(); ++i) {
    const uint64_t value = (*results)[i];
    out.push_back(e->results[i] == 'i' ? int64_t{static_cast<int32_t>(static_cast<uint32_t>(value))}
                                       : static_cast<int64_t>(value));
  }
  return out;
}

bool WabtGuest::HasExport(std::string_view export_name) const {
  return FindExport(*state_->engine, export_name, "func") != nullptr;
}

std::vector<std::string> WabtGuest::FunctionExports() const {
  std::vector<std::string> names;
  for (const ExternDesc& e : state_->engine->exports()) {
    if (e.kind == "func") names.push_back(e.name);
  }
  return names;
}

std::span<const uint8_t> WabtGuest::memory() { return state_->Bytes(); }

CoreGuest& WabtGuest::core() { return *state_->core; }

}  // namespace wasikv::adapter
