#include "server/wasikv_server.h"

#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/common/str_cat.h"

namespace wasikv {
namespace {

// Idle connections are pinged so dead peers (and the streams they hold) are
// noticed within about 40 s rather than at the next TCP timeout.
constexpr int kKeepaliveTimeMs = 30'000;
constexpr int kKeepaliveTimeoutMs = 10'000;
constexpr int kMinClientPingIntervalMs = 10'000;

}  // namespace

WasikvServer::WasikvServer(const ServerConfig& config, Store* store)
    : runner_(config.worker_threads, config.max_queued_calls),
      kv_service_(store, &runner_, config.limits),
      buckets_service_(store, &runner_, config.limits, config.store.auto_create_buckets),
      watch_hub_(store, config.watch),
      watch_service_(&watch_hub_, config.limits),
      admin_service_(store, &runner_, config.backup_dir) {}

WasikvServer::~WasikvServer() { Shutdown(std::chrono::milliseconds(0)); }

absl::StatusOr<std::unique_ptr<WasikvServer>> WasikvServer::Start(const ServerConfig& config,
                                                                  Store* store) {
  std::unique_ptr<WasikvServer> server(new WasikvServer(config, store));
  grpc::EnableDefaultHealthCheckService(true);
  // Touching the health descriptors links them in, so reflection can
  // describe grpc.health.v1.Health like every other service.
  (void)grpc::health::v1::HealthCheckResponse::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&server->kv_service_);
  builder.RegisterService(&server->buckets_service_);
  builder.RegisterService(&server->watch_service_);
  builder.RegisterService(&server->admin_service_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.limits.MaxRequestBytes()));
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
  server->server_->GetHealthCheckService()->SetServingStatus(true);
  return server;
}

void WasikvServer::Shutdown(std::chrono::milliseconds timeout) {
  if (shut_down_) return;
  shut_down_ = true;
  // Load balancers and probes see NOT_SERVING before the listener closes.
  server_->GetHealthCheckService()->SetServingStatus(false);
  // Streams never end by themselves, so end them first rather than wait out
  // the drain timeout.
  watch_hub_.Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + timeout);
  runner_.Stop();
}

}  // namespace wasikv
