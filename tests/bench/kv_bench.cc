// kv_bench: throughput and latency of wasikvd, next to floors measured in the
// same run on the same machine, reported as ratios.
//
// Floors:
//   - raw RocksDB in this process, opened with the options wasikvd uses
//     (server/rocksdb_options.h): Put with sync on and off, Get of existing
//     keys, with as many threads as the scenario's concurrency;
//   - an empty RPC (grpc.health.v1.Health/Check) to the same wasikvd, with the
//     same client, channels and concurrency as the scenarios.
// Scenarios against the real wasikvd (tests/server_process.h), once with
// --sync-writes=true and once with false: Set of unique keys, Get of existing
// keys, Increment of one hot key and of 1000 keys, SetMany of 100 pairs.
//
// Concurrency is the number of outstanding calls. Each is driven by the gRPC
// callback API and re-issued from its own completion callback, so the client
// needs no thread per call. For raw RocksDB it is the number of threads.
//
// Prints numbers and asserts nothing. All traffic goes to 127.0.0.1; all data
// lives in temporary directories removed at the end.
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/bench/latency_histogram.h"
#include "client/bench/process_stats.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/version.h"
#include "rocksdb/write_batch.h"
#include "server/storage/key_format.h"
#include "server/storage/rocksdb_logger.h"
#include "server/storage/rocksdb_options.h"
#include "server/storage/store.h"
#include "tests/bench/bench_flags.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "wasikv/v1/kv.grpc.pb.h"

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
using HealthCheckRequest = grpc::health::v1::HealthCheckRequest;
using HealthCheckResponse = grpc::health::v1::HealthCheckResponse;
using HealthStub = grpc::TemplatedGenericStub<HealthCheckRequest, HealthCheckResponse>;

constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";
constexpr char kBucket[] = "bench";
// Every call has a deadline, so a stuck server ends a run instead of hanging it.
constexpr auto kCallDeadline = std::chrono::seconds(10);
// In-flight calls per channel when the policy is "per16".
constexpr int kCallsPerChannel = 16;

// ---------------------------------------------------------------------------
// Flags

enum class ChannelPolicy { kAuto, kOne, kPer16 };

struct Flags {
  double seconds = 3;
  size_t value_bytes = 100;
  std::vector<int> concurrency = {1, 16, 64};
  std::vector<bool> sync = {true, false};
  ChannelPolicy channels = ChannelPolicy::kAuto;
  int preload_keys = 100000;
  // Re-measure a run up to this many times while other work on the machine
  // disturbs it, keeping the least disturbed attempt.
  int retry_disturbed = 0;
  // Scenario tags to run against wasikvd; empty runs all. Floors always run.
  std::vector<std::string> scenarios;
};

constexpr char kUsage[] = R"(kv_bench: wasikvd throughput and latency against same-run floors.

  --seconds=S          measured seconds per scenario (default 3; plus a short warm-up)
  --value-bytes=N      size of every value written (Set, SetMany, preload, RocksDB floor);
                       fresh pseudo-random printable bytes per write (default 100)
  --concurrency=LIST   outstanding calls (RocksDB: threads), e.g. 1,16,64 (default)
  --sync=both|on|off   wasikvd --sync-writes and RocksDB WriteOptions::sync (default both)
  --channels=auto|1|per16
                       gRPC channels: one for all calls, or one per 16 in-flight calls;
                       auto measures both with the empty RPC and keeps the faster (default)
  --preload-keys=N     keys written before the Get scenarios (default 100000)
  --retry-disturbed=N  re-measure a run up to N times while other processes use
                       >= 0.15 CPUs, keeping the least disturbed attempt (default 0)
  --scenarios=LIST     wasikvd scenarios to run, of get,set,inc1,inc1000,setmany
                       (default all); the floors always run
)";

