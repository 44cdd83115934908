#include "watch_subscription.h"

#include <condition_variable>
#include <deque>
#include <mutex>

namespace wasikv::client_internal {
namespace {

// Codes after which resuming cannot help.
bool IsPermanent(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return true;
    default:
      return false;
  }
}

WatchEvent ToEvent(v1::WatchEvent& in) {
  WatchEvent out;
  switch (in.type()) {
    case v1::WatchEvent::SET:
      out.type = WatchEvent::Type::kSet;
      break;
    case v1::WatchEvent::DELETE:
      out.type = WatchEvent::Type::kDelete;
      break;
    default:
      out.type = WatchEvent::Type::kBucketDeleted;
      break;
  }
  out.key = std::move(*in.mutable_key());
  out.value = std::move(*in.mutable_value());
  out.revision = in.revision();
  out.prev_version = in.prev_version();
  if (in.prev_found()) out.prev_value = std::move(*in.mutable_prev_value());
  return out;
}

class Subscription;

// One connection attempt: a gRPC read reactor. Owned by the Subscription.
class Stream final : public grpc::ClientReadReactor<v1::WatchResponse> {
 public:
  Stream(Subscription* owner, std::unique_ptr<grpc::ClientContext> context)
      : owner_(owner), context_(std::move(context)) {}
  grpc::ClientContext* context() { return context_.get(); }
  v1::WatchResponse* response() { return &response_; }
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  Subscription* owner_;
  std::unique_ptr<grpc::ClientContext> context_;
  v1::WatchResponse response_;
};

class Subscription final : public WatchSubscription {
 public:
  Subscription(ClientCore* core, const WatchOptions& options, WatchHandler handler)
      : core_(core), options_(options), handler_(std::move(handler)) {
    request_.set_bucket(options.bucket);
    if (options.key) {
      request_.set_key(*options.key);
    } else {
      request_.set_prefix(options.prefix);
    }
    switch (options.filter) {
      case WatchOptions::Filter::kAll:
        request_.set_filter(v1::WatchRequest::ALL);
        break;
      case WatchOptions::Filter::kSetsOnly:
        request_.set_filter(v1::WatchRequest::SETS_ONLY);
        break;
      case WatchOptions::Filter::kDeletesOnly:
        request_.set_filter(v1::WatchRequest::DELETES_ONLY);
        break;
    }
    request_.set_prev_value(options.prev_value);
    request_.set_progress_interval_ms(static_cast<uint32_t>(options.progress_interval.count()));
  }

  ~Subscription() override {
    Cancel();
    std::unique_lock lock(mu_);
    idle_.wait(
        lock, [&] { return stream_ == nullptr && !reconnect_pending_ && callbacks_running_ == 0; });
  }

  void Connect(uint64_t start_revision) {
    std::lock_guard lock(mu_);
    ConnectLocked(start_revision);
  }

  absl::StatusOr<std::optional<WatchBatch>> Next(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    ready_.wait_for(lock, timeout, [&] { return !queue_.empty() || final_status_.has_value(); });
    if (!queue_.empty()) {
      WatchBatch batch = std::move(queue_.front());
      queue_.pop_front();
      // Reading was paused while the queue was full: resume it.
      if (read_paused_ && stream_ != nullptr && queue_.size() < options_.max_buffered_batches) {
        read_paused_ = false;
        *stream_->response() = v1::WatchResponse();
        stream_->StartRead(stream_->response());
      }
      return std::optional<WatchBatch>(std::move(batch));
    }
    if (final_status_) return *final_status_;
    return std::optional<WatchBatch>();
  }

  absl::Status WaitUntilStarted(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    ready_.wait_for(lock, timeout, [&] { return started_ || final_status_.has_value(); });
    if (started_) return absl::OkStatus();
    if (final_status_) return *final_status_;
    return absl::DeadlineExceededError("watch: the server has not accepted the stream yet");
  }

  uint64_t revision() const override {
    std::lock_guard lock(mu_);
    return revision_;
  }

  void Cancel() override {
    std::optional<absl::Status> ended;
    {
      std::lock_guard lock(mu_);
      if (cancelled_) return;
      cancelled_ = true;
      if (stream_ != nullptr) stream_->context()->TryCancel();
      if (stream_ == nullptr && !reconnect_pending_) {
        ended = EndLocked(absl::CancelledError("watch cancelled"));
      }
    }
    ReportEnd(ended);
  }

