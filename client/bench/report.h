// wasikv-bench's results as text for a terminal, JSON for scripts and a
// Markdown table row for docs.
#ifndef WASIKV_CLIENT_BENCH_REPORT_H_
#define WASIKV_CLIENT_BENCH_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "client/bench/latency_histogram.h"
#include "client/bench/runner.h"

namespace wasikv::bench {

// What the run was: printed with its results.
struct RunDescription {
  std::string label;  // --label, or the target's name
  std::string target;
  std::string endpoint;
  std::string ops;
  std::string distribution;
  uint64_t keys = 0;
  size_t value_bytes = 0;
  uint32_t batch = 0;
  int concurrency = 0;
  int connections = 0;
  double rate = 0;  // 0: closed loop
};

// Watch fan-out: events delivered to the watchers and how long after the
// write each arrived.
struct WatchResult {
  int watchers = 0;
  uint64_t events = 0;
  LatencyHistogram delivery;
  // Server RSS growth per open watcher, KiB; negative if unknown.
  double server_kib_per_watcher = -1;
};

enum class Format { kText, kJson, kMarkdown };

std::string FormatReport(Format format, const RunDescription& run, const RunResult& result,
                         const std::optional<WatchResult>& watch);

}  // namespace wasikv::bench

#endif  // WASIKV_CLIENT_BENCH_REPORT_H_