[[noreturn]] void Usage(const std::string& error) {
  bench::ExitWithUsage("kv_bench", kUsage, error);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (const bench::BenchFlag& flag : bench::SplitBenchFlags(argc, argv, "kv_bench", kUsage)) {
    const std::string& name = flag.name;
    const std::string& value = flag.value;
    char* end = nullptr;
    if (name == "--seconds") {
      flags.seconds = std::strtod(value.c_str(), &end);
      if (*end != '\0' || !(flags.seconds > 0)) Usage("--seconds must be a positive number");
    } else if (name == "--value-bytes") {
      flags.value_bytes = std::strtoull(value.c_str(), &end, 10);
      if (*end != '\0' || value.empty()) Usage("--value-bytes must be a number");
    } else if (name == "--concurrency") {
      flags.concurrency.clear();
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) {
        const long n = std::strtol(item.c_str(), &end, 10);
        if (*end != '\0' || n < 1 || n > 4096) Usage("--concurrency takes numbers 1..4096");
        flags.concurrency.push_back(static_cast<int>(n));
      }
      if (flags.concurrency.empty()) Usage("--concurrency is empty");
    } else if (name == "--sync") {
      if (value == "both") {
        flags.sync = {true, false};
      } else if (value == "on") {
        flags.sync = {true};
      } else if (value == "off") {
        flags.sync = {false};
      } else {
        Usage("--sync takes both, on or off");
      }
    } else if (name == "--channels") {
      if (value == "auto") {
        flags.channels = ChannelPolicy::kAuto;
      } else if (value == "1") {
        flags.channels = ChannelPolicy::kOne;
      } else if (value == "per16") {
        flags.channels = ChannelPolicy::kPer16;
      } else {
        Usage("--channels takes auto, 1 or per16");
      }
    } else if (name == "--preload-keys") {
      flags.preload_keys = static_cast<int>(std::strtol(value.c_str(), &end, 10));
      if (*end != '\0' || flags.preload_keys < 1) Usage("--preload-keys must be positive");
    } else if (name == "--retry-disturbed") {
      flags.retry_disturbed = static_cast<int>(std::strtol(value.c_str(), &end, 10));
      if (*end != '\0' || flags.retry_disturbed < 0) Usage("--retry-disturbed must be >= 0");
    } else if (name == "--scenarios") {
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) {
        if (item != "get" && item != "set" && item != "inc1" && item != "inc1000" &&
            item != "setmany") {
          Usage("unknown scenario " + item);
        }
        flags.scenarios.push_back(item);
      }
    } else {
      Usage("unknown flag " + name);
    }
  }
  return flags;
}

// ---------------------------------------------------------------------------
// Measurement

// What one run of one scenario measured, over its measurement window.
struct Measurement {
  uint64_t ops = 0;  // successful calls completed in the window
  uint64_t errors = 0;
  std::string first_error;
  double seconds = 0;
  LatencyHistogram latency;  // successful calls only
  double client_cpu_seconds = 0;
  double server_cpu_seconds = -1;  // < 0: no server involved
  int channels = 0;                // 0: not an RPC run
  // CPUs kept busy meanwhile by everything else on the machine (other
  // processes, kernel threads), and CPUs stolen by the hypervisor.
  double other_cpus = 0;
  double steal_cpus = 0;
  int attempts = 1;

  double OpsPerSecond() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

// A run warms up, then measures, then stops. Workers read the phase after
// every call: calls completing while it is kMeasure count; kStop ends them.
enum Phase : int { kWarmup, kMeasure, kStop };

// Machine-wide CPU time from /proc/stat, in seconds.
struct SystemCpu {
  double busy = 0;  // user, nice, system, irq, softirq
  double steal = 0;
};

SystemCpu ReadSystemCpu() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  return {static_cast<double>(user + nice + system + irq + softirq) / tick,
          static_cast<double>(steal) / tick};
}

// Drives the phases of a run from the calling thread: warm up, measure for
// `seconds`, stop. Fills the window length and CPU use of `m`.
void RunWindow(std::atomic<int>& phase, double warmup, double seconds, pid_t server_pid,
               Measurement& m) {
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
  const double self0 = SelfCpuSeconds();
  const double server0 = ProcessCpuSeconds(server_pid);
  const SystemCpu system0 = ReadSystemCpu();
  const auto t0 = Clock::now();
  phase.store(kMeasure, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  phase.store(kStop, std::memory_order_release);
  const auto t1 = Clock::now();
  m.seconds = std::chrono::duration<double>(t1 - t0).count();
  m.client_cpu_seconds = SelfCpuSeconds() - self0;
  if (server_pid > 0) m.server_cpu_seconds = ProcessCpuSeconds(server_pid) - server0;
  const SystemCpu system1 = ReadSystemCpu();
  const double ours = m.client_cpu_seconds + std::max(0.0, m.server_cpu_seconds);
  m.other_cpus = std::max(0.0, system1.busy - system0.busy - ours) / m.seconds;
  m.steal_cpus = (system1.steal - system0.steal) / m.seconds;
}

// splitmix64: a fast per-worker generator for key choices.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  uint64_t Uniform(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

// Overwrites `value` with printable pseudo-random bytes. Every write gets a
// fresh value, so RocksDB compresses (and sizes files) as it would for real
// data rather than for one value repeated.
void FillValue(Random& random, std::string* value) {
  uint64_t bits = 0;
  for (size_t i = 0; i < value->size(); ++i) {
    if (i % 8 == 0) bits = random.Next();
    (*value)[i] = static_cast<char>('!' + (bits & 0xFF) % 94);
    bits >>= 8;
  }
}

std::string PreloadKey(uint64_t i) { return "k" + std::to_string(i); }

// ---------------------------------------------------------------------------
// Floor: raw RocksDB in this process

// Runs `op(thread, seq)` (true = success) on `threads` threads for one run.
template <typename Op>
Measurement RunThreads(int threads, double warmup, double seconds, Op op) {
  std::atomic<int> phase{kWarmup};
  absl::Mutex mu;
  Measurement total;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      LatencyHistogram latency;
      uint64_t ops = 0;
      uint64_t errors = 0;
      for (uint64_t seq = 0;; ++seq) {
        if (phase.load(std::memory_order_acquire) == kStop) break;
        const auto start = Clock::now();
        const bool ok = op(t, seq);
        const auto end = Clock::now();
        if (phase.load(std::memory_order_acquire) != kMeasure) continue;
        if (ok) {
          latency.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
          ++ops;
        } else {
          ++errors;
        }
      }
      absl::MutexLock lock(&mu);
      total.latency.Merge(latency);
      total.ops += ops;
      total.errors += errors;
    });
  }
  RunWindow(phase, warmup, seconds, -1, total);
  for (std::thread& w : workers) w.join();
  return total;
}

