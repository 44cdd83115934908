// kill -9 under load, end to end: the real wasikvd with synced writes, eight
// concurrent writers (Set, CompareAndSwap, Increment, SetMany and DeleteMany,
// two of each) and a Watch, killed with SIGKILL at a random moment and
// restarted on the same data directory, cycle after cycle. After every
// restart:
//   - every acknowledged write is there with its acknowledged version;
//   - a write whose call failed as the server died is "in doubt": either
//     outcome is allowed, nothing else;
//   - a counter is at least the sum of its acknowledged increments and at
//     most that plus its in-doubt ones;
//   - a SetMany or DeleteMany batch is all there or not at all, at one
//     version;
//   - the revision is at least the last acknowledged one (never backwards),
//     and every later write gets a higher one;
//   - the Watch, resumed at its last delivered revision + 1, delivers every
//     revision after it exactly once (no gap: every commit is a change of the
//     watched bucket), each acknowledged write's events at its revision, and
//     the state its events add up to is the state the server serves.
//
// WASIKV_CRASH_CYCLES sets the number of kills (default 8, well under a
// minute; tests/crash/run_long.sh runs hundreds), WASIKV_CRASH_SEED the seed
// of the kill moments (printed, so a failure reproduces). Waiting a random
// time before the kill is the point; everything else waits on the calls, the
// ready fd or the Watch.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "wasikv/client.h"

namespace wasikv {
namespace {

using testing::ServerProcess;
using testing::TempDir;

constexpr char kBucket[] = "crash";
constexpr int kDefaultCycles = 8;
// How long the writers run before the kill: uniform in this range.
constexpr int kMinRunMillis = 20;
constexpr int kMaxRunMillis = 1500;
// Bounds every wait for something that must happen (a Watch catching up).
constexpr auto kWait = std::chrono::seconds(30);

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : fallback;
}

// A change as the Watch shows it: (type, key, value).
using Change = std::tuple<int, std::string, std::string>;
using Changes = std::vector<Change>;  // sorted

Change SetChange(const std::string& key, const std::string& value) {
  return {static_cast<int>(WatchEvent::Type::kSet), key, value};
}
Change DeleteChange(const std::string& key) {
  return {static_cast<int>(WatchEvent::Type::kDelete), key, ""};
}

std::string Describe(const std::optional<VersionedValue>& v) {
  if (!v) return "absent";
  return "'" + v->value.substr(0, 40) + "' @" + std::to_string(v->version);
}

bool Same(const std::optional<VersionedValue>& a, const std::optional<VersionedValue>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->value == b->value && a->version == b->version);
}

using State = std::map<std::string, std::optional<VersionedValue>>;

// Counts over the whole run.
struct Totals {
  uint64_t acknowledged = 0;
  uint64_t in_doubt = 0;
  uint64_t in_doubt_applied = 0;
};

// One writer thread's keys and what it knows of them. The keys are its own,
// so what it was told is the truth about them, except for the one call per
// cycle that failed as the server died.
class Writer {
 public:
  struct Acknowledged {
    uint64_t revision = 0;
    Changes changes;
  };

  explicit Writer(std::string name) : name_(std::move(name)) {}
  virtual ~Writer() = default;

  const std::string& name() const { return name_; }
  virtual std::vector<std::string> Keys() const = 0;

  // Calls until a call fails; a failure before `killed` is a bug. Every
  // acknowledged revision must be above `floor` and above the last.
  void Run(Client& client, const std::atomic<bool>& killed, uint64_t floor) {
    last_revision_ = floor;
    for (;;) {
      // Numbered across cycles, so no value is ever written twice.
      absl::Status status = Step(client, next_seq_++);
      if (status.ok()) continue;
      if (!killed.load()) ADD_FAILURE() << name_ << ": a call failed before the kill: " << status;
      ++totals_.in_doubt;
      return;
    }
  }

  // Checks the state the restarted server serves (`actual` has every key of
  // Keys()), then takes it as the truth: the in-doubt call is resolved.
  virtual void Verify(const State& actual) = 0;

