// watch_bench: how fast wasikvd delivers changes to many watchers and what
// they cost it in memory, next to floors measured in the same run.
//
// Every series runs against a fresh wasikvd (tests/server_process.h), so no
// run inherits another's memory or RocksDB state:
//   floor    the writer alone, no watcher open (Sets/s, Set latency), at
//            every --rates rate; then a unary Get round trip, the latency
//            floor for delivery.
//   fanout   N watchers (default 1, 100, 1000, 10000) on one key prefix and
//            the same writer. Each value carries the writer's send time
//            (steady_clock nanoseconds); each watcher takes receipt - send for
//            every event it gets, and checks it got every write, in order.
//            Also the server's RSS with no watcher, with N idle watchers,
//            after delivering to all of them and after they close; the
//            largest N runs --cycles times on one server, to tell memory that
//            is reused from memory that keeps growing.
//   stalled  K watchers read their created response and then stop reading
//            while the writer writes ~50 MiB, once with gRPC's default stream
//            window (the client library buffers what they do not read) and
//            once with a small fixed one (the server meets back-pressure).
//            Writer throughput and server RSS next to the same writes with no
//            watcher and with one reading watcher; then the stalled watchers
//            read again and must catch up with every event.
//
// The writer keeps one Set outstanding (synchronous stub, a channel of its
// own), as fast as the server answers or paced (--rates). Watchers use
// gRPC's callback reader API over --channels channels (separate TCP
// connections), so 10,000 of them need no thread each; latency samples go to
// one histogram per callback thread, so no lock is taken per event. Client
// and server share the machine's CPUs.
//
// Prints numbers and asserts nothing. All traffic goes to 127.0.0.1; every
// call and every wait has a deadline; a run that passes --max-rss-mib (this
// process or the server) is stopped and reported as such; all data lives in
// temporary directories removed at the end.
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "client/bench/latency_histogram.h"
#include "client/bench/process_stats.h"
#include "grpcpp/grpcpp.h"
#include "tests/bench/bench_flags.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "wasikv/v1/kv.grpc.pb.h"
#include "wasikv/v1/watch.grpc.pb.h"

#ifndef WASIKV_BUILD_TYPE
#define WASIKV_BUILD_TYPE "unknown"
#endif

namespace wasikv {
namespace {

using bench::FirstLineWith;
using bench::LatencyHistogram;
using bench::LoadAverage;
using bench::ProcessCpuSeconds;
using bench::ProcStatusKib;
using bench::SelfCpuSeconds;

using Clock = std::chrono::steady_clock;

constexpr char kBucket[] = "bench";
// Watched prefix; the writer writes only below it.
constexpr char kPrefix[] = "fan/";
// A key outside the prefix, written before any watcher opens (so the bucket
// exists) and read by the Get floor.
constexpr char kSetupKey[] = "setup";
// Every unary call has a deadline, so a stuck server ends a run instead of
// hanging it.
constexpr auto kCallDeadline = std::chrono::seconds(10);
// Watch streams end by this deadline even if a run forgets them.
constexpr auto kStreamDeadline = std::chrono::minutes(10);
// How long to wait for watchers to open, to catch up, and to close.
constexpr auto kOpenTimeout = std::chrono::seconds(120);
constexpr auto kDrainTimeout = std::chrono::seconds(120);
constexpr auto kCloseTimeout = std::chrono::seconds(60);
// Idle watchers settle this long before their RSS is read.
constexpr auto kSettle = std::chrono::seconds(1);
// How often waits look at what they wait for.
constexpr auto kPoll = std::chrono::milliseconds(20);
// A value starts with the send time (8 bytes) and a flag byte.
constexpr size_t kStampBytes = 9;

// ---------------------------------------------------------------------------
// Flags

struct Flags {
  double seconds = 5;
  std::vector<int> watchers = {1, 100, 1000, 10000};
  std::vector<double> rates = {0, 50};  // writes/s; 0: as fast as possible
  size_t value_bytes = 100;
  int channels = 20;
  int cycles = 2;
  long max_rss_mib = 4096;
  int stalled = 100;
  size_t stalled_mib = 50;
  size_t stalled_value_bytes = 4096;
  int stalled_window = 64 << 10;
  std::vector<std::string> scenarios;  // floor, fanout, stalled; empty: all
  std::vector<std::string> server_args;

  bool Runs(std::string_view scenario) const {
    return scenarios.empty() ||
           std::find(scenarios.begin(), scenarios.end(), scenario) != scenarios.end();
  }
};

constexpr char kUsage[] =
    R"(watch_bench: wasikvd Watch fan-out, latency and memory against same-run floors.

  --seconds=S          measured seconds per fan-out run and floor (default 5; plus 0.5 s warm-up)
  --watchers=LIST      fan-out watcher counts (default 1,100,1000,10000)
  --rates=LIST         writer Sets per second, one fan-out series each; 0 = as fast as one
                       outstanding Set goes (default 0,50)
  --value-bytes=N      fan-out value size, at least 9 (default 100)
  --channels=N         channels (TCP connections) the watchers are spread over (default 20)
  --cycles=C           rounds of open, write, drain, close for the largest watcher count, on
                       one server, to tell memory reuse from growth (default 2)
  --stalled=K          watchers that stop reading in the stalled scenario (default 100)
  --stalled-mib=M      MiB of values the writer writes in the stalled scenario (default 50)
  --stalled-value-bytes=N
                       value size in the stalled scenario (default 4096)
  --stalled-window=N   HTTP/2 stream window of the small-window stalled run (default 65536)
  --scenarios=LIST     of floor,fanout,stalled (default all)
  --max-rss-mib=M      stop a run once this bench or the server passes M MiB of RSS, so a run
                       cannot take the machine's memory (default 4096)
  --server-arg=ARG     passes ARG to every wasikvd (repeatable), e.g. --server-arg=--watch-threads=4
)";

[[noreturn]] void Usage(const std::string& error) {
  bench::ExitWithUsage("watch_bench", kUsage, error);
}

long ParseLong(const std::string& name, const std::string& value, long min, long max) {
  char* end = nullptr;
  const long n = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || n < min || n > max) {
    Usage(name + " takes a number in " + std::to_string(min) + ".." + std::to_string(max));
  }
  return n;
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (const bench::BenchFlag& flag : bench::SplitBenchFlags(argc, argv, "watch_bench", kUsage)) {
    const std::string& name = flag.name;
    const std::string& value = flag.value;
    char* end = nullptr;
    if (name == "--seconds") {
      flags.seconds = std::strtod(value.c_str(), &end);
      if (*end != '\0' || !(flags.seconds > 0) || flags.seconds > 600) {
        Usage("--seconds takes a number in (0, 600]");
      }
    } else if (name == "--watchers") {
      flags.watchers.clear();
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) {
        flags.watchers.push_back(static_cast<int>(ParseLong("--watchers", item, 1, 100000)));
      }
      if (flags.watchers.empty()) Usage("--watchers is empty");
    } else if (name == "--rates") {
      flags.rates.clear();
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) {
        const double rate = std::strtod(item.c_str(), &end);
        if (item.empty() || *end != '\0' || !(rate >= 0)) Usage("--rates takes numbers >= 0");
        flags.rates.push_back(rate);
      }
      if (flags.rates.empty()) Usage("--rates is empty");
    } else if (name == "--value-bytes") {
      flags.value_bytes = static_cast<size_t>(ParseLong(name, value, kStampBytes, 1 << 20));
    } else if (name == "--channels") {
      flags.channels = static_cast<int>(ParseLong(name, value, 1, 1000));
    } else if (name == "--max-rss-mib") {
      flags.max_rss_mib = ParseLong(name, value, 64, 1 << 20);
    } else if (name == "--cycles") {
      flags.cycles = static_cast<int>(ParseLong(name, value, 1, 100));
    } else if (name == "--stalled") {
      flags.stalled = static_cast<int>(ParseLong(name, value, 1, 100000));
    } else if (name == "--stalled-mib") {
      flags.stalled_mib = static_cast<size_t>(ParseLong(name, value, 1, 4096));
    } else if (name == "--stalled-value-bytes") {
      flags.stalled_value_bytes = static_cast<size_t>(ParseLong(name, value, kStampBytes, 1 << 20));
    } else if (name == "--stalled-window") {
      flags.stalled_window = static_cast<int>(ParseLong(name, value, 1024, 1 << 30));
    } else if (name == "--scenarios") {
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) {
        if (item != "floor" && item != "fanout" && item != "stalled") {
          Usage("unknown scenario " + item);
        }
        flags.scenarios.push_back(item);
      }
    } else if (name == "--server-arg") {
      flags.server_args.push_back(value);
    } else {
      Usage("unknown flag " + name);
    }
  }
  return flags;
}

