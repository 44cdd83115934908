#include "server/wasikv_server.h"

#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/common/log.h"
#include "server/common/str_cat.h"
#include "server/health/health_service.h"
#include "server/metrics/process_metrics.h"

namespace wasikv {
namespace {

// Idle connections are pinged so dead peers (and the streams they hold) are
// noticed within about 40 s rather than at the next TCP timeout.
constexpr int kKeepaliveTimeMs = 30'000;
constexpr int kKeepaliveTimeoutMs = 10'000;
constexpr int kMinClientPingIntervalMs = 10'000;

// The services grpc.health.v1.Health answers for by name.
// After the last call of a drain, how long new calls are still refused by
// wasikvd (see Shutdown): a client that just got its answer sends its next
// call within this and is told UNAVAILABLE, rather than have it cancelled
// by gRPC's shutdown. 100 ms proved too short for a loaded machine (five
// writers of shutdown_test under TSan missed it at once).
constexpr std::chrono::milliseconds kDrainQuietPeriod{300};
// How long ended watch streams may take to send their status.
constexpr std::chrono::milliseconds kWatchGrace{500};
// How long gRPC's own shutdown waits for what is still open after that.
constexpr std::chrono::milliseconds kShutdownGrace{100};
constexpr const char* kHealthServices[] = {"wasikv.v1.KV", "wasikv.v1.Buckets", "wasikv.v1.Watch"};

}  // namespace

WasikvServer::WasikvServer(const ServerConfig& config, Store* store,
                           std::unique_ptr<Authorizer> authorizer)
    : metrics_(WASIKV_VERSION),
      authorizer_(std::move(authorizer)),
      runner_(config.worker_threads, config.max_queued_calls),
      kv_service_(store, &runner_, config.limits, &metrics_, authorizer_.get()),
      buckets_service_(store, &runner_, config.limits, config.store.auto_create_buckets, &metrics_,
                       authorizer_.get()),
      watch_hub_(store, config.watch),
      watch_service_(&watch_hub_, config.limits, &metrics_, authorizer_.get()),
      admin_service_(store, &runner_, config.backup_dir, &metrics_, authorizer_.get()) {
  AddScrapeHooks(store);
}

void WasikvServer::AddScrapeHooks(Store* store) {
  store->pipeline().SetGroupObserver([this](size_t records, std::chrono::nanoseconds write_time) {
    metrics_.ObserveCommitGroup(records, write_time);
  });
  AddProcessMetrics(&metrics_);

  ServerMetrics& m = metrics_;
  prometheus::Gauge& current =
      m.AddGauge("wasikv_revision_current", "The newest committed revision.");
  prometheus::Gauge& oldest = m.AddGauge(
      "wasikv_revision_oldest", "The oldest revision the change log still holds for Watch.");
  prometheus::Gauge& live = m.AddGauge("wasikv_rocksdb_live_data_bytes",
                                       "RocksDB's estimate of live data, all column families.");
  prometheus::Gauge& sst = m.AddGauge("wasikv_rocksdb_sst_bytes", "Size of all SST files.");
  prometheus::Gauge& pending = m.AddGauge("wasikv_rocksdb_pending_compaction_bytes",
                                          "Bytes RocksDB estimates compaction must rewrite.");
  prometheus::Gauge& memtables =
      m.AddGauge("wasikv_rocksdb_memtable_bytes", "Active and immutable memtables, in bytes.");
  prometheus::Gauge& cache =
      m.AddGauge("wasikv_rocksdb_block_cache_bytes", "Block cache in use, in bytes.");
  prometheus::Gauge& cache_capacity = m.AddGauge("wasikv_rocksdb_block_cache_capacity_bytes",
                                                 "Block cache size (--block-cache-bytes).");
  prometheus::Gauge& keys = m.AddGauge("wasikv_rocksdb_estimated_keys",
                                       "RocksDB's estimate of stored keys (internal records too).");
  prometheus::Gauge& compactions =
      m.AddGauge("wasikv_rocksdb_running_compactions", "Compactions running now.");
  prometheus::Gauge& flushes = m.AddGauge("wasikv_rocksdb_running_flushes", "Flushes running now.");
  prometheus::Gauge& stall =
      m.AddGauge("wasikv_rocksdb_write_stall_active",
                 "1 while RocksDB delays or stops writes (compaction or flush behind).");
  prometheus::Counter& delays =
      m.AddCounter("wasikv_rocksdb_write_delays_total", "Times RocksDB began to slow writes down.");
  prometheus::Counter& stops =
      m.AddCounter("wasikv_rocksdb_write_stops_total", "Times RocksDB began to stop writes.");
  prometheus::Counter& background_errors = m.AddCounter(
      "wasikv_rocksdb_background_errors_total", "Errors in RocksDB flushes and compactions.");
  prometheus::Gauge& writes_stopped = m.AddGauge(
      "wasikv_rocksdb_writes_stopped",
      "1 while a storage error (a full disk) stops writes; reads go on, and RocksDB resumes writes "
      "by itself once it can.");
  prometheus::Counter& recoveries =
      m.AddCounter("wasikv_rocksdb_error_recoveries_total",
                   "Times RocksDB resumed writes after a storage error stopped them.");
  m.AddScrapeHook([&, store] {
    current.Set(static_cast<double>(store->CurrentRevision()));
    oldest.Set(static_cast<double>(store->OldestRevision()));
    const EngineStats stats = store->GetEngineStats();
    live.Set(static_cast<double>(stats.live_data_bytes));
    sst.Set(static_cast<double>(stats.sst_bytes));
    pending.Set(static_cast<double>(stats.pending_compaction_bytes));
    memtables.Set(static_cast<double>(stats.memtable_bytes));
    cache.Set(static_cast<double>(stats.block_cache_bytes));
    cache_capacity.Set(static_cast<double>(stats.block_cache_capacity_bytes));
    keys.Set(static_cast<double>(stats.estimated_keys));
    compactions.Set(static_cast<double>(stats.running_compactions));
    flushes.Set(static_cast<double>(stats.running_flushes));
    stall.Set(stats.write_stall_active ? 1 : 0);
    SetCumulative(delays, static_cast<double>(stats.write_delays));
    SetCumulative(stops, static_cast<double>(stats.write_stops));
    SetCumulative(background_errors, static_cast<double>(stats.background_errors));
    writes_stopped.Set(stats.writes_stopped ? 1 : 0);
    SetCumulative(recoveries, static_cast<double>(stats.error_recoveries));
  });

  prometheus::Gauge& queue_depth = m.AddGauge(
      "wasikv_call_queue_depth", "Calls waiting for a worker thread or for their write to commit.");
  prometheus::Gauge& queue_capacity =
      m.AddGauge("wasikv_call_queue_capacity",
                 "Calls that may wait before RESOURCE_EXHAUSTED (--max-queued-calls).");
  queue_capacity.Set(static_cast<double>(runner_.max_queued_calls()));
  m.AddScrapeHook([&] { queue_depth.Set(static_cast<double>(runner_.queued())); });

  prometheus::Gauge& streams = m.AddGauge("wasikv_watch_streams", "Open Watch streams.");
  m.AddGauge("wasikv_watch_streams_capacity",
             "Watch streams the server keeps open before RESOURCE_EXHAUSTED (--max-watch-streams).")
      .Set(static_cast<double>(watch_hub_.options().max_streams));
  prometheus::Counter& events =
      m.AddCounter("wasikv_watch_events_sent_total", "Watch events handed to gRPC for sending.");
  prometheus::Gauge& lag =
      m.AddGauge("wasikv_watch_lag_revisions",
                 "The most revisions any watch stream that is not caught up lags behind.");
  m.AddScrapeHook([&] {
    const WatchHub::Stats stats = watch_hub_.GetStats();
    streams.Set(static_cast<double>(stats.open_streams));
    SetCumulative(events, static_cast<double>(stats.events_sent));
    lag.Set(static_cast<double>(stats.max_lag_revisions));
  });
}

WasikvServer::~WasikvServer() { Shutdown(std::chrono::milliseconds(0)); }

void WasikvServer::Reload() {
  if (tls_ == nullptr && !authorizer_->enabled()) {
    LogEvent(spdlog::level::info, "reload_nothing", {{"reason", "neither TLS nor --auth-file"}});
    return;
  }
  if (tls_ != nullptr) (void)tls_->Reload("sighup");  // each logs its outcome
  (void)authorizer_->Reload();
}

absl::StatusOr<std::unique_ptr<WasikvServer>> WasikvServer::Start(const ServerConfig& config,
                                                                  Store* store) {
  Authorizer::Options auth;
  auth.auth_file = config.auth_file;
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer = Authorizer::Create(std::move(auth));
  if (!authorizer.ok()) return authorizer.status();
  std::unique_ptr<WasikvServer> server(new WasikvServer(config, store, std::move(*authorizer)));
  // wasikvd's own grpc.health.v1.Health (server/health/health_service.h).
  grpc::EnableDefaultHealthCheckService(false);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (config.tls.enabled()) {
    absl::StatusOr<std::unique_ptr<ServerTls>> tls = ServerTls::Create(config.tls);
    if (!tls.ok()) {
      server->shut_down_ = true;
      return tls.status();
    }
    server->tls_ = *std::move(tls);
    credentials = server->tls_->Credentials();
  }

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, credentials, &port);
  builder.RegisterService(server->kv_service_.service());
  builder.RegisterService(server->buckets_service_.service());
  builder.RegisterService(server->watch_service_.service());
  builder.RegisterService(server->admin_service_.service());
  builder.RegisterService(server->health_.service());
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.limits.MaxRequestBytes()));
  grpc::ResourceQuota quota("wasikvd");
  quota.Resize(config.grpc_memory_limit);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(config.max_streams_per_connection));
  if (config.max_connection_idle.count() > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               static_cast<int>(config.max_connection_idle.count()));
  }
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             static_cast<int>(config.handshake_timeout.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kMinClientPingIntervalMs);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || port == 0) {
    server->shut_down_ = true;
    return absl::UnavailableError(
        StrCat("cannot listen on '", config.listen,
               "': the address is in use, not local, or malformed (expected HOST:PORT)"));
  }
  server->address_ = StrCat(config.listen.substr(0, config.listen.rfind(':')), ":", port);
  AddConnectionMetrics(&server->metrics_, port);
  // Probes ask by service name (Kubernetes' grpc probe, grpcurl, load
  // balancers); the empty name is the server as a whole.
  server->health_.SetServing("", true);
  for (const char* service : kHealthServices) server->health_.SetServing(service, true);
  server->ready_ = true;

  if (!config.admin_listen.empty()) {
    WasikvServer* raw = server.get();
    auto admin = AdminHttpServer::Start(config.admin_listen,
                                        {.metrics = [raw] { return raw->metrics_.Scrape(); },
                                         .ready = [raw] { return raw->ready_.load(); }});
    if (!admin.ok()) {
      server->Shutdown(std::chrono::milliseconds(0));
      return admin.status();
    }
    server->admin_ = std::move(*admin);
    server->admin_address_ = server->admin_->address();
  }
  return server;
}