  std::vector<Acknowledged> TakeAcknowledged() { return std::exchange(acknowledged_, {}); }
  uint64_t max_revision() const { return max_revision_; }
  const Totals& totals() const { return totals_; }

 protected:
  // One call. A failed call leaves its write in doubt and returns its status.
  virtual absl::Status Step(Client& client, uint64_t seq) = 0;

  void Acknowledge(uint64_t revision, Changes changes) {
    EXPECT_GT(revision, last_revision_) << name_ << ": a revision did not go forward";
    last_revision_ = revision;
    max_revision_ = std::max(max_revision_, revision);
    std::sort(changes.begin(), changes.end());
    acknowledged_.push_back({revision, std::move(changes)});
    ++totals_.acknowledged;
  }
  void InDoubtApplied() { ++totals_.in_doubt_applied; }

  std::string Value(uint64_t seq, size_t padding) const {
    return name_ + "-" + std::to_string(seq) + "-" + std::string(padding, 'p');
  }

 private:
  const std::string name_;
  uint64_t next_seq_ = 0;
  uint64_t last_revision_ = 0;
  uint64_t max_revision_ = 0;
  std::vector<Acknowledged> acknowledged_;
  Totals totals_;
};

// Set over a few keys of its own.
class SetWriter final : public Writer {
 public:
  using Writer::Writer;
  static constexpr int kKeys = 8;

  std::vector<std::string> Keys() const override {
    std::vector<std::string> keys;
    for (int j = 0; j < kKeys; ++j) keys.push_back(Key(j));
    return keys;
  }

  void Verify(const State& actual) override {
    for (int j = 0; j < kKeys; ++j) {
      const std::optional<VersionedValue>& got = actual.at(Key(j));
      const bool applied = in_doubt_[j] && got && got->value == *in_doubt_[j] &&
                           got->version > (known_[j] ? known_[j]->version : 0);
      EXPECT_TRUE(Same(got, known_[j]) || applied)
          << Key(j) << " is " << Describe(got) << ", acknowledged " << Describe(known_[j])
          << (in_doubt_[j] ? ", in doubt '" + in_doubt_[j]->substr(0, 40) + "'" : "");
      if (applied) InDoubtApplied();
      known_[j] = got;
      in_doubt_[j].reset();
    }
  }

 protected:
  absl::Status Step(Client& client, uint64_t seq) override {
    const int j = static_cast<int>(seq % kKeys);
    const std::string value = Value(seq, 100);
    auto set = client.Set(kBucket, Key(j), value);
    if (!set.ok()) {
      in_doubt_[j] = value;
      return set.status();
    }
    known_[j] = VersionedValue{value, set->revision};
    Acknowledge(set->revision, {SetChange(Key(j), value)});
    return absl::OkStatus();
  }

 private:
  std::string Key(int j) const { return name() + "/" + std::to_string(j); }

  std::optional<VersionedValue> known_[kKeys];
  std::optional<std::string> in_doubt_[kKeys];
};

// CompareAndSwap on the version it last saw: on its own key, every swap must
// succeed.
class CasWriter final : public Writer {
 public:
  using Writer::Writer;

  std::vector<std::string> Keys() const override { return {name()}; }

  void Verify(const State& actual) override {
    const std::optional<VersionedValue>& got = actual.at(name());
    const bool applied = in_doubt_ && got && got->value == *in_doubt_ &&
                         got->version > (known_ ? known_->version : 0);
    EXPECT_TRUE(Same(got, known_) || applied)
        << name() << " is " << Describe(got) << ", acknowledged " << Describe(known_);
    if (applied) InDoubtApplied();
    known_ = got;
    in_doubt_.reset();
  }

