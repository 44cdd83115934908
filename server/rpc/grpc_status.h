// The one place absl errors become gRPC errors.
#ifndef WASIKV_SERVER_RPC_GRPC_STATUS_H_
#define WASIKV_SERVER_RPC_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace wasikv {

// Same canonical code, same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_GRPC_STATUS_H_
