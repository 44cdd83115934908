// wasikv-bench --watchers: Watch streams on the benchmark's bucket, each
// timing how long after its write (the value's stamp) every SET event
// arrives.
#ifndef WASIKV_CLIENT_BENCH_WATCH_FANOUT_H_
#define WASIKV_CLIENT_BENCH_WATCH_FANOUT_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/bench/report.h"
#include "client/bench/target.h"

namespace wasikv::bench {

// Not thread-safe: Start, then Stop, from one thread. Events are timed from
// Start on, so the caller decides what window they cover with Reset.
class WatchFanout {
 public:
  // Opens `watchers` streams over `channels` connections and waits until
  // each has its created response.
  static absl::StatusOr<std::unique_ptr<WatchFanout>> Start(const TargetOptions& options,
                                                            int watchers, int channels);
  virtual ~WatchFanout() = default;
  // Forgets what was delivered so far (the warmup).
  virtual void Reset() = 0;
  // Waits (up to 10 s) until every stream has the changes the bucket has
  // now, cancels them, waits for their ends and returns what they saw.
  virtual WatchResult Stop() = 0;
};

}  // namespace wasikv::bench

#endif  // WASIKV_CLIENT_BENCH_WATCH_FANOUT_H_