// ---------------------------------------------------------------------------
// Measurement

// One histogram per thread that records, so gRPC's callback threads record
// events without a lock each; the lock is taken once per thread per run.
// Merged() may be called once every recording thread is done with the run
// (all streams ended).
class ThreadHistograms {
 public:
  ThreadHistograms() : id_(next_id_.fetch_add(1) + 1) {}
  ThreadHistograms(const ThreadHistograms&) = delete;
  ThreadHistograms& operator=(const ThreadHistograms&) = delete;

  LatencyHistogram& Local() {
    thread_local uint64_t owner = 0;
    thread_local LatencyHistogram* local = nullptr;
    if (owner != id_) {
      std::lock_guard lock(mu_);
      all_.push_back(std::make_unique<LatencyHistogram>());
      local = all_.back().get();
      owner = id_;
    }
    return *local;
  }

  LatencyHistogram Merged() {
    std::lock_guard lock(mu_);
    LatencyHistogram merged;
    for (const auto& h : all_) merged.Merge(*h);
    return merged;
  }

 private:
  static inline std::atomic<uint64_t> next_id_{0};
  const uint64_t id_;  // tells this run's histograms from an earlier run's
  std::mutex mu_;
  std::vector<std::unique_ptr<LatencyHistogram>> all_;
};

// Counts things that happen once per stream (opened, ended) and waits for a
// number of them.
class Counter {
 public:
  void Add() {
    std::lock_guard lock(mu_);
    ++n_;
    changed_.notify_all();
  }
  // True if the count reached `n` within `timeout`. Gives up early once
  // `abort` is set and Wake() is called.
  bool WaitFor(uint64_t n, Clock::duration timeout, const std::atomic<bool>& abort) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return n_ >= n || abort.load(); }) && n_ >= n;
  }
  void Wake() {
    std::lock_guard lock(mu_);
    changed_.notify_all();
  }
  uint64_t value() {
    std::lock_guard lock(mu_);
    return n_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  uint64_t n_ = 0;
};

// A run warms up, then measures, then stops.
enum Phase : int { kWarmup, kMeasure, kStop };

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Machine-wide busy CPU time (user, nice, system, irq, softirq) from
// /proc/stat, in seconds.
double SystemBusySeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
  return static_cast<double>(user + nice + system + irq + softirq) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

double Mib(long kib) { return kib < 0 ? -1 : static_cast<double>(kib) / 1024; }

// CPU used by the server, by this process and by everything else over a
// window, in CPUs (CPU seconds per second).
class CpuWindow {
 public:
  explicit CpuWindow(pid_t server)
      : server_(server),
        start_(Clock::now()),
        self0_(SelfCpuSeconds()),
        server0_(ProcessCpuSeconds(server)),
        system0_(SystemBusySeconds()) {}

  struct Use {
    double seconds = 0;
    double server = 0;
    double client = 0;
    double other = 0;
  };
  Use End() const {
    Use use;
    use.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const double client = SelfCpuSeconds() - self0_;
    const double server = ProcessCpuSeconds(server_) - server0_;
    const double system = SystemBusySeconds() - system0_;
    use.server = server / use.seconds;
    use.client = client / use.seconds;
    use.other = std::max(0.0, system - server - client) / use.seconds;
    return use;
  }

 private:
  pid_t server_;
  Clock::time_point start_;
  double self0_;
  double server0_;
  double system0_;
};

// /proc/stat counts in ticks (10 ms), so less than this is noise.
constexpr double kDisturbedCpus = 0.15;

// splitmix64, for value bytes.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// Fills `value` with printable pseudo-random bytes after the stamp, so
// RocksDB and the change cache hold data that does not compress to nothing.
void FillValue(Random& random, std::string* value) {
  uint64_t bits = 0;
  for (size_t i = kStampBytes; i < value->size(); ++i) {
    if ((i - kStampBytes) % 8 == 0) bits = random.Next();
    (*value)[i] = static_cast<char>('!' + (bits & 0xFF) % 94);
    bits >>= 8;
  }
}

// The stamp: steady_clock nanoseconds when the Set was sent, and whether it
// was sent in the measurement window.
void WriteStamp(int64_t nanos, bool measured, std::string* value) {
  std::memcpy(value->data(), &nanos, sizeof nanos);
  (*value)[8] = measured ? 'm' : 'w';
}

struct Stamp {
  int64_t nanos = 0;
  bool measured = false;
};

std::optional<Stamp> ReadStamp(const std::string& value) {
  if (value.size() < kStampBytes) return std::nullopt;
  Stamp stamp;
  std::memcpy(&stamp.nanos, value.data(), sizeof stamp.nanos);
  stamp.measured = value[8] == 'm';
  return stamp;
}

std::string Micros(double nanos) {
  char buffer[32];
  const double us = nanos / 1000;
  std::snprintf(buffer, sizeof buffer, us < 10 ? "%.1f" : "%.0f", us);
  return buffer;
}

