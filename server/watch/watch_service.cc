#include "server/watch/watch_service.h"

#include "server/common/status_macros.h"
#include "server/common/str_cat.h"
#include "server/rpc/refused_stream.h"

namespace wasikv {
namespace {

constexpr uint32_t kMinProgressIntervalMs = 100;

}  // namespace

absl::StatusOr<WatchStream::Target> WatchService::Validate(const v1::WatchRequest& request) const {
  WatchStream::Target target;
  RETURN_IF_ERROR(limits_.CheckBucket("bucket", request.bucket()));
  target.bucket = request.bucket();
  switch (request.target_case()) {
    case v1::WatchRequest::kKey:
      RETURN_IF_ERROR(limits_.CheckKey("key", request.key()));
      target.exact_key = true;
      target.key = request.key();
      break;
    case v1::WatchRequest::kPrefix:
      RETURN_IF_ERROR(limits_.CheckPrefix("prefix", request.prefix()));
      target.prefix = request.prefix();
      break;
    case v1::WatchRequest::TARGET_NOT_SET:
      break;
  }
  if (!v1::WatchRequest::Filter_IsValid(request.filter())) {
    return absl::InvalidArgumentError(StrCat("filter: unknown value ",
                                             static_cast<int>(request.filter()),
                                             "; use ALL, SETS_ONLY or DELETES_ONLY"));
  }
  target.filter = request.filter();
  target.prev_value = request.prev_value();
  if (request.progress_interval_ms() == 0) {
    target.progress_interval = hub_->options().progress_interval;
  } else if (request.progress_interval_ms() < kMinProgressIntervalMs) {
    return absl::InvalidArgumentError(StrCat(
        "progress_interval_ms: ", request.progress_interval_ms(), " is below the minimum of ",
        kMinProgressIntervalMs, " ms (0 uses the server default)"));
  } else {
    target.progress_interval = std::chrono::milliseconds(request.progress_interval_ms());
  }
  // In strict mode a watch, like a read, needs an existing bucket.
  ASSIGN_OR_RETURN(std::optional<BucketInfo> bucket, hub_->store()->FindBucket(request.bucket()));
  if (!bucket && !hub_->store()->auto_create_buckets()) {
    return absl::NotFoundError(StrCat("bucket '", request.bucket(),
                                      "' does not exist; this server serves only created buckets "
                                      "(--auto-create-buckets=false)"));
  }
  return target;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchService::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest& request) {
  const auto start_time = std::chrono::steady_clock::now();
  method_->Started();
  absl::StatusOr<WatchStream::Target> target = Validate(request);
  if (!target.ok())
    return new RefusedStream<grpc::ByteBuffer>(target.status(), method_, start_time);

  Store* store = hub_->store();
  const uint64_t start =
      request.start_revision() == 0 ? store->CurrentRevision() + 1 : request.start_revision();
  const uint64_t oldest = store->OldestRevision();
  if (start < oldest) {
    context->AddTrailingMetadata("wasikv-oldest-revision", std::to_string(oldest));
    return new RefusedStream<grpc::ByteBuffer>(
        absl::OutOfRangeError(StrCat(
            "start_revision ", start,
            " has been trimmed from history; the oldest revision "
            "still held is ",
            oldest, "; list the keys again and watch from the revision of that listing + 1")),
        method_, start_time);
  }
  auto stream =
      std::make_shared<WatchStream>(hub_, context, method_, start_time, std::move(*target), start);
  stream->Begin();
  return stream.get();
}

}  // namespace wasikv
