// The standard process_* metrics of Prometheus client libraries (CPU time,
// memory, file descriptors, start time, threads), read from /proc/self at
// each scrape, so that node-level dashboards and alerts work on wasikvd.
#ifndef WASIKV_SERVER_METRICS_PROCESS_METRICS_H_
#define WASIKV_SERVER_METRICS_PROCESS_METRICS_H_

#include "server/metrics/server_metrics.h"

namespace wasikv {

// Adds the gauges and their scrape hook to `metrics`.
void AddProcessMetrics(ServerMetrics* metrics);

}  // namespace wasikv

#endif  // WASIKV_SERVER_METRICS_PROCESS_METRICS_H_
