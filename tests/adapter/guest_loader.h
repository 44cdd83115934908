// Loads the C test guests (tests/adapter/guests/) on either runtime binding
// the adapter ships, so one test body runs on both.
#ifndef WASIKV_TESTS_ADAPTER_GUEST_LOADER_H_
#define WASIKV_TESTS_ADAPTER_GUEST_LOADER_H_

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "wasikv/adapter/guest_instance.h"
#include "wasikv/adapter/host.h"

namespace wasikv::testing {

enum class Runtime { kWabt, kWasm2c };

std::string RuntimeName(Runtime runtime);
inline void PrintTo(Runtime runtime, std::ostream* out) { *out << RuntimeName(runtime); }

// Instantiates guest `name` (e.g. "draft_guest"): its .wasm on wabt's
// interpreter, or its ahead-of-time wasm2c build linked into this binary.
absl::StatusOr<std::unique_ptr<adapter::GuestInstance>> LoadGuest(
    Runtime runtime, std::shared_ptr<const adapter::Host> host, std::string_view name);

// Path of a guest's .wasm (set by CMake).
std::string GuestWasmPath(std::string_view name);

}  // namespace wasikv::testing

#endif  // WASIKV_TESTS_ADAPTER_GUEST_LOADER_H_
