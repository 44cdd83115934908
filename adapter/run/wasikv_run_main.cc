// wasikv-run: runs one export of a WebAssembly core module (on wabt) or of
// a component or core module (--runtime node: on Node's V8, through
// adapter/node/), its
// wasi:keyvalue imports served by wasikvd; with --watch-events, then
// delivers watch events to the guest's handlers (WatchDelivery) and may call
// a second export. See `wasikv-run --help`.
#include <unistd.h>

#include <cerrno>
#include <chrono>
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
#include "wasikv/adapter/watch_delivery.h"
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

// Calls `export_name` and prints its results, one per line, flushed (so a
// reader of the pipe sees them before any watch phase).
int InvokeAndPrint(wasikv::adapter::GuestInstance& guest, const std::string& export_name,
                   const std::vector<int64_t>& args) {
  absl::StatusOr<std::vector<int64_t>> results = guest.Invoke(export_name, args);
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

// --watch-events: delivers until the guest's handlers have taken that many.
int DeliverWatchEvents(wasikv::adapter::WatchDelivery& delivery,
                       const wasikv::adapter::RunArgs& args) {
  const auto deadline = std::chrono::steady_clock::now() + args.watch_timeout;
  uint32_t delivered = 0;
  while (delivered < args.watch_events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Fail(kTrap,
                  fmt::format("watch: {} of {} events delivered in {} ms (--watch-timeout-ms)",
                              delivered, args.watch_events, args.watch_timeout.count()));
    }
    absl::StatusOr<size_t> step = delivery.Deliver(left, args.watch_events - delivered);
    if (!step.ok()) {
      return Fail(kTrap, fmt::format("watch: delivery failed after {} of {} events: {}", delivered,
                                     args.watch_events, MessageOf(step.status())));
    }
    delivered += static_cast<uint32_t>(*step);
  }
  return kOk;
}

int Run(const wasikv::adapter::RunArgs& args) {
  using wasikv::adapter::WabtGuest;
  using wasikv::adapter::WatchDelivery;
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

  if (args.then_invoke && !(*guest)->HasExport(*args.then_invoke)) {
    return Fail(kUsage, fmt::format("{} exports no function '{}' (--then-invoke); function "
                                    "exports: {}",
                                    args.guest_path, *args.then_invoke,
                                    fmt::join((*guest)->FunctionExports(), ", ")));
  }
  // Watching starts before the guest runs, so no bucket it opens is missed.
  std::unique_ptr<WatchDelivery> delivery;
  if (args.watch_events > 0) {
    wasikv::adapter::WatchDeliveryOptions options;
    options.buckets = args.watch_buckets;
    absl::StatusOr<std::unique_ptr<WatchDelivery>> created =
        WatchDelivery::Create(**guest, std::move(options));
    if (!created.ok()) {
      return Fail(kUsage, fmt::format("{}: --watch-events: {}", args.guest_path,
                                      MessageOf(created.status())));
    }
    delivery = *std::move(created);
  }

  if (int code = InvokeAndPrint(**guest, export_name, args.args); code != kOk) return code;
  if (delivery != nullptr) {
    if (int code = DeliverWatchEvents(*delivery, args); code != kOk) return code;
  }
  if (args.then_invoke) return InvokeAndPrint(**guest, *args.then_invoke, {});
  return kOk;
}

// --runtime node: the guest (a component or a core module) runs on node under
// adapter/node/bin/wasikv-run-node.mjs, which takes the same arguments and
// exits as this program does. The script and the addon are the build tree's
// unless WASIKV_NODE_RUNNER / WASIKV_NODE_ADDON name others.
int ExecNode(char** argv) {
#ifdef WASIKV_NODE_RUNNER
  const char* runner = std::getenv("WASIKV_NODE_RUNNER");
  if (runner == nullptr || *runner == '\0') runner = WASIKV_NODE_RUNNER;
  const char* addon = std::getenv("WASIKV_NODE_ADDON");
  if ((addon == nullptr || *addon == '\0') &&
      setenv("WASIKV_NODE_ADDON", WASIKV_NODE_ADDON, 1) != 0) {
    return Fail(kUsage, fmt::format("cannot set WASIKV_NODE_ADDON: {}", std::strerror(errno)));
  }
  std::vector<char*> node_argv = {const_cast<char*>(WASIKV_NODE_EXECUTABLE),
                                  const_cast<char*>(runner)};
  for (char** arg = argv + 1; *arg != nullptr; ++arg) node_argv.push_back(*arg);
  node_argv.push_back(nullptr);
  std::fflush(nullptr);
  execv(WASIKV_NODE_EXECUTABLE, node_argv.data());
  return Fail(kUsage,
              fmt::format("cannot run {}: {}", WASIKV_NODE_EXECUTABLE, std::strerror(errno)));
#else
  (void)argv;
  return Fail(kUsage, "this build has no node runtime");
#endif
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
  if (args->runtime == "node") return ExecNode(argv);
  return Run(*args);
}
