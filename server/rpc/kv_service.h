// KvService serves wasikv.v1.KV: the gRPC face of the Store.
//
// Each RPC validates its request against RequestLimits (INVALID_ARGUMENT
// naming the field and limit) and never blocks a gRPC callback thread on
// storage: reads answer from memory on gRPC's thread or go to the
// CallRunner's workers to read the disk; writes are submitted to the store's
// commit pipeline and finish from its thread once durable, with no thread
// waiting for them. Status codes are documented in proto/wasikv/v1/kv.proto.
//
// Thread safety: gRPC calls the methods concurrently; the service holds no
// mutable state of its own. Borrows the store and runner, which must outlive
// the gRPC server.
#ifndef WASIKV_SERVER_RPC_KV_SERVICE_H_
#define WASIKV_SERVER_RPC_KV_SERVICE_H_

#include <array>
#include <memory>
#include <span>
#include <string>

#include "server/metrics/server_metrics.h"
#include "server/rpc/call_runner.h"
#include "server/rpc/decoding_service.h"
#include "server/rpc/request_limits.h"
#include "server/storage/store.h"
#include "wasikv/v1/kv.grpc.pb.h"

namespace wasikv {

class KvService final {
 public:
  KvService(Store* store, CallRunner* runner, const RequestLimits& limits, ServerMetrics* metrics,
            const Authorizer* authorizer);
  KvService(const KvService&) = delete;
  KvService& operator=(const KvService&) = delete;

  // What grpc::ServerBuilder::RegisterService takes.
  grpc::Service* service() { return &service_; }

 private:
  // One handler per RPC; each owns its decoded request.

  // GetMany's reply from what the store read, or RESOURCE_EXHAUSTED if its
  // values exceed --max-batch-bytes.
  absl::Status FillGetMany(std::span<const std::string> keys, Store::ManyReadResult read,
                           v1::GetManyResponse* response) const;

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                std::unique_ptr<const v1::GetRequest> request,
                                v1::GetResponse* response);
  grpc::ServerUnaryReactor* Set(grpc::CallbackServerContext* context,
                                std::unique_ptr<const v1::SetRequest> request,
                                v1::SetResponse* response);
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   std::unique_ptr<const v1::DeleteRequest> request,
                                   v1::DeleteResponse* response);
  grpc::ServerUnaryReactor* Exists(grpc::CallbackServerContext* context,
                                   std::unique_ptr<const v1::ExistsRequest> request,
                                   v1::ExistsResponse* response);
  grpc::ServerUnaryReactor* ListKeys(grpc::CallbackServerContext* context,
                                     std::unique_ptr<const v1::ListKeysRequest> request,
                                     v1::ListKeysResponse* response);
  grpc::ServerUnaryReactor* Increment(grpc::CallbackServerContext* context,
                                      std::unique_ptr<const v1::IncrementRequest> request,
                                      v1::IncrementResponse* response);
  grpc::ServerUnaryReactor* CompareAndSwap(grpc::CallbackServerContext* context,
                                           std::unique_ptr<const v1::CompareAndSwapRequest> request,
                                           v1::CompareAndSwapResponse* response);
  grpc::ServerUnaryReactor* GetMany(grpc::CallbackServerContext* context,
                                    std::unique_ptr<const v1::GetManyRequest> request,
                                    v1::GetManyResponse* response);
  grpc::ServerUnaryReactor* SetMany(grpc::CallbackServerContext* context,
                                    std::unique_ptr<const v1::SetManyRequest> request,
                                    v1::SetManyResponse* response);
  grpc::ServerUnaryReactor* DeleteMany(grpc::CallbackServerContext* context,
                                       std::unique_ptr<const v1::DeleteManyRequest> request,
                                       v1::DeleteManyResponse* response);

  enum Method {
    kGet,
    kSet,
    kDelete,
    kExists,
    kListKeys,
    kIncrement,
    kCompareAndSwap,
    kGetMany,
    kSetMany,
    kDeleteMany,
    kMethodCount
  };

  // Serves a write. `prepare` (absl::Status(const Request&, Prepared*))
  // checks the request on gRPC's thread; `write_async` (void(const
  // Request&, const Prepared&, Store::Callback<Result>)) submits it and the
  // call finishes from the commit pipeline's writer thread with `fill`
  // (absl::Status(Result, Response*)). A write that must first create its
  // bucket runs `write_blocking` (absl::StatusOr<Result>(const Request&,
  // const Prepared&)) on a worker instead.
  template <typename Result, typename Prepared, typename Request, typename Response,
            typename Prepare, typename WriteAsync, typename WriteBlocking, typename Fill>
  grpc::ServerUnaryReactor* ServeWrite(grpc::CallbackServerContext* context, Method method,
                                       std::unique_ptr<const Request> request, Response* response,
                                       Prepare prepare, WriteAsync write_async,
                                       WriteBlocking write_blocking, Fill fill);

  // Checks the bucket and key fields every single-key request has.
  template <typename Request>
  absl::Status CheckBucketAndKey(const Request& request) const;
  // Checks a CompareAndSwap request and fills in what it compares against.
  absl::Status PrepareCompareAndSwap(const v1::CompareAndSwapRequest& request,
                                     CasCondition* condition) const;
  // Checks bucket, entry count and every key of a key-list request.
  template <typename Request>
  absl::Status CheckKeyList(const Request& request) const;

  Store* const store_;
  CallRunner* const runner_;
  const RequestLimits limits_;
  DecodingService<v1::KV> service_;
  std::array<RpcMethod*, kMethodCount> methods_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_KV_SERVICE_H_
