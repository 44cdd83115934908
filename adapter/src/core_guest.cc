#include <algorithm>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "import_tables.h"
#include "seed_state.h"
#include "wasikv/adapter/core_abi.h"
#include "wasikv/internal/status_macros.h"

namespace wasikv::adapter {
namespace {

constexpr std::string_view kCm32p2Prefix = "cm32p2|";
// Errors reach the guest as strings it must allocate; one is never longer.
constexpr size_t kMaxErrorMessageBytes = 1024;

// The newer mangling names resource drops "<resource>_drop".
std::string ClassicName(std::string_view name) {
  constexpr std::string_view kDropSuffix = "_drop";
  if (name.size() > kDropSuffix.size() && name.ends_with(kDropSuffix) &&
      name.find('[') == std::string_view::npos) {
    return fmt::format("[resource-drop]{}", name.substr(0, name.size() - kDropSuffix.size()));
  }
  return std::string(name);
}

std::string_view ClassicModule(std::string_view module) {
  if (module.starts_with(kCm32p2Prefix)) module.remove_prefix(kCm32p2Prefix.size());
  return module;
}

const std::vector<CoreImport>& ImportList() {
  static const std::vector<CoreImport>* imports = [] {
    auto* all = new std::vector<CoreImport>();
    for (auto table : {StoreImports(), SeedImports()})
      all->insert(all->end(), table.begin(), table.end());
    return all;
  }();
  return *imports;
}

// Truncates at a UTF-8 boundary: the guest's bindings may check.
std::string_view Truncate(std::string_view message) {
  if (message.size() <= kMaxErrorMessageBytes) return message;
  size_t cut = kMaxErrorMessageBytes;
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  return message.substr(0, cut);
}

}  // namespace

const CoreImport* FindImport(std::string_view module, std::string_view name) {
  const bool newer = module.starts_with(kCm32p2Prefix);
  const std::string_view classic_module = ClassicModule(module);
  const std::string classic_name = newer ? ClassicName(name) : std::string(name);
  for (const CoreImport& import : ImportList()) {
    if (import.module == classic_module && import.name == classic_name) return &import;
  }
  return nullptr;
}

bool IsAdapterModule(std::string_view module) {
  const std::string_view classic = ClassicModule(module);
  return std::any_of(ImportList().begin(), ImportList().end(),
                     [&](const CoreImport& import) { return import.module == classic; });
}

std::span<const CoreImport> AllImports() { return ImportList(); }

std::string DescribeSignature(std::string_view params, std::string_view results) {
  auto spell = [](std::string_view letters) {
    std::vector<std::string_view> names;
    for (char letter : letters) {
      switch (letter) {
        case 'i':
          names.push_back("i32");
          break;
        case 'I':
          names.push_back("i64");
          break;
        case 'f':
          names.push_back("f32");
          break;
        case 'F':
          names.push_back("f64");
          break;
        case 'v':
          names.push_back("v128");
          break;
        case 'r':
          names.push_back("funcref");
          break;
        case 'e':
          names.push_back("externref");
          break;
        default:
          names.push_back("?");
          break;
      }
    }
    return fmt::format("({})", fmt::join(names, ", "));
  };
  return fmt::format("{} -> {}", spell(params), spell(results));
}

AbiCall StartCall(CoreGuest& guest) {
  return AbiCall(guest.memory(), guest.session().host().options().max_call_allocation_bytes);
}

absl::Status LowerError(AbiCall& call, uint32_t area, uint32_t offset, const absl::Status& error) {
  const KeyValueError lowered = ToKeyValueError(error);
  call.Store8(area, offset, static_cast<uint8_t>(lowered.kind));
  if (lowered.kind != KeyValueError::Kind::kOther) return absl::OkStatus();
  absl::StatusOr<GuestSlice> message = call.LowerBytes(Truncate(lowered.message));
  if (!message.ok()) {
    if (IsGuestTrap(message.status())) return message.status();
    message = GuestSlice{1, 0};  // no room even for the message: report it empty
  }
  call.Store32(area, offset + 4, message->ptr);
  call.Store32(area, offset + 8, message->len);
  return absl::OkStatus();
}

CoreGuest::CoreGuest(std::shared_ptr<const Host> host, GuestMemory* memory)
    : session_(std::move(host)),
      memory_(memory),
      seed_(std::make_unique<SeedState>(&session_.budget())) {}

CoreGuest::~CoreGuest() = default;

CoreGuest::SeedState& CoreGuest::seed() { return *seed_; }

std::optional<WatchHandlers> FindWatchHandlers(
    const std::function<bool(std::string_view)>& has_export) {
  std::vector<WatchHandlers> candidates;
  for (const char* version : {"0.2.0-draft", "0.2.0-draft2"}) {
    const std::string iface = fmt::format("wasi:keyvalue/watcher@{}", version);
    candidates.push_back({iface + "#on-set", iface + "#on-delete", false});
    candidates.push_back(
        {fmt::format("cm32p2|{}|on-set", iface), fmt::format("cm32p2|{}|on-delete", iface), false});
  }
  candidates.push_back(
      {"wasi:keyvalue/handle-watch#on-set", "wasi:keyvalue/handle-watch#on-delete", true});
  for (WatchHandlers& handlers : candidates) {
    if (has_export(handlers.on_set) && has_export(handlers.on_delete)) return std::move(handlers);
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<int64_t>> CoreGuest::LowerWatchEvent(
    const std::string& bucket, std::string_view key, const std::optional<std::string>& value,
    bool seed_handlers) {
  AbiCall call = StartCall(*this);
  ASSIGN_OR_RETURN(Handle bucket_handle, session_.OpenResolved(bucket));
  ASSIGN_OR_RETURN(GuestSlice lowered_key, call.LowerBytes(key));
  std::vector<int64_t> args = {bucket_handle, lowered_key.ptr, lowered_key.len};
  if (value && seed_handlers) {
    ASSIGN_OR_RETURN(Handle incoming, seed_->incoming.Insert({*value}));
    args.push_back(incoming);
  } else if (value) {
    ASSIGN_OR_RETURN(GuestSlice lowered_value, call.LowerBytes(*value));
    args.push_back(lowered_value.ptr);
    args.push_back(lowered_value.len);
  }
  return args;
}

absl::Status CoreGuest::Call(const CoreImport& import, std::span<const uint64_t> args,
                             std::span<uint64_t> results) {
  if (args.size() != import.params.size() || results.size() != import.results.size()) {
    return GuestTrap(fmt::format(
        "{}.{} called with {} arguments and {} results, expected {} and {}", import.module,
        import.name, args.size(), results.size(), import.params.size(), import.results.size()));
  }
  return import.handler(*this, args, results);
}

}  // namespace wasikv::adapter