// RocksDB opened the way wasikvd's Store opens it: same DB options, same
// column families with the same options. Writes go to the data family.
class RawRocksDb {
 public:
  explicit RawRocksDb(const std::string& dir) {
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName,
         MakeDataColumnFamilyOptions(StoreOptions().block_cache_bytes)},
        {std::string(key_format::kLogColumnFamily), MakeLogColumnFamilyOptions()},
    };
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(MakeDBOptions(std::make_shared<RocksDbLogger>()), dir,
                                          families, &handles_, &db);
    if (!s.ok()) {
      std::fprintf(stderr, "kv_bench: RocksDB open failed: %s\n", s.ToString().c_str());
      std::exit(1);
    }
    db_.reset(db);
  }
  RawRocksDb(const RawRocksDb&) = delete;
  RawRocksDb& operator=(const RawRocksDb&) = delete;
  ~RawRocksDb() {
    // Stops compactions at once instead of finishing them.
    rocksdb::CancelAllBackgroundWork(db_.get(), /*wait=*/true);
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }

  void Preload(int keys, size_t value_bytes) {
    Random random(1);
    std::string value(value_bytes, '\0');
    rocksdb::WriteBatch batch;
    for (int i = 0; i < keys; ++i) {
      FillValue(random, &value);
      batch.Put(data(), PreloadKey(i), value);
      if (batch.Count() == 1000 || i + 1 == keys) {
        db_->Write(rocksdb::WriteOptions(), &batch);
        batch.Clear();
      }
    }
  }

  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* data() { return handles_[0]; }

 private:
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

// ---------------------------------------------------------------------------
// RPC client

// One connection to the server: a channel of its own (a private subchannel
// pool, so two channels never share a TCP connection) and stubs on it.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::KV::Stub> kv;
  std::unique_ptr<HealthStub> health;
};

std::vector<std::unique_ptr<Connection>> Connect(const std::string& address, int count) {
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto c = std::make_unique<Connection>();
    c->channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    if (!c->channel->WaitForConnected(std::chrono::system_clock::now() + kCallDeadline)) {
      std::fprintf(stderr, "kv_bench: cannot connect to %s\n", address.c_str());
      std::exit(1);
    }
    c->kv = v1::KV::NewStub(c->channel);
    c->health = std::make_unique<HealthStub>(c->channel);
    connections.push_back(std::move(c));
  }
  return connections;
}

// One outstanding call of a scenario: owns its request and response, which
// stay untouched while a call is in flight.
class CallSlot {
 public:
  virtual ~CallSlot() = default;
  // Starts the next call; gRPC runs `done` once when it completes.
  virtual void StartCall(grpc::ClientContext* context, std::function<void(grpc::Status)> done) = 0;
  // False if an OK reply is not what the scenario expects (a Get that found
  // nothing); such calls count as errors.
  virtual bool ReplyOk() const { return true; }
};

using SlotFactory = std::function<std::unique_ptr<CallSlot>(Connection&, int slot)>;

class HealthCheckSlot : public CallSlot {
 public:
  explicit HealthCheckSlot(HealthStub* stub) : stub_(stub) {}
  void StartCall(grpc::ClientContext* context, std::function<void(grpc::Status)> done) override {
    stub_->UnaryCall(context, kHealthCheckMethod, grpc::StubOptions(), &request_, &response_,
                     std::move(done));
  }
  bool ReplyOk() const override { return response_.status() == HealthCheckResponse::SERVING; }

 private:
  HealthStub* stub_;
  HealthCheckRequest request_;
  HealthCheckResponse response_;
};

class SetSlot : public CallSlot {
 public:
  SetSlot(v1::KV::Stub* stub, std::string key_prefix, size_t value_bytes, uint64_t seed)
      : stub_(stub), key_prefix_(std::move(key_prefix)), random_(seed) {
    request_.set_bucket(kBucket);
    request_.mutable_value()->resize(value_bytes);
  }
  void StartCall(grpc::ClientContext* context, std::function<void(grpc::Status)> done) override {
    request_.set_key(key_prefix_ + std::to_string(seq_++));
    FillValue(random_, request_.mutable_value());
    stub_->async()->Set(context, &request_, &response_, std::move(done));
  }