  // From the stream.
  void OnResponse(Stream* stream) {
    v1::WatchResponse& response = *stream->response();
    std::unique_lock lock(mu_);
    // The created response says where the stream starts; later ones how far
    // it got. Either way a reconnect resumes right after.
    revision_ = std::max(revision_, response.revision());
    if (response.created()) {
      attempts_ = 0;  // a working stream resets the backoff
      started_ = true;
      ready_.notify_all();
    } else {
      if (response.events_size() > 0 || (response.progress() && options_.deliver_progress)) {
        WatchBatch batch;
        batch.revision = response.revision();
        batch.progress = response.progress();
        batch.events.reserve(response.events_size());
        for (v1::WatchEvent& event : *response.mutable_events()) {
          batch.events.push_back(ToEvent(event));
        }
        if (handler_.on_batch) {
          // One stream reads one response at a time: batches reach the
          // handler in order, never concurrently.
          lock.unlock();
          handler_.on_batch(batch);
          lock.lock();
        } else {
          queue_.push_back(std::move(batch));
          ready_.notify_all();
          if (queue_.size() >= options_.max_buffered_batches) {
            read_paused_ = true;
            return;
          }
        }
      }
    }
    // A fresh message per read: a reused one keeps the capacity of the
    // largest response ever received.
    *stream->response() = v1::WatchResponse();
    stream->StartRead(stream->response());
  }

  void OnStreamDone(Stream* stream, const grpc::Status& status) {
    std::optional<absl::Status> ended;
    {
      std::lock_guard lock(mu_);
      ++callbacks_running_;
      stream_ = nullptr;
      read_paused_ = false;
      if (cancelled_) {
        ended = EndLocked(absl::CancelledError("watch cancelled"));
      } else if (IsPermanent(status.error_code())) {
        ended = EndLocked(FromGrpcStatus(status));
      } else {
        // Resume where the last delivered response left off: no gap, no
        // duplicate. Before the first stream started, start where asked.
        reconnect_pending_ = true;
        core_->RunAfter(core_->Backoff(++attempts_), [this] { Reconnect(); });
      }
    }
    // The stream's context holds a channel reference: release it before the
    // owner may destroy the client.
    delete stream;
    ReportEnd(ended);
    CallbackDone();
  }

 private:
  void ConnectLocked(uint64_t start_revision) {
    request_.set_start_revision(start_revision);
    stream_ = new Stream(this, core_->NewContext(std::chrono::system_clock::time_point::max()));
    core_->watch()->async()->Watch(stream_->context(), &request_, stream_);
    stream_->StartRead(stream_->response());
    stream_->StartCall();
  }

  void Reconnect() {
    std::optional<absl::Status> ended;
    {
      std::lock_guard lock(mu_);
      ++callbacks_running_;
      reconnect_pending_ = false;
      if (cancelled_) {
        ended = EndLocked(absl::CancelledError("watch cancelled"));
      } else {
        ConnectLocked(started_ ? revision_ + 1 : options_.start_revision);
      }
    }
    ReportEnd(ended);
    CallbackDone();
  }

  // The destructor waits for callbacks in progress, so none outlives it.
  void CallbackDone() {
    std::lock_guard lock(mu_);
    --callbacks_running_;
    idle_.notify_all();
  }

  // Records the final status; returns it if the handler must hear of it.
  std::optional<absl::Status> EndLocked(absl::Status status) {
    if (final_status_) return std::nullopt;
    final_status_ = status;
    ready_.notify_all();
    return status;
  }

  // Tells the handler, outside the lock so it may call back in.
  void ReportEnd(const std::optional<absl::Status>& ended) {
    if (ended && handler_.on_end) handler_.on_end(*ended);
  }

  ClientCore* const core_;
  const WatchOptions options_;
  WatchHandler handler_;
  v1::WatchRequest request_;

  mutable std::mutex mu_;
  std::condition_variable ready_;  // a batch, the start or the end arrived
  std::condition_variable idle_;   // no stream, reconnect or callback pending
  Stream* stream_ = nullptr;       // the live attempt, deleted in OnStreamDone
  bool read_paused_ = false;
  bool reconnect_pending_ = false;
  bool cancelled_ = false;
  bool started_ = false;  // the server accepted a stream
  int callbacks_running_ = 0;
  int attempts_ = 0;
  uint64_t revision_ = 0;
  std::deque<WatchBatch> queue_;
  std::optional<absl::Status> final_status_;
};

void Stream::OnReadDone(bool ok) {
  // !ok: the stream is over; OnDone follows with its status.
  if (ok) owner_->OnResponse(this);
}

void Stream::OnDone(const grpc::Status& status) { owner_->OnStreamDone(this, status); }

}  // namespace

absl::StatusOr<std::unique_ptr<WatchSubscription>> StartWatch(ClientCore* core,
                                                              const WatchOptions& options,
                                                              WatchHandler handler) {
  if (options.bucket.empty()) return absl::InvalidArgumentError("bucket: must not be empty");
  if (options.max_buffered_batches == 0) {
    return absl::InvalidArgumentError("max_buffered_batches: must be at least 1");
  }
  auto subscription = std::make_unique<Subscription>(core, options, std::move(handler));
  // start 0 means "now" to the server; later reconnects use an explicit
  // revision.
  subscription->Connect(options.start_revision);
  return subscription;
}

}  // namespace wasikv::client_internal
