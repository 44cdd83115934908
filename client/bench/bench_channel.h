// The gRPC channels wasikv-bench opens to wasikvd and etcd.
#ifndef WASIKV_CLIENT_BENCH_BENCH_CHANNEL_H_
#define WASIKV_CLIENT_BENCH_BENCH_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace wasikv::bench {

// A plaintext channel to `endpoint` with its own TCP connection (a private
// subchannel pool, so channels never share one), connected within 10 s.
// UNAVAILABLE naming --endpoint and `server` ("wasikvd", "etcd") otherwise.
absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectBenchChannel(const std::string& endpoint,
                                                                   const std::string& server);

}  // namespace wasikv::bench

#endif  // WASIKV_CLIENT_BENCH_BENCH_CHANNEL_H_