 private:
  v1::KV::Stub* stub_;
  std::string key_prefix_;
  uint64_t seq_ = 0;
  Random random_;
  v1::SetRequest request_;
  v1::SetResponse response_;
};

class GetSlot : public CallSlot {
 public:
  GetSlot(v1::KV::Stub* stub, int keys, uint64_t seed) : stub_(stub), keys_(keys), random_(seed) {
    request_.set_bucket(kBucket);
  }
  void StartCall(grpc::ClientContext* context, std::function<void(grpc::Status)> done) override {
    request_.set_key(PreloadKey(random_.Uniform(keys_)));
    stub_->async()->Get(context, &request_, &response_, std::move(done));
  }
  bool ReplyOk() const override { return response_.found(); }

 private:
  v1::KV::Stub* stub_;
  int keys_;
  Random random_;
  v1::GetRequest request_;
  v1::GetResponse response_;
};

class IncrementSlot : public CallSlot {
 public:
  // Increments "ctr<i>" for i uniform in [0, keys).
  IncrementSlot(v1::KV::Stub* stub, int keys, uint64_t seed)
      : stub_(stub), keys_(keys), random_(seed) {
    request_.set_bucket(kBucket);
    request_.set_delta(1);
  }
  void StartCall(grpc::ClientContext* context, std::function<void(grpc::Status)> done) override {
    request_.set_key("ctr" + std::to_string(random_.Uniform(keys_)));
    stub_->async()->Increment(context, &request_, &response_, std::move(done));
  }

 private:
  v1::KV::Stub* stub_;
  int keys_;
  Random random_;
  v1::IncrementRequest request_;
  v1::IncrementResponse response_;
};

class SetManySlot : public CallSlot {
 public:
  SetManySlot(v1::KV::Stub* stub, std::string key_prefix, size_t value_bytes, int pairs,
              uint64_t seed)
      : stub_(stub), key_prefix_(std::move(key_prefix)), random_(seed) {
    request_.set_bucket(kBucket);
    for (int i = 0; i < pairs; ++i) request_.add_entries()->mutable_value()->resize(value_bytes);
  }
  void StartCall(grpc::ClientContext* context, std::function<void(grpc::Status)> done) override {
    const std::string prefix = key_prefix_ + std::to_string(seq_++) + "/";
    for (int i = 0; i < request_.entries_size(); ++i) {
      v1::KeyValue* entry = request_.mutable_entries(i);
      entry->set_key(prefix + std::to_string(i));
      FillValue(random_, entry->mutable_value());
    }
    stub_->async()->SetMany(context, &request_, &response_, std::move(done));
  }

 private:
  v1::KV::Stub* stub_;
  std::string key_prefix_;
  uint64_t seq_ = 0;
  Random random_;
  v1::SetManyRequest request_;
  v1::SetManyResponse response_;
};

// Keeps `concurrency` calls outstanding over the first `channels` of
// `connections`, each re-issued from its completion callback, for one run.
class CallLoop {
 public:
  CallLoop(const std::vector<std::unique_ptr<Connection>>& connections, int channels,
           int concurrency, const SlotFactory& make) {
    for (int i = 0; i < concurrency; ++i) {
      auto slot = std::make_unique<Slot>();
      slot->call = make(*connections[i % channels], i);
      slots_.push_back(std::move(slot));
    }
  }
  CallLoop(const CallLoop&) = delete;
  CallLoop& operator=(const CallLoop&) = delete;

  Measurement Run(double warmup, double seconds, pid_t server_pid) {
    {
      absl::MutexLock lock(&mu_);
      outstanding_ = static_cast<int>(slots_.size());
    }
    for (auto& slot : slots_) Issue(*slot);
    Measurement total;
    RunWindow(phase_, warmup, seconds, server_pid, total);
    {
      // Every call has a deadline, so this wait ends.
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](int* outstanding) { return *outstanding == 0; }, &outstanding_));
    }
    for (auto& slot : slots_) {
      total.latency.Merge(slot->latency);
      total.ops += slot->ops;
      total.errors += slot->errors;
      if (total.first_error.empty()) total.first_error = slot->first_error;
    }
    return total;
  }

 private:
  struct Slot {
    std::unique_ptr<CallSlot> call;
    // Replaced for every call. Destroying the previous one inside its own
    // completion callback is safe: gRPC holds its own reference to the call.
    std::unique_ptr<grpc::ClientContext> context;
    Clock::time_point start;
    // Touched only by this slot's callbacks, which never overlap.
    LatencyHistogram latency;
    uint64_t ops = 0;
    uint64_t errors = 0;
    std::string first_error;
  };

  void Issue(Slot& slot) {
    slot.context = std::make_unique<grpc::ClientContext>();
    slot.context->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    slot.start = Clock::now();
    slot.call->StartCall(slot.context.get(), [this, &slot](grpc::Status status) {
      const auto end = Clock::now();
      const int phase = phase_.load(std::memory_order_acquire);
      if (phase == kMeasure) {
        if (status.ok() && slot.call->ReplyOk()) {
          slot.latency.Record(
              std::chrono::duration_cast<std::chrono::nanoseconds>(end - slot.start).count());
          ++slot.ops;
        } else {
          ++slot.errors;
          if (slot.first_error.empty()) {
            slot.first_error =
                status.ok() ? std::string("unexpected reply")
                            : std::to_string(status.error_code()) + ": " + status.error_message();
          }
        }
      }
      if (phase == kStop) {
        absl::MutexLock lock(&mu_);
        --outstanding_;
        return;
      }
      Issue(slot);
    });
  }

  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<int> phase_{kWarmup};
  absl::Mutex mu_;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
};

