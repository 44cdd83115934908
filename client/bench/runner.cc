#include "client/bench/runner.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <deque>
#include <memory>
#include <random>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/bench/process_stats.h"

namespace wasikv::bench {
namespace {

using Clock = std::chrono::steady_clock;

enum Phase : int { kWarmup, kMeasure, kStop };

size_t IndexOf(Op op) { return static_cast<size_t>(op); }

int64_t Nanos(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

// One call slot: its caller, its random stream and what its calls did. A
// slot's calls never overlap, so only one callback touches it at a time.
struct Slot {
  std::unique_ptr<Caller> caller;
  std::mt19937_64 random;
  std::vector<uint64_t> keys;
  Op op = Op::kGet;
  Clock::time_point due;  // when the call was due (open loop) or sent
  std::array<OpResult, kAllOps.size()> results;
  std::atomic<uint64_t> completed{0};  // read by the progress line
};

class Driver {
 public:
  Driver(Target& target, const RunOptions& options) : options_(options) {
    for (int i = 0; i < options.concurrency; ++i) {
      auto slot = std::make_unique<Slot>();
      slot->caller = target.NewCaller(i);
      slot->caller->StampValues(options.stamp_values);
      slot->random.seed(options.seed * 1000003 + static_cast<uint64_t>(i));
      for (Op op : kAllOps) slot->results[IndexOf(op)].op = op;
      slots_.push_back(std::move(slot));
    }
  }

  RunResult Run() {
    {
      absl::MutexLock lock(&mu_);
      outstanding_ = static_cast<int>(slots_.size());
    }
    const Clock::time_point begin = Clock::now();
    const Clock::time_point measure_from = begin + options_.warmup;
    const Clock::time_point measure_until = measure_from + options_.duration;
    std::thread pacer;
    if (options_.rate > 0) {
      {
        absl::MutexLock lock(&mu_);
        for (auto& slot : slots_) free_.push_back(slot.get());
      }
      pacer = std::thread([this, begin, measure_until] { Pace(begin, measure_until); });
    } else {
      for (auto& slot : slots_) Issue(*slot, Clock::now());
    }

    RunResult result;
    WaitWithProgress(begin, measure_from, "warming up");
    if (options_.on_measure) options_.on_measure();
    phase_.store(kMeasure, std::memory_order_release);
    const double client_cpu = SelfCpuSeconds();
    const double server_cpu = options_.server_pid > 0 ? ProcessCpuSeconds(options_.server_pid) : -1;
    WaitWithProgress(measure_from, measure_until, nullptr);
    phase_.store(kStop, std::memory_order_release);
    result.seconds = std::chrono::duration<double>(Clock::now() - measure_from).count();
    result.client_cpu_seconds = SelfCpuSeconds() - client_cpu;
    if (server_cpu >= 0)
      result.server_cpu_seconds = ProcessCpuSeconds(options_.server_pid) - server_cpu;
    if (options_.progress && isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");

    if (pacer.joinable()) pacer.join();
    {
      // Every call has a deadline, so this ends.
      absl::MutexLock lock(&mu_);
      result.unsent = backlog_.size();
      backlog_.clear();
      outstanding_ -= static_cast<int>(free_.size());
      free_.clear();
      mu_.Await(absl::Condition(
          +[](int* outstanding) { return *outstanding == 0; }, &outstanding_));
    }
    result.total.op = Op::kGet;
    for (Op op : options_.mix.ops()) {
      OpResult merged;
      merged.op = op;
      for (auto& slot : slots_) merged.Merge(slot->results[IndexOf(op)]);
      result.total.Merge(merged);
      result.ops.push_back(std::move(merged));
    }
    return result;
  }

 private:
  void DrawKeys(Slot& slot) {
    slot.keys.clear();
    const uint64_t count = options_.keys.count();
    const uint64_t first = options_.keys.Draw(slot.random);
    const bool batch = slot.op == Op::kGetMany || slot.op == Op::kSetMany;
    const uint64_t n = batch ? std::min<uint64_t>(options_.batch, count) : 1;
    for (uint64_t i = 0; i < n; ++i) slot.keys.push_back((first + i) % count);
  }

  void Issue(Slot& slot, Clock::time_point due) {
    slot.op = options_.mix.Draw(slot.random);
    DrawKeys(slot);
    slot.due = due;
    slot.caller->Start(slot.op, slot.keys,
                       [this, &slot](Outcome outcome) { Completed(slot, std::move(outcome)); });
  }

  void Completed(Slot& slot, Outcome outcome) {
    const Clock::time_point end = Clock::now();
    slot.completed.fetch_add(1, std::memory_order_relaxed);
    if (phase_.load(std::memory_order_acquire) == kMeasure) {
      OpResult& r = slot.results[IndexOf(slot.op)];
      switch (outcome.kind) {
        case Outcome::Kind::kOk:
          ++r.ok;
          break;
        case Outcome::Kind::kMiss:
          ++r.miss;
          break;
        case Outcome::Kind::kConflict:
          ++r.conflict;
          break;
        case Outcome::Kind::kError:
          ++r.errors;
          if (r.first_error.empty()) r.first_error = outcome.error;
          break;
      }
      if (outcome.kind != Outcome::Kind::kError) r.latency.Record(Nanos(end - slot.due));
    }
    if (options_.rate <= 0) {
      if (phase_.load(std::memory_order_acquire) != kStop) return Issue(slot, Clock::now());
      absl::MutexLock lock(&mu_);
      --outstanding_;
      return;
    }
    Clock::time_point due;
    {
      absl::MutexLock lock(&mu_);
      if (phase_.load(std::memory_order_acquire) == kStop || backlog_.empty()) {
        if (phase_.load(std::memory_order_acquire) == kStop) {
          --outstanding_;
        } else {
          free_.push_back(&slot);
        }
        return;
      }
      due = backlog_.front();
      backlog_.pop_front();
    }
    Issue(slot, due);
  }

  // Open loop: call n is due at begin + n / rate, sent by a free slot then
  // or, if none is free, by the next slot to finish.
  void Pace(Clock::time_point begin, Clock::time_point until) {
    const double period_nanos = 1e9 / options_.rate;
    for (uint64_t n = 0;; ++n) {
      const Clock::time_point due =
          begin +
          std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(n) * period_nanos));
      if (due >= until) return;
      std::this_thread::sleep_until(due);
      Slot* slot = nullptr;
      {
        absl::MutexLock lock(&mu_);
        if (free_.empty()) {
          backlog_.push_back(due);
          continue;
        }
        slot = free_.back();
        free_.pop_back();
      }
      Issue(*slot, due);
    }
  }

  uint64_t Completed() const {
    uint64_t sum = 0;
    for (const auto& slot : slots_) sum += slot->completed.load(std::memory_order_relaxed);
    return sum;
  }

  // Sleeps until `until` (a benchmark's clock, not synchronization), with a
  // progress line each second if asked.
  void WaitWithProgress(Clock::time_point from, Clock::time_point until, const char* what) {
    if (!options_.progress) {
      std::this_thread::sleep_until(until);
      return;
    }
    const bool tty = isatty(STDERR_FILENO);
    uint64_t last = Completed();
    Clock::time_point last_at = Clock::now();
    while (Clock::now() < until) {
      std::this_thread::sleep_until(std::min(until, last_at + std::chrono::seconds(1)));
      const uint64_t now_completed = Completed();
      const Clock::time_point now = Clock::now();
      const double rate = static_cast<double>(now_completed - last) /
                          std::max(1e-9, std::chrono::duration<double>(now - last_at).count());
      std::fprintf(stderr, "%swasikv-bench: %s%5.1f s  %10.0f calls/s%s", tty ? "\r\033[K" : "",
                   what ? what : "", std::chrono::duration<double>(now - from).count(), rate,
                   tty ? "" : "\n");
      std::fflush(stderr);
      last = now_completed;
      last_at = now;
    }
  }

  const RunOptions options_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<int> phase_{kWarmup};
  absl::Mutex mu_;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Slot*> free_ ABSL_GUARDED_BY(mu_);
  std::deque<Clock::time_point> backlog_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void OpResult::Merge(const OpResult& other) {
  latency.Merge(other.latency);
  ok += other.ok;
  miss += other.miss;
  conflict += other.conflict;
  errors += other.errors;
  if (first_error.empty()) first_error = other.first_error;
}

RunResult Run(Target& target, const RunOptions& options) {
  Driver driver(target, options);
  return driver.Run();
}

absl::Status Preload(Target& target, uint64_t count, uint32_t batch, int concurrency) {
  std::vector<std::unique_ptr<Caller>> callers;
  for (int i = 0; i < concurrency; ++i) callers.push_back(target.NewCaller(i));
  absl::Mutex mu;
  uint64_t next = 0;
  int running = 0;
  std::string error;
  // Each caller takes the next range when its previous one is written.
  std::function<void(Caller*)> start_next = [&](Caller* caller) {
    std::vector<uint64_t> keys;
    {
      absl::MutexLock lock(&mu);
      if (next >= count || !error.empty()) {
        --running;
        return;
      }
      for (uint64_t k = next; k < std::min<uint64_t>(count, next + batch); ++k) keys.push_back(k);
      next += keys.size();
    }
    caller->Start(Op::kSetMany, keys, [&, caller](Outcome outcome) {
      if (outcome.kind == Outcome::Kind::kError) {
        absl::MutexLock lock(&mu);
        if (error.empty()) error = outcome.error;
      }
      start_next(caller);
    });
  };
  {
    absl::MutexLock lock(&mu);
    running = concurrency;
  }
  for (auto& caller : callers) start_next(caller.get());
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](int* left) { return *left == 0; }, &running));
  if (!error.empty()) return absl::UnavailableError("preloading keys: " + error);
  return absl::OkStatus();
}

}  // namespace wasikv::bench
