// wasikv-run's command line: flags (see RunHelp) into one struct.
//
// Syntax: "--flag VALUE" or "--flag=VALUE"; "--help" / "-h"; "--" ends the
// flags. Exactly one positional argument, the guest module.
#ifndef WASIKV_ADAPTER_RUN_RUN_ARGS_H_
#define WASIKV_ADAPTER_RUN_RUN_ARGS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "wasikv/adapter/host.h"
#include "wasikv/options.h"

namespace wasikv::adapter {

struct RunArgs {
  bool help = false;  // --help: nothing else was checked
  std::string guest_path;
  std::string runtime = "wabt";
  // nullopt: "_start" if exported, else "run".
  std::optional<std::string> invoke;
  std::vector<int64_t> args;
  // --watch-events: after `invoke` returns and its results are out, deliver
  // watch events to the guest's handlers until this many have been (0: no
  // watch phase), giving up after `watch_timeout`.
  uint32_t watch_events = 0;
  std::vector<std::string> watch_buckets;  // watched from the start, besides opened ones
  std::chrono::milliseconds watch_timeout{30000};
  // Called, and its results printed, after the watch phase.
  std::optional<std::string> then_invoke;
  ClientOptions client;
  HostOptions host;
};

// INVALID_ARGUMENT naming the flag for an unknown flag, a missing value, a
// bad number or runtime, a watch flag without --watch-events, or a missing
// or extra guest path, or a TLS file that cannot be read or holds no PEM.
// `getenv` reads WASIKV_ENDPOINT, WASIKV_TOKEN, WASIKV_TLS, WASIKV_TLS_CA,
// WASIKV_TLS_CERT, WASIKV_TLS_KEY and WASIKV_TLS_SERVER_NAME (flags win;
// empty variables are unset). The TLS files are read here, into
// client.tls.
absl::StatusOr<RunArgs> ParseRunArgs(std::span<const std::string> argv,
                                     const std::function<const char*(const char*)>& getenv);

std::string RunHelp();

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_RUN_RUN_ARGS_H_