// ---------------------------------------------------------------------------
// Report

struct Row {
  std::string scenario;
  std::string sync;  // "on", "off" or "-"
  int concurrency = 0;
  Measurement m;
  int items_per_op = 1;                        // keys written per call (SetMany)
  const Measurement* rocksdb_floor = nullptr;  // matching raw RocksDB run
  const Measurement* rpc_floor = nullptr;      // empty RPC at this concurrency
  bool is_rpc_floor = false;                   // this row is the empty RPC
};

std::string Micros(double nanos) {
  char buffer[32];
  const double us = nanos / 1000;
  std::snprintf(buffer, sizeof buffer, us < 10 ? "%.2f" : us < 100 ? "%.1f" : "%.0f", us);
  return buffer;
}

std::string Ratio(const Measurement& m, const Measurement* floor) {
  if (floor == nullptr || floor->OpsPerSecond() == 0) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", m.OpsPerSecond() / floor->OpsPerSecond());
  return buffer;
}

std::string CpuPerOp(double cpu_seconds, uint64_t ops) {
  if (cpu_seconds < 0 || ops == 0) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", cpu_seconds * 1e6 / static_cast<double>(ops));
  return buffer;
}

const std::vector<std::pair<std::string, int>>& Columns() {
  static const std::vector<std::pair<std::string, int>> columns = {
      {"scenario", 22}, {"sync", 4},         {"conc", 4},           {"ch", 2},
      {"ops/s", 8},     {"p50 µs", 7},       {"p99 µs", 7},         {"p99.9 µs", 8},
      {"x RocksDB", 9}, {"x empty RPC", 11}, {"srv CPU µs/op", 13}, {"cli CPU µs/op", 13},
      {"notes", 5}};
  return columns;
}

void PrintCells(const std::vector<std::string>& cells) {
  std::string line = "|";
  const auto& columns = Columns();
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string cell = cells[i];
    // Pad by display width; "µ" is two bytes but one column.
    size_t width = cell.size();
    for (char c : cell) width -= (static_cast<unsigned char>(c) & 0xC0) == 0x80 ? 1 : 0;
    const size_t want = static_cast<size_t>(columns[i].second);
    line += " " + cell + std::string(width < want ? want - width : 0, ' ') + " |";
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void PrintHeader() {
  std::vector<std::string> names;
  std::vector<std::string> rules;
  for (const auto& [name, width] : Columns()) {
    names.push_back(name);
    rules.push_back(std::string(static_cast<size_t>(width), '-'));
  }
  PrintCells(names);
  PrintCells(rules);
}

// /proc/stat counts in ticks (10 ms), so less than this is noise.
constexpr double kDisturbedCpus = 0.15;

bool Disturbed(const Measurement& m) {
  return m.other_cpus >= kDisturbedCpus || m.steal_cpus >= kDisturbedCpus;
}

// Runs `once(attempt)` until it is not disturbed or `retries` re-runs are
// spent; returns the least disturbed measurement.
Measurement Measure(int retries, const std::function<Measurement(int attempt)>& once) {
  Measurement best = once(0);
  for (int attempt = 1; attempt <= retries && Disturbed(best); ++attempt) {
    Measurement next = once(attempt);
    if (next.other_cpus + next.steal_cpus < best.other_cpus + best.steal_cpus)
      std::swap(best, next);
    best.attempts = attempt + 1;
  }
  return best;
}

void PrintRow(const Row& row) {
  const Measurement& m = row.m;
  std::string notes;
  if (row.items_per_op > 1) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.0f keys/s",
                  m.OpsPerSecond() * static_cast<double>(row.items_per_op));
    notes = buffer;
  }
  if (m.latency.count() < 10000 && m.ops > 0) {
    if (!notes.empty()) notes += "; ";
    notes += std::to_string(m.latency.count()) + " calls";
  }
  if (Disturbed(m)) {
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "%sbusy elsewhere %.2f CPUs, stolen %.2f",
                  notes.empty() ? "" : "; ", m.other_cpus, m.steal_cpus);
    notes += buffer;
  }
  if (m.attempts > 1) {
    if (!notes.empty()) notes += "; ";
    notes += "least disturbed of " + std::to_string(m.attempts) + " attempts";
  }
  if (m.errors > 0) {
    if (!notes.empty()) notes += "; ";
    notes += std::to_string(m.errors) + " ERRORS (" + m.first_error + ")";
  }
  char ops[32];
  std::snprintf(ops, sizeof ops, "%.0f", m.OpsPerSecond());
  PrintCells({row.scenario, row.sync, std::to_string(row.concurrency),
              m.channels > 0 ? std::to_string(m.channels) : "-", ops,
              Micros(m.latency.Quantile(0.50)), Micros(m.latency.Quantile(0.99)),
              Micros(m.latency.Quantile(0.999)), Ratio(m, row.rocksdb_floor),
              row.is_rpc_floor ? "floor" : Ratio(m, row.rpc_floor),
              CpuPerOp(m.server_cpu_seconds, m.ops), CpuPerOp(m.client_cpu_seconds, m.ops), notes});
}

