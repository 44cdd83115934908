// wasikvd: serves a RocksDB-backed key-value store over gRPC until SIGINT or
// SIGTERM, then drains in-flight calls and closes the database cleanly.
// SIGHUP reads the TLS certificate files again.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"
#include "server/common/log.h"
#include "server/server_config.h"
#include "server/storage/backup.h"
#include "server/storage/store.h"
#include "server/tls/certificate_files.h"
#include "server/wasikv_server.h"

namespace {

// Tells whoever started us (a test, a supervisor) where we listen: the gRPC
// address, then the admin address if the admin port is on.
void AnnounceReady(int fd, const std::string& address, const std::string& admin_address) {
  if (fd < 0) return;
  std::string line = address + "\n";
  if (!admin_address.empty()) line += admin_address + "\n";
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    wasikv::LogEvent(spdlog::level::warn, "ready_fd_write_failed", {{"fd", std::to_string(fd)}});
  }
  close(fd);
}

// --restore-from: fills the empty data directory from a backup before the
// store opens it. False (logged) if the restore was refused or failed.
bool RestoreIfAsked(const wasikv::ServerConfig& config) {
  using wasikv::LogEvent;
  if (config.restore_from.empty()) return true;
  absl::StatusOr<wasikv::BackupInfo> restored =
      wasikv::RestoreBackup(config.restore_from, config.restore_backup_id, config.store.data_dir);
  if (!restored.ok()) {
    LogEvent(spdlog::level::critical, "restore_failed",
             {{"restore_from", config.restore_from},
              {"data_dir", config.store.data_dir},
              {"error", std::string(restored.status().message())}});
    return false;
  }
  LogEvent(spdlog::level::info, "restored",
           {{"restore_from", config.restore_from},
            {"data_dir", config.store.data_dir},
            {"backup_id", std::to_string(restored->backup_id)},
            {"revision", std::to_string(restored->revision)}});
  return true;
}

// Every connection is a file descriptor, and so is every SST file RocksDB
// keeps open: a connection flood that reaches the soft limit (often 1024)
// would make flushes and compactions fail. The hard limit is the operator's
// ceiling; the soft one is only a default, so raise it to the hard one.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    wasikv::LogEvent(spdlog::level::debug, "open_file_limit_raised",
                     {{"from", std::to_string(before)}, {"to", std::to_string(limit.rlim_max)}});
  }
}

// glibc raises its mmap threshold each time a large block is freed, up to
// 32 MiB, so after a few big requests every 1-16 MiB message and batch is
// carved from the heap, whose freed space fragments and is rarely returned:
// a flood of big SetMany calls held over twice the RSS (557 vs 250 MiB in
// tests/load/flood_test). A fixed threshold keeps blocks from 128 KiB up in
// mmap, given back as soon as they are freed.
void KeepLargeAllocationsOutOfTheHeap() { mallopt(M_MMAP_THRESHOLD, 128 * 1024); }

