#include "server/rpc/buckets_service.h"

#include "server/common/status_macros.h"
#include "server/common/str_cat.h"

namespace wasikv {

BucketsService::BucketsService(Store* store, CallRunner* runner, const RequestLimits& limits,
                               bool auto_create_buckets, ServerMetrics* metrics,
                               const Authorizer* authorizer)
    : store_(store),
      runner_(runner),
      limits_(limits),
      auto_create_buckets_(auto_create_buckets),
      authorizer_(authorizer),
      service_(metrics, authorizer) {
  methods_[kOpenBucket] =
      service_.ServeUnary("OpenBucket", Access::kRead, runner, this, &BucketsService::OpenBucket);
  methods_[kCreateBucket] = service_.ServeUnary("CreateBucket", Access::kAdmin, runner, this,
                                                &BucketsService::CreateBucket);
  methods_[kDeleteBucket] = service_.ServeUnary("DeleteBucket", Access::kAdmin, runner, this,
                                                &BucketsService::DeleteBucket);
  methods_[kListBuckets] = service_.ServeUnary("ListBuckets", Access::kAnyPrincipal, runner, this,
                                               &BucketsService::ListBuckets);
}

grpc::ServerUnaryReactor* BucketsService::OpenBucket(
    grpc::CallbackServerContext* context, std::unique_ptr<const v1::OpenBucketRequest> request,
    v1::OpenBucketResponse* response) {
  return runner_->Run(context, methods_[kOpenBucket],
                      [this, request = std::move(request), response]() -> absl::Status {
                        RETURN_IF_ERROR(limits_.CheckBucket("bucket", request->bucket()));
                        response->set_revision(store_->CurrentRevision());
                        ASSIGN_OR_RETURN(std::optional<BucketInfo> bucket,
                                         store_->FindBucket(request->bucket()));
                        if (!bucket && !auto_create_buckets_) {
                          return absl::NotFoundError(
                              StrCat("bucket '", request->bucket(),
                                     "' does not exist; this server serves only created buckets "
                                     "(--auto-create-buckets=false), create it with CreateBucket"));
                        }
                        response->set_exists(bucket.has_value());
                        response->set_usable(true);
                        if (bucket) response->set_create_revision(bucket->create_revision);
                        return absl::OkStatus();
                      });
}

grpc::ServerUnaryReactor* BucketsService::CreateBucket(
    grpc::CallbackServerContext* context, std::unique_ptr<const v1::CreateBucketRequest> request,
    v1::CreateBucketResponse* response) {
  return runner_->Run(context, methods_[kCreateBucket],
                      [this, request = std::move(request), response]() -> absl::Status {
                        RETURN_IF_ERROR(limits_.CheckBucket("bucket", request->bucket()));
                        ASSIGN_OR_RETURN(uint64_t revision,
                                         store_->CreateBucket(request->bucket()));
                        response->set_revision(revision);
                        return absl::OkStatus();
                      });
}

grpc::ServerUnaryReactor* BucketsService::DeleteBucket(
    grpc::CallbackServerContext* context, std::unique_ptr<const v1::DeleteBucketRequest> request,
    v1::DeleteBucketResponse* response) {
  return runner_->Run(context, methods_[kDeleteBucket],
                      [this, request = std::move(request), response]() -> absl::Status {
                        RETURN_IF_ERROR(limits_.CheckBucket("bucket", request->bucket()));
                        ASSIGN_OR_RETURN(Store::DeleteBucketResult result,
                                         store_->DeleteBucket(request->bucket()));
                        response->set_deleted(result.deleted);
                        response->set_deleted_keys(result.deleted_keys);
                        response->set_revision(result.revision);
                        return absl::OkStatus();
                      });
}

grpc::ServerUnaryReactor* BucketsService::ListBuckets(
    grpc::CallbackServerContext* context, std::unique_ptr<const v1::ListBucketsRequest> /*request*/,
    v1::ListBucketsResponse* response) {
  // Only the buckets the caller may read are listed. (Admitted, the caller
  // is known, unless the auth file changed since a moment ago.)
  absl::StatusOr<std::shared_ptr<const Principal>> caller = authorizer_->Authenticate(*context);
  if (!caller.ok()) return runner_->Refuse(context, methods_[kListBuckets], caller.status());
  return runner_->Run(context, methods_[kListBuckets],
                      [this, caller = std::move(*caller), response]() -> absl::Status {
                        Store::BucketList list = store_->ListBuckets();
                        response->set_revision(list.revision);
                        for (const BucketInfo& bucket : list.buckets) {
                          if (!caller->MayRead(bucket.name)) continue;
                          v1::BucketInfo* info = response->add_buckets();
                          info->set_name(bucket.name);
                          info->set_create_revision(bucket.create_revision);
                        }
                        return absl::OkStatus();
                      });
}

}  // namespace wasikv
