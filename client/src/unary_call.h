// UnaryCall runs one client call to completion: attempts with the shared
// deadline, retries with backoff when the call is safe to repeat, and hands
// the converted result to the caller's callback exactly once.
// Private to the client library.
#ifndef WASIKV_CLIENT_SRC_UNARY_CALL_H_
#define WASIKV_CLIENT_SRC_UNARY_CALL_H_

#include <chrono>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "client_core.h"

namespace wasikv::client_internal {

template <typename Request, typename Response, typename Result>
class UnaryCall : public std::enable_shared_from_this<UnaryCall<Request, Response, Result>> {
 public:
  // Issues one attempt: the generated stub's async()->Method(...).
  using Invoke = std::function<void(grpc::ClientContext*, const Request*, Response*,
                                    std::function<void(grpc::Status)>)>;
  // Turns a successful reply into the caller's result.
  using Convert = std::function<absl::StatusOr<Result>(Response&)>;

  static void Start(ClientCore* core, Request request, bool idempotent, const CallOptions& call,
                    Invoke invoke, Convert convert,
                    std::function<void(absl::StatusOr<Result>)> done) {
    auto self = std::shared_ptr<UnaryCall>(new UnaryCall(core, std::move(request)));
    self->max_attempts_ =
        idempotent && !call.no_retry ? std::max(1, core->options().retry.max_attempts) : 1;
    self->deadline_ = core->DeadlineFor(call);
    self->invoke_ = std::move(invoke);
    self->convert_ = std::move(convert);
    self->done_ = std::move(done);
    self->Attempt();
  }

 private:
  UnaryCall(ClientCore* core, Request request) : core_(core), request_(std::move(request)) {}

  void Attempt() {
    ++attempt_;
    context_ = core_->NewContext(deadline_);
    response_.Clear();
    invoke_(context_.get(), &request_, &response_,
            [self = this->shared_from_this()](grpc::Status status) { self->OnDone(status); });
  }

  void OnDone(const grpc::Status& grpc_status) {
    if (grpc_status.ok()) {
      Deliver(convert_(response_));
      return;
    }
    absl::Status status = FromGrpcStatus(grpc_status);
    if (!ScheduleRetry(status)) Deliver(std::move(status));
  }

  // Schedules the next attempt if the call may be repeated and time allows.
  // Once it returns true, the next attempt may already be running.
  bool ScheduleRetry(const absl::Status& status) {
    if (attempt_ >= max_attempts_ || !IsRetryable(status.code())) return false;
    const auto wait = core_->Backoff(attempt_);
    if (std::chrono::system_clock::now() + wait >= deadline_) return false;
    core_->RunAfter(wait, [self = this->shared_from_this()] { self->Attempt(); });
    return true;
  }

  void Deliver(absl::StatusOr<Result> result) {
    // The context holds a reference to the channel. Drop it before the
    // caller hears back: the caller may destroy the Client at once, and the
    // last channel reference must not die on a gRPC thread.
    context_.reset();
    auto done = std::move(done_);
    done(std::move(result));
  }

  ClientCore* const core_;
  Request request_;
  Response response_;
  std::unique_ptr<grpc::ClientContext> context_;
  int attempt_ = 0;
  int max_attempts_ = 1;
  std::chrono::system_clock::time_point deadline_;
  Invoke invoke_;
  Convert convert_;
  std::function<void(absl::StatusOr<Result>)> done_;
};

}  // namespace wasikv::client_internal

#endif  // WASIKV_CLIENT_SRC_UNARY_CALL_H_