std::string Fixed(double v, int digits) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

// ---------------------------------------------------------------------------
// Clients

// One channel with a private subchannel pool, so two channels never share a
// TCP connection.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::KV::Stub> kv;
  std::unique_ptr<v1::Watch::Stub> watch;
};

// With `window_bytes` > 0, the channel announces at most that much HTTP/2
// stream window and does not grow it (no BDP probing), so a stream its
// application stops reading stalls the server once that much is buffered.
// Otherwise gRPC's defaults apply, which let a client buffer megabytes per
// stream it does not read.
std::vector<std::unique_ptr<Connection>> Connect(const std::string& address, int count,
                                                 int window_bytes = 0) {
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (window_bytes > 0) {
      args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
      args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, window_bytes);
    }
    auto c = std::make_unique<Connection>();
    c->channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    if (!c->channel->WaitForConnected(std::chrono::system_clock::now() + kCallDeadline)) {
      std::fprintf(stderr, "watch_bench: cannot connect to %s\n", address.c_str());
      std::exit(1);
    }
    c->kv = v1::KV::NewStub(c->channel);
    c->watch = v1::Watch::NewStub(c->channel);
    connections.push_back(std::move(c));
  }
  return connections;
}

grpc::Status SetKey(v1::KV::Stub* kv, const std::string& key, const std::string& value,
                    v1::SetResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  v1::SetRequest request;
  request.set_bucket(kBucket);
  request.set_key(key);
  request.set_value(value);
  return kv->Set(&context, request, response);
}

// What one writer run did.
struct WriterResult {
  uint64_t writes = 0;    // successful Sets, warm-up included
  uint64_t measured = 0;  // successful Sets sent in the measurement window
  uint64_t measured_bytes = 0;
  uint64_t errors = 0;
  std::string first_error;
  uint64_t last_revision = 0;
  LatencyHistogram latency;  // Set round trips of the measured writes
};

// Sets kPrefix<seq> one at a time until `phase` is kStop or `limit` (if not
// 0) writes succeeded. At `rate` > 0 Sets are sent that often (no faster,
// and without catching up bursts after a slow one).
void RunWriter(v1::KV::Stub* kv, size_t value_bytes, double rate, uint64_t limit,
               const std::atomic<int>& phase, WriterResult* out) {
  Random random(42);
  std::string value(value_bytes, '\0');
  const auto interval =
      rate > 0
          ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1 / rate))
          : Clock::duration::zero();
  auto next = Clock::now();
  for (uint64_t seq = 0; limit == 0 || out->writes < limit; ++seq) {
    if (rate > 0) {
      std::this_thread::sleep_until(next);
      next = std::max(next + interval, Clock::now());
    }
    const int p = phase.load(std::memory_order_acquire);
    if (p == kStop) break;
    FillValue(random, &value);
    const auto start = Clock::now();
    const bool measured = p == kMeasure;
    WriteStamp(
        std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count(),
        measured, &value);
    v1::SetResponse response;
    const grpc::Status status = SetKey(kv, kPrefix + std::to_string(seq), value, &response);
    const auto end = Clock::now();
    if (!status.ok()) {
      if (out->errors++ == 0) {
        out->first_error = std::to_string(status.error_code()) + ": " + status.error_message();
      }
      continue;
    }
    ++out->writes;
    out->last_revision = response.revision();
    if (measured) {
      ++out->measured;
      out->measured_bytes += value_bytes;
      out->latency.Record(
          std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
    }
  }
}

// Unary Get round trips of kSetupKey, one at a time, until `phase` is kStop.
struct GetResult {
  uint64_t measured = 0;
  uint64_t errors = 0;
  LatencyHistogram latency;
};

void RunGets(v1::KV::Stub* kv, const std::atomic<int>& phase, GetResult* out) {
  v1::GetRequest request;
  request.set_bucket(kBucket);
  request.set_key(kSetupKey);
  for (;;) {
    const int p = phase.load(std::memory_order_acquire);
    if (p == kStop) break;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    v1::GetResponse response;
    const auto start = Clock::now();
    const grpc::Status status = kv->Get(&context, request, &response);
    const auto end = Clock::now();
    if (p != kMeasure) continue;
    if (!status.ok() || !response.found()) {
      ++out->errors;
      continue;
    }
    ++out->measured;
    out->latency.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
  }
}

// What the watchers of one run share.
struct WatchRun {
  std::atomic<int> phase{kWarmup};
  // Set when the run is stopped early (see RssGuard).
  std::atomic<bool> aborted{false};
  ThreadHistograms latency;
  Counter created;
  Counter done;
};

// One Watch stream of kPrefix, read with gRPC's callback API. Counts what
// it receives and records write-to-delivery latency of measured events. A
// stalling watcher reads its created response and then nothing until
// Resume(). gRPC borrows the object until OnDone; destroy it only after.
class Watcher final : public grpc::ClientReadReactor<v1::WatchResponse> {
 public:
  Watcher(v1::Watch::Stub* stub, WatchRun* run, bool stall, bool record_latency)
      : run_(run), stall_(stall), record_latency_(record_latency) {
    request_.set_bucket(kBucket);
    request_.set_prefix(kPrefix);
    context_.set_deadline(std::chrono::system_clock::now() + kStreamDeadline);
    stub->async()->Watch(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    if (response_.created()) {
      run_->created.Add();
      if (stall_) return;  // until Resume()
    } else if (response_.events_size() > 0) {
      const int phase = run_->phase.load(std::memory_order_acquire);
      const int64_t now = NowNanos();
      LatencyHistogram* latency = record_latency_ ? &run_->latency.Local() : nullptr;
      for (const v1::WatchEvent& event : response_.events()) {
        if (event.revision() <= last_event_revision_) ++out_of_order_;
        last_event_revision_ = event.revision();
        ++events_;
        if (phase == kMeasure) ++events_in_window_;
        const std::optional<Stamp> stamp = ReadStamp(event.value());
        if (!stamp) {
          ++foreign_;
        } else if (latency != nullptr && stamp->measured) {
          latency->Record(now - stamp->nanos);
        }
      }
      ++responses_;
    }
    revision_.store(response_.revision(), std::memory_order_release);
    // Frees the events rather than Clear() them: a cleared message keeps its
    // elements for reuse, so 10,000 watchers would each hold on to the
    // largest response they ever got.
    response_ = v1::WatchResponse();
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    run_->done.Add();
  }

  // Reads again after a stall; call once, after the created response.
  void Resume() { StartRead(&response_); }
  void Cancel() { context_.TryCancel(); }

  // Every change up to this revision has been received.
  uint64_t revision() const { return revision_.load(std::memory_order_acquire); }
  // Read only after OnDone.
  uint64_t events() const { return events_; }
  uint64_t events_in_window() const { return events_in_window_; }
  uint64_t responses() const { return responses_; }
  uint64_t out_of_order() const { return out_of_order_; }
  uint64_t foreign() const { return foreign_; }
  const grpc::Status& status() const { return status_; }

 private:
  WatchRun* const run_;
  const bool stall_;
  const bool record_latency_;
  grpc::ClientContext context_;
  v1::WatchRequest request_;
  v1::WatchResponse response_;
  std::atomic<uint64_t> revision_{0};
  // Touched only by this stream's callbacks, which never overlap.
  uint64_t last_event_revision_ = 0;
  uint64_t events_ = 0;
  uint64_t events_in_window_ = 0;
  uint64_t responses_ = 0;
  uint64_t out_of_order_ = 0;
  uint64_t foreign_ = 0;
  grpc::Status status_;
};

// Opens and closes the watchers of one run over `connections`.
class WatcherSet {
 public:
  explicit WatcherSet(WatchRun* run) : run_(run) {}
  WatcherSet(const WatcherSet&) = delete;
  WatcherSet& operator=(const WatcherSet&) = delete;
  // Cancels what is still open and waits for it to end. Streams that do not
  // end in time may still call into their watchers and the run, so nothing
  // can be freed safely: the bench reports it and exits at once (the servers
  // die with it; their temporary directories stay behind).
  ~WatcherSet() {
    if (!Close()) {
      std::fprintf(stderr, "watch_bench: watch streams did not end within %lld s of cancel\n",
                   static_cast<long long>(kCloseTimeout.count()));
      std::fflush(stdout);
      std::_Exit(1);
    }
  }