 protected:
  absl::Status Step(Client& client, uint64_t seq) override {
    const std::string value = Value(seq, 60);
    const CasExpectation expected =
        known_ ? CasExpectation::Version(known_->version) : CasExpectation::Absent();
    auto cas = client.CompareAndSwap(kBucket, name(), expected, value);
    if (!cas.ok()) {
      in_doubt_ = value;
      return cas.status();
    }
    if (!cas->swapped) {
      ADD_FAILURE() << name() << ": no swap on its own key, expected " << Describe(known_)
                    << ", current " << Describe(cas->current);
      return absl::InternalError("compare-and-swap did not swap");
    }
    known_ = VersionedValue{value, cas->revision};
    Acknowledge(cas->revision, {SetChange(name(), value)});
    return absl::OkStatus();
  }

 private:
  std::optional<VersionedValue> known_;
  std::optional<std::string> in_doubt_;
};

// Increment of its own counter by 1..5.
class CounterWriter final : public Writer {
 public:
  using Writer::Writer;

  std::vector<std::string> Keys() const override { return {name()}; }

  void Verify(const State& actual) override {
    const std::optional<VersionedValue>& got = actual.at(name());
    const int64_t value = got ? std::stoll(got->value) : 0;
    EXPECT_GE(value, known_value_) << name() << ": an acknowledged increment is lost";
    EXPECT_LE(value, known_value_ + in_doubt_delta_)
        << name() << ": more than the acknowledged and in-doubt increments";
    if (value == known_value_) {
      EXPECT_EQ(got ? got->version : 0, known_version_) << name();
    } else {
      InDoubtApplied();
    }
    known_value_ = value;
    known_version_ = got ? got->version : 0;
    in_doubt_delta_ = 0;
  }

 protected:
  absl::Status Step(Client& client, uint64_t seq) override {
    const int64_t delta = 1 + static_cast<int64_t>(seq % 5);
    auto incremented = client.Increment(kBucket, name(), delta);
    if (!incremented.ok()) {
      in_doubt_delta_ += delta;
      return incremented.status();
    }
    EXPECT_EQ(incremented->value, known_value_ + delta) << name();
    known_value_ = incremented->value;
    known_version_ = incremented->revision;
    Acknowledge(incremented->revision, {SetChange(name(), std::to_string(incremented->value))});
    return absl::OkStatus();
  }

 private:
  int64_t known_value_ = 0;
  uint64_t known_version_ = 0;
  int64_t in_doubt_delta_ = 0;
};

// SetMany of its keys, then DeleteMany of them, and again: the keys are
// always all there at one version, or all absent.
class BatchWriter final : public Writer {
 public:
  using Writer::Writer;
  static constexpr int kKeys = 8;

  std::vector<std::string> Keys() const override {
    std::vector<std::string> keys;
    for (int j = 0; j < kKeys; ++j) keys.push_back(Key(j));
    return keys;
  }

  void Verify(const State& actual) override {
    const std::optional<VersionedValue>& got = actual.at(Key(0));
    for (int j = 1; j < kKeys; ++j) {
      EXPECT_TRUE(Same(actual.at(Key(j)), got))
          << name() << ": a torn batch, " << Key(0) << " is " << Describe(got) << " but " << Key(j)
          << " is " << Describe(actual.at(Key(j)));
    }
    bool applied = false;
    if (in_doubt_) {
      if (*in_doubt_) {  // a SetMany
        applied = got && got->value == **in_doubt_ && got->version > (known_ ? known_->version : 0);
      } else {  // a DeleteMany
        applied = !got;
      }
    }
    EXPECT_TRUE(Same(got, known_) || applied)
        << name() << " is " << Describe(got) << ", acknowledged " << Describe(known_);
    if (applied) InDoubtApplied();
    known_ = got;
    in_doubt_.reset();
  }

