#include "server/tls/server_tls_options.h"

#include "server/common/str_cat.h"

namespace wasikv {

std::string_view ClientAuthName(ClientAuth mode) {
  switch (mode) {
    case ClientAuth::kNone:
      return "none";
    case ClientAuth::kRequest:
      return "request";
    case ClientAuth::kRequireAndVerify:
      return "require-and-verify";
  }
  return "none";
}

std::optional<ClientAuth> ParseClientAuth(std::string_view name) {
  for (ClientAuth mode : {ClientAuth::kNone, ClientAuth::kRequest, ClientAuth::kRequireAndVerify}) {
    if (name == ClientAuthName(mode)) return mode;
  }
  return std::nullopt;
}

absl::Status ValidateServerTlsOptions(const ServerTlsOptions& options) {
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(options.cert_file.empty()
                                          ? "--tls-key-file needs --tls-cert-file"
                                          : "--tls-cert-file needs --tls-key-file");
  }
  if (!options.enabled()) {
    if (!options.client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls-client-ca-file needs --tls-cert-file and --tls-key-file");
    }
    if (options.client_auth && *options.client_auth != ClientAuth::kNone) {
      return absl::InvalidArgumentError(
          "--tls-client-auth needs --tls-cert-file and --tls-key-file");
    }
    return absl::OkStatus();
  }
  const ClientAuth mode = options.effective_client_auth();
  if (mode != ClientAuth::kNone && options.client_ca_file.empty()) {
    return absl::InvalidArgumentError(StrCat("--tls-client-auth=", ClientAuthName(mode),
                                             " needs --tls-client-ca-file (the CA that "
                                             "client certificates must chain to)"));
  }
  if (mode == ClientAuth::kNone && !options.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca-file is unused with --tls-client-auth=none (use request or "
        "require-and-verify, or drop the CA)");
  }
  return absl::OkStatus();
}

}  // namespace wasikv
