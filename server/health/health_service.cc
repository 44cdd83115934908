#include "server/health/health_service.h"

#include <optional>
#include <utility>
#include <vector>

#include "grpcpp/grpcpp.h"

namespace wasikv {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream, deleted by its OnDone. It is in the service's set from
// Start to OnDone, which leaves it under the service's lock, so the service
// never touches a finished one. Only the newest status matters: while a
// write is out, a newer status replaces the one waiting.
class HealthService::Watcher : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Watcher(HealthService* owner, std::string name) : owner_(owner), name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // Starts the stream with `current`, or refuses it after Shutdown().
  void Start() {
    ServingStatus current = HealthCheckResponse::UNKNOWN;
    if (!owner_->AddWatcher(this, &current)) {
      End(ShuttingDown());
      return;
    }
    Send(current);
  }

  void Send(ServingStatus status) {
    absl::MutexLock lock(&mu_);
    if (end_ || (!pending_ && status == last_sent_)) return;
    pending_ = status;
    MaybeWriteLocked();
  }

  // Ends the stream with `status` once what is queued is written.
  void End(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    if (end_) return;
    end_ = std::move(status);
    MaybeWriteLocked();
  }

  static grpc::Status ShuttingDown() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "server shutting down; watch the health of another server or of this "
                        "one once it is back");
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok && !end_) end_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream broken");
    MaybeWriteLocked();
  }

  void OnCancel() override { End(grpc::Status::CANCELLED); }

  void OnDone() override {
    owner_->RemoveWatcher(this);
    delete this;
  }

 private:
  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_) return;
    if (pending_) {
      response_.set_status(*pending_);
      last_sent_ = *pending_;
      pending_.reset();
      writing_ = true;
      StartWrite(&response_);
    } else if (end_) {
      finished_ = true;
      Finish(*end_);
    }
  }

  HealthService* const owner_;
  const std::string name_;
  absl::Mutex mu_;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);
  std::optional<ServingStatus> pending_ ABSL_GUARDED_BY(mu_);
  ServingStatus last_sent_ ABSL_GUARDED_BY(mu_) = HealthCheckResponse::UNKNOWN;
  std::optional<grpc::Status> end_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

class HealthService::Grpc : public grpc::health::v1::Health::CallbackService {
 public:
  explicit Grpc(HealthService* owner) : owner_(owner) {}

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const HealthCheckRequest* request,
                                  HealthCheckResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    ServingStatus status;
    {
      absl::ReaderMutexLock lock(&owner_->mu_);
      status = owner_->StatusOf(request->service());
    }
    if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                   "service '" + request->service() + "' is not served here"));
    } else {
      response->set_status(status);
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

  grpc::ServerWriteReactor<HealthCheckResponse>* Watch(grpc::CallbackServerContext* /*context*/,
                                                       const HealthCheckRequest* request) override {
    auto* watcher = new Watcher(owner_, request->service());
    watcher->Start();
    return watcher;
  }

 private:
  HealthService* const owner_;
};

HealthService::HealthService() : grpc_(std::make_unique<Grpc>(this)) {}

HealthService::~HealthService() = default;

grpc::Service* HealthService::service() { return grpc_.get(); }

HealthService::ServingStatus HealthService::StatusOf(const std::string& service) const {
  auto it = serving_.find(service);
  if (it == serving_.end()) return HealthCheckResponse::SERVICE_UNKNOWN;
  return it->second ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

void HealthService::SetServing(const std::string& service, bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  serving_[service] = serving;
  // Send only queues a write (never blocks, never calls back here).
  for (Watcher* watcher : watchers_) {
    if (watcher->name() == service) watcher->Send(StatusOf(service));
  }
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  for (auto& [name, serving] : serving_) serving = false;
  for (Watcher* watcher : watchers_) {
    watcher->Send(StatusOf(watcher->name()));
    watcher->End(Watcher::ShuttingDown());
  }
}

bool HealthService::AddWatcher(Watcher* watcher, ServingStatus* current) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return false;
  watchers_.insert(watcher);
  *current = StatusOf(watcher->name());
  return true;
}

void HealthService::RemoveWatcher(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

}  // namespace wasikv
