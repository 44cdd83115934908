// ServerTls: the TLS certificates of wasikvd's gRPC port, reloaded without a
// restart.
//
// Credentials() gives gRPC server credentials built on gRPC's certificate
// config fetcher (grpc_ssl_server_credentials_create_options_using_config_fetcher):
// gRPC asks for the current certificates at the start of every TLS
// handshake, so a reload takes effect on the next new connection while
// established connections keep the certificates they were made with.
// ServerTls decides what the current certificates are: the files of
// ServerTlsOptions, read again every reload_interval (and on Reload(), which
// wasikvd calls on SIGHUP). New files are installed only if they load and
// check as a whole (CertificateFiles): certificate, key and client CA change
// together, and files that fail to load leave the old certificates serving
// and log one error line (once per failure, not once per poll).
//
// With client authentication (request or require-and-verify) a call's
// grpc::ServerContext::auth_context() carries the verified client
// certificate: x509_common_name, x509_subject_alternative_name (one per SAN)
// and x509_pem_cert properties, and is_peer_authenticated() is true; a
// certificate that does not verify never gets that far.
//
// Ownership and thread safety: every method is safe from any thread. Must
// outlive every grpc::Server its credentials were added to (gRPC calls back
// into it on each new connection until the server is destroyed).
#ifndef WASIKV_SERVER_TLS_SERVER_TLS_H_
#define WASIKV_SERVER_TLS_SERVER_TLS_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/security/server_credentials.h"
#include "server/tls/certificate_files.h"
#include "server/tls/server_tls_options.h"

namespace wasikv {

class ServerTls {
 public:
  // Loads the files once; an error (INVALID_ARGUMENT naming the flag) if they
  // do not load or if the options do not fit together (a key without a
  // certificate, a client auth mode without --tls-client-ca-file, ...).
  // Starts the reload thread if options.reload_interval > 0.
  static absl::StatusOr<std::unique_ptr<ServerTls>> Create(const ServerTlsOptions& options);
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;
  ~ServerTls();

  // Credentials for one listening port (call once per port).
  std::shared_ptr<grpc::ServerCredentials> Credentials();

  enum class ReloadResult { kUnchanged, kInstalled };
  // Reads the files now and installs them if they changed and load; `cause`
  // ("sighup"; the reload thread's is "file_change") goes into the log line.
  // An error (the files do not load) keeps the certificates that serve now.
  absl::StatusOr<ReloadResult> Reload(std::string_view cause);

  // The leaf certificate being served (subject, serial, notAfter).
  CertificateFiles Current() const;
  const ServerTlsOptions& options() const { return options_; }

 private:
  // One listening port's view: which generation of the certificates gRPC
  // was last handed through this port's fetcher.
  struct Feed {
    ServerTls* tls;
    uint64_t handed_generation = 0;
  };

  ServerTls(const ServerTlsOptions& options, CertificateFiles files);
  static grpc_ssl_certificate_config_reload_status Fetch(
      void* feed, grpc_ssl_server_certificate_config** config);
  void WatchFiles();

  const ServerTlsOptions options_;
  // One reload at a time (SIGHUP and the reload thread), so an older read
  // never replaces a newer one. Held while the files are read and the result
  // logged; mu_ is held only to swap, since gRPC takes it in handshakes.
  absl::Mutex reload_mu_;
  mutable absl::Mutex mu_;
  CertificateFiles current_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<std::unique_ptr<Feed>> feeds_ ABSL_GUARDED_BY(mu_);
  // The last failure a poll saw, and the last one logged: a bad rotation is
  // logged once rather than at every poll.
  std::string suspected_ ABSL_GUARDED_BY(mu_);
  std::string rejected_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watcher_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_TLS_SERVER_TLS_H_
