// ServerTlsOptions: how wasikvd's gRPC port speaks TLS (--tls-* flags). A plain
// value type; see docs/operations.md#tls for what each mode means.
#ifndef WASIKV_SERVER_TLS_SERVER_TLS_OPTIONS_H_
#define WASIKV_SERVER_TLS_SERVER_TLS_OPTIONS_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace wasikv {

// Whether the server asks clients for a certificate (mutual TLS).
enum class ClientAuth {
  // No client certificate is asked for.
  kNone,
  // Asked for; a client may connect without one, but one it presents must
  // chain to --tls-client-ca-file or the handshake fails. So a certificate
  // seen in the auth context has always been verified.
  kRequest,
  // Every client must present a certificate that chains to
  // --tls-client-ca-file.
  kRequireAndVerify,
};

// "none", "request", "require-and-verify".
std::string_view ClientAuthName(ClientAuth mode);
std::optional<ClientAuth> ParseClientAuth(std::string_view name);

struct ServerTlsOptions {
  // PEM certificate chain (leaf first) and its PEM private key, unencrypted.
  // Both empty: the port is plaintext.
  std::string cert_file;
  std::string key_file;
  // PEM CA certificates that client certificates must chain to.
  std::string client_ca_file;
  // nullopt: kRequireAndVerify with a client CA, else kNone.
  std::optional<ClientAuth> client_auth;
  // How often the three files are read again to pick up rotated
  // certificates; 0 only on SIGHUP.
  std::chrono::milliseconds reload_interval{10000};

  bool enabled() const { return !cert_file.empty(); }
  ClientAuth effective_client_auth() const {
    if (client_auth) return *client_auth;
    return client_ca_file.empty() ? ClientAuth::kNone : ClientAuth::kRequireAndVerify;
  }
};

// INVALID_ARGUMENT naming the flags for options that do not fit together: a
// certificate without a key or the other way round, a client CA or client
// auth mode without a certificate, request or require-and-verify without
// --tls-client-ca-file, a client CA with client auth none.
absl::Status ValidateServerTlsOptions(const ServerTlsOptions& options);

}  // namespace wasikv

#endif  // WASIKV_SERVER_TLS_SERVER_TLS_OPTIONS_H_
