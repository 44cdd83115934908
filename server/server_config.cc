#include "server/server_config.h"

#include <charconv>
#include <thread>
#include <vector>

#include "server/common/status_macros.h"
#include "server/common/str_cat.h"

namespace wasikv {
namespace {

using Setter = std::function<absl::Status(std::string_view value, ServerConfig&)>;

struct Flag {
  const char* name;   // without the leading "--"
  const char* env;    // WASIKV_ variable
  const char* value;  // what the value looks like, for --help
  const char* help;
  std::string default_text;
  Setter set;
  bool is_bool = false;
};

absl::Status BadValue(std::string_view flag, std::string_view value, std::string_view expected) {
  return absl::InvalidArgumentError(
      StrCat("--", flag, ": invalid value '", value, "', expected ", expected));
}

absl::StatusOr<bool> ParseBool(std::string_view flag, std::string_view v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return BadValue(flag, v, "true or false");
}

// A count or size: digits with an optional binary suffix (k, m, g).
absl::StatusOr<uint64_t> ParseSize(std::string_view flag, std::string_view v, uint64_t min,
                                   uint64_t max) {
  uint64_t multiplier = 1;
  std::string_view digits = v;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k':
      case 'K':
        multiplier = 1ull << 10;
        break;
      case 'm':
      case 'M':
        multiplier = 1ull << 20;
        break;
      case 'g':
      case 'G':
        multiplier = 1ull << 30;
        break;
      default:
        break;
    }
    if (multiplier != 1) digits.remove_suffix(1);
  }
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      n > max / multiplier || n * multiplier < min) {
    return BadValue(
        flag, v,
        StrCat("an integer from ", min, " to ", max, " (suffixes k, m, g multiply by 1024^n)"));
  }
  return n * multiplier;
}

absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view flag, std::string_view v) {
  std::string_view digits = v;
  uint64_t scale = 0;
  if (digits.ends_with("ms")) {
    scale = 1;
    digits.remove_suffix(2);
  } else if (digits.ends_with("s")) {
    scale = 1000;
    digits.remove_suffix(1);
  } else if (digits.ends_with("m")) {
    scale = 60000;
    digits.remove_suffix(1);
  } else if (digits.ends_with("h")) {
    scale = 3600000;
    digits.remove_suffix(1);
  }
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (scale == 0 || digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      n > (1ull << 40)) {
    return BadValue(flag, v, "a duration like 500ms, 10s, 2m or 24h");
  }
  return std::chrono::milliseconds(n * scale);
}

template <typename T>
Setter SizeSetter(const char* flag, uint64_t min, uint64_t max, T ServerConfig::*field) {
  return [=](std::string_view v, ServerConfig& c) -> absl::Status {
    ASSIGN_OR_RETURN(uint64_t n, ParseSize(flag, v, min, max));
    c.*field = static_cast<T>(n);
    return absl::OkStatus();
  };
}

Setter PathSetter(const char* flag, std::string ServerTlsOptions::*field) {
  return [=](std::string_view v, ServerConfig& c) -> absl::Status {
    if (v.empty()) return BadValue(flag, v, "a file path");
    c.tls.*field = std::string(v);
    return absl::OkStatus();
  };
}

Setter LimitSetter(const char* flag, uint64_t min, uint64_t max, size_t RequestLimits::*field) {
  return [=](std::string_view v, ServerConfig& c) -> absl::Status {
    ASSIGN_OR_RETURN(uint64_t n, ParseSize(flag, v, min, max));
    c.limits.*field = n;
    return absl::OkStatus();
  };
}

