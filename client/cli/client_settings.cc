#include "client/cli/client_settings.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace wasikv::cli {
namespace {

// A setting's value and where it came from ("--tls-ca" or "$WASIKV_TLS_CA"),
// for messages.
struct Setting {
  std::string value;
  std::string source;
};

// The flag's value if given, else the environment variable's if set and not
// empty.
std::optional<Setting> FlagOrEnvironment(const ParsedArgs& args, std::string_view flag,
                                         const char* variable) {
  if (std::optional<std::string> value = args.Value(flag)) {
    return Setting{*std::move(value), "--" + std::string(flag)};
  }
  const char* from_environment = std::getenv(variable);
  if (from_environment != nullptr && *from_environment != '\0') {
    return Setting{from_environment, "$" + std::string(variable)};
  }
  return std::nullopt;
}

// The PEM file a setting names; INVALID_ARGUMENT naming the setting and the
// file if it cannot be read or holds no `marker`.
absl::StatusOr<std::string> ReadPemFile(const Setting& file, std::string_view marker,
                                        std::string_view what) {
  const std::string where = file.source + " " + file.value;
  std::FILE* in = std::fopen(file.value.c_str(), "rb");
  if (in == nullptr) {
    return absl::InvalidArgumentError(where + ": cannot read: " + std::strerror(errno));
  }
  std::string contents;
  char buffer[16384];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, in)) > 0) contents.append(buffer, n);
  const bool failed = std::ferror(in) != 0;
  std::fclose(in);
  if (failed) return absl::InvalidArgumentError(where + ": cannot read");
  if (contents.find(marker) == std::string::npos) {
    return absl::InvalidArgumentError(where + ": no PEM " + std::string(what) + " in it (" +
                                      std::string(marker) + ")");
  }
  return contents;
}

// --tls or $WASIKV_TLS, or any of the TLS files or the server name, turns
// TLS on.
absl::Status ResolveTls(const ParsedArgs& args, TlsOptions& tls) {
  bool on = args.Has("tls");
  if (const char* variable = std::getenv("WASIKV_TLS"); variable != nullptr && !on) {
    const std::string_view v = variable;
    if (v == "1" || v == "true" || v == "yes" || v == "on") {
      on = true;
    } else if (!(v.empty() || v == "0" || v == "false" || v == "no" || v == "off")) {
      return absl::InvalidArgumentError("$WASIKV_TLS: '" + std::string(v) +
                                        "' is not true or false");
    }
  }
  const std::optional<Setting> ca = FlagOrEnvironment(args, "tls-ca", "WASIKV_TLS_CA");
  const std::optional<Setting> cert = FlagOrEnvironment(args, "tls-cert", "WASIKV_TLS_CERT");
  const std::optional<Setting> key = FlagOrEnvironment(args, "tls-key", "WASIKV_TLS_KEY");
  const std::optional<Setting> name =
      FlagOrEnvironment(args, "tls-server-name", "WASIKV_TLS_SERVER_NAME");
  if (!on && !ca && !cert && !key && !name) return absl::OkStatus();
  tls.use_tls = true;
  if (cert.has_value() != key.has_value()) {
    return absl::InvalidArgumentError(cert ? cert->source + " needs --tls-key (or $WASIKV_TLS_KEY)"
                                           : key->source +
                                                 " needs --tls-cert (or $WASIKV_TLS_CERT)");
  }
  if (ca) {
    absl::StatusOr<std::string> pem =
        ReadPemFile(*ca, "-----BEGIN CERTIFICATE-----", "certificate");
    if (!pem.ok()) return pem.status();
    tls.root_certs_pem = *std::move(pem);
  }
  if (cert) {
    absl::StatusOr<std::string> pem =
        ReadPemFile(*cert, "-----BEGIN CERTIFICATE-----", "certificate");
    if (!pem.ok()) return pem.status();
    tls.client_cert_chain_pem = *std::move(pem);
    pem = ReadPemFile(*key, "PRIVATE KEY-----", "private key");
    if (!pem.ok()) return pem.status();
    tls.client_private_key_pem = *std::move(pem);
  }
  if (name) tls.server_name_override = name->value;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ClientOptions> ResolveClientOptions(const ParsedArgs& args) {
  ClientOptions options;
  if (std::optional<Setting> endpoint = FlagOrEnvironment(args, "endpoint", "WASIKV_ENDPOINT")) {
    if (endpoint->value.empty()) return absl::InvalidArgumentError("--endpoint must not be empty");
    options.endpoint = endpoint->value;
  }
  if (std::optional<Setting> token = FlagOrEnvironment(args, "token", "WASIKV_TOKEN")) {
    options.bearer_token = token->value;
  }
  if (absl::Status tls = ResolveTls(args, options.tls); !tls.ok()) return tls;
  if (std::optional<std::string> timeout = args.Value("timeout")) {
    std::optional<std::chrono::milliseconds> parsed = ParseDuration(*timeout);
    if (!parsed) {
      return absl::InvalidArgumentError("--timeout: '" + *timeout +
                                        "' is not a duration such as 500ms, 5s or 1m");
    }
    options.default_deadline = *parsed;
  }
  return options;
}

}  // namespace wasikv::cli
