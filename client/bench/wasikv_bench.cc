// wasikv-bench: load for wasikvd, and the same load for Redis and etcd, so
// one client measures all three (see --help and docs/benchmarks.md).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "client/bench/process_stats.h"
#include "client/bench/report.h"
#include "client/bench/runner.h"
#include "client/bench/target.h"
#include "client/bench/watch_fanout.h"
#include "client/bench/workload.h"
#include "client/cli/args.h"

namespace wasikv::bench {
namespace {

constexpr cli::FlagSpec kFlags[] = {
    {"target", "T", "the server: wasikv (default), redis or etcd"},
    {"endpoint", "HOST:PORT",
     "where it listens (default 127.0.0.1:50051, redis 127.0.0.1:6379, etcd 127.0.0.1:2379)"},
    {"bucket", "B", "wasikv: the bucket to use (default bench)"},
    {"token", "T", "wasikv: bearer token (default: $WASIKV_TOKEN)"},
    {"ops", "MIX",
     "the op mix, e.g. get=90,set=10 (get set incr cas getmany setmany ping; default get)"},
    {"keys", "N", "how many distinct keys (100, 4k, 1m; default 100k)"},
    {"distribution", "D", "key choice: uniform (default), zipfian or zipfian:THETA"},
    {"value-bytes", "N", "bytes of each written value (default 100)"},
    {"batch", "N", "keys of each getmany and setmany (default 100)"},
    {"concurrency", "N", "calls in flight (default 16)"},
    {"connections", "N", "connections to the server (default: one per 16 calls in flight)"},
    {"duration", "D", "the measured time (default 10s)"},
    {"warmup", "D", "time run before measuring (default 1s)"},
    {"rate", "R",
     "open loop: R calls per second on a fixed schedule, latency from when each was due "
     "(default 0: closed loop)"},
    {"preload", "", "write every key first, so reads find them (the default when the mix reads)"},
    {"no-preload", "", "do not write the keys first"},
    {"watchers", "N", "wasikv: also open N Watch streams on the bucket and time each delivery"},
    {"server-pid", "PID", "the server's process, to report its CPU per call"},
    {"format", "F", "text (default), json or markdown"},
    {"label", "L", "the run's name in the report (default: the target)"},
    {"seed", "N", "random seed (default 1)"},
    {"progress", "", "a progress line on stderr each second (default when stderr is a terminal)"},
    {"no-progress", "", "no progress line"},
};

void PrintHelp() {
  std::printf(
      "usage: wasikv-bench [flags]\n\n"
      "Sends a mix of calls to wasikvd (or Redis, or etcd) and prints calls/s and\n"
      "p50/p99/p99.9 latency per op. Closed loop by default: --concurrency calls\n"
      "always in flight. With --rate, open loop: calls are due on a fixed schedule\n"
      "and each latency counts from when it was due (coordinated-omission safe).\n\n"
      "Redis: get GET, set SET, incr INCR, getmany MGET, setmany MSET, ping PING; calls in\n"
      "flight share --connections connections, pipelined. etcd: get Range (linearizable),\n"
      "set Put, cas Txn on mod_revision, getmany and setmany one Txn.\n\n");
  for (const cli::FlagSpec& flag : kFlags) {
    const std::string name = std::string(flag.name) +
                             (flag.value_name.empty() ? "" : " " + std::string(flag.value_name));
    std::printf("  --%-22s %s\n", name.c_str(), std::string(flag.help).c_str());
  }
}

[[noreturn]] void UsageError(const std::string& message) {
  std::fprintf(stderr, "wasikv-bench: %s (see --help)\n", message.c_str());
  std::exit(2);
}

template <typename T>
T OrUsageError(absl::StatusOr<T> value) {
  if (!value.ok()) UsageError(std::string(value.status().message()));
  return *std::move(value);
}

uint64_t CountFlag(const cli::ParsedArgs& args, std::string_view name, uint64_t fallback,
                   uint64_t min, uint64_t max) {
  const std::optional<std::string> text = args.Value(name);
  if (!text) return fallback;
  absl::StatusOr<uint64_t> value = ParseBenchCount(*text);
  if (!value.ok() || *value < min || *value > max) {
    UsageError("--" + std::string(name) + ": '" + *text + "' is not a count from " +
               std::to_string(min) + " to " + std::to_string(max));
  }
  return *value;
}

std::chrono::milliseconds DurationFlag(const cli::ParsedArgs& args, std::string_view name,
                                       std::chrono::milliseconds fallback, bool may_be_zero) {
  const std::optional<std::string> text = args.Value(name);
  if (!text) return fallback;
  if (may_be_zero && (*text == "0" || *text == "0s" || *text == "0ms")) {
    return std::chrono::milliseconds(0);
  }
  std::optional<std::chrono::milliseconds> value = cli::ParseDuration(*text);
  if (!value)
    UsageError("--" + std::string(name) + ": '" + *text + "' is not a duration (10s, 500ms)");
  return *value;
}

int Main(int argc, char** argv) {
  const std::vector<std::string> argv_strings(argv + 1, argv + argc);
  if (cli::WantsHelp(argv_strings)) {
    PrintHelp();
    return 0;
  }
  const cli::ParsedArgs args = OrUsageError(cli::ParseArgs(argv_strings, kFlags));
  if (!args.positional().empty()) UsageError("unexpected argument '" + args.positional()[0] + "'");

  const std::string target_name = args.Value("target").value_or("wasikv");
  std::string default_endpoint = "127.0.0.1:50051";
  if (target_name == "redis") {
    default_endpoint = "127.0.0.1:6379";
  } else if (target_name == "etcd") {
    default_endpoint = "127.0.0.1:2379";
  } else if (target_name != "wasikv") {
    UsageError("--target: '" + target_name + "' is not wasikv, redis or etcd");
  }

  TargetOptions options;
  options.endpoint = args.Value("endpoint").value_or(default_endpoint);
  options.bucket = args.Value("bucket").value_or("bench");
  if (const char* token = std::getenv("WASIKV_TOKEN")) options.token = token;
  if (auto token = args.Value("token")) options.token = *token;
  options.value_bytes = CountFlag(args, "value-bytes", 100, 0, 1 << 20);

  RunOptions run;
  run.mix = OrUsageError(OpMix::Parse(args.Value("ops").value_or("get")));
  const uint64_t keys = CountFlag(args, "keys", 100000, 1, uint64_t{1} << 32);
  run.keys = OrUsageError(KeyChooser::Parse(args.Value("distribution").value_or("uniform"), keys));
  run.batch = static_cast<uint32_t>(CountFlag(args, "batch", 100, 1, 1024));
  run.concurrency = static_cast<int>(CountFlag(args, "concurrency", 16, 1, 4096));
  options.connections =
      static_cast<int>(CountFlag(args, "connections", (run.concurrency + 15) / 16, 1, 1024));
  run.duration = DurationFlag(args, "duration", std::chrono::seconds(10), false);
  run.warmup = DurationFlag(args, "warmup", std::chrono::seconds(1), true);
  if (auto rate = args.Value("rate")) {
    char* end = nullptr;
    run.rate = std::strtod(rate->c_str(), &end);
    if (rate->empty() || *end != '\0' || !(run.rate >= 0 && run.rate <= 1e7)) {
      UsageError("--rate: '" + *rate + "' is not a rate from 0 to 10000000 calls/s");
    }
  }
  run.seed = CountFlag(args, "seed", 1, 0, UINT64_MAX);
  run.server_pid = static_cast<pid_t>(CountFlag(args, "server-pid", 0, 0, 1 << 22));
  run.progress = args.Has("progress") || (isatty(STDERR_FILENO) && !args.Has("no-progress"));
  const int watchers = static_cast<int>(CountFlag(args, "watchers", 0, 0, 100000));

  Format format = Format::kText;
  if (auto text = args.Value("format")) {
    if (*text == "json") {
      format = Format::kJson;
    } else if (*text == "markdown") {
      format = Format::kMarkdown;
    } else if (*text != "text") {
      UsageError("--format: '" + *text + "' is not text, json or markdown");
    }
  }

  std::unique_ptr<Target> target;
  if (target_name == "wasikv") target = NewWasikvTarget(options, keys);
  if (target_name == "redis") target = NewRedisTarget(options);
  if (target_name == "etcd") target = NewEtcdTarget(options, keys);
  if (!target) {
    std::fprintf(stderr, "wasikv-bench: this build has no %s client (it was built without %s)\n",
                 target_name.c_str(),
                 target_name == "redis" ? "hiredis (libhiredis-dev)"
                                        : "etcd's protos (golang-etcd-server-dev)");
    return 2;
  }
  for (Op op : run.mix.ops()) {
    if (!target->Supports(op)) {
      UsageError("--ops: " + target_name + " has no single call for " + std::string(OpName(op)));
    }
  }
  if (watchers > 0 && target_name != "wasikv") UsageError("--watchers: only for --target wasikv");

  if (absl::Status connected = target->Connect(); !connected.ok()) {
    std::fprintf(stderr, "wasikv-bench: %s\n", std::string(connected.message()).c_str());
    return 1;
  }
  const bool preload = args.Has("preload") || (run.mix.Reads() && !args.Has("no-preload"));
  if (preload) {
    if (run.progress)
      std::fprintf(stderr, "wasikv-bench: writing %llu keys\n",
                   static_cast<unsigned long long>(keys));
    // etcd refuses a Txn of more than 128 operations by default.
    if (absl::Status loaded = Preload(*target, keys, 100, std::min(run.concurrency, 32));
        !loaded.ok()) {
      std::fprintf(stderr, "wasikv-bench: %s\n", std::string(loaded.message()).c_str());
      return 1;
    }
  }

  std::unique_ptr<WatchFanout> fanout;
  long rss_before_watchers = -1;
  long rss_with_watchers = -1;
  if (watchers > 0) {
    if (run.server_pid > 0) rss_before_watchers = ProcStatusKib(run.server_pid, "VmRSS");
    fanout = OrUsageError(WatchFanout::Start(options, watchers, options.connections));
    // Idle streams: what each open watcher costs the server.
    if (run.server_pid > 0) rss_with_watchers = ProcStatusKib(run.server_pid, "VmRSS");
  }

  RunDescription description;
  description.target = target_name;
  description.label = args.Value("label").value_or(target_name);
  description.endpoint = options.endpoint;
  description.ops = run.mix.ToString();
  description.distribution = run.keys.ToString();
  description.keys = keys;
  description.value_bytes = options.value_bytes;
  description.batch = run.batch;
  description.concurrency = run.concurrency;
  description.connections = options.connections;
  description.rate = run.rate;

  std::optional<WatchResult> watch_result;
  if (fanout) {
    // Writes carry their send time only when someone times their delivery;
    // the warmup's deliveries are forgotten when measuring starts.
    run.stamp_values = true;
    run.on_measure = [&fanout] { fanout->Reset(); };
  }
  const RunResult result = Run(*target, run);
  if (fanout) {
    watch_result = fanout->Stop();
    if (rss_before_watchers > 0 && rss_with_watchers > 0) {
      watch_result->server_kib_per_watcher =
          static_cast<double>(rss_with_watchers - rss_before_watchers) / watchers;
    }
  }
  std::fputs(FormatReport(format, description, result, watch_result).c_str(), stdout);
  return result.total.errors > 0 ? 1 : 0;
}

}  // namespace
}  // namespace wasikv::bench

int main(int argc, char** argv) { return wasikv::bench::Main(argc, argv); }
