// WatchStream is one Watch RPC: a server-streaming reactor that pulls change
// records from the store, from its own position, and writes the matching
// events to its client.
//
// Pull, not push: a stream keeps only its next revision and at most one
// response in flight, and that response is charged to the hub's shared
// budget (--watch-inflight-bytes), so all streams together hold bounded
// event memory however many there are and however slowly they read. A stream whose client stops
// reading simply stops pulling, so it costs writers nothing and holds no growing queue; when the
// client reads again it catches up from the change cache or the RocksDB log,
// or ends with OUT_OF_RANGE if history was trimmed past it meanwhile. Order
// and gap-freedom follow from reading the log in revision order from one
// position, which is also what makes replay-then-live seamless.
//
// All work (reads, filtering, building responses) runs on the WatchHub's
// pool, never on gRPC's callback threads. Responses go out serialised, and
// a stream first looks for the one another stream of the same target built
// from the same position (shared_responses.h), so a fan-out builds each
// response once. The hub wakes a parked (caught-up)
// stream when its bucket changes, and asks idle streams for progress.
//
// Lifetime: owned by a shared_ptr to itself until gRPC calls OnDone; pool
// tasks hold further references, so the object outlives any queued work.
// Thread safety: every method may be called from any thread.
#ifndef WASIKV_SERVER_WATCH_WATCH_STREAM_H_
#define WASIKV_SERVER_WATCH_WATCH_STREAM_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "server/metrics/rpc_method.h"
#include "server/storage/change_cache.h"
#include "wasikv/v1/watch.pb.h"

namespace wasikv {

class WatchHub;

class WatchStream final : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                          public std::enable_shared_from_this<WatchStream> {
 public:
  // What one stream watches, validated by the service.
  struct Target {
    std::string bucket;
    std::string key;     // when exact_key
    std::string prefix;  // otherwise ("" = whole bucket)
    bool exact_key = false;
    v1::WatchRequest::Filter filter = v1::WatchRequest::ALL;
    bool prev_value = false;
    std::chrono::milliseconds progress_interval{0};  // 0: never
  };

  // Starts the stream at `start_revision` (the first revision to deliver):
  // sends the created response, then pulls. Call Begin() right after
  // construction through std::make_shared.
  // `method` counts the call (Started() already called for it) and its end.
  WatchStream(WatchHub* hub, grpc::CallbackServerContext* context, RpcMethod* method,
              std::chrono::steady_clock::time_point start, Target target, uint64_t start_revision);
  void Begin();

  const std::string& bucket() const { return target_.bucket; }
  // The first revision the stream has not yet read past, for lag metrics.
  uint64_t next_revision() const { return position_.load(std::memory_order_relaxed); }

  // From the hub: new changes in the bucket (pull again).
  // `skip_to`: revisions below it (from where the stream parked) do not touch
  // its bucket, so it may start reading there.
  void Wake(uint64_t skip_to = 0);
  // From the hub's ticker: send a progress response if idle long enough.
  void MaybeSendProgress(std::chrono::steady_clock::time_point now, uint64_t skip_to);
  // From the hub on shutdown: end with `status` once the write in flight (if
  // any) completes.
  void End(const grpc::Status& status);

  // gRPC reactions.
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Reads from next_revision_ and writes, parks, or schedules itself again.
  void Pump();
  // Appends the events of `record` this stream wants to `response`.
  void AddMatchingEvents(const storage::ChangeRecord& record, v1::WatchResponse* response);
  // The value of `key` written at `version`, if history still holds it.
  std::optional<std::string> PreviousValue(const std::string& key, uint64_t version);
  bool Matches(const storage::Event& event) const;
  // What identifies the target among streams that may share responses.
  static std::string SharingKey(const Target& target);
  static grpc::ByteBuffer Serialize(const v1::WatchResponse& response);
  // Sends response_ (already filled); mu_ must not be held.
  void Send();
  // Ends the stream with `status` once nothing is in flight.
  void EndLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Calls Finish if an end is pending and nothing is in flight. Returns the
  // status to finish with (outside the lock), if any.
  std::optional<grpc::Status> TakeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishWith(std::optional<grpc::Status> status);
  // Finishes the call with `status` and counts its end.
  void Complete(const grpc::Status& status);

  WatchHub* const hub_;
  grpc::CallbackServerContext* const context_;
  RpcMethod* const method_;
  const std::chrono::steady_clock::time_point start_;
  const Target target_;
  const std::string sharing_key_;
  // next_revision_, readable without mu_.
  std::atomic<uint64_t> position_;

  absl::Mutex mu_;
  uint64_t next_revision_ ABSL_GUARDED_BY(mu_);
  uint64_t skip_to_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool pumping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool progress_due_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> end_status_ ABSL_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point last_sent_ ABSL_GUARDED_BY(mu_);
  // The hub budget held by the response in flight.
  size_t reserved_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // The one response in flight, serialised (gRPC borrows it until
  // OnWriteDone); its slices may be shared with other streams.
  grpc::ByteBuffer response_;
  std::shared_ptr<WatchStream> self_;  // released in OnDone
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_WATCH_WATCH_STREAM_H_
