#include "tests/adapter/guest_loader.h"

#include <fstream>
#include <iterator>
#include <vector>

#include "wasikv/adapter/wabt_guest.h"
#include "wasikv/adapter/wasm2c_guest.h"

WASIKV_DECLARE_WASM2C_MODULE(draft_guest);
WASIKV_DECLARE_WASM2C_MODULE(draft2_guest);
WASIKV_DECLARE_WASM2C_MODULE(draft2_guest_cm32p2);
WASIKV_DECLARE_WASM2C_MODULE(seed_guest);
WASIKV_DECLARE_WASM2C_MODULE(hostile_guest);
WASIKV_DECLARE_WASM2C_MODULE(hostile_guest_cm32p2);
WASIKV_DECLARE_WASM2C_MODULE(bench_guest);
WASIKV_DECLARE_WASM2C_MODULE(watch_guest);
WASIKV_DECLARE_WASM2C_MODULE(watch_guest_draft2_cm32p2);

namespace wasikv::testing {
namespace {

const adapter::Wasm2cModule* FindWasm2cModule(std::string_view name) {
  static const adapter::Wasm2cModule* const kModules[] = {
      &kWasm2cModule_draft_guest,
      &kWasm2cModule_draft2_guest,
      &kWasm2cModule_draft2_guest_cm32p2,
      &kWasm2cModule_seed_guest,
      &kWasm2cModule_hostile_guest,
      &kWasm2cModule_hostile_guest_cm32p2,
      &kWasm2cModule_bench_guest,
      &kWasm2cModule_watch_guest,
      &kWasm2cModule_watch_guest_draft2_cm32p2,
  };
  for (const adapter::Wasm2cModule* module : kModules) {
    if (module->name == name) return module;
  }
  return nullptr;
}

}  // namespace

std::string RuntimeName(Runtime runtime) { return runtime == Runtime::kWabt ? "wabt" : "wasm2c"; }

std::string GuestWasmPath(std::string_view name) {
  return std::string(WASIKV_TEST_GUEST_DIR) + "/" + std::string(name) + ".wasm";
}

absl::StatusOr<std::unique_ptr<adapter::GuestInstance>> LoadGuest(
    Runtime runtime, std::shared_ptr<const adapter::Host> host, std::string_view name) {
  if (runtime == Runtime::kWasm2c) {
    const adapter::Wasm2cModule* module = FindWasm2cModule(name);
    if (module == nullptr) return absl::NotFoundError("no wasm2c build of " + std::string(name));
    absl::StatusOr<std::unique_ptr<adapter::Wasm2cGuest>> guest =
        adapter::Wasm2cGuest::Create(std::move(host), *module);
    if (!guest.ok()) return guest.status();
    return std::unique_ptr<adapter::GuestInstance>(std::move(*guest));
  }
  std::ifstream file(GuestWasmPath(name), std::ios::binary);
  if (!file) return absl::NotFoundError("cannot read " + GuestWasmPath(name));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
  absl::StatusOr<std::unique_ptr<adapter::WabtGuest>> guest =
      adapter::WabtGuest::Load(std::move(host), bytes);
  if (!guest.ok()) return guest.status();
  return std::unique_ptr<adapter::GuestInstance>(std::move(*guest));
}

}  // namespace wasikv::testing