std::vector<Flag> MakeFlags() {
  const ServerConfig d;
  const size_t default_threads = d.worker_threads;
  std::vector<Flag> flags = {
      {"listen", "WASIKV_LISTEN", "HOST:PORT",
       "Address to serve gRPC on. Port 0 picks a free port (see --ready-fd).", d.listen,
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         if (v.empty() || v.rfind(':') == std::string_view::npos) {
           return BadValue("listen", v, "HOST:PORT, e.g. 127.0.0.1:50051 or [::]:50051");
         }
         c.listen = std::string(v);
         return absl::OkStatus();
       }},
      {"admin-listen", "WASIKV_ADMIN_LISTEN", "HOST:PORT|off",
       "Address of the admin HTTP port: /metrics (Prometheus), /healthz, /readyz. "
       "Port 0 picks a free port; off disables it. It is plaintext HTTP without "
       "authentication, even with TLS on the gRPC port: keep it on loopback or a private "
       "network.",
       d.admin_listen,
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         if (v == "off" || v == "none") {
           c.admin_listen.clear();
           return absl::OkStatus();
         }
         if (v.empty() || v.rfind(':') == std::string_view::npos) {
           return BadValue("admin-listen", v, "HOST:PORT, e.g. 127.0.0.1:50052, or off");
         }
         c.admin_listen = std::string(v);
         return absl::OkStatus();
       }},
      {"tls-cert-file", "WASIKV_TLS_CERT_FILE", "FILE",
       "PEM certificate chain (server certificate first) for TLS on the gRPC port; with "
       "--tls-key-file. Unset: the port is plaintext. Reloaded when it changes (see "
       "--tls-reload-interval) and on SIGHUP.",
       "none", PathSetter("tls-cert-file", &ServerTlsOptions::cert_file)},
      {"tls-key-file", "WASIKV_TLS_KEY_FILE", "FILE",
       "PEM private key of --tls-cert-file, unencrypted.", "none",
       PathSetter("tls-key-file", &ServerTlsOptions::key_file)},
      {"tls-client-ca-file", "WASIKV_TLS_CLIENT_CA_FILE", "FILE",
       "PEM CA certificates that client certificates must chain to (mutual TLS); reloaded "
       "with the server certificate.",
       "none", PathSetter("tls-client-ca-file", &ServerTlsOptions::client_ca_file)},
      {"tls-client-auth", "WASIKV_TLS_CLIENT_AUTH", "MODE",
       "Client certificates: none (not asked for), request (asked for, verified if given) or "
       "require-and-verify (every client needs one). auto: require-and-verify with "
       "--tls-client-ca-file, else none.",
       "auto",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         if (v == "auto") {
           c.tls.client_auth.reset();
           return absl::OkStatus();
         }
         std::optional<ClientAuth> mode = ParseClientAuth(v);
         if (!mode)
           return BadValue("tls-client-auth", v, "none, request, require-and-verify or auto");
         c.tls.client_auth = mode;
         return absl::OkStatus();
       }},
      {"tls-reload-interval", "WASIKV_TLS_RELOAD_INTERVAL", "DURATION",
       "How often the TLS files are read again; changed files that load are served to new "
       "connections (established ones keep theirs). 0s: only on SIGHUP.",
       "10s",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.tls.reload_interval, ParseDuration("tls-reload-interval", v));
         return absl::OkStatus();
       }},
      {"data-dir", "WASIKV_DATA_DIR", "DIR",
       "Directory of the RocksDB database; created if missing.", d.store.data_dir,
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         if (v.empty()) return BadValue("data-dir", v, "a directory path");
         c.store.data_dir = std::string(v);
         return absl::OkStatus();
       }},
      {"backup-dir", "WASIKV_BACKUP_DIR", "DIR",
       "Root directory for online backups: the Admin Backup call writes only inside it "
       "(docs/backup.md). Unset: backups are refused.",
       "none",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         if (v.empty()) return BadValue("backup-dir", v, "a directory path");
         c.backup_dir = std::string(v);
         return absl::OkStatus();
       }},
      {"auth-file", "WASIKV_AUTH_FILE", "FILE",
       "Bearer-token hashes and client-certificate names, each with its rights (docs/"
       "security.md); re-read when it changes or on SIGHUP. Unset: every caller may do "
       "everything.",
       "none",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         if (v.empty()) return BadValue("auth-file", v, "a file path");
         c.auth_file = std::string(v);
         return absl::OkStatus();
       }},
      {"allow-insecure-remote", "WASIKV_ALLOW_INSECURE_REMOTE", "BOOL",
       "Serve a non-loopback --listen address without TLS and --auth-file, where anyone who "
       "reaches the port may read and write every bucket. Refused without it.",
       "false",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.allow_insecure_remote, ParseBool("allow-insecure-remote", v));
         return absl::OkStatus();
       },
       true},
      {"restore-from", "WASIKV_RESTORE_FROM", "DIR",
       "Before serving, restore a backup from this backup directory into the data directory, "
       "which must not hold a database yet (never overwritten); then serve it.",
       "none",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         if (v.empty()) return BadValue("restore-from", v, "a backup directory path");
         c.restore_from = std::string(v);
         return absl::OkStatus();
       }},
      {"restore-backup-id", "WASIKV_RESTORE_BACKUP_ID", "N",
       "Which backup of --restore-from to restore (wasikv backups DIR lists them).", "latest",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(uint64_t id, ParseSize("restore-backup-id", v, 1, UINT32_MAX));
         c.restore_backup_id = static_cast<uint32_t>(id);
         return absl::OkStatus();
       }},
      {"auto-create-buckets", "WASIKV_AUTO_CREATE_BUCKETS", "BOOL",
       "Create a bucket on its first write (true), or serve only buckets made with "
       "CreateBucket and answer NOT_FOUND for others (false).",
       "true",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.store.auto_create_buckets, ParseBool("auto-create-buckets", v));
         return absl::OkStatus();
       },
       true},
      {"sync-writes", "WASIKV_SYNC_WRITES", "BOOL",
       "fsync each commit group before acknowledging it. false trades the last "
       "moments of writes on power loss for throughput; process crashes lose nothing.",
       "true",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.store.sync_writes, ParseBool("sync-writes", v));
         return absl::OkStatus();
       },
       true},
      {"block-cache-bytes", "WASIKV_BLOCK_CACHE_BYTES", "BYTES", "RocksDB block cache size.", "64m",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(uint64_t n, ParseSize("block-cache-bytes", v, 1 << 20, 1ull << 40));
         c.store.block_cache_bytes = n;
         return absl::OkStatus();
       }},
      {"history-revisions", "WASIKV_HISTORY_REVISIONS", "N",
       "Keep this many revisions of change history for Watch; older ones are trimmed. "
       "0: no count bound.",
       std::to_string(d.store.history_revisions),
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.store.history_revisions,
                          ParseSize("history-revisions", v, 0, 1ull << 50));
         return absl::OkStatus();
       }},
      {"history-age", "WASIKV_HISTORY_AGE", "DURATION",
       "Trim change history older than this. 0s: no age bound.", "24h",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(auto age, ParseDuration("history-age", v));
         c.store.history_age = std::chrono::duration_cast<std::chrono::seconds>(age);
         return absl::OkStatus();
       }},
      {"watch-cache-bytes", "WASIKV_WATCH_CACHE_BYTES", "BYTES",
       "Recent change records kept in memory so live watchers never read the disk.", "64m",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.store.change_cache_bytes,
                          ParseSize("watch-cache-bytes", v, 0, 1ull << 40));
         return absl::OkStatus();
       }},
      {"watch-progress-interval", "WASIKV_WATCH_PROGRESS_INTERVAL", "DURATION",
       "An idle watch stream gets a progress response (the revision it is caught up to) this "
       "often, unless the request asks otherwise. 0s: never.",
       "10s",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.watch.progress_interval, ParseDuration("watch-progress-interval", v));
         return absl::OkStatus();
       }},
      {"watch-inflight-bytes", "WASIKV_WATCH_INFLIGHT_BYTES", "BYTES",
       "Events all watch streams together may hold in responses not yet sent; streams "
       "beyond it wait (slow readers never grow server memory).",
       "256m",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.watch.max_inflight_bytes,
                          ParseSize("watch-inflight-bytes", v, 1 << 20, 1ull << 40));
         return absl::OkStatus();
       }},
      {"max-watch-streams", "WASIKV_MAX_WATCH_STREAMS", "N",
       "Open watch streams, all clients together; one more is refused with "
       "RESOURCE_EXHAUSTED.",
       std::to_string(d.watch.max_streams),
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.watch.max_streams, ParseSize("max-watch-streams", v, 1, 1 << 24));
         return absl::OkStatus();
       }},
      {"watch-threads", "WASIKV_WATCH_THREADS", "N",
       "Threads that read, filter and send changes for all watch streams.",
       std::to_string(d.watch.threads),
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.watch.threads, ParseSize("watch-threads", v, 1, 256));
         return absl::OkStatus();
       }},
      {"max-key-bytes", "WASIKV_MAX_KEY_BYTES", "BYTES", "Largest key accepted.",
       std::to_string(d.limits.max_key_bytes),
       LimitSetter("max-key-bytes", 1, 64 << 10, &RequestLimits::max_key_bytes)},
      {"max-value-bytes", "WASIKV_MAX_VALUE_BYTES", "BYTES", "Largest value accepted.", "1m",
       LimitSetter("max-value-bytes", 1, 64 << 20, &RequestLimits::max_value_bytes)},
      {"max-batch-entries", "WASIKV_MAX_BATCH_ENTRIES", "N",
       "Most keys in one GetMany, SetMany or DeleteMany.",
       std::to_string(d.limits.max_batch_entries),
       LimitSetter("max-batch-entries", 1, 1 << 20, &RequestLimits::max_batch_entries)},
      {"max-batch-bytes", "WASIKV_MAX_BATCH_BYTES", "BYTES",
       "Most key and value bytes in one batch request or GetMany reply.", "16m",
       LimitSetter("max-batch-bytes", 1, 1ull << 30, &RequestLimits::max_batch_bytes)},
      {"max-list-limit", "WASIKV_MAX_LIST_LIMIT", "N", "Largest ListKeys page.",
       std::to_string(d.limits.max_list_limit),
       LimitSetter("max-list-limit", 1, 1 << 20, &RequestLimits::max_list_limit)},
      {"worker-threads", "WASIKV_WORKER_THREADS", "N",
       "Threads that run store work that may block for RPCs (disk reads, scans, bucket "
       "creation); writes are committed by the commit pipeline's own two threads.",
       std::to_string(default_threads),
       SizeSetter("worker-threads", 1, 1024, &ServerConfig::worker_threads)},
      {"max-queued-calls", "WASIKV_MAX_QUEUED_CALLS", "N",
       "Calls waiting for a worker (or writes for their commit) beyond this fail fast with "
       "RESOURCE_EXHAUSTED.",
       std::to_string(d.max_queued_calls),
       SizeSetter("max-queued-calls", 1, 1 << 24, &ServerConfig::max_queued_calls)},
      {"max-streams-per-connection", "WASIKV_MAX_STREAMS_PER_CONNECTION", "N",
       "Calls one HTTP/2 connection may have open at once (watches included); a client past "
       "it waits for one to end.",
       std::to_string(d.max_streams_per_connection),
       SizeSetter("max-streams-per-connection", 1, 1 << 20,
                  &ServerConfig::max_streams_per_connection)},
      {"max-connection-idle", "WASIKV_MAX_CONNECTION_IDLE", "DURATION",
       "A connection with no call open this long is closed (gracefully; clients reconnect on "
       "their next call). 0s: never.",
       "5m",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.max_connection_idle, ParseDuration("max-connection-idle", v));
         return absl::OkStatus();
       }},
      {"handshake-timeout", "WASIKV_HANDSHAKE_TIMEOUT", "DURATION",
       "A new connection that has not finished its TLS and HTTP/2 handshake this long after "
       "it was accepted is closed.",
       "10s",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.handshake_timeout, ParseDuration("handshake-timeout", v));
         if (c.handshake_timeout < std::chrono::milliseconds(100)) {
           return absl::InvalidArgumentError(
               StrCat("--handshake-timeout: '", v, "' is shorter than the minimum of 100ms"));
         }
         return absl::OkStatus();
       }},
      {"grpc-memory-limit", "WASIKV_GRPC_MEMORY_LIMIT", "BYTES",
       "Memory gRPC may use for connections and messages in flight; past it, new calls are "
       "refused with RESOURCE_EXHAUSTED and reads from connections slow down.",
       "1g",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.grpc_memory_limit,
                          ParseSize("grpc-memory-limit", v, 64 << 20, 1ull << 40));
         return absl::OkStatus();
       }},
      {"shutdown-timeout", "WASIKV_SHUTDOWN_TIMEOUT", "DURATION",
       "On SIGINT/SIGTERM, how long in-flight calls may run before they are cancelled.", "10s",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(c.shutdown_timeout, ParseDuration("shutdown-timeout", v));
         return absl::OkStatus();
       }},
      {"log-format", "WASIKV_LOG_FORMAT", "text|json", "Log line format (stderr).", "text",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         if (v == "text") {
           c.log_format = LogFormat::kText;
         } else if (v == "json") {
           c.log_format = LogFormat::kJson;
         } else {
           return BadValue("log-format", v, "text or json");
         }
         return absl::OkStatus();
       }},
      {"log-level", "WASIKV_LOG_LEVEL", "LEVEL",
       "trace, debug, info, warn, error or off. debug logs every call.", "info",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         auto level = spdlog::level::from_str(std::string(v));
         if (level == spdlog::level::off && v != "off") {
           return BadValue("log-level", v, "trace, debug, info, warn, error or off");
         }
         c.log_level = level;
         return absl::OkStatus();
       }},
      {"ready-fd", "WASIKV_READY_FD", "FD",
       "Write the bound HOST:PORT and a newline to this inherited file descriptor "
       "once serving (then the admin HOST:PORT and a newline, if on), then close it.",
       "none",
       [](std::string_view v, ServerConfig& c) -> absl::Status {
         ASSIGN_OR_RETURN(uint64_t fd, ParseSize("ready-fd", v, 0, 1 << 20));
         c.ready_fd = static_cast<int>(fd);
         return absl::OkStatus();
       }},
  };
  return flags;
}

