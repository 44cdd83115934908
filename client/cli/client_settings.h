// Where the CLI connects and how: the ClientOptions made from the global
// flags and the environment. A flag wins over its environment variable.
#ifndef WASIKV_CLIENT_CLI_CLIENT_SETTINGS_H_
#define WASIKV_CLIENT_CLI_CLIENT_SETTINGS_H_

#include "absl/status/statusor.h"
#include "client/cli/args.h"
#include "wasikv/options.h"

namespace wasikv::cli {

// --endpoint or WASIKV_ENDPOINT (default 127.0.0.1:50051), --token or
// WASIKV_TOKEN, --timeout as every call's deadline. INVALID_ARGUMENT naming
// the flag for an empty endpoint or a malformed duration.
absl::StatusOr<ClientOptions> ResolveClientOptions(const ParsedArgs& args);

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_CLIENT_SETTINGS_H_
