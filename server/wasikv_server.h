// WasikvServer is the running gRPC server of wasikvd: the KV, Buckets, Watch
// and Admin services, the standard grpc.health.v1.Health service, server
// reflection (so grpcurl can list, describe and call every service), the
// worker pool that runs store work, its metrics, and the admin HTTP port
// (/metrics, /healthz, /readyz) when --admin-listen is on. With --tls-cert-file
// the gRPC port speaks only TLS (mutual TLS with a client auth mode), its
// certificates reloaded by ServerTls; the admin port stays plaintext.
//
// Lifecycle: Start() binds and serves; Shutdown() marks /readyz and health
// NOT_SERVING, ends watch and health watch streams with UNAVAILABLE (watches
// resume elsewhere from their last revision), refuses new calls with
// UNAVAILABLE while in-flight calls finish (until the timeout), then shuts
// gRPC down and joins the workers. The store is borrowed and must outlive the
// server; close it only after Shutdown() returns.
//
// Thread safety: Start and Shutdown from one thread; address(), tls_enabled()
// and Reload() from any.
#ifndef WASIKV_SERVER_WASIKV_SERVER_H_
#define WASIKV_SERVER_WASIKV_SERVER_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "server/admin/admin_http_server.h"
#include "server/auth/authorizer.h"
#include "server/health/health_service.h"
#include "server/metrics/server_metrics.h"
#include "server/rpc/admin_service.h"
#include "server/rpc/buckets_service.h"
#include "server/rpc/call_runner.h"
#include "server/rpc/kv_service.h"
#include "server/server_config.h"
#include "server/storage/store.h"
#include "server/tls/server_tls.h"
#include "server/watch/watch_hub.h"
#include "server/watch/watch_service.h"

namespace wasikv {

class WasikvServer {
 public:
  static absl::StatusOr<std::unique_ptr<WasikvServer>> Start(const ServerConfig& config,
                                                             Store* store);
  WasikvServer(const WasikvServer&) = delete;
  WasikvServer& operator=(const WasikvServer&) = delete;
  ~WasikvServer();

  // The bound address, with the real port when --listen asked for port 0.
  const std::string& address() const { return address_; }
  // The bound admin HTTP address; empty when --admin-listen is off.
  const std::string& admin_address() const { return admin_address_; }
  // Whether the gRPC port speaks TLS. Then, with a client auth mode, a
  // verified client certificate is in each call's ServerContext::auth_context()
  // (see server/tls/server_tls.h).
  bool tls_enabled() const { return tls_ != nullptr; }
  void Shutdown(std::chrono::milliseconds timeout);

  // SIGHUP: reads the TLS files and the auth file again now. Each logs its
  // outcome; files that fail their checks leave the previous ones in force.
  void Reload();

 private:
  WasikvServer(const ServerConfig& config, Store* store, std::unique_ptr<Authorizer> authorizer);
  // Feeds the metrics read at scrape time: revisions, RocksDB, queue, watch.
  void AddScrapeHooks(Store* store);

  ServerMetrics metrics_;
  const std::unique_ptr<Authorizer> authorizer_;
  CallRunner runner_;
  KvService kv_service_;
  BucketsService buckets_service_;
  WatchHub watch_hub_;
  WatchService watch_service_;
  AdminService admin_service_;
  HealthService health_;
  // Before server_: gRPC calls into it on every handshake until the server is gone.
  std::unique_ptr<ServerTls> tls_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<AdminHttpServer> admin_;
  std::string address_;
  std::string admin_address_;
  std::atomic<bool> ready_{false};
  bool shut_down_ = false;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_WASIKV_SERVER_H_
