// RefusedStream: the reactor of a server-streaming call refused before its
// first message (a bad request, a trimmed start revision), which ends at
// once with the given status, counted in the method's metrics.
//
// Ownership: allocate with new and hand to gRPC; it deletes itself when the
// call is done.
#ifndef WASIKV_SERVER_RPC_REFUSED_STREAM_H_
#define WASIKV_SERVER_RPC_REFUSED_STREAM_H_

#include <chrono>

#include "absl/status/status.h"
#include "grpcpp/support/server_callback.h"
#include "server/metrics/rpc_method.h"
#include "server/rpc/grpc_status.h"

namespace wasikv {

template <typename Response>
class RefusedStream final : public grpc::ServerWriteReactor<Response> {
 public:
  // `start`: when the call began, for the handling-time metric.
  RefusedStream(const absl::Status& status, RpcMethod* method,
                std::chrono::steady_clock::time_point start) {
    method->Handled(status.code(), std::chrono::steady_clock::now() - start);
    this->Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_REFUSED_STREAM_H_
