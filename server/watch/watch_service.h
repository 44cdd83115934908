// WatchService serves wasikv.v1.Watch: it validates a request, checks the
// start revision against history, and hands the stream to the WatchHub.
//
// Thread safety: called concurrently by gRPC. Borrows the hub, which must
// outlive the gRPC server.
#ifndef WASIKV_SERVER_WATCH_WATCH_SERVICE_H_
#define WASIKV_SERVER_WATCH_WATCH_SERVICE_H_

#include "server/metrics/server_metrics.h"
#include "server/rpc/decoding_service.h"
#include "server/rpc/request_limits.h"
#include "server/watch/watch_hub.h"
#include "wasikv/v1/watch.grpc.pb.h"

namespace wasikv {

class WatchService final {
 public:
  WatchService(WatchHub* hub, const RequestLimits& limits, ServerMetrics* metrics,
               const Authorizer* authorizer)
      : hub_(hub),
        limits_(limits),
        service_(metrics, authorizer),
        method_(service_.ServeServerStreaming<v1::WatchResponse>("Watch", Access::kRead, this,
                                                                 &WatchService::Watch)) {}
  WatchService(const WatchService&) = delete;
  WatchService& operator=(const WatchService&) = delete;

  // What grpc::ServerBuilder::RegisterService takes.
  grpc::Service* service() { return &service_; }

 private:
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Watch(grpc::CallbackServerContext* context,
                                                    const v1::WatchRequest& request);

  // The stream's target, or INVALID_ARGUMENT naming the field.
  absl::StatusOr<WatchStream::Target> Validate(const v1::WatchRequest& request) const;

  WatchHub* const hub_;
  const RequestLimits limits_;
  DecodingService<v1::Watch> service_;
  RpcMethod* const method_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_WATCH_WATCH_SERVICE_H_
