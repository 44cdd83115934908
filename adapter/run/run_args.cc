#include "adapter/run/run_args.h"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>

#include "fmt/format.h"

namespace wasikv::adapter {
namespace {

// The runtimes this build can run guests on: wabt's interpreter for core
// modules, and Node's V8 for components and core modules (adapter/node/) when the build found
// node and made the addon (wasikv_run_main.cc then runs node).
#ifdef WASIKV_NODE_RUNNER
constexpr std::string_view kRuntimes[] = {"wabt", "node"};
#else
constexpr std::string_view kRuntimes[] = {"wabt"};
#endif

enum class Flag {
  kHelp,
  kEndpoint,
  kToken,
  kTls,
  kTlsCa,
  kTlsCert,
  kTlsKey,
  kTlsServerName,
  kInvoke,
  kArg,
  kDefaultBucket,
  kAllowBucket,
  kDenyBucket,
  kMaxHandles,
  kMaxCallAlloc,
  kListKeysPageSize,
  kTimeoutMs,
  kWatchEvents,
  kWatchBucket,
  kWatchTimeoutMs,
  kThenInvoke,
  kRuntime,
};

struct FlagSpec {
  std::string_view name;
  Flag flag;
  bool takes_value;
};

constexpr FlagSpec kFlags[] = {
    {"help", Flag::kHelp, false},
    {"endpoint", Flag::kEndpoint, true},
    {"token", Flag::kToken, true},
    {"tls", Flag::kTls, false},
    {"tls-ca", Flag::kTlsCa, true},
    {"tls-cert", Flag::kTlsCert, true},
    {"tls-key", Flag::kTlsKey, true},
    {"tls-server-name", Flag::kTlsServerName, true},
    {"invoke", Flag::kInvoke, true},
    {"arg", Flag::kArg, true},
    {"default-bucket", Flag::kDefaultBucket, true},
    {"allow-bucket", Flag::kAllowBucket, true},
    {"deny-bucket", Flag::kDenyBucket, true},
    {"max-handles", Flag::kMaxHandles, true},
    {"max-call-alloc", Flag::kMaxCallAlloc, true},
    {"list-keys-page-size", Flag::kListKeysPageSize, true},
    {"timeout-ms", Flag::kTimeoutMs, true},
    {"watch-events", Flag::kWatchEvents, true},
    {"watch-bucket", Flag::kWatchBucket, true},
    {"watch-timeout-ms", Flag::kWatchTimeoutMs, true},
    {"then-invoke", Flag::kThenInvoke, true},
    {"runtime", Flag::kRuntime, true},
};

absl::Status BadValue(std::string_view flag, std::string_view value, std::string_view expected) {
  return absl::InvalidArgumentError(
      fmt::format("--{}: invalid value '{}', expected {}", flag, value, expected));
}

template <typename T>
absl::StatusOr<T> ParseNumber(std::string_view flag, std::string_view text, T min, T max,
                              std::string_view expected) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return BadValue(flag, text, expected);
  }
  return value;
}

// Bytes: digits with an optional k, m or g (powers of 1024).
absl::StatusOr<uint32_t> ParseBytes(std::string_view flag, std::string_view text) {
  constexpr std::string_view kExpected = "bytes from 1 to 4g-1, e.g. 65536, 64k or 16m";
  uint64_t multiplier = 1;
  std::string_view digits = text;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k':
      case 'K':
        multiplier = uint64_t{1} << 10;
        break;
      case 'm':
      case 'M':
        multiplier = uint64_t{1} << 20;
        break;
      case 'g':
      case 'G':
        multiplier = uint64_t{1} << 30;
        break;
      default:
        break;
    }
    if (multiplier != 1) digits.remove_suffix(1);
  }
  absl::StatusOr<uint64_t> n =
      ParseNumber<uint64_t>(flag, digits, 1, std::numeric_limits<uint32_t>::max(), kExpected);
  if (!n.ok() || *n * multiplier > std::numeric_limits<uint32_t>::max()) {
    return BadValue(flag, text, kExpected);
  }
  return static_cast<uint32_t>(*n * multiplier);
}

// The TLS settings, as given (flag or variable), before the files are read.
struct TlsSetting {
  std::string value;
  std::string source;  // "--tls-ca" or "$WASIKV_TLS_CA", for messages
};
struct TlsSettings {
  bool on = false;
  std::optional<TlsSetting> ca, cert, key, server_name;
};

