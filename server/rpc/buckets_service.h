// BucketsService serves wasikv.v1.Buckets: open, create, delete and list.
//
// Every call is authorised first (DecodingService); ListBuckets lists only
// the buckets the caller may read.
//
// Thread safety: called concurrently by gRPC; no mutable state of its own.
// Borrows the store, runner and authorizer, which must outlive the gRPC
// server.
#ifndef WASIKV_SERVER_RPC_BUCKETS_SERVICE_H_
#define WASIKV_SERVER_RPC_BUCKETS_SERVICE_H_

#include <array>
#include <memory>

#include "server/metrics/server_metrics.h"
#include "server/rpc/call_runner.h"
#include "server/rpc/decoding_service.h"
#include "server/rpc/request_limits.h"
#include "server/storage/store.h"
#include "wasikv/v1/kv.grpc.pb.h"

namespace wasikv {

class BucketsService final {
 public:
  BucketsService(Store* store, CallRunner* runner, const RequestLimits& limits,
                 bool auto_create_buckets, ServerMetrics* metrics, const Authorizer* authorizer);
  BucketsService(const BucketsService&) = delete;
  BucketsService& operator=(const BucketsService&) = delete;

  // What grpc::ServerBuilder::RegisterService takes.
  grpc::Service* service() { return &service_; }

 private:
  // One handler per RPC; each owns its decoded request.
  grpc::ServerUnaryReactor* OpenBucket(grpc::CallbackServerContext* context,
                                       std::unique_ptr<const v1::OpenBucketRequest> request,
                                       v1::OpenBucketResponse* response);
  grpc::ServerUnaryReactor* CreateBucket(grpc::CallbackServerContext* context,
                                         std::unique_ptr<const v1::CreateBucketRequest> request,
                                         v1::CreateBucketResponse* response);
  grpc::ServerUnaryReactor* DeleteBucket(grpc::CallbackServerContext* context,
                                         std::unique_ptr<const v1::DeleteBucketRequest> request,
                                         v1::DeleteBucketResponse* response);
  grpc::ServerUnaryReactor* ListBuckets(grpc::CallbackServerContext* context,
                                        std::unique_ptr<const v1::ListBucketsRequest> request,
                                        v1::ListBucketsResponse* response);

  enum Method { kOpenBucket, kCreateBucket, kDeleteBucket, kListBuckets, kMethodCount };

  Store* const store_;
  CallRunner* const runner_;
  const RequestLimits limits_;
  const bool auto_create_buckets_;
  const Authorizer* const authorizer_;
  DecodingService<v1::Buckets> service_;
  std::array<RpcMethod*, kMethodCount> methods_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_BUCKETS_SERVICE_H_