void WasikvServer::Shutdown(std::chrono::milliseconds timeout) {
  if (shut_down_) return;
  shut_down_ = true;
  // Load balancers and probes see NOT_SERVING before the listener closes.
  ready_ = false;
  // Health watchers (probes, load balancers) hear NOT_SERVING and their
  // streams end, so they hold nothing open.
  health_.Shutdown();
  // Streams never end by themselves, so end them first (UNAVAILABLE, with
  // the revision to resume from) rather than wait out the timeout.
  watch_hub_.Shutdown();
  // Every call is answered by wasikvd itself: those running finish, and
  // those that arrive meanwhile are refused with UNAVAILABLE. Only then does
  // gRPC shut down, which cancels whatever reaches it (CANCELLED), so what
  // reaches it by then is at most a call sent in the instant of its GOAWAY.
  const auto began = std::chrono::steady_clock::now();
  const auto deadline = began + timeout;
  const bool drained = runner_.Drain(deadline, kDrainQuietPeriod);
  const auto millis_since = [](std::chrono::steady_clock::time_point t) {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
            .count());
  };
  LogEvent(drained ? spdlog::level::info : spdlog::level::warn,
           drained ? "calls_drained" : "drain_timed_out", {{"millis", millis_since(began)}});
  // Watch streams ended above finish once their status is sent.
  watch_hub_.WaitForStreamsToEnd(
      std::min(deadline, std::chrono::steady_clock::now() + kWatchGrace));
  // gRPC's shutdown returns only once every connection is gone, and clients
  // keep idle ones open after its GOAWAY: so its deadline is always reached,
  // and is kept short. By now every call wasikvd ran or refused is done;
  // what is left is a refusal being sent, a watch whose reader stopped
  // reading, or nothing.
  const auto grace = std::min<std::chrono::steady_clock::duration>(
      kShutdownGrace, std::max<std::chrono::steady_clock::duration>(
                          deadline - std::chrono::steady_clock::now(), {}));
  const auto grpc_began = std::chrono::steady_clock::now();
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  LogEvent(spdlog::level::info, "grpc_shut_down", {{"millis", millis_since(grpc_began)}});
  runner_.Stop();
  // Last, so /healthz answers (alive, draining) until the drain is over.
  if (admin_) admin_->Stop();
}

}  // namespace wasikv
