// CallRunner moves the work of unary RPCs off gRPC's callback threads onto a
// pool of worker threads, because store work may block (a disk read, a long
// scan, a bucket creation waiting for its commit) and a callback reaction
// must never block.
//
// Each call's work runs once on a worker and its status finishes the call.
// Calls cancelled or past their deadline while queued are not run. The queue
// is bounded: past max_queued_calls a call fails at once with
// RESOURCE_EXHAUSTED, so overload sheds load instead of growing memory.
// Calls whose work completes elsewhere (writes, answered from the commit
// pipeline's writer thread) are started with Start() and bounded the same
// way.
//
// Shutdown is two steps. Drain() refuses every call that arrives from then
// on with UNAVAILABLE and waits for the calls already accepted to finish,
// so each call is either run to its answer or refused without running:
// gRPC's own shutdown would instead cancel calls that race it (CANCELLED,
// which clients must not retry blindly). Stop() then joins the pool.
//
// Thread safety: Run() and Drain() may be called from any thread. Stop()
// joins the pool after running what is queued; call it once gRPC has shut
// down.
#ifndef WASIKV_SERVER_RPC_CALL_RUNNER_H_
#define WASIKV_SERVER_RPC_CALL_RUNNER_H_

#include <atomic>
#include <chrono>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/post.hpp"
#include "boost/asio/thread_pool.hpp"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "server/metrics/rpc_method.h"
#include "server/rpc/grpc_status.h"

namespace wasikv {

class CallRunner {
 public:
  CallRunner(size_t threads, size_t max_queued_calls);
  CallRunner(const CallRunner&) = delete;
  CallRunner& operator=(const CallRunner&) = delete;
  ~CallRunner();

  // Runs `work` (absl::Status()) on a worker and finishes the call with its
  // status. `method` names the call in logs and counts it in metrics.
  template <typename Work>
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, RpcMethod* method,
                                Work work) {
    // Counted before the check, so Drain() either sees this call or this
    // call sees the drain (both atomics are sequentially consistent).
    Reactor* reactor = NewReactor();
    if (draining_.load()) {
      MarkDrainActivity();
      return FinishNow(context, reactor, method, ShuttingDown());
    }
    const auto start = std::chrono::steady_clock::now();
    method->Started();
    return Post(context, reactor, method, start, std::move(work));
  }

  // Runs `fast` (std::optional<absl::Status>()) here, on gRPC's thread, and
  // finishes the call with its status; if it returns nullopt (the answer
  // needs work that may block, such as a disk read), runs `slow` on a worker
  // as Run does. For calls usually answered from memory: no thread hop.
  // `fast` must never block.
  template <typename Fast, typename Slow>
  grpc::ServerUnaryReactor* RunHereOr(grpc::CallbackServerContext* context, RpcMethod* method,
                                      Fast fast, Slow slow) {
    Reactor* reactor = NewReactor();
    if (draining_.load()) {
      MarkDrainActivity();
      return FinishNow(context, reactor, method, ShuttingDown());
    }
    const auto start = std::chrono::steady_clock::now();
    method->Started();
    if (std::optional<absl::Status> status = fast()) {
      Finish(context, reactor, method, *status, start);
      return reactor;
    }
    return Post(context, reactor, method, start, std::move(slow));
  }

  // A call started with Start() whose answer comes later: it finishes the
  // call from any thread, or hands what remains to a worker. Copyable; use
  // one of its methods exactly once.
  class PendingCall {
   public:
    void Finish(const absl::Status& status) const {
      runner_->pending_.fetch_sub(1, std::memory_order_relaxed);
      runner_->Finish(context_, reactor_, method_, status, start_);
    }
    // Runs `work` (absl::Status()) on a worker, as Run() does.
    template <typename Work>
    void ContinueOnWorker(Work work) const {
      runner_->pending_.fetch_sub(1, std::memory_order_relaxed);
      runner_->Post(context_, reactor_, method_, start_, std::move(work));
    }

   private:
    friend class CallRunner;
    PendingCall(CallRunner* runner, grpc::CallbackServerContext* context,
                grpc::ServerUnaryReactor* reactor, RpcMethod* method,
                std::chrono::steady_clock::time_point start)
        : runner_(runner), context_(context), reactor_(reactor), method_(method), start_(start) {}
    CallRunner* runner_;
    grpc::CallbackServerContext* context_;
    grpc::ServerUnaryReactor* reactor_;
    RpcMethod* method_;
    std::chrono::steady_clock::time_point start_;
  };

