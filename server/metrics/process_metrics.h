// The standard process_* metrics of Prometheus client libraries (CPU time,
// memory, file descriptors, start time, threads), read from /proc/self at
// each scrape, so that node-level dashboards and alerts work on wasikvd.
#ifndef WASIKV_SERVER_METRICS_PROCESS_METRICS_H_
#define WASIKV_SERVER_METRICS_PROCESS_METRICS_H_

#include "server/metrics/server_metrics.h"

namespace wasikv {

// Adds the gauges and their scrape hook to `metrics`.
void AddProcessMetrics(ServerMetrics* metrics);

// Adds wasikv_grpc_connections: established TCP connections whose local port
// is `port`, counted from /proc/self/net/tcp{,6} at each scrape. gRPC 1.51
// reports no connection events, so the kernel's table is the only count.
void AddConnectionMetrics(ServerMetrics* metrics, int port);

// Established TCP connections to local `port` in this network namespace.
size_t CountEstablishedConnections(int port);

}  // namespace wasikv

#endif  // WASIKV_SERVER_METRICS_PROCESS_METRICS_H_
