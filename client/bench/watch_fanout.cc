#include "client/bench/watch_fanout.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/bench/bench_channel.h"
#include "grpcpp/grpcpp.h"
#include "wasikv/v1/kv.grpc.pb.h"
#include "wasikv/v1/watch.grpc.pb.h"

namespace wasikv::bench {
namespace {

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One Watch stream; its reactions never overlap, but Reset and Stop read
// its numbers from the main thread, hence the mutex.
class Watcher : public grpc::ClientReadReactor<v1::WatchResponse> {
 public:
  Watcher(v1::Watch::Stub* stub, const TargetOptions& options) {
    if (!options.token.empty()) context_.AddMetadata("authorization", "Bearer " + options.token);
    request_.set_bucket(options.bucket);
    request_.set_filter(v1::WatchRequest::SETS_ONLY);
    stub->async()->Watch(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    const int64_t now = SteadyNanos();
    {
      absl::MutexLock lock(&mu_);
      if (response_.created()) created_ = true;
      revision_ = std::max<uint64_t>(revision_, response_.revision());
      for (const auto& event : response_.events()) {
        const int64_t stamp = ValueStamp(event.value());
        if (stamp < 0) continue;
        delivery_.Record(now - stamp);
        ++events_;
      }
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    done_ = true;
    end_ = status;
  }

  bool WaitCreated(std::chrono::seconds timeout) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](Watcher* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
                               return w->created_ || w->done_;
                             },
                             this),
                         absl::FromChrono(timeout));
    return created_;
  }
  std::string EndText() {
    absl::MutexLock lock(&mu_);
    return done_ ? DescribeGrpcStatus(end_.error_code(), end_.error_message())
                 : "no created response";
  }
  void Reset() {
    absl::MutexLock lock(&mu_);
    delivery_ = LatencyHistogram();
    events_ = 0;
  }
  // Waits until every change up to `revision` has reached this stream.
  bool WaitForRevision(uint64_t revision, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    struct Args {
      Watcher* watcher;
      uint64_t revision;
    } args{this, revision};
    return mu_.AwaitWithTimeout(absl::Condition(
                                    +[](Args* a) ABSL_EXCLUSIVE_LOCKS_REQUIRED(a->watcher->mu_) {
                                      return a->watcher->revision_ >= a->revision ||
                                             a->watcher->done_;
                                    },
                                    &args),
                                timeout);
  }
  void Cancel() { context_.TryCancel(); }
  // Waits for OnDone and adds this stream's numbers to `result`.
  void Collect(WatchResult* result) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    result->delivery.Merge(delivery_);
    result->events += events_;
  }

 private:
  grpc::ClientContext context_;
  v1::WatchRequest request_;
  v1::WatchResponse response_;
  absl::Mutex mu_;
  bool created_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status end_ ABSL_GUARDED_BY(mu_);
  LatencyHistogram delivery_ ABSL_GUARDED_BY(mu_);
  uint64_t events_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
};

class WatchFanoutImpl : public WatchFanout {
 public:
  absl::Status Open(const TargetOptions& options, int watchers, int channels) {
    options_ = options;
    for (int i = 0; i < channels; ++i) {
      absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
          ConnectBenchChannel(options.endpoint, "wasikvd");
      if (!channel.ok()) return channel.status();
      if (i == 0) buckets_ = v1::Buckets::NewStub(*channel);
      stubs_.push_back(v1::Watch::NewStub(*channel));
    }
    for (int i = 0; i < watchers; ++i) {
      watchers_.push_back(std::make_unique<Watcher>(stubs_[i % channels].get(), options));
    }
    for (auto& watcher : watchers_) {
      if (!watcher->WaitCreated(std::chrono::seconds(30))) {
        return absl::UnavailableError("--watchers: a Watch stream was not created: " +
                                      watcher->EndText());
      }
    }
    return absl::OkStatus();
  }

  ~WatchFanoutImpl() override {
    if (!stopped_) Stop();
  }

  void Reset() override {
    for (auto& watcher : watchers_) watcher->Reset();
  }

  WatchResult Stop() override {
    stopped_ = true;
    WatchResult result;
    result.watchers = static_cast<int>(watchers_.size());
    // Writes answered before this may still be on their way to watchers:
    // wait for the bucket's current revision to reach every stream.
    if (const uint64_t revision = CurrentRevision(); revision > 0) {
      const absl::Time deadline = absl::Now() + absl::Seconds(10);
      for (auto& watcher : watchers_) watcher->WaitForRevision(revision, deadline - absl::Now());
    }
    for (auto& watcher : watchers_) watcher->Cancel();
    for (auto& watcher : watchers_) watcher->Collect(&result);
    return result;
  }

 private:
  uint64_t CurrentRevision() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
    v1::OpenBucketRequest request;
    request.set_bucket(options_.bucket);
    v1::OpenBucketResponse response;
    return buckets_->OpenBucket(&context, request, &response).ok() ? response.revision() : 0;
  }

  TargetOptions options_;
  std::unique_ptr<v1::Buckets::Stub> buckets_;
  std::vector<std::unique_ptr<v1::Watch::Stub>> stubs_;
  std::vector<std::unique_ptr<Watcher>> watchers_;
  bool stopped_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<WatchFanout>> WatchFanout::Start(const TargetOptions& options,
                                                                int watchers, int channels) {
  auto fanout = std::make_unique<WatchFanoutImpl>();
  if (absl::Status opened = fanout->Open(options, watchers, std::max(1, channels)); !opened.ok()) {
    return opened;
  }
  return fanout;
}

}  // namespace wasikv::bench