 protected:
  absl::Status Step(Client& client, uint64_t seq) override {
    if (known_) {
      std::vector<std::string> keys = Keys();
      auto deleted = client.DeleteMany(kBucket, keys);
      if (!deleted.ok()) {
        in_doubt_.emplace(std::nullopt);
        return deleted.status();
      }
      EXPECT_EQ(deleted->deleted, static_cast<uint64_t>(kKeys)) << name();
      Changes changes;
      for (const std::string& key : keys) changes.push_back(DeleteChange(key));
      known_.reset();
      Acknowledge(deleted->revision, std::move(changes));
      return absl::OkStatus();
    }
    const std::string value = Value(seq, 200);
    std::vector<KeyValue> entries;
    Changes changes;
    for (const std::string& key : Keys()) {
      entries.push_back({key, value});
      changes.push_back(SetChange(key, value));
    }
    auto revision = client.SetMany(kBucket, entries);
    if (!revision.ok()) {
      in_doubt_.emplace(value);
      return revision.status();
    }
    known_ = VersionedValue{value, *revision};
    Acknowledge(*revision, std::move(changes));
    return absl::OkStatus();
  }

 private:
  std::string Key(int j) const { return name() + "/" + std::to_string(j); }

  std::optional<VersionedValue> known_;  // every key's state
  // The batch in doubt: a SetMany's value, or nullopt for a DeleteMany.
  std::optional<std::optional<std::string>> in_doubt_;
};

// What the Watch delivered, by revision, since the last check.
class WatchLog {
 public:
  // Takes the batches of `subscription` until `stop` or, with `until`, until
  // it has delivered that revision (false if kWait passed first).
  bool Pull(WatchSubscription& subscription, const std::atomic<bool>& stop,
            std::optional<uint64_t> until) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!stop.load()) {
      if (until && delivered() >= *until) return true;
      if (until && std::chrono::steady_clock::now() > deadline) return false;
      auto next = subscription.Next(std::chrono::milliseconds(50));
      if (!next.ok()) {
        // The server died under it: the next server resumes it.
        return false;
      }
      if (*next) Add(**next);
    }
    return true;
  }

  uint64_t delivered() const {
    std::lock_guard lock(mu_);
    return delivered_;
  }
  void set_delivered(uint64_t revision) {
    std::lock_guard lock(mu_);
    delivered_ = revision;
  }
  std::map<uint64_t, Changes> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(changes_, {});
  }

 private:
  void Add(const WatchBatch& batch) {
    std::lock_guard lock(mu_);
    std::vector<uint64_t> revisions;
    for (const WatchEvent& event : batch.events) {
      EXPECT_GT(event.revision, delivered_)
          << "revision " << event.revision << " delivered again (or out of order)";
      EXPECT_LE(event.revision, batch.revision);
      const bool set = event.type == WatchEvent::Type::kSet;
      changes_[event.revision].push_back(
          {static_cast<int>(event.type), event.key, set ? event.value : ""});
      revisions.push_back(event.revision);
    }
    for (uint64_t revision : revisions) {
      Changes& changes = changes_[revision];
      std::sort(changes.begin(), changes.end());
    }
    delivered_ = std::max(delivered_, batch.revision);
  }

  mutable std::mutex mu_;
  uint64_t delivered_ = 0;
  std::map<uint64_t, Changes> changes_;
};

