// Client side of Watch: a subscription that survives disconnects.
#ifndef WASIKV_WATCH_H_
#define WASIKV_WATCH_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wasikv {

struct WatchEvent {
  enum class Type { kSet, kDelete, kBucketDeleted };
  Type type = Type::kSet;
  std::string key;    // empty for kBucketDeleted
  std::string value;  // kSet
  uint64_t revision = 0;
  // With WatchOptions::prev_value: the version before this change (0: the
  // key did not exist) and, if history still held it, the value.
  uint64_t prev_version = 0;
  std::optional<std::string> prev_value;
};

// One server response: the events of one or more whole revisions, in order.
// Everything up to `revision` has been delivered.
struct WatchBatch {
  std::vector<WatchEvent> events;
  uint64_t revision = 0;
  bool progress = false;  // an idle-stream progress notice, no events
};

struct WatchOptions {
  std::string bucket;
  // Exactly this key, if set; otherwise every key starting with `prefix`
  // ("" = the whole bucket).
  std::optional<std::string> key;
  std::string prefix;
  // First revision to deliver; 0 = changes after the subscription starts.
  uint64_t start_revision = 0;
  enum class Filter { kAll, kSetsOnly, kDeletesOnly };
  Filter filter = Filter::kAll;
  bool prev_value = false;
  // Server progress interval for idle streams; 0 = server default.
  std::chrono::milliseconds progress_interval{0};
  // Hand progress notices (WatchBatch::progress) to the consumer too.
  bool deliver_progress = false;
  // Pull interface: how many batches may wait unread before the
  // subscription stops reading from the server (which then holds the rest
  // in its change log: nothing is lost).
  size_t max_buffered_batches = 64;
};

// Receives batches on a client thread, one at a time, in order. `on_end` is
// called once, when the subscription ends for good (see WatchSubscription).
struct WatchHandler {
  std::function<void(const WatchBatch&)> on_batch;
  std::function<void(const absl::Status&)> on_end;
};

// A live Watch. After a broken stream (server restart, network loss) it
// reconnects with backoff and resumes at the last delivered revision + 1, so
// the consumer sees no gap and no duplicate. It ends for good only when the
// server says so permanently:
//   OUT_OF_RANGE   the needed history was trimmed: list the keys again and
//                  subscribe from the listing's revision + 1
//   NOT_FOUND, INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED
//   CANCELLED      after Cancel()
//
// Thread safety: Next() from one consumer thread at a time; revision() and
// Cancel() from any thread. Destroying the subscription cancels it and waits
// until no callback is running.
class WatchSubscription {
 public:
  virtual ~WatchSubscription() = default;

  // Pull interface (when no WatchHandler was given): the next batch, nullopt
  // if none arrived within `timeout`, or the final status once ended.
  virtual absl::StatusOr<std::optional<WatchBatch>> Next(std::chrono::milliseconds timeout) = 0;

  // Every change up to this revision has been delivered (or did not match).
  virtual uint64_t revision() const = 0;

  // Waits until the server has accepted the first stream: from then on every
  // change is delivered, so a "from now" subscription (start_revision 0)
  // sees every write made after this returns OK. DEADLINE_EXCEEDED if that
  // takes longer than `timeout`; the final status if the subscription ended
  // first.
  virtual absl::Status WaitUntilStarted(std::chrono::milliseconds timeout) = 0;

  // Ends the subscription; Next() then returns CANCELLED.
  virtual void Cancel() = 0;
};

}  // namespace wasikv

#endif  // WASIKV_WATCH_H_
