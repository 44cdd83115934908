// The changes a guest should be told about, whatever runtime it runs on: a
// wasikv Watch on each bucket its Session opens (and on any configured),
// queued in order, bounded, and resumed without a gap when the guest falls
// behind. WatchDelivery hands them to core-wasm guests; the Node addon to
// components.
#ifndef WASIKV_ADAPTER_WATCH_FEED_H_
#define WASIKV_ADAPTER_WATCH_FEED_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "wasikv/adapter/session.h"
#include "wasikv/watch.h"

namespace wasikv::adapter {

struct WatchFeedOptions {
  // Watched from the start (from the store's current revision on), besides
  // the buckets the guest opens.
  std::vector<std::string> buckets;
  // Watch each bucket the guest opens, from the revision its open saw, so
  // no change after the open is missed however late the stream starts.
  bool watch_opened_buckets = true;
  // Events waiting for the guest. Past it the feed stops reading that
  // bucket's stream and resumes it from the first event it did not keep
  // once the guest has caught up to half of this: memory stays bounded and
  // nothing is lost (while the server's history still holds the events).
  size_t max_queued_events = 10000;
};

// One change, in the bucket it happened in.
struct FeedEvent {
  std::string bucket;
  WatchEvent event;  // kSet or kDelete; deleted buckets have no wasi event
};

// Observes `session`'s opens until destroyed; the session must outlive it.
// Take, Watch and the destructor run on the guest's thread; the
// subscriptions' threads only queue events and call `on_ready`.
class WatchFeed {
 public:
  // `on_ready`, if set, is called from a subscription thread whenever the
  // queue goes from empty to not empty (and when a subscription ends), so a
  // host with an event loop can schedule a Take. It must not block.
  static absl::StatusOr<std::unique_ptr<WatchFeed>> Create(Session& session,
                                                           WatchFeedOptions options = {},
                                                           std::function<void()> on_ready = {});
  ~WatchFeed();
  WatchFeed(const WatchFeed&) = delete;
  WatchFeed& operator=(const WatchFeed&) = delete;

  // Watches `bucket` from `start_revision` (0: from now) unless it already is.
  absl::Status Watch(const std::string& bucket, uint64_t start_revision = 0);

  // Up to `max_events` queued events, oldest first, waiting up to `wait`
  // for the first. Empty if none came. The error that ended a subscription
  // (for example OUT_OF_RANGE when the history it needed was trimmed) once
  // the events before it are taken.
  absl::StatusOr<std::vector<FeedEvent>> Take(std::chrono::milliseconds wait, size_t max_events);

  // Buckets watched now.
  std::vector<std::string> watched() const;

 private:
  struct State;
  explicit WatchFeed(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_WATCH_FEED_H_
