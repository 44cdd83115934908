// wasikv-run's command line: flags (see RunHelp) into one struct.
//
// Syntax: "--flag VALUE" or "--flag=VALUE"; "--help" / "-h"; "--" ends the
// flags. Exactly one positional argument, the guest module.
#ifndef WASIKV_ADAPTER_RUN_RUN_ARGS_H_
#define WASIKV_ADAPTER_RUN_RUN_ARGS_H_

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
  ClientOptions client;
  HostOptions host;
};

// INVALID_ARGUMENT naming the flag for an unknown flag, a missing value, a
// bad number or runtime, or a missing or extra guest path. `getenv` reads
// WASIKV_ENDPOINT and WASIKV_TOKEN (flags win; empty variables are unset).
absl::StatusOr<RunArgs> ParseRunArgs(std::span<const std::string> argv,
                                     const std::function<const char*(const char*)>& getenv);

std::string RunHelp();

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_RUN_RUN_ARGS_H_
