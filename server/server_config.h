// ServerConfig: every setting of wasikvd, read from flags and WASIKV_*
// environment variables (a flag wins over the variable). `wasikvd --help`
// prints the table below, with defaults.
#ifndef WASIKV_SERVER_SERVER_CONFIG_H_
#define WASIKV_SERVER_SERVER_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "server/common/log.h"
#include "server/rpc/request_limits.h"
#include "server/storage/store.h"
#include "server/tls/server_tls_options.h"
#include "server/watch/watch_hub.h"

namespace wasikv {

// Whether `listen` (a gRPC listen address) is reachable only from this host:
// 127.0.0.0/8, ::1, localhost or a Unix socket.
bool IsLoopbackAddress(std::string_view listen);

struct ServerConfig {
  std::string listen = "127.0.0.1:50051";
  // The admin HTTP port (/metrics, /healthz, /readyz); empty: off.
  std::string admin_listen = "127.0.0.1:50052";
  // TLS on the gRPC port (tls.enabled()); the admin port is always plaintext.
  ServerTlsOptions tls;
  StoreOptions store;
  RequestLimits limits;
  WatchHubOptions watch;
  // Backups (docs/backup.md). Admin.Backup writes only under backup_dir;
  // empty refuses backups. With restore_from set, wasikvd first restores
  // that directory's backup restore_backup_id (0: the newest) into the data
  // directory, which must not hold a database yet.
  std::string backup_dir;
  // Who may call and what each caller may do (server/auth/auth_rules.h,
  // docs/security.md); empty: every caller may do everything.
  std::string auth_file;
  // Serve a non-loopback address without TLS and auth (docs/security.md).
  bool allow_insecure_remote = false;
  std::string restore_from;
  uint32_t restore_backup_id = 0;
  // Threads running store work that may block (disk reads, scans, bucket
  // creation) for RPCs; writes are committed on the commit pipeline's own
  // threads.
  size_t worker_threads = 16;
  // Calls waiting for a worker beyond this are refused with
  // RESOURCE_EXHAUSTED instead of queueing without bound.
  size_t max_queued_calls = 10000;
  // Transport limits against floods (docs/security.md § Limits).
  size_t max_streams_per_connection = 1000;
  std::chrono::milliseconds max_connection_idle{300000};
  // A connection that has not finished its TLS and HTTP/2 handshake by then
  // is closed: a socket that connects and never speaks costs this long.
  std::chrono::milliseconds handshake_timeout{10000};
  size_t grpc_memory_limit = size_t{1} << 30;
  // How long in-flight calls may take to finish on SIGINT/SIGTERM before
  // they are cancelled.
  std::chrono::milliseconds shutdown_timeout{10000};
  LogFormat log_format = LogFormat::kText;
  spdlog::level::level_enum log_level = spdlog::level::info;
  // If >= 0, the bound address ("127.0.0.1:41234") is written to this file
  // descriptor, followed by a newline, once the server accepts calls, and
  // then the bound admin address and a newline if the admin port is on;
  // then the descriptor is closed. Lets tests and supervisors wait for readiness
  // without polling, and learn the port chosen for --listen HOST:0.
  int ready_fd = -1;
};

// What parsing asked for: run with a config, or print text and exit 0.
struct ParsedCommandLine {
  std::optional<ServerConfig> config;  // nullopt: print `output` and exit
  std::string output;
};

// Parses argv and the environment (looked up through `getenv`).
// INVALID_ARGUMENT names the flag or variable and what it accepts.
absl::StatusOr<ParsedCommandLine> ParseCommandLine(
    int argc, const char* const* argv, const std::function<const char*(const char*)>& getenv);

}  // namespace wasikv

#endif  // WASIKV_SERVER_SERVER_CONFIG_H_
