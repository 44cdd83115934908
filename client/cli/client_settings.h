// Where the CLI connects and how: the ClientOptions made from the global
// flags and the environment. A flag wins over its environment variable.
#ifndef WASIKV_CLIENT_CLI_CLIENT_SETTINGS_H_
#define WASIKV_CLIENT_CLI_CLIENT_SETTINGS_H_

#include "absl/status/statusor.h"
#include "client/cli/args.h"
#include "wasikv/options.h"

namespace wasikv::cli {

// --endpoint or WASIKV_ENDPOINT (default 127.0.0.1:50051), --token or
// WASIKV_TOKEN, --timeout as every call's deadline, and TLS: on with --tls
// or WASIKV_TLS=true, or with any of --tls-ca FILE, --tls-cert FILE,
// --tls-key FILE, --tls-server-name NAME (or WASIKV_TLS_CA, WASIKV_TLS_CERT,
// WASIKV_TLS_KEY, WASIKV_TLS_SERVER_NAME); the files are read here.
// INVALID_ARGUMENT naming the flag (or variable) for an empty endpoint, a
// malformed duration, a TLS file that cannot be read or holds no PEM, or a
// client certificate without its key.
absl::StatusOr<ClientOptions> ResolveClientOptions(const ParsedArgs& args);

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_CLIENT_SETTINGS_H_