// The PEM file a setting names; INVALID_ARGUMENT naming the setting and the
// file if it cannot be read or holds no `marker`.
absl::StatusOr<std::string> ReadPemFile(const TlsSetting& file, std::string_view marker,
                                        std::string_view what) {
  std::FILE* in = std::fopen(file.value.c_str(), "rb");
  if (in == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("{} {}: cannot read: {}", file.source, file.value, std::strerror(errno)));
  }
  std::string contents;
  char buffer[16384];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, in)) > 0) contents.append(buffer, n);
  const bool failed = std::ferror(in) != 0;
  std::fclose(in);
  if (failed)
    return absl::InvalidArgumentError(fmt::format("{} {}: cannot read", file.source, file.value));
  if (contents.find(marker) == std::string::npos) {
    return absl::InvalidArgumentError(
        fmt::format("{} {}: no PEM {} in it ({})", file.source, file.value, what, marker));
  }
  return contents;
}

// Any TLS setting turns TLS on; the files become ClientOptions' PEM text.
absl::Status ResolveTls(const TlsSettings& settings, TlsOptions& tls) {
  if (!settings.on && !settings.ca && !settings.cert && !settings.key && !settings.server_name) {
    return absl::OkStatus();
  }
  tls.use_tls = true;
  if (settings.cert.has_value() != settings.key.has_value()) {
    return absl::InvalidArgumentError(settings.cert ? settings.cert->source + " needs --tls-key"
                                                    : settings.key->source + " needs --tls-cert");
  }
  constexpr std::string_view kCertificate = "-----BEGIN CERTIFICATE-----";
  if (settings.ca) {
    absl::StatusOr<std::string> pem = ReadPemFile(*settings.ca, kCertificate, "certificate");
    if (!pem.ok()) return pem.status();
    tls.root_certs_pem = *std::move(pem);
  }
  if (settings.cert) {
    absl::StatusOr<std::string> pem = ReadPemFile(*settings.cert, kCertificate, "certificate");
    if (!pem.ok()) return pem.status();
    tls.client_cert_chain_pem = *std::move(pem);
    pem = ReadPemFile(*settings.key, "PRIVATE KEY-----", "private key");
    if (!pem.ok()) return pem.status();
    tls.client_private_key_pem = *std::move(pem);
  }
  if (settings.server_name) tls.server_name_override = settings.server_name->value;
  return absl::OkStatus();
}

