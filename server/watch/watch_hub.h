// WatchHub runs every Watch stream of the server: it owns the worker pool the
// streams pull on, wakes caught-up streams when their bucket changes, sends
// idle streams progress, and ends them all on shutdown.
//
// The commit listener only collects the parked streams of the buckets a
// commit touched and posts their wake-ups: it never reads, copies or formats
// events, so writers pay O(parked streams of the touched buckets) per commit
// and nothing for streams that are behind.
//
// Memory: the change cache (--watch-cache-bytes), per stream about 20 KiB
// (mostly gRPC's call state), built responses charged to one shared budget
// (max_inflight_bytes, serialised bytes; streams sharing one response are
// each charged for it), and the recently built responses kept for sharing
// (at most 8 MiB), however many streams there are.
//
// Thread safety: all methods may be called from any thread. Construct before
// the server starts committing (it registers a commit listener).
#ifndef WASIKV_SERVER_WATCH_WATCH_HUB_H_
#define WASIKV_SERVER_WATCH_WATCH_HUB_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/post.hpp"
#include "boost/asio/thread_pool.hpp"
#include "server/storage/store.h"
#include "server/watch/shared_responses.h"
#include "server/watch/watch_stream.h"

namespace wasikv {

struct WatchHubOptions {
  // Default idle progress interval; a request may ask for another. 0: none.
  std::chrono::milliseconds progress_interval{10000};
  // A response stops growing past this many bytes of events (whole
  // revisions only).
  size_t max_response_bytes = 1 << 20;
  // Threads that pull, filter and format for all streams.
  size_t threads = 2;
  // Bytes of events all streams together may hold in built responses not yet
  // sent. A stream without budget waits; one response may exceed it when
  // nothing else is in flight.
  size_t max_inflight_bytes = 256 << 20;
  // Open streams, all clients together; one more is RESOURCE_EXHAUSTED.
  size_t max_streams = 10000;
};

class WatchHub {
 public:
  WatchHub(Store* store, const WatchHubOptions& options);
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;
  // Stops the ticker and joins the pool; call after the gRPC server is shut
  // down.
  ~WatchHub();

  Store* store() const { return store_; }
  const WatchHubOptions& options() const { return options_; }

  // Tracks a started stream (for progress and shutdown). UNAVAILABLE if the
  // hub is shutting down, RESOURCE_EXHAUSTED if max_streams are open: the
  // caller ends the stream with it.
  absl::Status Register(const std::shared_ptr<WatchStream>& stream);
  void Unregister(WatchStream* stream);

  // After Shutdown(): waits until every stream is done (its status sent) or
  // `deadline`. True if none is left. A stream whose reader stopped reading
  // cannot send its status; gRPC's shutdown cancels it.
  bool WaitForStreamsToEnd(std::chrono::steady_clock::time_point deadline);

  // `stream` is caught up at `next_revision`. Wakes it on the next commit to
  // its bucket. Returns false if a commit it may not have seen already
  // happened: the caller pulls again instead of waiting.
  bool Park(const std::shared_ptr<WatchStream>& stream, uint64_t next_revision);

  // Takes `bytes` of the in-flight budget for `stream`. If it is spent,
  // remembers the stream, wakes it once budget is released, and returns
  // false.
  bool Reserve(const std::shared_ptr<WatchStream>& stream, size_t bytes);
  void Release(size_t bytes);

  // Responses built recently, for streams of the same target to share.
  SharedResponses& responses() { return responses_; }

  // Runs `task` on the pool.
  template <typename Task>
  void Post(Task task) {
    boost::asio::post(pool_, std::move(task));
  }

  // Ends every stream with UNAVAILABLE and refuses new ones.
  void Shutdown();

  // What the streams are doing, for metrics.
  struct Stats {
    size_t open_streams = 0;
    uint64_t events_sent = 0;  // since start
    // The most revisions any stream that is not caught up lags behind the
    // store (a caught-up stream waiting for its bucket lags by 0).
    uint64_t max_lag_revisions = 0;
  };
  Stats GetStats();
  // A stream handed `events` events to gRPC.
  void CountSent(size_t events) { events_sent_.fetch_add(events, std::memory_order_relaxed); }

 private:
  void OnCommit(const CommittedRecords& records);
  void TickLoop();

  Store* const store_;
  const WatchHubOptions options_;
  boost::asio::thread_pool pool_;
  SharedResponses responses_;

  absl::Mutex mu_;
  std::map<WatchStream*, std::weak_ptr<WatchStream>> streams_ ABSL_GUARDED_BY(mu_);
  // Condition of WaitForStreamsToEnd; called with mu_ held.
  static bool NoStreamsLeft(WatchHub* hub) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Caught-up streams by bucket; a stream appears at most once.
  std::map<std::string, std::map<WatchStream*, std::weak_ptr<WatchStream>>, std::less<>> parked_
      ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex budget_mu_;
  size_t budget_used_ ABSL_GUARDED_BY(budget_mu_) = 0;
  std::vector<std::weak_ptr<WatchStream>> budget_waiters_ ABSL_GUARDED_BY(budget_mu_);
  // The newest revision OnCommit has seen.
  uint64_t notified_revision_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> events_sent_{0};
  std::thread ticker_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_WATCH_WATCH_HUB_H_
