// RpcMethod is one served gRPC method as the RPC layer sees it: its name for
// logs, and its metrics, in the names and labels of go-grpc-prometheus (which
// etcd and most gRPC dashboards use):
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method} (histogram)
// plus the server-wide wasikv_rpc_in_flight gauge.
//
// The hot path touches only atomics: every series is resolved when the
// method is made. Every code's series starts at 0, as go-grpc-prometheus'
// InitializeMetrics does, so the first error of a kind shows in rate() and
// increase() instead of appearing from nowhere.
//
// Thread safety: Started and Handled may be called from any thread.
// Lifetime: made and owned by ServerMetrics, which outlives every call.
#ifndef WASIKV_SERVER_METRICS_RPC_METHOD_H_
#define WASIKV_SERVER_METRICS_RPC_METHOD_H_

#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"

namespace wasikv {

enum class RpcType { kUnary, kServerStream };

class RpcMethod {
 public:
  // The families are ServerMetrics'; `in_flight` is shared by all methods.
  RpcMethod(std::string_view service, std::string_view method, RpcType type,
            prometheus::Family<prometheus::Counter>* started,
            prometheus::Family<prometheus::Counter>* handled,
            prometheus::Family<prometheus::Histogram>* latency, prometheus::Gauge* in_flight);
  RpcMethod(const RpcMethod&) = delete;
  RpcMethod& operator=(const RpcMethod&) = delete;

  // The bare method name ("Get"), for logs.
  const std::string& name() const { return method_; }

  // A call arrived.
  void Started();
  // The call that Started() counted ended with `code` after `elapsed`.
  void Handled(absl::StatusCode code, std::chrono::steady_clock::duration elapsed);

 private:
  static constexpr size_t kCodes = 17;  // OK .. UNAUTHENTICATED

  const std::string method_;
  prometheus::Counter& started_;
  prometheus::Histogram& latency_;
  prometheus::Gauge* const in_flight_;
  std::array<prometheus::Counter*, kCodes> handled_{};  // by absl::StatusCode
};

// The grpc_code label of `code`, spelled as go-grpc-prometheus spells it
// ("OK", "InvalidArgument", "Unavailable", ...).
std::string_view GrpcCodeLabel(absl::StatusCode code);

}  // namespace wasikv

#endif  // WASIKV_SERVER_METRICS_RPC_METHOD_H_
