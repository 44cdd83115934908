// ServerMetrics holds every metric wasikvd exposes, in one prometheus-cpp
// registry, and renders them in the Prometheus text format for /metrics.
//
// Two kinds of metric:
//   - pushed as things happen: RPC counts and latencies (RpcMethod), commit
//     group sizes and write latencies (ObserveCommitGroup);
//   - read when scraped: state owned elsewhere (revisions, queue depth,
//     RocksDB properties, watch streams, process figures). A scrape hook,
//     added by whoever owns that state, sets its gauges just before each
//     collection, so nothing is polled between scrapes.
//
// Thread safety: all methods may be called from any thread; make the methods
// and add the hooks before the server starts serving. Lifetime: RpcMethod
// pointers and gauge references stay valid for the life of this object;
// hooks must not outlive what they read (the owner of both is WasikvServer).
#ifndef WASIKV_SERVER_METRICS_SERVER_METRICS_H_
#define WASIKV_SERVER_METRICS_SERVER_METRICS_H_

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/metrics/rpc_method.h"

namespace wasikv {

class ServerMetrics {
 public:
  explicit ServerMetrics(std::string_view version);
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // The metrics of one served method ("wasikv.v1.KV", "Get").
  RpcMethod* AddMethod(std::string_view service, std::string_view method, RpcType type);

  // One commit group: `records` calls written in one RocksDB batch whose
  // write (and fsync, when syncing) took `write_time`.
  void ObserveCommitGroup(size_t records, std::chrono::nanoseconds write_time);

  // A gauge without labels, for a scrape hook to set.
  prometheus::Gauge& AddGauge(const std::string& name, const std::string& help);
  // A counter without labels whose value a scrape hook copies from a
  // cumulative source (SetCumulative keeps it monotonic).
  prometheus::Counter& AddCounter(const std::string& name, const std::string& help);
  // Runs before every collection, on the scraping thread; it must be quick
  // and must not block on locks held during writes.
  void AddScrapeHook(std::function<void()> hook);

  // Every metric, in the Prometheus text exposition format (0.0.4).
  std::string Scrape();

 private:
  const std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& rpc_started_;
  prometheus::Family<prometheus::Counter>& rpc_handled_;
  prometheus::Family<prometheus::Histogram>& rpc_latency_;
  prometheus::Gauge& rpc_in_flight_;
  prometheus::Histogram& commit_group_records_;
  prometheus::Histogram& commit_write_seconds_;

  absl::Mutex mu_;
  std::deque<std::unique_ptr<RpcMethod>> methods_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> hooks_ ABSL_GUARDED_BY(mu_);
  absl::Mutex scrape_mu_;  // one scrape at a time: hooks set shared gauges
};

// Copies a cumulative `value` into `counter` (which only adds).
void SetCumulative(prometheus::Counter& counter, double value);

}  // namespace wasikv

#endif  // WASIKV_SERVER_METRICS_SERVER_METRICS_H_