absl::Status Apply(Flag flag, std::string_view name, const std::string& value, RunArgs& out,
                   TlsSettings& tls) {
  switch (flag) {
    case Flag::kHelp:
      out.help = true;
      return absl::OkStatus();
    case Flag::kEndpoint:
      if (value.empty()) return BadValue(name, value, "HOST:PORT");
      out.client.endpoint = value;
      return absl::OkStatus();
    case Flag::kToken:
      out.client.bearer_token = value;
      return absl::OkStatus();
    case Flag::kTls:
      tls.on = true;
      return absl::OkStatus();
    case Flag::kTlsCa:
    case Flag::kTlsCert:
    case Flag::kTlsKey:
    case Flag::kTlsServerName: {
      if (value.empty()) {
        return BadValue(name, value, flag == Flag::kTlsServerName ? "a host name" : "a file path");
      }
      std::optional<TlsSetting>& setting = flag == Flag::kTlsCa     ? tls.ca
                                           : flag == Flag::kTlsCert ? tls.cert
                                           : flag == Flag::kTlsKey  ? tls.key
                                                                    : tls.server_name;
      setting = TlsSetting{value, "--" + std::string(name)};
      return absl::OkStatus();
    }
    case Flag::kInvoke:
      if (value.empty()) return BadValue(name, value, "the name of an exported function");
      out.invoke = value;
      return absl::OkStatus();
    case Flag::kArg: {
      // from_chars rejects a leading '+'.
      std::string_view digits = value;
      if (digits.starts_with('+')) digits.remove_prefix(1);
      absl::StatusOr<int64_t> n =
          ParseNumber<int64_t>(name, digits, std::numeric_limits<int64_t>::min(),
                               std::numeric_limits<int64_t>::max(), "a 64-bit integer");
      if (!n.ok()) return BadValue(name, value, "a 64-bit integer");
      out.args.push_back(*n);
      return absl::OkStatus();
    }
    case Flag::kDefaultBucket:
      if (value.empty()) return BadValue(name, value, "a bucket name");
      out.host.default_bucket = value;
      return absl::OkStatus();
    case Flag::kAllowBucket:
      if (value.empty()) return BadValue(name, value, "a bucket name");
      out.host.allowed_buckets.push_back(value);
      return absl::OkStatus();
    case Flag::kDenyBucket:
      if (value.empty()) return BadValue(name, value, "a bucket name");
      out.host.denied_buckets.push_back(value);
      return absl::OkStatus();
    case Flag::kMaxHandles: {
      absl::StatusOr<uint32_t> n = ParseNumber<uint32_t>(
          name, value, 1, std::numeric_limits<uint32_t>::max(), "an integer from 1 to 4294967295");
      if (!n.ok()) return n.status();
      out.host.max_handles = *n;
      return absl::OkStatus();
    }
    case Flag::kMaxCallAlloc: {
      absl::StatusOr<uint32_t> n = ParseBytes(name, value);
      if (!n.ok()) return n.status();
      out.host.max_call_allocation_bytes = *n;
      return absl::OkStatus();
    }
    case Flag::kListKeysPageSize: {
      absl::StatusOr<uint32_t> n = ParseNumber<uint32_t>(
          name, value, 1, std::numeric_limits<uint32_t>::max(), "an integer from 1 to 4294967295");
      if (!n.ok()) return n.status();
      out.host.list_keys_page_size = *n;
      return absl::OkStatus();
    }
    case Flag::kTimeoutMs: {
      // A day at most: past that it is a typo.
      absl::StatusOr<int64_t> n =
          ParseNumber<int64_t>(name, value, 1, 24 * 3600 * 1000, "milliseconds from 1 to 86400000");
      if (!n.ok()) return n.status();
      out.host.call.deadline = std::chrono::milliseconds(*n);
      return absl::OkStatus();
    }
    case Flag::kWatchEvents: {
      absl::StatusOr<uint32_t> n = ParseNumber<uint32_t>(
          name, value, 1, std::numeric_limits<uint32_t>::max(), "an integer from 1 to 4294967295");
      if (!n.ok()) return n.status();
      out.watch_events = *n;
      return absl::OkStatus();
    }
    case Flag::kWatchBucket:
      if (value.empty()) return BadValue(name, value, "a bucket name");
      out.watch_buckets.push_back(value);
      return absl::OkStatus();
    case Flag::kWatchTimeoutMs: {
      absl::StatusOr<int64_t> n =
          ParseNumber<int64_t>(name, value, 1, 24 * 3600 * 1000, "milliseconds from 1 to 86400000");
      if (!n.ok()) return n.status();
      out.watch_timeout = std::chrono::milliseconds(*n);
      return absl::OkStatus();
    }
    case Flag::kThenInvoke:
      if (value.empty()) return BadValue(name, value, "the name of an exported function");
      out.then_invoke = value;
      return absl::OkStatus();
    case Flag::kRuntime:
      for (std::string_view runtime : kRuntimes) {
        if (value == runtime) {
          out.runtime = value;
          return absl::OkStatus();
        }
      }
      return absl::InvalidArgumentError(fmt::format(
          "--runtime: '{}' is not available; runtimes: {}", value, fmt::join(kRuntimes, ", ")));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RunArgs> ParseRunArgs(std::span<const std::string> argv,
                                     const std::function<const char*(const char*)>& getenv) {
  RunArgs out;
  if (const char* endpoint = getenv("WASIKV_ENDPOINT"); endpoint != nullptr && *endpoint != '\0') {
    out.client.endpoint = endpoint;
  }
  if (const char* token = getenv("WASIKV_TOKEN"); token != nullptr && *token != '\0') {
    out.client.bearer_token = token;
  }
  TlsSettings tls;
  if (const char* on = getenv("WASIKV_TLS"); on != nullptr && *on != '\0') {
    const std::string_view v = on;
    if (v == "1" || v == "true" || v == "yes" || v == "on") {
      tls.on = true;
    } else if (!(v == "0" || v == "false" || v == "no" || v == "off")) {
      return absl::InvalidArgumentError(fmt::format("$WASIKV_TLS: '{}' is not true or false", v));
    }
  }
  for (auto [variable, setting] :
       {std::pair{"WASIKV_TLS_CA", &tls.ca}, std::pair{"WASIKV_TLS_CERT", &tls.cert},
        std::pair{"WASIKV_TLS_KEY", &tls.key},
        std::pair{"WASIKV_TLS_SERVER_NAME", &tls.server_name}}) {
    if (const char* value = getenv(variable); value != nullptr && *value != '\0') {
      *setting = TlsSetting{value, std::string("$") + variable};
    }
  }
  std::vector<std::string> positional;
  bool watch_timeout_given = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") {
      positional.insert(positional.end(), argv.begin() + i + 1, argv.end());
      break;
    }
    if (arg == "-h") {
      out.help = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      if (arg.size() > 1 && arg.starts_with('-')) {
        return absl::InvalidArgumentError(fmt::format("unknown flag '{}'", arg));
      }
      positional.push_back(arg);
      continue;
    }
    std::string_view name = std::string_view(arg).substr(2);
    std::optional<std::string> value;
    if (const size_t equals = name.find('='); equals != std::string_view::npos) {
      value = std::string(name.substr(equals + 1));
      name = name.substr(0, equals);
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& candidate : kFlags) {
      if (candidate.name == name) spec = &candidate;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(fmt::format("unknown flag '--{}'", name));
    }
    if (!spec->takes_value && value) {
      return absl::InvalidArgumentError(fmt::format("--{} takes no value", name));
    }
    if (spec->takes_value && !value) {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError(fmt::format("--{} needs a value", name));
      }
      value = argv[++i];
    }
    if (absl::Status s = Apply(spec->flag, name, value.value_or(""), out, tls); !s.ok()) return s;
    watch_timeout_given = watch_timeout_given || spec->flag == Flag::kWatchTimeoutMs;
  }
  if (out.help) return out;
  if (absl::Status s = ResolveTls(tls, out.client.tls); !s.ok()) return s;
  if (out.watch_events == 0 && !out.watch_buckets.empty()) {
    return absl::InvalidArgumentError("--watch-bucket needs --watch-events");
  }
  if (out.watch_events == 0 && watch_timeout_given) {
    return absl::InvalidArgumentError("--watch-timeout-ms needs --watch-events");
  }
  if (positional.empty()) {
    return absl::InvalidArgumentError("missing the guest module (GUEST.wasm)");
  }
  if (positional.size() > 1) {
    return absl::InvalidArgumentError(
        fmt::format("unexpected argument '{}'; pass export arguments with --arg", positional[1]));
  }
  out.guest_path = positional[0];
  return out;
}

