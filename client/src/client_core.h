// ClientCore: what every call of a wasikv::Client shares: the channel, the
// stubs, the options, and a timer thread for retry and reconnect backoff.
// Private to the client library.
#ifndef WASIKV_CLIENT_SRC_CLIENT_CORE_H_
#define WASIKV_CLIENT_SRC_CLIENT_CORE_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "absl/status/status.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "wasikv/options.h"
#include "wasikv/v1/kv.grpc.pb.h"
#include "wasikv/v1/watch.grpc.pb.h"

namespace wasikv::client_internal {

// grpc::Status -> absl::Status, code and message unchanged.
absl::Status FromGrpcStatus(const grpc::Status& status);

// Codes after which a safe-to-repeat call is tried again.
bool IsRetryable(absl::StatusCode code);

class ClientCore {
 public:
  explicit ClientCore(const ClientOptions& options);
  ClientCore(const ClientCore&) = delete;
  ClientCore& operator=(const ClientCore&) = delete;
  // Stops the timer thread; pending timers run with operation_aborted.
  ~ClientCore();

  const ClientOptions& options() const { return options_; }
  v1::KV::Stub* kv() { return kv_.get(); }
  v1::Buckets::Stub* buckets() { return buckets_.get(); }
  v1::Watch::Stub* watch() { return watch_.get(); }
  grpc::health::v1::Health::Stub* health() { return health_.get(); }

  // A context for one attempt: the given absolute deadline (none if max()),
  // and the bearer token.
  std::unique_ptr<grpc::ClientContext> NewContext(
      std::chrono::system_clock::time_point deadline) const;
  // The absolute deadline of a call started now.
  std::chrono::system_clock::time_point DeadlineFor(const CallOptions& call) const;

  // The wait before attempt number `attempt` (1 = first retry): exponential
  // from initial_backoff, capped, jittered into [backoff/2, backoff].
  std::chrono::milliseconds Backoff(int attempt);

  // Runs `task` after `delay` on the timer thread (or with the client gone,
  // never).
  void RunAfter(std::chrono::milliseconds delay, std::function<void()> task);

 private:
  const ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::KV::Stub> kv_;
  std::unique_ptr<v1::Buckets::Stub> buckets_;
  std::unique_ptr<v1::Watch::Stub> watch_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;

  std::mutex random_mu_;
  std::mt19937_64 random_;

  boost::asio::io_context timers_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> timers_work_;
  std::thread timer_thread_;
};

}  // namespace wasikv::client_internal

#endif  // WASIKV_CLIENT_SRC_CLIENT_CORE_H_
