// Drives a Target: keeps calls outstanding (closed loop) or sends them on a
// fixed schedule (open loop), and records each call's latency per op.
#ifndef WASIKV_CLIENT_BENCH_RUNNER_H_
#define WASIKV_CLIENT_BENCH_RUNNER_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/bench/latency_histogram.h"
#include "client/bench/target.h"
#include "client/bench/workload.h"

namespace wasikv::bench {

struct RunOptions {
  OpMix mix;
  KeyChooser keys;
  // Keys of each getmany and setmany: consecutive indexes from a drawn one,
  // so a batch never names a key twice (etcd refuses that).
  uint32_t batch = 100;
  // Calls in flight at most (closed loop: always).
  int concurrency = 16;
  std::chrono::milliseconds warmup{1000};
  std::chrono::milliseconds duration{10000};
  // Calls per second in all, on a fixed schedule; 0 for a closed loop.
  // Open-loop latency runs from when a call was due, not when it was sent,
  // so a stalled server is charged for the calls it held back (coordinated
  // omission, as in wrk2 and HdrHistogram).
  double rate = 0;
  // A progress line on stderr each second.
  bool progress = false;
  uint64_t seed = 1;
  // Every written value starts with its send time (StampValue), for
  // watchers to time delivery.
  bool stamp_values = false;
  // Runs once as the measured window begins.
  std::function<void()> on_measure;
  // The server's process on this machine, for its CPU per call; 0: none.
  pid_t server_pid = 0;
};

// What one op of the mix did in the measured window.
struct OpResult {
  Op op = Op::kGet;
  LatencyHistogram latency;  // every answered call, miss and conflict too
  uint64_t ok = 0;
  uint64_t miss = 0;
  uint64_t conflict = 0;
  uint64_t errors = 0;
  std::string first_error;

  uint64_t answered() const { return ok + miss + conflict; }
  void Merge(const OpResult& other);
};

struct RunResult {
  std::vector<OpResult> ops;  // in kAllOps order, ops of the mix only
  OpResult total;
  double seconds = 0;  // the measured window
  // Open loop: calls that were due but never sent before the end, because
  // every slot was busy (the server fell behind the rate).
  uint64_t unsent = 0;
  double client_cpu_seconds = 0;
  double server_cpu_seconds = -1;  // -1: no --server-pid
};

// Runs `options` against `target` (connected). Blocks for warmup plus
// duration and until every call in flight has ended.
RunResult Run(Target& target, const RunOptions& options);

// Writes keys [0, count) (KeyName) with setmany calls of `batch` keys, up to
// `concurrency` at once, so reads find them. Stops at the first error.
absl::Status Preload(Target& target, uint64_t count, uint32_t batch, int concurrency);

}  // namespace wasikv::bench

#endif  // WASIKV_CLIENT_BENCH_RUNNER_H_
