#include "server/metrics/server_metrics.h"

#include "prometheus/text_serializer.h"

namespace wasikv {
namespace {

template <typename Builder>
auto& Register(Builder builder, prometheus::Registry& registry, const std::string& name,
               const std::string& help) {
  return builder.Name(name).Help(help).Register(registry);
}

}  // namespace

ServerMetrics::ServerMetrics(std::string_view version)
    : registry_(std::make_shared<prometheus::Registry>()),
      rpc_started_(Register(prometheus::BuildCounter(), *registry_, "grpc_server_started_total",
                            "RPCs started on the server.")),
      rpc_handled_(Register(prometheus::BuildCounter(), *registry_, "grpc_server_handled_total",
                            "RPCs completed on the server, by status code.")),
      rpc_latency_(Register(prometheus::BuildHistogram(), *registry_,
                            "grpc_server_handling_seconds",
                            "Time from an RPC's arrival to its status, in seconds.")),
      rpc_in_flight_(Register(prometheus::BuildGauge(), *registry_, "wasikv_rpc_in_flight",
                              "RPCs started and not yet completed (watch streams included).")
                         .Add({})),
      commit_group_records_(
          Register(prometheus::BuildHistogram(), *registry_, "wasikv_commit_group_records",
                   "Write calls committed together in one RocksDB batch (group commit).")
              .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256})),
      commit_write_seconds_(
          Register(prometheus::BuildHistogram(), *registry_, "wasikv_commit_duration_seconds",
                   "RocksDB write of one commit group, WAL fsync included when "
                   "--sync-writes, in seconds.")
              .Add({}, prometheus::Histogram::BucketBoundaries{0.00005, 0.0001, 0.00025, 0.0005,
                                                               0.001, 0.0025, 0.005, 0.01, 0.025,
                                                               0.05, 0.1, 0.25, 0.5, 1})) {
  Register(prometheus::BuildGauge(), *registry_, "wasikv_build_info",
           "Always 1; the labels say which wasikvd this is.")
      .Add({{"version", std::string(version)}})
      .Set(1);
}

RpcMethod* ServerMetrics::AddMethod(std::string_view service, std::string_view method,
                                    RpcType type) {
  absl::MutexLock lock(&mu_);
  methods_.push_back(std::make_unique<RpcMethod>(service, method, type, &rpc_started_,
                                                 &rpc_handled_, &rpc_latency_, &rpc_in_flight_));
  return methods_.back().get();
}

void ServerMetrics::ObserveCommitGroup(size_t records, std::chrono::nanoseconds write_time) {
  commit_group_records_.Observe(static_cast<double>(records));
  commit_write_seconds_.Observe(std::chrono::duration<double>(write_time).count());
}

prometheus::Gauge& ServerMetrics::AddGauge(const std::string& name, const std::string& help) {
  return Register(prometheus::BuildGauge(), *registry_, name, help).Add({});
}

prometheus::Counter& ServerMetrics::AddCounter(const std::string& name, const std::string& help) {
  return Register(prometheus::BuildCounter(), *registry_, name, help).Add({});
}

void ServerMetrics::AddScrapeHook(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  hooks_.push_back(std::move(hook));
}

std::string ServerMetrics::Scrape() {
  absl::MutexLock scrape_lock(&scrape_mu_);
  {
    absl::MutexLock lock(&mu_);
    for (const auto& hook : hooks_) hook();
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void SetCumulative(prometheus::Counter& counter, double value) {
  const double delta = value - counter.Value();
  if (delta > 0) counter.Increment(delta);
}

}  // namespace wasikv
