#include "server/tls/server_tls.h"

#include <cstdlib>

#include "grpc/grpc.h"
#include "grpc/grpc_security.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/common/str_cat.h"

namespace wasikv {
namespace {

constexpr std::string_view kPollCause = "file_change";

grpc_ssl_client_certificate_request_type RequestType(ClientAuth mode) {
  switch (mode) {
    case ClientAuth::kNone:
      return GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    case ClientAuth::kRequest:
      // Verified when presented, so the auth context only ever holds a
      // certificate that chains to the client CA.
      return GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
    case ClientAuth::kRequireAndVerify:
      return GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
}

// C++ server credentials around C-core ones. gRPC 1.51's C++ API has no
// public way to wrap a grpc_server_credentials (its SecureServerCredentials
// is internal), and the certificate config fetcher exists only in the C API;
// ServerCredentials' port hook is a virtual the server calls, so this
// overrides it. (`override` makes a changed gRPC API fail to build rather
// than misbehave.)
class FetcherServerCredentials final : public grpc::ServerCredentials {
 public:
  explicit FetcherServerCredentials(grpc_server_credentials* credentials)
      : credentials_(credentials) {}
  ~FetcherServerCredentials() override { grpc_server_credentials_release(credentials_); }

  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {
    // Silently ignoring a processor would serve calls it was meant to refuse.
    LogEvent(spdlog::level::critical, "tls_auth_metadata_processor_unsupported");
    std::abort();
  }

 private:
  int AddPortToServer(const std::string& address, grpc_server* server) override {
    return grpc_server_add_http2_port(server, address.c_str(), credentials_);
  }

  grpc_server_credentials* credentials_;
};

void LogInstalled(const CertificateFiles& files, std::string_view cause) {
  LogEvent(spdlog::level::info, cause == "start" ? "tls_loaded" : "tls_reloaded",
           {{"cause", std::string(cause)},
            {"subject", files.subject},
            {"serial", files.serial},
            {"not_after", files.not_after},
            {"client_ca", files.client_ca_pem.empty() ? "none" : "loaded"}});
  if (files.outside_validity) {
    LogEvent(spdlog::level::warn, "tls_certificate_not_valid_now",
             {{"subject", files.subject}, {"not_after", files.not_after}});
  }
}

}  // namespace

ServerTls::ServerTls(const ServerTlsOptions& options, CertificateFiles files)
    : options_(options), current_(std::move(files)) {}

absl::StatusOr<std::unique_ptr<ServerTls>> ServerTls::Create(const ServerTlsOptions& options) {
  RETURN_IF_ERROR(ValidateServerTlsOptions(options));
  if (!options.enabled()) return absl::InvalidArgumentError("TLS is off: no --tls-cert-file");
  ASSIGN_OR_RETURN(CertificateFiles files, LoadCertificateFiles(options));
  LogInstalled(files, "start");
  std::unique_ptr<ServerTls> tls(new ServerTls(options, std::move(files)));
  if (options.reload_interval.count() > 0) {
    tls->watcher_ = std::thread([raw = tls.get()] { raw->WatchFiles(); });
  }
  return tls;
}

ServerTls::~ServerTls() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (watcher_.joinable()) watcher_.join();
}

std::shared_ptr<grpc::ServerCredentials> ServerTls::Credentials() {
  Feed* feed;
  {
    absl::MutexLock lock(&mu_);
    feeds_.push_back(std::make_unique<Feed>(Feed{.tls = this}));
    feed = feeds_.back().get();
  }
  grpc_ssl_server_credentials_options* options =
      grpc_ssl_server_credentials_create_options_using_config_fetcher(
          RequestType(options_.effective_client_auth()), &ServerTls::Fetch, feed);
  // Takes the options; fetches the first certificates when a port is added.
  return std::make_shared<FetcherServerCredentials>(
      grpc_ssl_server_credentials_create_with_options(options));
}

// Called by gRPC at the start of every handshake on the feed's port: hands
// over the certificates only when they are newer than what it has.
grpc_ssl_certificate_config_reload_status ServerTls::Fetch(
    void* user_data, grpc_ssl_server_certificate_config** config) {
  Feed* feed = static_cast<Feed*>(user_data);
  ServerTls* tls = feed->tls;
  absl::MutexLock lock(&tls->mu_);
  if (feed->handed_generation == tls->generation_) {
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  }
  const CertificateFiles& files = tls->current_;
  grpc_ssl_pem_key_cert_pair pair = {files.private_key_pem.c_str(), files.cert_chain_pem.c_str()};
  // gRPC 1.51 insists on client roots in a fetched config even when no
  // client certificate is asked for; then they are never used (nothing is
  // verified, no CertificateRequest is sent), so the server's own chain
  // stands in.
  const std::string& roots =
      files.client_ca_pem.empty() ? files.cert_chain_pem : files.client_ca_pem;
  // Copies the strings.
  *config = grpc_ssl_server_certificate_config_create(roots.c_str(), &pair, 1);
  feed->handed_generation = tls->generation_;
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

absl::StatusOr<ServerTls::ReloadResult> ServerTls::Reload(std::string_view cause) {
  // Only the reload thread and SIGHUP come here; handshakes take mu_ alone,
  // and nothing is logged while it is held (a stalled stderr must not stall
  // handshakes).
  absl::MutexLock reload_lock(&reload_mu_);
  absl::StatusOr<CertificateFiles> loaded = LoadCertificateFiles(options_);
  if (!loaded.ok()) {
    const std::string message(loaded.status().message());
    // SIGHUP tells every failure. Polling tells a failure once, when two
    // polls in a row saw it: one poll may read a rotation half written (the
    // new certificate with the old key).
    bool tell = true;
    std::string serving;
    {
      absl::MutexLock lock(&mu_);
      if (cause == kPollCause) {
        tell = message == suspected_ && message != rejected_;
        suspected_ = message;
      }
      if (tell) rejected_ = message;
      serving = current_.serial;
    }
    if (tell) {
      LogEvent(spdlog::level::err, "tls_reload_failed",
               {{"cause", std::string(cause)}, {"error", message}, {"serving_serial", serving}});
    }
    return loaded.status();
  }
  bool same;
  {
    absl::MutexLock lock(&mu_);
    suspected_.clear();
    rejected_.clear();
    same = loaded->SameFiles(current_);
    if (!same) {
      current_ = *loaded;
      ++generation_;
    }
  }
  if (same) {
    if (cause != kPollCause) {
      LogEvent(spdlog::level::info, "tls_unchanged",
               {{"cause", std::string(cause)}, {"serial", loaded->serial}});
    }
    return ReloadResult::kUnchanged;
  }
  LogInstalled(*loaded, cause);
  return ReloadResult::kInstalled;
}

CertificateFiles ServerTls::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

void ServerTls::WatchFiles() {
  const absl::Duration interval = absl::FromChrono(options_.reload_interval);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval)) return;
    }
    (void)Reload(kPollCause);
  }
}

}  // namespace wasikv
