// wasikv-run: runs one export of a WebAssembly core module, its
// wasi:keyvalue imports served by wasikvd. See `wasikv-run --help`.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "adapter/run/run_args.h"
#include "fmt/format.h"
#include "wasikv/adapter/host.h"
#include "wasikv/adapter/wabt_guest.h"
#include "wasikv/internal/status_text.h"

namespace {

using wasikv::MessageOf;

enum ExitCode { kOk = 0, kTrap = 1, kUsage = 2 };

int Fail(ExitCode code, const std::string& message) {
  std::fprintf(stderr, "wasikv-run: %s\n", message.c_str());
  return code;
}

absl::StatusOr<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) return absl::DataLossError(fmt::format("cannot read {}", path));
  return bytes;
}

// A trap's message without the "trap: " every trap status starts with.
std::string_view TrapMessage(const absl::Status& status) {
  std::string_view message = MessageOf(status);
  if (message.starts_with("trap: ")) message.remove_prefix(6);
  return message;
}

int Run(const wasikv::adapter::RunArgs& args) {
  using wasikv::adapter::WabtGuest;
  absl::StatusOr<std::shared_ptr<wasikv::adapter::Host>> host =
      wasikv::adapter::Host::Create(args.client, args.host);
  if (!host.ok()) return Fail(kUsage, std::string(host.status().message()));
  absl::StatusOr<std::vector<uint8_t>> bytes = ReadFile(args.guest_path);
  if (!bytes.ok()) return Fail(kUsage, std::string(bytes.status().message()));

  absl::StatusOr<std::unique_ptr<WabtGuest>> guest = WabtGuest::Load(*std::move(host), *bytes);
  if (!guest.ok()) {
    // A trap in the start function or _initialize is still a trap.
    if (guest.status().code() == absl::StatusCode::kAborted) {
      return Fail(kTrap, fmt::format("trap while loading {}: {}", args.guest_path,
                                     TrapMessage(guest.status())));
    }
    return Fail(kUsage, fmt::format("{}: {}", args.guest_path, MessageOf(guest.status())));
  }

  std::string export_name;
  if (args.invoke) {
    export_name = *args.invoke;
  } else if ((*guest)->HasExport("_start")) {
    export_name = "_start";
  } else if ((*guest)->HasExport("run")) {
    export_name = "run";
  } else {
    const std::vector<std::string> exports = (*guest)->FunctionExports();
    return Fail(kUsage,
                fmt::format("{} exports neither _start nor run; choose one with --invoke: {}",
                            args.guest_path,
                            exports.empty() ? "(no function exports)"
                                            : fmt::format("{}", fmt::join(exports, ", "))));
  }

  absl::StatusOr<std::vector<int64_t>> results = (*guest)->Invoke(export_name, args.args);
  if (!results.ok()) {
    if (results.status().code() == absl::StatusCode::kAborted) {
      return Fail(kTrap,
                  fmt::format("trap in '{}': {}", export_name, TrapMessage(results.status())));
    }
    return Fail(kUsage, std::string(results.status().message()));
  }
  for (int64_t result : *results) std::printf("%lld\n", static_cast<long long>(result));
  if (std::fflush(stdout) != 0) return Fail(kUsage, "writing standard output failed");
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> arguments(argv + 1, argv + argc);
  absl::StatusOr<wasikv::adapter::RunArgs> args =
      wasikv::adapter::ParseRunArgs(arguments, [](const char* name) { return std::getenv(name); });
  if (!args.ok()) {
    Fail(kUsage, std::string(args.status().message()));
    return Fail(kUsage, "see 'wasikv-run --help'");
  }
  if (args->help) {
    std::fputs(wasikv::adapter::RunHelp().c_str(), stdout);
    return kOk;
  }
  return Run(*args);
}
