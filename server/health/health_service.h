// HealthService serves grpc.health.v1.Health (Check and Watch) for wasikvd's
// services, in place of gRPC's default one, for the sake of shutdown: the
// default service's Watch streams never end until gRPC cancels them at the
// shutdown deadline (CANCELLED), holding every SIGTERM to it. Here
// Shutdown() sends each watcher NOT_SERVING and ends its stream at once
// with UNAVAILABLE, as Watch streams of wasikv.v1.Watch end.
//
// Names are the fully qualified service names ("wasikv.v1.KV"); "" is the
// server as a whole. Check of an unknown name is NOT_FOUND; Watch of one
// reports SERVICE_UNKNOWN until the name is set (the protocol's rules).
//
// Thread safety: every method may be called from any thread.
#ifndef WASIKV_SERVER_HEALTH_HEALTH_SERVICE_H_
#define WASIKV_SERVER_HEALTH_HEALTH_SERVICE_H_

#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace wasikv {

class HealthService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthService();
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;
  ~HealthService();

  // Sets `service`'s status and tells its watchers. Ignored after Shutdown().
  void SetServing(const std::string& service, bool serving);
  // Every known name NOT_SERVING, and every Watch stream ended.
  void Shutdown();

  grpc::Service* service();

  class Watcher;  // One Watch stream (health_service.cc).

 private:
  class Grpc;

  ServingStatus StatusOf(const std::string& service) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Registers a new Watch stream; false after Shutdown().
  bool AddWatcher(Watcher* watcher, ServingStatus* current);
  void RemoveWatcher(Watcher* watcher);

  mutable absl::Mutex mu_;
  std::map<std::string, bool> serving_ ABSL_GUARDED_BY(mu_);
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<Grpc> grpc_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_HEALTH_HEALTH_SERVICE_H_