class Kill9Test : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = EnvNumber("WASIKV_CRASH_SEED", std::random_device()());
    cycles_ = static_cast<int>(EnvNumber("WASIKV_CRASH_CYCLES", kDefaultCycles));
    std::printf("kill9_test: WASIKV_CRASH_SEED=%llu WASIKV_CRASH_CYCLES=%d\n",
                static_cast<unsigned long long>(seed_), cycles_);
    std::fflush(stdout);
    RecordProperty("seed", std::to_string(seed_));
    random_.seed(seed_);
    for (int i = 0; i < 2; ++i) {
      const std::string n = std::to_string(i);
      writers_.push_back(std::make_unique<SetWriter>("set" + n));
      writers_.push_back(std::make_unique<CasWriter>("cas" + n));
      writers_.push_back(std::make_unique<CounterWriter>("counter" + n));
      writers_.push_back(std::make_unique<BatchWriter>("batch" + n));
    }
  }
  void TearDown() override { testing::KillOnCrash(0); }

  void Start() {
    const auto begin = std::chrono::steady_clock::now();
    auto server = ServerProcess::Start(dir_.Join("data"), {"--sync-writes=true"});
    ASSERT_TRUE(server.ok()) << server.status();
    restart_millis_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - begin)
                          .count();
    server_ = std::move(*server);
    testing::KillOnCrash(server_->pid());
    ClientOptions options;
    options.endpoint = server_->address();
    // One attempt per call: a failure is the call's own outcome.
    options.retry.max_attempts = 1;
    options.default_deadline = std::chrono::seconds(10);
    auto client = Client::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  // A Watch of the bucket from the last delivered revision + 1.
  void ResumeWatch() {
    WatchOptions options;
    options.bucket = kBucket;
    options.start_revision = watch_.delivered() + 1;
    auto subscription = client_->Watch(options);
    ASSERT_TRUE(subscription.ok()) << subscription.status();
    subscription_ = std::move(*subscription);
  }

  // The checks of the header comment, against the server just restarted.
  void VerifyRestarted() {
    std::vector<std::string> keys;
    for (const auto& writer : writers_) {
      for (std::string& key : writer->Keys()) keys.push_back(std::move(key));
    }
    auto read = client_->GetMany(kBucket, keys);
    ASSERT_TRUE(read.ok()) << read.status();
    const uint64_t revision = read->revision;
    uint64_t acknowledged = 0;
    for (const auto& writer : writers_)
      acknowledged = std::max(acknowledged, writer->max_revision());
    ASSERT_GE(revision, acknowledged) << "the revision went backwards over the restart";
    revision_ = revision;

    // The Watch catches up to exactly this revision (nothing writes now).
    ASSERT_NO_FATAL_FAILURE(ResumeWatch());
    const std::atomic<bool> never{false};
    ASSERT_TRUE(watch_.Pull(*subscription_, never, revision))
        << "the resumed Watch did not reach revision " << revision << " (at " << watch_.delivered()
        << ")";
    std::map<uint64_t, Changes> delivered = watch_.Take();
    for (uint64_t r = verified_through_ + 1; r <= revision; ++r) {
      auto it = delivered.find(r);
      ASSERT_TRUE(it != delivered.end()) << "the Watch has a gap: no revision " << r;
      for (const Change& change : it->second) {
        const auto& [type, key, value] = change;
        if (type == static_cast<int>(WatchEvent::Type::kSet)) {
          watch_state_[key] = VersionedValue{value, r};
        } else {
          watch_state_[key].reset();
        }
      }
    }
    if (!delivered.empty()) {
      EXPECT_EQ(delivered.rbegin()->first, revision) << "the Watch delivered past the revision";
    }
    for (const auto& writer : writers_) {
      for (const Writer::Acknowledged& write : writer->TakeAcknowledged()) {
        auto it = delivered.find(write.revision);
        ASSERT_TRUE(it != delivered.end()) << writer->name() << ": acknowledged revision "
                                           << write.revision << " is not in the Watch";
        EXPECT_EQ(it->second, write.changes)
            << writer->name() << ": the Watch shows other changes at revision " << write.revision;
      }
    }
    verified_through_ = revision;

    State actual;
    for (size_t i = 0; i < keys.size(); ++i) {
      actual[keys[i]] = read->entries[i].value;
      EXPECT_TRUE(Same(actual[keys[i]], watch_state_[keys[i]]))
          << keys[i] << " is " << Describe(actual[keys[i]]) << " but the Watch adds up to "
          << Describe(watch_state_[keys[i]]);
    }
    for (const auto& writer : writers_) writer->Verify(actual);
  }

  // Writers and the Watch run until a random moment, then kill -9.
  void RunAndKill(int cycle) {
    std::atomic<bool> killed{false};
    std::vector<std::thread> threads;
    for (const auto& writer : writers_) {
      threads.emplace_back([&, w = writer.get()] { w->Run(*client_, killed, revision_); });
    }
    std::thread watcher([&] { watch_.Pull(*subscription_, killed, std::nullopt); });
    const int run_millis =
        std::uniform_int_distribution<int>(kMinRunMillis, kMaxRunMillis)(random_);
    std::this_thread::sleep_for(std::chrono::milliseconds(run_millis));
    killed.store(true);
    EXPECT_EQ(server_->StopWith(SIGKILL), 128 + SIGKILL);
    for (std::thread& t : threads) t.join();
    watcher.join();
    subscription_.reset();
    client_.reset();
    server_.reset();

    Totals cycle_totals;
    for (const auto& writer : writers_) {
      cycle_totals.acknowledged += writer->totals().acknowledged;
      cycle_totals.in_doubt += writer->totals().in_doubt;
    }
    std::printf(
        "cycle %d: killed after %d ms, %llu writes acknowledged (%llu in all), %llu in doubt\n",
        cycle, run_millis,
        static_cast<unsigned long long>(cycle_totals.acknowledged - acknowledged_before_),
        static_cast<unsigned long long>(cycle_totals.acknowledged),
        static_cast<unsigned long long>(cycle_totals.in_doubt - in_doubt_before_));
    std::fflush(stdout);
    acknowledged_before_ = cycle_totals.acknowledged;
    in_doubt_before_ = cycle_totals.in_doubt;
  }

  TempDir dir_;
  uint64_t seed_ = 0;
  int cycles_ = 0;
  std::mt19937_64 random_;
  std::vector<std::unique_ptr<Writer>> writers_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<WatchSubscription> subscription_;
  WatchLog watch_;
  State watch_state_;
  uint64_t verified_through_ = 0;  // the Watch was checked up to here
  uint64_t revision_ = 0;          // the server's revision when the writers start
  long long restart_millis_ = 0;
  uint64_t acknowledged_before_ = 0;
  uint64_t in_doubt_before_ = 0;
};

