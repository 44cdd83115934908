#include "client/bench/report.h"

#include <cstdio>
#include <string>
#include <vector>

#include "client/cli/json_writer.h"

namespace wasikv::bench {
namespace {

// Keys each call of `op` reads or writes.
uint64_t KeysPerCall(Op op, const RunDescription& run) {
  return op == Op::kGetMany || op == Op::kSetMany ? std::min<uint64_t>(run.batch, run.keys) : 1;
}

double PerSecond(uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

std::string Fixed(double value, int decimals) {
  char text[48];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

std::string Micros(double nanos) { return Fixed(nanos / 1000, nanos < 100000 ? 1 : 0); }

std::string Mode(const RunDescription& run) {
  return run.rate > 0 ? "open loop, " + Fixed(run.rate, 0) + " calls/s" : "closed loop";
}

// Server CPU microseconds per call, or "-".
std::string ServerCpuPerCall(const RunResult& result) {
  if (result.server_cpu_seconds < 0 || result.total.answered() == 0) return "-";
  return Fixed(result.server_cpu_seconds * 1e6 / static_cast<double>(result.total.answered()), 1);
}

struct Row {
  std::string name;
  const OpResult* result;
  uint64_t keys_per_second;
};

std::vector<Row> Rows(const RunDescription& run, const RunResult& result) {
  std::vector<Row> rows;
  uint64_t total_keys = 0;
  for (const OpResult& op : result.ops) {
    const uint64_t keys = op.answered() * KeysPerCall(op.op, run);
    total_keys += keys;
    rows.push_back(
        {std::string(OpName(op.op)), &op, static_cast<uint64_t>(PerSecond(keys, result.seconds))});
  }
  if (result.ops.size() > 1) {
    rows.push_back(
        {"all", &result.total, static_cast<uint64_t>(PerSecond(total_keys, result.seconds))});
  }
  return rows;
}

std::string Text(const RunDescription& run, const RunResult& result,
                 const std::optional<WatchResult>& watch) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof(line),
                "%s (%s at %s): ops %s, %llu keys %s, %zu-byte values, batch %u\n"
                "concurrency %d over %d connections, %s, %.1f s measured\n",
                run.label.c_str(), run.target.c_str(), run.endpoint.c_str(), run.ops.c_str(),
                static_cast<unsigned long long>(run.keys), run.distribution.c_str(),
                run.value_bytes, run.batch, run.concurrency, run.connections, Mode(run).c_str(),
                result.seconds);
  out += line;
  std::snprintf(line, sizeof(line), "%-8s %12s %12s %10s %10s %10s %10s %8s %8s %8s\n", "op",
                "calls/s", "keys/s", "p50 us", "p99 us", "p99.9 us", "ok", "miss", "conflict",
                "errors");
  out += line;
  for (const Row& row : Rows(run, result)) {
    const OpResult& r = *row.result;
    std::snprintf(
        line, sizeof(line), "%-8s %12.0f %12llu %10s %10s %10s %10llu %8llu %8llu %8llu\n",
        row.name.c_str(), PerSecond(r.answered(), result.seconds),
        static_cast<unsigned long long>(row.keys_per_second),
        Micros(r.latency.Quantile(0.5)).c_str(), Micros(r.latency.Quantile(0.99)).c_str(),
        Micros(r.latency.Quantile(0.999)).c_str(), static_cast<unsigned long long>(r.ok),
        static_cast<unsigned long long>(r.miss), static_cast<unsigned long long>(r.conflict),
        static_cast<unsigned long long>(r.errors));
    out += line;
  }
  std::snprintf(line, sizeof(line), "client CPU %.1f us/call, server CPU %s us/call\n",
                result.total.answered() > 0
                    ? result.client_cpu_seconds * 1e6 / static_cast<double>(result.total.answered())
                    : 0.0,
                ServerCpuPerCall(result).c_str());
  out += line;
  if (result.unsent > 0) {
    std::snprintf(line, sizeof(line),
                  "behind: %llu calls were due but never sent (every slot busy): the server did "
                  "not keep up with the rate\n",
                  static_cast<unsigned long long>(result.unsent));
    out += line;
  }
  if (!result.total.first_error.empty()) out += "first error: " + result.total.first_error + "\n";
  if (watch) {
    std::snprintf(line, sizeof(line),
                  "watch: %d watchers, %llu events delivered (%.0f/s), write to delivery p50 %s "
                  "us, p99 %s us, p99.9 %s us",
                  watch->watchers, static_cast<unsigned long long>(watch->events),
                  PerSecond(watch->events, result.seconds),
                  Micros(watch->delivery.Quantile(0.5)).c_str(),
                  Micros(watch->delivery.Quantile(0.99)).c_str(),
                  Micros(watch->delivery.Quantile(0.999)).c_str());
    out += line;
    if (watch->server_kib_per_watcher >= 0) {
      out += ", server " + Fixed(watch->server_kib_per_watcher, 1) + " KiB per watcher";
    }
    out += "\n";
  }
  return out;
}

void WriteLatency(cli::JsonWriter& json, const LatencyHistogram& latency) {
  json.Member("p50_us", latency.Quantile(0.5) / 1000)
      .Member("p99_us", latency.Quantile(0.99) / 1000)
      .Member("p999_us", latency.Quantile(0.999) / 1000);
}

std::string Json(const RunDescription& run, const RunResult& result,
                 const std::optional<WatchResult>& watch) {
  cli::JsonWriter json;
  json.BeginObject()
      .Member("label", run.label)
      .Member("target", run.target)
      .Member("endpoint", run.endpoint)
      .Member("ops", run.ops)
      .Member("distribution", run.distribution)
      .Member("keys", run.keys)
      .Member("value_bytes", static_cast<uint64_t>(run.value_bytes))
      .Member("batch", static_cast<uint64_t>(run.batch))
      .Member("concurrency", static_cast<int64_t>(run.concurrency))
      .Member("connections", static_cast<int64_t>(run.connections))
      .Member("rate", run.rate)
      .Member("seconds", result.seconds)
      .Member("unsent", result.unsent)
      .Member("client_cpu_seconds", result.client_cpu_seconds);
  if (result.server_cpu_seconds >= 0) json.Member("server_cpu_seconds", result.server_cpu_seconds);
  json.Key("results").BeginArray();
  for (const Row& row : Rows(run, result)) {
    const OpResult& r = *row.result;
    json.BeginObject()
        .Member("op", row.name)
        .Member("calls_per_second", PerSecond(r.answered(), result.seconds))
        .Member("keys_per_second", row.keys_per_second);
    WriteLatency(json, r.latency);
    json.Member("ok", r.ok)
        .Member("miss", r.miss)
        .Member("conflict", r.conflict)
        .Member("errors", r.errors);
    if (!r.first_error.empty()) json.Member("first_error", r.first_error);
    json.EndObject();
  }
  json.EndArray();
  if (watch) {
    json.Key("watch")
        .BeginObject()
        .Member("watchers", static_cast<int64_t>(watch->watchers))
        .Member("events", watch->events)
        .Member("events_per_second", PerSecond(watch->events, result.seconds));
    WriteLatency(json, watch->delivery);
    if (watch->server_kib_per_watcher >= 0) {
      json.Member("server_kib_per_watcher", watch->server_kib_per_watcher);
    }
    json.EndObject();
  }
  json.EndObject();
  return json.Take() + "\n";
}

// A table with one row per op: | label | op | conc | calls/s | keys/s | p50 | p99 | p99.9 | errors
// |
std::string Markdown(const RunDescription& run, const RunResult& result) {
  std::string out =
      "| run | op | conc | calls/s | keys/s | p50 us | p99 us | p99.9 us | errors |\n"
      "|---|---|--:|--:|--:|--:|--:|--:|--:|\n";
  for (const Row& row : Rows(run, result)) {
    const OpResult& r = *row.result;
    out += "| " + run.label + " | " + row.name + " | " + std::to_string(run.concurrency) + " | " +
           Fixed(PerSecond(r.answered(), result.seconds), 0) + " | " +
           std::to_string(row.keys_per_second) + " | " + Micros(r.latency.Quantile(0.5)) + " | " +
           Micros(r.latency.Quantile(0.99)) + " | " + Micros(r.latency.Quantile(0.999)) + " | " +
           std::to_string(r.errors) + " |\n";
  }
  return out;
}

}  // namespace

std::string FormatReport(Format format, const RunDescription& run, const RunResult& result,
                         const std::optional<WatchResult>& watch) {
  switch (format) {
    case Format::kText:
      return Text(run, result, watch);
    case Format::kJson:
      return Json(run, result, watch);
    case Format::kMarkdown:
      return Markdown(run, result);
  }
  return {};
}

}  // namespace wasikv::bench