// Debian's Abseil checks every absl::Mutex acquisition (wasikvd's and
// gRPC's) for lock-order cycles, a debugging aid: in a profile of Get it was
// a tenth of wasikvd's CPU (GraphCycles). The sanitizer trees keep it.
void SkipMutexCycleChecks() {
#ifndef WASIKV_KEEP_MUTEX_CYCLE_CHECKS
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

// "client_auth=request" and the like, for the serving line.
std::string TlsSummary(const wasikv::ServerTlsOptions& tls) {
  return "client_auth=" + std::string(wasikv::ClientAuthName(tls.effective_client_auth()));
}

int Run(const wasikv::ServerConfig& config) {
  using wasikv::LogEvent;
  // Signals are caught before any thread starts, so every thread inherits
  // the handler set and a signal never kills a worker mid-write.
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  // SIGHUP re-reads the TLS files and the auth file at once (both are also
  // re-read when they change).
  boost::asio::signal_set reload_signals(io, SIGHUP);
  std::signal(SIGPIPE, SIG_IGN);
  RaiseOpenFileLimit();
  KeepLargeAllocationsOutOfTheHeap();
  SkipMutexCycleChecks();

  // Bad TLS files are refused before the store opens (ServerTls loads them
  // again when the server starts).
  if (config.tls.enabled()) {
    if (absl::StatusOr<wasikv::CertificateFiles> files = wasikv::LoadCertificateFiles(config.tls);
        !files.ok()) {
      LogEvent(spdlog::level::critical, "tls_failed",
               {{"error", std::string(files.status().message())}});
      return 1;
    }
  }
  if (!RestoreIfAsked(config)) return 1;
  auto store = wasikv::Store::Open(config.store);
  if (!store.ok()) {
    LogEvent(
        spdlog::level::critical, "store_open_failed",
        {{"data_dir", config.store.data_dir}, {"error", std::string(store.status().message())}});
    return 1;
  }
  auto server = wasikv::WasikvServer::Start(config, store->get());
  if (!server.ok()) {
    // The listen address, or the TLS files: the message names which.
    LogEvent(spdlog::level::critical, "start_failed",
             {{"error", std::string(server.status().message())}});
    return 1;
  }
  LogEvent(
      spdlog::level::info, "serving",
      {{"address", (*server)->address()},
       {"admin_address", (*server)->admin_address().empty() ? "off" : (*server)->admin_address()},
       {"data_dir", config.store.data_dir},
       {"revision", std::to_string((*store)->CurrentRevision())},
       {"tls", (*server)->tls_enabled() ? TlsSummary(config.tls) : "off"},
       {"auto_create_buckets", config.store.auto_create_buckets ? "true" : "false"},
       {"sync_writes", config.store.sync_writes ? "true" : "false"}});
  if (config.allow_insecure_remote && !wasikv::IsLoopbackAddress(config.listen) &&
      !((*server)->tls_enabled() && !config.auth_file.empty())) {
    LogEvent(spdlog::level::warn, "insecure_remote",
             {{"address", (*server)->address()},
              {"reason",
               "--allow-insecure-remote: no TLS or no --auth-file, so anyone who reaches "
               "this address may read and write every bucket"}});
  }
  AnnounceReady(config.ready_fd, (*server)->address(), (*server)->admin_address());

  std::function<void(const boost::system::error_code&, int)> on_reload =
      [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        LogEvent(spdlog::level::info, "reloading", {{"signal", "SIGHUP"}});
        (*server)->Reload();
        reload_signals.async_wait(on_reload);
      };
  reload_signals.async_wait(on_reload);
  int caught = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (!ec) caught = signal_number;
    reload_signals.cancel();
  });
  io.run();

  LogEvent(spdlog::level::info, "shutting_down",
           {{"signal", std::to_string(caught)},
            {"timeout_ms", std::to_string(config.shutdown_timeout.count())}});
  (*server)->Shutdown(config.shutdown_timeout);
  server->reset();
  LogEvent(spdlog::level::info, "drained");
  absl::Status closed = (*store)->Close();
  if (!closed.ok()) {
    LogEvent(spdlog::level::err, "store_close_failed", {{"error", std::string(closed.message())}});
    if (absl::IsUnavailable(closed)) {
      // RocksDB was left running (Store::Close): no destructor may race its
      // threads.
      spdlog::default_logger()->flush();
      std::_Exit(1);
    }
    return 1;
  }
  LogEvent(spdlog::level::info, "stopped",
           {{"revision", std::to_string((*store)->CurrentRevision())}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed =
      wasikv::ParseCommandLine(argc, argv, [](const char* name) { return std::getenv(name); });
  if (!parsed.ok()) {
    std::fprintf(stderr, "wasikvd: %s\n", std::string(parsed.status().message()).c_str());
    return 2;
  }
  if (!parsed->config) {
    std::fputs(parsed->output.c_str(), stdout);
    return 0;
  }
  wasikv::InitLogging(parsed->config->log_format, parsed->config->log_level);
  return Run(*parsed->config);
}