std::string RunHelp() {
  return fmt::format(
      "wasikv-run: runs a WebAssembly core module (or, with --runtime node, a\n"
      "component or a core module) with wasi:keyvalue served by wasikvd.\n"
      "\n"
      "Usage: wasikv-run [options] GUEST.wasm\n"
      "\n"
      "Calls one exported function of the guest and prints its results, one decimal\n"
      "integer per line. Exit status: 0 done, 1 the guest trapped (or watch delivery\n"
      "failed or timed out), 2 usage, load or link error.\n"
      "\n"
      "  --endpoint HOST:PORT   wasikvd to use [WASIKV_ENDPOINT] (default 127.0.0.1:50051)\n"
      "  --token TOKEN          bearer token sent on every call [WASIKV_TOKEN]\n"
      "  --tls                  connect with TLS; the system's CAs verify the server\n"
      "                         [WASIKV_TLS=true]\n"
      "  --tls-ca FILE          PEM CA that verifies the server, implies --tls\n"
      "                         [WASIKV_TLS_CA]\n"
      "  --tls-cert FILE        PEM client certificate for mutual TLS, with --tls-key\n"
      "                         [WASIKV_TLS_CERT]\n"
      "  --tls-key FILE         PEM private key of --tls-cert [WASIKV_TLS_KEY]\n"
      "  --tls-server-name NAME name to check in the server's certificate (default:\n"
      "                         the endpoint's host) [WASIKV_TLS_SERVER_NAME]\n"
      "  --invoke EXPORT        function to call (default: _start if exported, else run;\n"
      "                         node: run, and check-spin or check_spin both name\n"
      "                         the WIT export check-spin)\n"
      "  --arg N                integer argument to the export; repeat for each one\n"
      "  --default-bucket NAME  bucket the guest gets for open(\"\") (default default)\n"
      "  --allow-bucket NAME    allow only these buckets (repeatable; default: any)\n"
      "  --deny-bucket NAME     never allow this bucket (repeatable)\n"
      "  --max-handles N        open handles one guest may hold (default 10000)\n"
      "  --max-call-alloc BYTES guest memory one call's results may take, k/m/g\n"
      "                         suffixes allowed (default 16m)\n"
      "  --list-keys-page-size N\n"
      "                         keys per list-keys page (default 1000)\n"
      "  --timeout-ms N         deadline of each server call (default 10000)\n"
      "  --watch-events N       after --invoke's results are printed, deliver changes\n"
      "                         to the buckets the guest opened to its exported\n"
      "                         wasi:keyvalue/watcher until N have been delivered\n"
      "  --watch-bucket NAME    also watch this bucket, from the start (repeatable)\n"
      "  --watch-timeout-ms N   give up on --watch-events after N ms, exit 1\n"
      "                         (default 30000)\n"
      "  --then-invoke EXPORT   after that, call this function and print its results\n"
      "  --runtime NAME         engine to run the guest on: {} (default wabt;\n"
      "                         node runs components through jco and core modules\n"
      "                         on V8, see adapter/node/)\n"
      "  --help                 print this text\n",
      fmt::join(kRuntimes, ", "));
}

}  // namespace wasikv::adapter