  void Open(const std::vector<std::unique_ptr<Connection>>& connections, int first_connection,
            int count, bool stall, bool record_latency) {
    const int n = static_cast<int>(connections.size()) - first_connection;
    for (int i = 0; i < count; ++i) {
      Connection& c = *connections[first_connection + i % n];
      watchers_.push_back(std::make_unique<Watcher>(c.watch.get(), run_, stall, record_latency));
    }
  }
  // True once every watcher got its created response.
  bool AwaitCreated() {
    return run_->created.WaitFor(watchers_.size(), kOpenTimeout, run_->aborted);
  }
  // Waits until every watcher with an index in [from, to) has received
  // `revision`. False on timeout or when the run was stopped.
  bool AwaitRevision(uint64_t revision, size_t from, size_t to) {
    const auto deadline = Clock::now() + kDrainTimeout;
    for (size_t i = from; i < to; ++i) {
      while (watchers_[i]->revision() < revision) {
        if (Clock::now() > deadline || run_->aborted.load()) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    return true;
  }
  // Cancels every stream; any thread may call it once the last Open()
  // returned.
  void Cancel() {
    for (auto& w : watchers_) w->Cancel();
  }
  // Cancels every stream and waits until all ended. False on timeout.
  bool Close() {
    if (closed_) return true;
    Cancel();
    const std::atomic<bool> never{false};
    closed_ = run_->done.WaitFor(watchers_.size(), kCloseTimeout, never);
    return closed_;
  }

  size_t size() const { return watchers_.size(); }
  Watcher& operator[](size_t i) { return *watchers_[i]; }

  // Summary of what the watchers received; call after Close().
  struct Totals {
    uint64_t events = 0;
    uint64_t events_in_window = 0;
    uint64_t responses = 0;
    uint64_t out_of_order = 0;
    uint64_t foreign = 0;
    uint64_t short_count = 0;  // watchers that missed events
    uint64_t failed = 0;       // streams that ended other than CANCELLED
    std::string first_failure;
  };
  Totals Summarize(size_t from, size_t to, uint64_t expected_events) const {
    Totals t;
    for (size_t i = from; i < to; ++i) {
      const Watcher& w = *watchers_[i];
      t.events += w.events();
      t.events_in_window += w.events_in_window();
      t.responses += w.responses();
      t.out_of_order += w.out_of_order();
      t.foreign += w.foreign();
      if (w.events() != expected_events) ++t.short_count;
      if (w.status().error_code() != grpc::StatusCode::CANCELLED) {
        if (t.failed++ == 0) {
          t.first_failure =
              std::to_string(w.status().error_code()) + ": " + w.status().error_message();
        }
      }
    }
    return t;
  }

 private:
  WatchRun* const run_;
  std::vector<std::unique_ptr<Watcher>> watchers_;
  bool closed_ = false;
};

// Keeps a run from taking the machine's memory: samples the RSS of this
// process and of the server every 100 ms and, once either passes the limit,
// stops the run: the writer stops, every watcher is cancelled, and waits give
// up. Start it after the last WatcherSet::Open.
class RssGuard {
 public:
  RssGuard(pid_t server, long limit_kib, WatchRun* run, WatcherSet* watchers)
      : server_(server), limit_kib_(limit_kib), run_(run), watchers_(watchers) {
    thread_ = std::thread([this] { Loop(); });
  }
  RssGuard(const RssGuard&) = delete;
  RssGuard& operator=(const RssGuard&) = delete;
  ~RssGuard() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    stop_changed_.notify_all();
    thread_.join();
  }

  // Why the run was stopped; empty if it was not.
  std::string reason() {
    std::lock_guard lock(mu_);
    return reason_;
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      stop_changed_.wait_for(lock, std::chrono::milliseconds(100));
      if (stop_) break;
      const long self = ProcStatusKib(getpid(), "VmRSS");
      const long server = ProcStatusKib(server_, "VmRSS");
      if (self <= limit_kib_ && server <= limit_kib_) continue;
      reason_ = "STOPPED: " + std::string(self > limit_kib_ ? "bench" : "server") + " RSS " +
                std::to_string(std::max(self, server) >> 10) + " MiB > --max-rss-mib";
      run_->aborted.store(true);
      run_->phase.store(kStop, std::memory_order_release);
      run_->created.Wake();
      watchers_->Cancel();
      break;
    }
  }

  const pid_t server_;
  const long limit_kib_;
  WatchRun* const run_;
  WatcherSet* const watchers_;
  std::mutex mu_;
  std::condition_variable stop_changed_;
  bool stop_ = false;
  std::string reason_;
  std::thread thread_;
};

// A fresh wasikvd with its own data directory.
class BenchServer {
 public:
  explicit BenchServer(const Flags& flags) {
    std::vector<std::string> args = {"--log-level=warn"};
    args.insert(args.end(), flags.server_args.begin(), flags.server_args.end());
    auto started = testing::ServerProcess::Start(dir_.Join("data"), args);
    if (!started.ok()) {
      std::fprintf(stderr, "watch_bench: %s\n", started.status().ToString().c_str());
      std::exit(1);
    }
    process_ = std::move(*started);
  }
  pid_t pid() const { return process_->pid(); }
  const std::string& address() const { return process_->address(); }
  long RssKib() const { return ProcStatusKib(pid(), "VmRSS"); }
  long HwmKib() const { return ProcStatusKib(pid(), "VmHWM"); }
  // SIGTERM; the exit code, or nullopt if it did not exit in time.
  std::optional<int> Stop() { return process_->Stop(); }

