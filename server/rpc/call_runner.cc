#include "server/rpc/call_runner.h"

#include <algorithm>

#include "server/common/log.h"
#include "server/common/str_cat.h"

namespace wasikv {

CallRunner::CallRunner(size_t threads, size_t max_queued_calls)
    : pool_(threads), max_queued_calls_(max_queued_calls) {}

CallRunner::~CallRunner() { Stop(); }

void CallRunner::Stop() {
  if (stopped_) return;
  stopped_ = true;
  pool_.join();
}

absl::Status CallRunner::ShuttingDown() {
  return absl::UnavailableError(
      "server shutting down: the call was not run; retry it on another server or once this one "
      "is back");
}

void CallRunner::EndActive() {
  if (!draining_.load()) {
    active_.fetch_sub(1);
    return;
  }
  // The client that got this answer is about to send its next call: the
  // quiet period starts now, not at the last refusal.
  MarkDrainActivity();
  if (active_.fetch_sub(1) == 1) {
    absl::MutexLock lock(&idle_mu_);
    idle_.SignalAll();
  }
}

bool CallRunner::Drain(std::chrono::steady_clock::time_point deadline,
                       std::chrono::milliseconds quiet_period) {
  // Clients between two calls get until a quiet period after this to send
  // their next one and be refused.
  MarkDrainActivity();
  draining_.store(true);
  const auto quiet_since = [&] {
    return std::chrono::steady_clock::time_point(
               std::chrono::steady_clock::duration(last_drain_activity_.load())) +
           quiet_period;
  };
  absl::MutexLock lock(&idle_mu_);
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return active_.load() == 0;
    if (active_.load() > 0) {
      // Woken by the last call's end; the timeout only bounds the wait.
      idle_.WaitWithTimeout(&idle_mu_, absl::FromChrono(deadline - now));
      continue;
    }
    const auto quiet = quiet_since();
    if (now >= quiet) return true;
    idle_.WaitWithTimeout(&idle_mu_, absl::FromChrono(std::min(quiet, deadline) - now));
  }
}

absl::Status CallRunner::Overloaded() const {
  return absl::ResourceExhaustedError(
      StrCat("server overloaded: ", max_queued_calls_,
             " calls already waiting for a worker or a commit (--max-queued-calls); retry with "
             "backoff"));
}

grpc::ServerUnaryReactor* CallRunner::Refuse(grpc::CallbackServerContext* context,
                                             RpcMethod* method, const absl::Status& status) {
  return FinishNow(context, NewReactor(), method, status);
}

grpc::ServerUnaryReactor* CallRunner::FinishNow(grpc::CallbackServerContext* context,
                                                Reactor* reactor, RpcMethod* method,
                                                const absl::Status& status) {
  method->Started();
  Finish(context, reactor, method, status, std::chrono::steady_clock::now());
  return reactor;
}

void CallRunner::Finish(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                        RpcMethod* method, const absl::Status& status,
                        std::chrono::steady_clock::time_point start) {
  const auto elapsed = std::chrono::steady_clock::now() - start;
  method->Handled(status.code(), elapsed);
  // Server faults are errors an operator must see; caller mistakes are
  // visible at debug level with every other call.
  const bool server_fault = status.code() == absl::StatusCode::kInternal ||
                            status.code() == absl::StatusCode::kDataLoss ||
                            status.code() == absl::StatusCode::kUnknown;
  const auto level = server_fault ? spdlog::level::err : spdlog::level::debug;
  if (spdlog::should_log(level)) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
    LogEvent(level, "call",
             {{"method", method->name()},
              {"code", std::string(absl::StatusCodeToString(status.code()))},
              {"micros", std::to_string(micros)},
              {"peer", context->peer()},
              {"message", std::string(status.message())}});
  }
  reactor->Finish(ToGrpcStatus(status));
}

}  // namespace wasikv