std::string HelpText(const std::vector<Flag>& flags) {
  std::string out =
      "wasikvd: the wasikv key-value server (RocksDB storage, gRPC API).\n\n"
      "Usage: wasikvd [--flag=value ...]\n\n"
      "Every flag can also be set by the environment variable shown; a flag on\n"
      "the command line wins. Booleans accept true/false, 1/0, yes/no.\n\n";
  for (const Flag& f : flags) {
    out += StrCat("  --", f.name, "=", f.value, "   [", f.env, "]\n      ", f.help,
                  "\n      default: ", f.default_text, "\n");
  }
  out += "\n  --help     print this text\n  --version  print the version\n";
  return out;
}

}  // namespace

absl::StatusOr<ParsedCommandLine> ParseCommandLine(
    int argc, const char* const* argv, const std::function<const char*(const char*)>& getenv) {
  const std::vector<Flag> flags = MakeFlags();
  ParsedCommandLine parsed;
  ServerConfig config;

  for (const Flag& f : flags) {
    if (const char* value = getenv(f.env); value != nullptr) {
      absl::Status s = f.set(value, config);
      if (!s.ok()) {
        return absl::InvalidArgumentError(
            StrCat("environment variable ", f.env, ": ", s.message()));
      }
    }
  }

  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      parsed.output = HelpText(flags);
      return parsed;
    }
    if (arg == "--version") {
      parsed.output = "wasikvd " WASIKV_VERSION "\n";
      return parsed;
    }
    if (!arg.starts_with("--")) {
      return absl::InvalidArgumentError(
          StrCat("unexpected argument '", arg, "'; flags look like --name=value (see --help)"));
    }
    arg.remove_prefix(2);
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const Flag* flag = nullptr;
    for (const Flag& f : flags) {
      if (name == f.name) flag = &f;
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(StrCat("--", name, ": missing value"));
      }
    }
    RETURN_IF_ERROR(flag->set(*value, config));
  }
  RETURN_IF_ERROR(ValidateServerTlsOptions(config.tls));
  // Secure by default, like Redis' protected mode.
  const bool secured = config.tls.enabled() && !config.auth_file.empty();
  if (!IsLoopbackAddress(config.listen) && !secured && !config.allow_insecure_remote) {
    return absl::FailedPreconditionError(
        StrCat("refusing to serve ", config.listen, " without ",
               config.tls.enabled() ? "" : "TLS (--tls-cert-file, --tls-key-file)",
               config.tls.enabled() || !config.auth_file.empty() ? "" : " and ",
               config.auth_file.empty() ? "--auth-file" : "",
               ": anyone who can reach it could read and write every bucket. Add them "
               "(docs/security.md), listen on 127.0.0.1, or pass --allow-insecure-remote to "
               "accept that"));
  }
  if (config.restore_backup_id != 0 && config.restore_from.empty()) {
    return absl::InvalidArgumentError("--restore-backup-id needs --restore-from");
  }
  parsed.config = std::move(config);
  return parsed;
}

bool IsLoopbackAddress(std::string_view listen) {
  if (listen.rfind("unix:", 0) == 0 || listen.rfind("unix-abstract:", 0) == 0) return true;
  std::string_view host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace wasikv