 private:
  testing::TempDir dir_;
  std::unique_ptr<testing::ServerProcess> process_;
};

// Writes kSetupKey so the bucket exists before any watcher opens.
void Setup(Connection& c) {
  v1::SetResponse response;
  grpc::Status status = SetKey(c.kv.get(), kSetupKey, std::string(kStampBytes, '-'), &response);
  if (!status.ok()) {
    std::fprintf(stderr, "watch_bench: setup write failed: %s\n", status.error_message().c_str());
    std::exit(1);
  }
}

// Sleeps `seconds`, or less if `phase` turns kStop meanwhile.
void SleepUnlessStopped(double seconds, const std::atomic<int>& phase) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(seconds));
  while (phase.load(std::memory_order_acquire) != kStop) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    std::this_thread::sleep_for(std::min<Clock::duration>(deadline - now, kPoll));
  }
}

// Runs the writer for a warm-up and `seconds` of measurement, flipping
// `phase` (which an RssGuard may turn kStop early); returns the CPU use of
// the measurement window.
CpuWindow::Use TimedWrites(const Flags& flags, double rate, Connection& c, pid_t server,
                           std::atomic<int>& phase, WriterResult* writes) {
  std::thread writer([&] { RunWriter(c.kv.get(), flags.value_bytes, rate, 0, phase, writes); });
  SleepUnlessStopped(0.5, phase);
  CpuWindow window(server);
  int warmup = kWarmup;
  phase.compare_exchange_strong(warmup, kMeasure, std::memory_order_acq_rel);
  SleepUnlessStopped(flags.seconds, phase);
  phase.store(kStop, std::memory_order_release);
  CpuWindow::Use use = window.End();
  writer.join();
  return use;
}

// ---------------------------------------------------------------------------
// Scenarios

struct FloorResult {
  WriterResult writes;
  CpuWindow::Use write_cpu;
  GetResult gets;
  CpuWindow::Use get_cpu;
  long rss_before_kib = -1;
  long rss_after_kib = -1;
  long hwm_kib = -1;
};

// The writer at `rate` with no watcher; with `gets`, then the unary Get
// round trip on the same server.
FloorResult RunFloor(const Flags& flags, double rate, bool gets) {
  FloorResult r;
  BenchServer server(flags);
  auto connections = Connect(server.address(), 1);
  Setup(*connections[0]);
  r.rss_before_kib = server.RssKib();
  std::atomic<int> phase{kWarmup};
  r.write_cpu = TimedWrites(flags, rate, *connections[0], server.pid(), phase, &r.writes);
  r.rss_after_kib = server.RssKib();

  if (gets) {
    phase.store(kWarmup, std::memory_order_release);
    std::thread getter([&] { RunGets(connections[0]->kv.get(), phase, &r.gets); });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    CpuWindow window(server.pid());
    phase.store(kMeasure, std::memory_order_release);
    std::this_thread::sleep_for(std::chrono::duration<double>(flags.seconds));
    phase.store(kStop, std::memory_order_release);
    r.get_cpu = window.End();
    getter.join();
  }
  r.hwm_kib = server.HwmKib();
  connections.clear();
  server.Stop();
  return r;
}

struct FanoutResult {
  std::string stopped;  // why an RssGuard stopped the run, if it did
  double rate = 0;
  int watchers = 0;
  int cycle = 1;
  int channels = 0;
  bool opened = false;
  uint64_t opened_count = 0;
  double open_seconds = 0;
  WriterResult writes;
  CpuWindow::Use cpu;
  LatencyHistogram delivery;
  bool drained = false;
  double drain_seconds = 0;
  WatcherSet::Totals totals;
  long rss_empty_kib = -1;
  long rss_idle_kib = -1;
  long rss_delivered_kib = -1;
  long rss_closed_kib = -1;
  long hwm_kib = -1;
  bool server_stopped = false;  // the last result of a server
  std::optional<int> exit_code;
};