std::string FilesystemType(const std::string& path) {
  struct statfs fs {};
  if (statfs(path.c_str(), &fs) != 0) return "unknown";
  switch (static_cast<uint64_t>(fs.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x01021994:
      return "tmpfs (fsync is free: sync numbers mean nothing)";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x794C7630:
      return "overlayfs";
    default: {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "magic 0x%lx", static_cast<unsigned long>(fs.f_type));
      return buffer;
    }
  }
}

void PrintMachine(const Flags& flags, const std::string& data_root) {
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
  std::printf("data:    %s (%s)\n", data_root.c_str(), FilesystemType(data_root).c_str());
  std::printf("build:   %s, gRPC %s, RocksDB %d.%d.%d\n", WASIKV_BUILD_TYPE,
              grpc::Version().c_str(), ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH);
  std::printf(
      "run:     %.1f s measured per scenario after a %.1f s warm-up, fresh random values of %zu "
      "bytes,"
      " %d keys preloaded for Get\n",
      flags.seconds, std::min(0.5, flags.seconds / 10), flags.value_bytes, flags.preload_keys);
  std::printf(
      "client:  gRPC callback API; 'conc' calls outstanding, each re-issued from its own\n"
      "         completion callback; 'ch' channels (separate TCP connections) share them.\n"
      "         RocksDB floors: 'conc' threads calling the DB in this process.\n"
      "         Client and server share the machine's CPUs.\n");
  std::printf(
      "columns: x RocksDB = ops/s over raw RocksDB (Set: Put, same sync; Get: Get);\n"
      "         x empty RPC = ops/s over Health/Check to the same server at the same conc;\n"
      "         CPU µs/op = CPU seconds (all threads) per successful call, server and bench.\n\n");
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------
// The run

std::string SyncName(bool sync) { return sync ? "on" : "off"; }

int ChannelsFor(ChannelPolicy policy, int concurrency) {
  if (policy == ChannelPolicy::kOne) return 1;
  return (concurrency + kCallsPerChannel - 1) / kCallsPerChannel;
}

bool PreloadServer(Connection& connection, int keys, size_t value_bytes) {
  Random random(1);
  std::string value(value_bytes, '\0');
  for (int first = 0; first < keys; first += 1000) {
    v1::SetManyRequest request;
    request.set_bucket(kBucket);
    for (int i = first; i < std::min(keys, first + 1000); ++i) {
      v1::KeyValue* entry = request.add_entries();
      entry->set_key(PreloadKey(i));
      FillValue(random, &value);
      entry->set_value(value);
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    v1::SetManyResponse response;
    grpc::Status status = connection.kv->SetMany(&context, request, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "kv_bench: preload failed: %s\n", status.error_message().c_str());
      return false;
    }
  }
  return true;
}

struct ServerSummary {
  bool sync = false;
  long peak_rss_kib = -1;
  std::optional<int> exit_code;
};

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  const double warmup = std::min(0.5, flags.seconds / 10);
  const int max_concurrency = *std::max_element(flags.concurrency.begin(), flags.concurrency.end());
  const auto run_start = Clock::now();

  testing::TempDir root;
  PrintMachine(flags, root.path());
  PrintHeader();

  // The floors outlive the rows that point at them.
  std::map<std::pair<bool, int>, Measurement> rocksdb_put;  // (sync, concurrency)
  std::map<int, Measurement> rocksdb_get;
  std::vector<ServerSummary> servers;
  std::vector<std::string> channel_notes;
  ChannelPolicy policy = flags.channels;

  std::vector<Row> rows;  // everything printed, for the summary
  {
    // Reads first, on a database nothing else writes to, so no compaction
    // left behind by the write floors competes with them.
    RawRocksDb raw(root.Join("rocksdb-get"));
    raw.Preload(flags.preload_keys, flags.value_bytes);
    for (int c : flags.concurrency) {
      std::vector<Random> randoms;
      for (int t = 0; t < c; ++t) randoms.emplace_back(1000 + t);
      Measurement& m = rocksdb_get[c];
      m = Measure(flags.retry_disturbed, [&](int) {
        return RunThreads(c, warmup, flags.seconds, [&](int t, uint64_t) {
          std::string out;
          return raw.db()
              ->Get(rocksdb::ReadOptions(), raw.data(),
                    PreloadKey(randoms[t].Uniform(flags.preload_keys)), &out)
              .ok();
        });
      });
      rows.push_back({"RocksDB Get (floor)", "-", c, m});
      PrintRow(rows.back());
    }
  }
  for (bool sync : flags.sync) {
    for (int c : flags.concurrency) {
      // Each write floor starts from an empty database of its own, so it
      // does not pay for the compactions of the one before.
      Measurement& m = rocksdb_put[{sync, c}];
      m = Measure(flags.retry_disturbed, [&](int attempt) {
        const std::string dir = root.Join("rocksdb-put-" + SyncName(sync) + "-" +
                                          std::to_string(c) + "-" + std::to_string(attempt));
        Measurement once;
        {
          RawRocksDb raw(dir);
          rocksdb::WriteOptions options;
          options.sync = sync;
          std::vector<std::string> prefixes;
          std::vector<Random> randoms;
          std::vector<std::string> values(c, std::string(flags.value_bytes, '\0'));
          for (int t = 0; t < c; ++t) {
            prefixes.push_back("put/t" + std::to_string(t) + "/");
            randoms.emplace_back(2000 + t);
          }
          once = RunThreads(c, warmup, flags.seconds, [&](int t, uint64_t seq) {
            FillValue(randoms[t], &values[t]);
            return raw.db()
                ->Put(options, raw.data(), prefixes[t] + std::to_string(seq), values[t])
                .ok();
          });
        }
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
        return once;
      });
      rows.push_back({"RocksDB Put (floor)", SyncName(sync), c, m});
      PrintRow(rows.back());
    }
  }

  std::vector<std::unique_ptr<std::map<int, Measurement>>> rpc_floors;
  for (bool sync : flags.sync) {
    testing::TempDir dir;
    auto started = testing::ServerProcess::Start(
        dir.Join("data"),
        {"--sync-writes=" + std::string(sync ? "true" : "false"), "--log-level=warn"});
    if (!started.ok()) {
      std::fprintf(stderr, "kv_bench: %s\n", started.status().ToString().c_str());
      return 1;
    }
    std::unique_ptr<testing::ServerProcess> server = std::move(*started);
    const pid_t pid = server->pid();
    auto connections =
        Connect(server->address(), ChannelsFor(ChannelPolicy::kPer16, max_concurrency));
    if (!PreloadServer(*connections[0], flags.preload_keys, flags.value_bytes)) return 1;

    auto run = [&](int c, int channels, const SlotFactory& make, double seconds) {
      CallLoop loop(connections, channels, c, make);
      Measurement m = loop.Run(warmup, seconds, pid);
      m.channels = channels;
      return m;
    };
    const SlotFactory health = [](Connection& conn, int) {
      return std::make_unique<HealthCheckSlot>(conn.health.get());
    };

    if (policy == ChannelPolicy::kAuto) {
      if (ChannelsFor(ChannelPolicy::kPer16, max_concurrency) == 1) {
        policy = ChannelPolicy::kOne;
        channel_notes.push_back("channels: at most 16 calls in flight, so one channel");
      } else {
        const double seconds = std::min(1.0, flags.seconds);
        const Measurement one = run(max_concurrency, 1, health, seconds);
        const int many = ChannelsFor(ChannelPolicy::kPer16, max_concurrency);
        const Measurement several = run(max_concurrency, many, health, seconds);
        policy = several.OpsPerSecond() > one.OpsPerSecond() ? ChannelPolicy::kPer16
                                                             : ChannelPolicy::kOne;
        char buffer[256];
        std::snprintf(buffer, sizeof buffer,
                      "channels: empty RPC at conc %d: 1 channel %.0f ops/s (p99 %s µs), "
                      "%d channels %.0f ops/s (p99 %s µs); kept %s",
                      max_concurrency, one.OpsPerSecond(),
                      Micros(one.latency.Quantile(0.99)).c_str(), many, several.OpsPerSecond(),
                      Micros(several.latency.Quantile(0.99)).c_str(),
                      policy == ChannelPolicy::kOne ? "1 channel" : "one channel per 16 calls");
        channel_notes.push_back(buffer);
      }
    }

    auto& rpc_floor = *rpc_floors.emplace_back(std::make_unique<std::map<int, Measurement>>());
    const std::string s = SyncName(sync);
    for (int c : flags.concurrency) {
      Measurement& m = rpc_floor[c];
      m = Measure(flags.retry_disturbed,
                  [&](int) { return run(c, ChannelsFor(policy, c), health, flags.seconds); });
      Row row{"empty RPC (floor)", s, c, m};
      row.is_rpc_floor = true;
      rows.push_back(row);
      PrintRow(row);
    }

    // A scenario's slots get a key prefix unique to the slot and the run, so
    // Set and SetMany always write new keys.
    using ScenarioFactory =
        std::function<std::unique_ptr<CallSlot>(Connection&, int slot, const std::string& prefix)>;
    struct Scenario {
      std::string name;
      std::string tag;
      int items_per_op;
      ScenarioFactory make;
    };
    const int pairs = 100;
    // Get runs first, before writes leave flushes and compactions behind.
    const std::vector<Scenario> scenarios = {
        {"Get", "get", 1,
         [&](Connection& conn, int slot, const std::string&) -> std::unique_ptr<CallSlot> {
           return std::make_unique<GetSlot>(conn.kv.get(), flags.preload_keys, 7000 + slot);
         }},
        {"Set", "set", 1,
         [&](Connection& conn, int slot, const std::string& prefix) -> std::unique_ptr<CallSlot> {
           return std::make_unique<SetSlot>(conn.kv.get(), prefix, flags.value_bytes, 6000 + slot);
         }},
        {"Increment hot key", "inc1", 1,
         [&](Connection& conn, int slot, const std::string&) -> std::unique_ptr<CallSlot> {
           return std::make_unique<IncrementSlot>(conn.kv.get(), 1, 8000 + slot);
         }},
        {"Increment 1000 keys", "inc1000", 1,
         [&](Connection& conn, int slot, const std::string&) -> std::unique_ptr<CallSlot> {
           return std::make_unique<IncrementSlot>(conn.kv.get(), 1000, 9000 + slot);
         }},
        {"SetMany 100 pairs", "setmany", pairs,
         [&](Connection& conn, int slot, const std::string& prefix) -> std::unique_ptr<CallSlot> {
           return std::make_unique<SetManySlot>(conn.kv.get(), prefix, flags.value_bytes, pairs,
                                                5000 + slot);
         }},
    };
    for (const Scenario& scenario : scenarios) {
      if (!flags.scenarios.empty() && std::find(flags.scenarios.begin(), flags.scenarios.end(),
                                                scenario.tag) == flags.scenarios.end()) {
        continue;
      }
      for (int c : flags.concurrency) {
        Measurement m = Measure(flags.retry_disturbed, [&](int attempt) {
          const SlotFactory make = [&](Connection& conn, int slot) {
            return scenario.make(conn, slot,
                                 scenario.tag + "/c" + std::to_string(c) + "/a" +
                                     std::to_string(attempt) + "/s" + std::to_string(slot) + "/");
          };
          return run(c, ChannelsFor(policy, c), make, flags.seconds);
        });
        Row row{scenario.name, s, c, m};
        row.items_per_op = scenario.items_per_op;
        row.rpc_floor = &rpc_floor[c];
        if (scenario.tag == "set") row.rocksdb_floor = &rocksdb_put[{sync, c}];
        if (scenario.tag == "get") row.rocksdb_floor = &rocksdb_get[c];
        rows.push_back(row);
        PrintRow(row);
      }
    }

    ServerSummary summary;
    summary.sync = sync;
    summary.peak_rss_kib = ProcStatusKib(pid, "VmHWM");
    connections.clear();
    summary.exit_code = server->Stop();
    servers.push_back(summary);
  }

  std::printf("\n");
  const auto disturbed =
      std::count_if(rows.begin(), rows.end(), [](const Row& row) { return Disturbed(row.m); });
  if (disturbed > 0) {
    std::printf(
        "WARNING: %ld of %zu rows ran while other processes or the hypervisor took "
        ">= %.2f CPUs (see notes); rerun on a quiet machine\n",
        static_cast<long>(disturbed), rows.size(), kDisturbedCpus);
  }
  for (const std::string& note : channel_notes) std::printf("%s\n", note.c_str());
  for (const ServerSummary& s : servers) {
    std::printf("wasikvd --sync-writes=%s: peak RSS (VmHWM) %.1f MiB; exit code after SIGTERM %s\n",
                s.sync ? "true" : "false", static_cast<double>(s.peak_rss_kib) / 1024,
                s.exit_code ? std::to_string(*s.exit_code).c_str() : "none (timed out)");
  }
  std::printf("kv_bench: peak RSS (VmHWM) %.1f MiB, including the raw RocksDB floor\n",
              static_cast<double>(ProcStatusKib(getpid(), "VmHWM")) / 1024);
  std::printf("total time %.0f s; load average at the end %s\n",
              std::chrono::duration<double>(Clock::now() - run_start).count(),
              LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace wasikv

int main(int argc, char** argv) { return wasikv::Main(argc, argv); }