TEST_F(Kill9Test, EveryAcknowledgedWriteSurvivesKillNineUnderConcurrentWriters) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto created = client_->CreateBucket(kBucket);
  ASSERT_TRUE(created.ok()) << created.status();
  // The bucket's creation is no Watch event; every revision after it is.
  watch_.set_delivered(*created);
  verified_through_ = *created;
  revision_ = *created;
  ASSERT_NO_FATAL_FAILURE(ResumeWatch());

  const auto begin = std::chrono::steady_clock::now();
  for (int cycle = 1; cycle <= cycles_; ++cycle) {
    ASSERT_NO_FATAL_FAILURE(RunAndKill(cycle));
    ASSERT_NO_FATAL_FAILURE(Start());
    ASSERT_NO_FATAL_FAILURE(VerifyRestarted());
    if (HasFailure()) {
      std::printf("failed after cycle %d; rerun with WASIKV_CRASH_SEED=%llu\n", cycle,
                  static_cast<unsigned long long>(seed_));
      return;
    }
    std::printf("  restarted in %lld ms at revision %llu, verified\n", restart_millis_,
                static_cast<unsigned long long>(revision_));
  }
  Totals totals;
  for (const auto& writer : writers_) {
    totals.acknowledged += writer->totals().acknowledged;
    totals.in_doubt += writer->totals().in_doubt;
    totals.in_doubt_applied += writer->totals().in_doubt_applied;
  }
  std::printf(
      "%d kills in %lld ms: %llu writes acknowledged, all there; %llu in doubt, %llu of them "
      "applied\n",
      cycles_,
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - begin)
                                 .count()),
      static_cast<unsigned long long>(totals.acknowledged),
      static_cast<unsigned long long>(totals.in_doubt),
      static_cast<unsigned long long>(totals.in_doubt_applied));
  EXPECT_GT(totals.acknowledged, 0u);
  // A clean stop after it all.
  subscription_.reset();
  client_.reset();
  EXPECT_EQ(server_->Stop(), 0);
}

}  // namespace
}  // namespace wasikv