  // Runs `start` (void(PendingCall)) here, on gRPC's thread; it must not
  // block, and the call ends when the PendingCall is used, from whatever
  // thread ends the work. For work that completes elsewhere without a
  // thread waiting for it.
  template <typename StartFn>
  grpc::ServerUnaryReactor* Start(grpc::CallbackServerContext* context, RpcMethod* method,
                                  StartFn start) {
    Reactor* reactor = NewReactor();
    if (draining_.load()) {
      MarkDrainActivity();
      return FinishNow(context, reactor, method, ShuttingDown());
    }
    const auto begin = std::chrono::steady_clock::now();
    method->Started();
    if (pending_.fetch_add(1, std::memory_order_relaxed) >= max_queued_calls_) {
      pending_.fetch_sub(1, std::memory_order_relaxed);
      Finish(context, reactor, method, Overloaded(), begin);
      return reactor;
    }
    start(PendingCall(this, context, reactor, method, begin));
    return reactor;
  }

  // Finishes a call at once with `status` (a request refused before any
  // work), counted and logged like every other call.
  grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* context, RpcMethod* method,
                                   const absl::Status& status);

  // Refuses new calls from now on and waits until the accepted ones have
  // finished and no call has ended or been refused for `quiet_period`
  // (clients that were between two calls, or just got their answer, send
  // their next call in that window and get UNAVAILABLE from here rather than
  // meet gRPC's shutdown), or until `deadline`. True if drained by the
  // deadline.
  bool Drain(std::chrono::steady_clock::time_point deadline,
             std::chrono::milliseconds quiet_period);

  void Stop();

  // Calls waiting for a worker or for their write now, and the most that
  // may wait for each.
  size_t queued() const {
    return queued_.load(std::memory_order_relaxed) + pending_.load(std::memory_order_relaxed);
  }
  size_t max_queued_calls() const { return max_queued_calls_; }

 private:
  // A unary call's reactor: counts the call as active until gRPC is done
  // with it (its status sent), which DefaultReactor cannot tell.
  class Reactor : public grpc::ServerUnaryReactor {
   public:
    explicit Reactor(CallRunner* runner) : runner_(runner) {}
    void OnDone() override {
      CallRunner* runner = runner_;
      delete this;
      runner->EndActive();
    }
    void OnCancel() override {}

   private:
    CallRunner* const runner_;
  };

  Reactor* NewReactor() {
    active_.fetch_add(1);
    return new Reactor(this);
  }
  grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context, Reactor* reactor,
                                      RpcMethod* method, const absl::Status& status);
  // Queues `work` for a worker, or refuses the call if too many wait.
  template <typename Work>
  grpc::ServerUnaryReactor* Post(grpc::CallbackServerContext* context,
                                 grpc::ServerUnaryReactor* reactor, RpcMethod* method,
                                 std::chrono::steady_clock::time_point start, Work work) {
    if (queued_.fetch_add(1, std::memory_order_relaxed) >= max_queued_calls_) {
      queued_.fetch_sub(1, std::memory_order_relaxed);
      Finish(context, reactor, method, Overloaded(), start);
      return reactor;
    }
    boost::asio::post(
        pool_, [this, context, reactor, method, start, work = std::move(work)]() mutable {
          queued_.fetch_sub(1, std::memory_order_relaxed);
          absl::Status status =
              context->IsCancelled()
                  ? absl::CancelledError("call cancelled or past its deadline before it ran")
                  : work();
          Finish(context, reactor, method, status, start);
        });
    return reactor;
  }
  absl::Status Overloaded() const;
  static absl::Status ShuttingDown();
  void EndActive();
  void MarkDrainActivity() {
    last_drain_activity_.store(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  // Logs the call and finishes it.
  void Finish(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
              RpcMethod* method, const absl::Status& status,
              std::chrono::steady_clock::time_point start);

  boost::asio::thread_pool pool_;
  const size_t max_queued_calls_;
  std::atomic<size_t> queued_{0};
  // Calls started with Start() and not yet finished or handed to a worker.
  std::atomic<size_t> pending_{0};
  // Calls given a reactor and not yet done.
  std::atomic<size_t> active_{0};
  std::atomic<bool> draining_{false};
  // steady_clock ticks of the last call refused or ended while draining.
  std::atomic<int64_t> last_drain_activity_{0};
  absl::Mutex idle_mu_;
  absl::CondVar idle_;
  bool stopped_ = false;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_CALL_RUNNER_H_