// Runs `cycles` rounds of open N watchers, write, drain, close on one
// server, so a later round shows whether memory freed by an earlier one is
// reused (bounded) or keeps growing.
std::vector<FanoutResult> RunFanout(const Flags& flags, double rate, int n, int cycles) {
  std::vector<FanoutResult> results;
  BenchServer server(flags);
  const int channels = std::min(flags.channels, n);
  // Connection 0 is the writer's; the watchers spread over the others.
  auto connections = Connect(server.address(), 1 + channels);
  Setup(*connections[0]);
  for (int cycle = 1; cycle <= cycles; ++cycle) {
    FanoutResult& r = results.emplace_back();
    r.watchers = n;
    r.rate = rate;
    r.cycle = cycle;
    r.channels = channels;
    r.rss_empty_kib = server.RssKib();
    WatchRun run;
    {
      WatcherSet watchers(&run);
      const auto open_start = Clock::now();
      watchers.Open(connections, 1, n, /*stall=*/false, /*record_latency=*/true);
      RssGuard guard(server.pid(), flags.max_rss_mib << 10, &run, &watchers);
      r.opened = watchers.AwaitCreated();
      r.open_seconds = std::chrono::duration<double>(Clock::now() - open_start).count();
      r.opened_count = run.created.value();
      if (!r.opened) {
        r.stopped = guard.reason();
        break;
      }
      std::this_thread::sleep_for(kSettle);
      r.rss_idle_kib = server.RssKib();

      r.cpu = TimedWrites(flags, rate, *connections[0], server.pid(), run.phase, &r.writes);
      const auto drain_start = Clock::now();
      r.drained = watchers.AwaitRevision(r.writes.last_revision, 0, watchers.size());
      r.drain_seconds = std::chrono::duration<double>(Clock::now() - drain_start).count();
      r.rss_delivered_kib = server.RssKib();
      r.stopped = guard.reason();
      watchers.Close();
      r.totals = watchers.Summarize(0, watchers.size(), r.writes.writes);
      r.delivery = run.latency.Merged();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    r.rss_closed_kib = server.RssKib();
    r.hwm_kib = server.HwmKib();
    if (!r.stopped.empty()) break;
  }
  connections.clear();
  results.back().server_stopped = true;
  results.back().exit_code = server.Stop();
  return results;
}

struct StalledResult {
  std::string stopped;  // why an RssGuard stopped the run, if it did
  int stalled = 0;
  bool live = false;
  int window_bytes = 0;
  WriterResult writes;
  double write_seconds = 0;
  CpuWindow::Use cpu;
  long rss_empty_kib = -1;
  long rss_idle_kib = -1;
  long rss_written_kib = -1;
  long rss_caught_up_kib = -1;
  long hwm_kib = -1;
  long client_rss_delta_kib = 0;  // this process, across the writes
  // The one watcher that kept reading meanwhile.
  LatencyHistogram live_latency;
  bool live_drained = false;
  bool caught_up = false;
  double catch_up_seconds = 0;
  WatcherSet::Totals totals;  // the stalled watchers
  std::optional<int> exit_code;
};

// `stalled` watchers that stop reading, and with `live` one that keeps
// reading, while the writer writes --stalled-mib MiB. The watchers' channels
// announce `window_bytes` of stream window (0: gRPC's default).
StalledResult RunStalled(const Flags& flags, int stalled, int window_bytes, bool live) {
  StalledResult r;
  r.stalled = stalled;
  r.live = live;
  r.window_bytes = window_bytes;
  BenchServer server(flags);
  auto writer = Connect(server.address(), 1);
  Setup(*writer[0]);
  r.rss_empty_kib = server.RssKib();

  WatchRun run;
  std::vector<std::unique_ptr<Connection>> connections;
  {
    WatcherSet watchers(&run);
    // Watcher 0 keeps reading, on the first channel, which stalled watchers
    // share with it.
    if (live) {
      connections = Connect(server.address(), std::min(flags.channels, stalled + 1), window_bytes);
      watchers.Open(connections, 0, 1, /*stall=*/false, /*record_latency=*/true);
      watchers.Open(connections, 0, stalled, /*stall=*/true, /*record_latency=*/false);
    }
    RssGuard guard(server.pid(), flags.max_rss_mib << 10, &run, &watchers);
    if (live) {
      if (!watchers.AwaitCreated()) {
        r.stopped = guard.reason();
        if (r.stopped.empty()) {
          r.stopped = "only " + std::to_string(run.created.value()) + " of " +
                      std::to_string(stalled + 1) + " watchers opened";
        }
        return r;
      }
      std::this_thread::sleep_for(kSettle);
    }
    r.rss_idle_kib = server.RssKib();

    const uint64_t limit = flags.stalled_mib * (1 << 20) / flags.stalled_value_bytes;
    const long client_before = ProcStatusKib(getpid(), "VmRSS");
    run.phase.store(kMeasure, std::memory_order_release);
    CpuWindow window(server.pid());
    RunWriter(writer[0]->kv.get(), flags.stalled_value_bytes, 0, limit, run.phase, &r.writes);
    r.cpu = window.End();
    run.phase.store(kStop, std::memory_order_release);
    r.write_seconds = r.cpu.seconds;
    r.rss_written_kib = server.RssKib();
    r.client_rss_delta_kib = ProcStatusKib(getpid(), "VmRSS") - client_before;

    if (live && !run.aborted.load()) {
      r.live_drained = watchers.AwaitRevision(r.writes.last_revision, 0, 1);
      const auto resume = Clock::now();
      for (size_t i = 1; i < watchers.size(); ++i) watchers[i].Resume();
      r.caught_up = watchers.AwaitRevision(r.writes.last_revision, 1, watchers.size());
      r.catch_up_seconds = std::chrono::duration<double>(Clock::now() - resume).count();
      r.rss_caught_up_kib = server.RssKib();
      watchers.Close();
      r.totals = watchers.Summarize(1, watchers.size(), r.writes.writes);
      r.live_latency = run.latency.Merged();
    }
    if (r.stopped.empty()) r.stopped = guard.reason();
  }
  r.hwm_kib = server.HwmKib();
  connections.clear();
  writer.clear();
  r.exit_code = server.Stop();
  return r;
}

// ---------------------------------------------------------------------------
// Report

// Markdown-style table with columns padded to their widths.
class Table {
 public:
  explicit Table(std::vector<std::pair<std::string, int>> columns) : columns_(std::move(columns)) {
    std::vector<std::string> names;
    std::vector<std::string> rules;
    for (const auto& [name, width] : columns_) {
      names.push_back(name);
      rules.push_back(std::string(static_cast<size_t>(width), '-'));
    }
    Print(names);
    Print(rules);
  }
  void Print(const std::vector<std::string>& cells) const {
    std::string line = "|";
    for (size_t i = 0; i < cells.size(); ++i) {
      const std::string& cell = cells[i];
      // Pad by display width; "µ" is two bytes but one column.
      size_t width = cell.size();
      for (char c : cell) width -= (static_cast<unsigned char>(c) & 0xC0) == 0x80 ? 1 : 0;
      const size_t want = i < columns_.size() ? static_cast<size_t>(columns_[i].second) : 0;
      line += " " + cell + std::string(width < want ? want - width : 0, ' ') + " |";
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

 private:
  std::vector<std::pair<std::string, int>> columns_;
};

std::string RateName(double rate) { return rate > 0 ? Fixed(rate, 0) + "/s" : "max"; }

void PrintMachine(const Flags& flags, rlim_t open_files) {
  utsname uts{};
  uname(&uts);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  sched_getaffinity(0, sizeof cpus, &cpus);
  std::printf("machine: %ld CPUs online (%d usable by this process), %s\n",
              sysconf(_SC_NPROCESSORS_ONLN), CPU_COUNT(&cpus),
              FirstLineWith("/proc/cpuinfo", "model name").c_str());
  std::printf("         %s %s %s, MemTotal %s\n", uts.sysname, uts.release, uts.machine,
              FirstLineWith("/proc/meminfo", "MemTotal").c_str());
  std::printf("load:    %s (1, 5, 15 min load average at start; other work skews the numbers)\n",
              LoadAverage().c_str());
  std::printf("build:   %s, gRPC %s; open files limit %llu\n", WASIKV_BUILD_TYPE,
              grpc::Version().c_str(), static_cast<unsigned long long>(open_files));
  std::string server_args = "--log-level=warn --sync-writes=false";
  for (const std::string& a : flags.server_args) server_args += " " + a;
  std::printf("server:  wasikvd %s, a fresh one (own data dir, 127.0.0.1:0) per run\n",
              server_args.c_str());
  std::string rates;
  for (double rate : flags.rates) rates += (rates.empty() ? "" : ", ") + RateName(rate);
  std::printf(
      "writer:  one Set outstanding (sync stub, own channel) at %s ('max': as fast as the server\n"
      "         answers), keys %s<seq>, fan-out values of %zu bytes starting with the send time\n",
      rates.c_str(), kPrefix, flags.value_bytes);
  std::printf(
      "watch:   prefix %s, callback reader API, watchers spread over up to %d channels (TCP "
      "connections); %.1f s measured after a 0.5 s warm-up\n\n",
      kPrefix, flags.channels, flags.seconds);
  std::fflush(stdout);
}

std::string Notes(const CpuWindow::Use& cpu, const WriterResult& writes) {
  std::string notes;
  if (cpu.other >= kDisturbedCpus) notes = "busy elsewhere " + Fixed(cpu.other, 2) + " CPUs";
  if (writes.errors > 0) {
    if (!notes.empty()) notes += "; ";
    notes += std::to_string(writes.errors) + " Set ERRORS (" + writes.first_error + ")";
  }
  return notes;
}

double PerSecond(uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0;
}

// Raises the soft open-files limit to the hard one (the server inherits it).
rlim_t RaiseOpenFiles() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  const auto run_start = Clock::now();
  const rlim_t open_files = RaiseOpenFiles();
  PrintMachine(flags, open_files);

  // Floors: the writer alone at every rate, and the unary Get round trip.
  std::map<double, FloorResult> floors;
  double get_p50 = 0;
  if (flags.Runs("floor") || flags.Runs("fanout")) {
    std::printf(
        "floors, no watcher open: the writer alone ('max': one Set outstanding, as fast as the\n"
        "server answers; 'R/s': paced), and a unary Get round trip (one outstanding)\n");
    Table table({{"floor", 10},
                 {"ops/s", 6},
                 {"p50 µs", 7},
                 {"p99 µs", 7},
                 {"p99.9 µs", 8},
                 {"srv CPUs", 8},
                 {"server RSS MiB before/after", 27},
                 {"notes", 5}});
    for (size_t i = 0; i < flags.rates.size(); ++i) {
      const double rate = flags.rates[i];
      FloorResult& f = floors[rate] = RunFloor(flags, rate, /*gets=*/i == 0);
      table.Print({"Set " + RateName(rate),
                   Fixed(PerSecond(f.writes.measured, f.write_cpu.seconds), 0),
                   Micros(f.writes.latency.Quantile(0.5)), Micros(f.writes.latency.Quantile(0.99)),
                   Micros(f.writes.latency.Quantile(0.999)), Fixed(f.write_cpu.server, 2),
                   Fixed(Mib(f.rss_before_kib), 1) + " / " + Fixed(Mib(f.rss_after_kib), 1),
                   Notes(f.write_cpu, f.writes)});
      if (i == 0) {
        get_p50 = f.gets.latency.Quantile(0.5);
        std::string notes = f.gets.errors > 0 ? std::to_string(f.gets.errors) + " ERRORS" : "";
        if (f.get_cpu.other >= kDisturbedCpus) {
          notes += (notes.empty() ? "" : "; ") + std::string("busy elsewhere ") +
                   Fixed(f.get_cpu.other, 2) + " CPUs";
        }
        table.Print({"Get", Fixed(PerSecond(f.gets.measured, f.get_cpu.seconds), 0),
                     Micros(get_p50), Micros(f.gets.latency.Quantile(0.99)),
                     Micros(f.gets.latency.Quantile(0.999)), Fixed(f.get_cpu.server, 2), "-",
                     notes});
      }
    }
    std::printf("\n");
  }

  std::vector<FanoutResult> fanouts;
  if (flags.Runs("fanout")) {
    std::printf(
        "fan-out: N watchers on prefix %s, the writer at each rate.\n"
        "  events/s = events received by all watchers in the window / window\n"
        "  deliver  = watcher receipt time - writer send time (steady_clock), every event\n"
        "  x floor  = Sets/s over Sets/s of the writer alone at the same rate\n"
        "  x Get    = deliver p50 over the Get round trip p50\n"
        "  drain    = time from the last Set's reply until every watcher had it\n"
        "  CPUs     = CPU seconds per second of the server and of this bench\n",
        kPrefix);
    Table table({{"rate", 5},
                 {"watchers", 8},
                 {"Sets/s", 6},
                 {"x floor", 7},
                 {"Set p50 µs", 10},
                 {"Set p99 µs", 10},
                 {"events/s", 9},
                 {"deliver p50 µs", 14},
                 {"p99 µs", 7},
                 {"p99.9 µs", 8},
                 {"x Get", 6},
                 {"drain ms", 8},
                 {"srv CPUs", 8},
                 {"cli CPUs", 8},
                 {"notes", 5}});
    const int largest = *std::max_element(flags.watchers.begin(), flags.watchers.end());
    for (double rate : flags.rates) {
      const FloorResult& floor = floors[rate];
      const double floor_writes = PerSecond(floor.writes.measured, floor.write_cpu.seconds);
      for (int n : flags.watchers) {
        for (FanoutResult& r : RunFanout(flags, rate, n, n == largest ? flags.cycles : 1)) {
          const std::string label =
              std::to_string(n) + (r.cycle > 1 ? " #" + std::to_string(r.cycle) : "");
          if (!r.opened) {
            table.Print({RateName(rate), label, "-", "-", "-", "-", "-", "-", "-", "-", "-", "-",
                         "-", "-",
                         "only " + std::to_string(r.opened_count) + " opened in " +
                             Fixed(r.open_seconds, 0) + " s" +
                             (r.stopped.empty() ? "" : "; " + r.stopped)});
            fanouts.push_back(std::move(r));
            continue;
          }
          const double writes_per_s = PerSecond(r.writes.measured, r.cpu.seconds);
          std::string notes = Notes(r.cpu, r.writes);
          auto add = [&](const std::string& note) {
            if (!notes.empty()) notes += "; ";
            notes += note;
          };
          if (!r.stopped.empty()) add(r.stopped);
          const WatcherSet::Totals& t = r.totals;
          if (t.responses > 0) {
            add(Fixed(static_cast<double>(t.events) / static_cast<double>(t.responses), 1) +
                " events/response");
          }
          if (!r.drained && r.stopped.empty()) {
            add("NOT DRAINED in " + Fixed(r.drain_seconds, 0) + " s");
          }
          if (t.short_count > 0) add(std::to_string(t.short_count) + " watchers MISSED events");
          if (t.out_of_order > 0) add(std::to_string(t.out_of_order) + " events OUT OF ORDER");
          if (t.foreign > 0) add(std::to_string(t.foreign) + " events without a stamp");
          if (t.failed > 0) {
            add(std::to_string(t.failed) + " streams FAILED (" + t.first_failure + ")");
          }
          const double expected = static_cast<double>(r.writes.measured) * n;
          if (static_cast<double>(r.delivery.count()) < expected) {
            add("latency of " + std::to_string(r.delivery.count()) + " of " + Fixed(expected, 0) +
                " events");
          }
          table.Print({RateName(rate), label, Fixed(writes_per_s, 0),
                       floor_writes > 0 ? Fixed(writes_per_s / floor_writes, 2) : "-",
                       Micros(r.writes.latency.Quantile(0.5)),
                       Micros(r.writes.latency.Quantile(0.99)),
                       Fixed(PerSecond(t.events_in_window, r.cpu.seconds), 0),
                       Micros(r.delivery.Quantile(0.5)), Micros(r.delivery.Quantile(0.99)),
                       Micros(r.delivery.Quantile(0.999)),
                       get_p50 > 0 ? Fixed(r.delivery.Quantile(0.5) / get_p50, 1) : "-",
                       Fixed(r.drain_seconds * 1000, 0), Fixed(r.cpu.server, 2),
                       Fixed(r.cpu.client, 2), notes});
          fanouts.push_back(std::move(r));
        }
      }
    }

    std::printf(
        "\nserver memory per fan-out run (VmRSS): with no watcher (after one setup write), with "
        "the\nwatchers open and idle for %.0f s, after every watcher received every event, after "
        "all\nstreams closed; VmHWM is the peak so far. '#2': the same again on the same server\n",
        std::chrono::duration<double>(kSettle).count());
    Table memory({{"rate", 5},
                  {"watchers", 8},
                  {"open s", 6},
                  {"RSS 0 MiB", 9},
                  {"RSS idle MiB", 12},
                  {"KiB/watcher", 11},
                  {"events", 10},
                  {"RSS delivered MiB", 17},
                  {"RSS closed MiB", 14},
                  {"VmHWM MiB", 9},
                  {"exit", 4}});
    for (const FanoutResult& r : fanouts) {
      const double per_watcher =
          r.rss_idle_kib >= 0 ? static_cast<double>(r.rss_idle_kib - r.rss_empty_kib) / r.watchers
                              : 0;
      memory.Print(
          {RateName(r.rate),
           std::to_string(r.watchers) + (r.cycle > 1 ? " #" + std::to_string(r.cycle) : ""),
           Fixed(r.open_seconds, 2), Fixed(Mib(r.rss_empty_kib), 1), Fixed(Mib(r.rss_idle_kib), 1),
           Fixed(per_watcher, 1), std::to_string(r.totals.events),
           Fixed(Mib(r.rss_delivered_kib), 1), Fixed(Mib(r.rss_closed_kib), 1),
           Fixed(Mib(r.hwm_kib), 1),
           !r.server_stopped ? "-"
           : r.exit_code     ? std::to_string(*r.exit_code)
                             : "none"});
    }
    std::printf("\n");
  }

  if (flags.Runs("stalled")) {
    std::printf(
        "stalled watchers: the writer writes %zu MiB in %zu-byte values as fast as it can; K "
        "watchers\nread their created response and then stop reading (one more watcher on the "
        "same channels\nkeeps reading: 'live'); then the stalled ones read again and must catch up "
        "with every event.\nwindow: the HTTP/2 stream window the watchers' channels announce: "
        "gRPC's default (grows\nwith BDP probing, so the client buffers what it does not read) "
        "or a fixed small one\n(BDP probing off, so the server meets back-pressure)\n",
        flags.stalled_mib, flags.stalled_value_bytes);
    Table table({{"stalled", 14},
                 {"window", 7},
                 {"Sets", 5},
                 {"Sets/s", 6},
                 {"MiB/s", 5},
                 {"x none", 6},
                 {"Set p99 µs", 10},
                 {"RSS idle MiB", 12},
                 {"RSS written MiB", 15},
                 {"VmHWM MiB", 9},
                 {"live p50/p99 µs", 15},
                 {"catch-up s", 10},
                 {"RSS caught up MiB", 17},
                 {"cli RSS +MiB", 12},
                 {"notes", 5}});
    double baseline = 0;
    struct StalledRun {
      int stalled;
      int window_bytes;
      bool live;
    };
    const std::vector<StalledRun> runs = {{0, 0, false},
                                          {0, 0, true},
                                          {flags.stalled, 0, true},
                                          {flags.stalled, flags.stalled_window, true}};
    for (const auto& [k, window_bytes, live] : runs) {
      StalledResult r = RunStalled(flags, k, window_bytes, live);
      const double writes_per_s = PerSecond(r.writes.measured, r.write_seconds);
      if (k == 0 && !live) baseline = writes_per_s;
      std::string notes = Notes(r.cpu, r.writes);
      auto add = [&](const std::string& note) {
        if (!notes.empty()) notes += "; ";
        notes += note;
      };
      if (!r.stopped.empty()) add(r.stopped);
      const WatcherSet::Totals& t = r.totals;
      if (live && !r.live_drained) add("live watcher NOT DRAINED");
      if (k > 0) {
        if (!r.caught_up) add("NOT CAUGHT UP in " + Fixed(r.catch_up_seconds, 0) + " s");
        if (t.short_count > 0) add(std::to_string(t.short_count) + " watchers MISSED events");
        if (t.out_of_order > 0) add(std::to_string(t.out_of_order) + " events OUT OF ORDER");
        if (t.failed > 0) {
          add(std::to_string(t.failed) + " streams FAILED (" + t.first_failure + ")");
        }
        if (t.responses > 0) {
          add("catch-up " +
              Fixed(static_cast<double>(t.events) / static_cast<double>(t.responses), 1) +
              " events/response");
        }
      }
      add("srv " + Fixed(r.cpu.server, 2) + " cli " + Fixed(r.cpu.client, 2) + " CPUs");
      if (r.exit_code != 0) add("exit " + (r.exit_code ? std::to_string(*r.exit_code) : "none"));
      std::string window = "-";
      if (live)
        window = window_bytes == 0 ? "default" : std::to_string(window_bytes >> 10) + " KiB";
      const bool baseline_row = k == 0 && !live;
      table.Print(
          {std::to_string(k) + (live ? " + live" : ""), window, std::to_string(r.writes.measured),
           Fixed(writes_per_s, 0),
           Fixed(PerSecond(r.writes.measured_bytes, r.write_seconds) / (1 << 20), 1),
           baseline_row || baseline == 0 ? "-" : Fixed(writes_per_s / baseline, 2),
           Micros(r.writes.latency.Quantile(0.99)), Fixed(Mib(r.rss_idle_kib), 1),
           Fixed(Mib(r.rss_written_kib), 1), Fixed(Mib(r.hwm_kib), 1),
           live ? Micros(r.live_latency.Quantile(0.5)) + "/" + Micros(r.live_latency.Quantile(0.99))
                : "-",
           k > 0 ? Fixed(r.catch_up_seconds, 2) : "-",
           k > 0 ? Fixed(Mib(r.rss_caught_up_kib), 1) : "-",
           Fixed(static_cast<double>(r.client_rss_delta_kib) / 1024, 1), notes});
    }
    std::printf("\n");
  }

  std::printf(
      "watch_bench: peak RSS (VmHWM) %.1f MiB; total time %.0f s; load average at the end %s\n",
      Mib(ProcStatusKib(getpid(), "VmHWM")),
      std::chrono::duration<double>(Clock::now() - run_start).count(), LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace wasikv

int main(int argc, char** argv) { return wasikv::Main(argc, argv); }
