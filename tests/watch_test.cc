// Watch integration tests: the real wasikvd, real streams over loopback, real
// RocksDB in a per-test directory. Each test checks one promise of
// proto/wasikv/v1/watch.proto against what a client can observe.
//
// No test sleeps to synchronise: the `created` response says a watch is
// established, and every wait is a stream Read bounded by the call deadline.
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "wasikv/v1/kv.grpc.pb.h"
#include "wasikv/v1/watch.grpc.pb.h"

namespace wasikv {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;
using ::testing::HasSubstr;
using testing::ServerProcess;
using testing::TempDir;

constexpr auto kCallTimeout = std::chrono::seconds(20);
// Bounds a whole stream: every Read on it returns by then.
constexpr auto kStreamTimeout = std::chrono::seconds(60);

std::chrono::system_clock::time_point DeadlineIn(std::chrono::milliseconds timeout) {
  return std::chrono::system_clock::now() + timeout;
}

// One event as the tests compare them: revision, type, key, value.
using Change = std::tuple<uint64_t, int, std::string, std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

Change ChangeOf(const v1::WatchEvent& event) {
  return {event.revision(), static_cast<int>(event.type()), event.key(), event.value()};
}
Change SetChange(uint64_t revision, std::string key, std::string value) {
  return {revision, v1::WatchEvent::SET, std::move(key), std::move(value)};
}
Change DeleteChange(uint64_t revision, std::string key) {
  return {revision, v1::WatchEvent::DELETE, std::move(key), ""};
}

// Whether `response` holds a SET of `key` to `value`.
bool Sets(const v1::WatchResponse& response, const std::string& key, const std::string& value) {
  return std::any_of(response.events().begin(), response.events().end(), [&](const auto& event) {
    return event.type() == v1::WatchEvent::SET && event.key() == key && event.value() == value;
  });
}

v1::WatchRequest BucketWatch(const std::string& bucket, uint64_t start_revision = 0) {
  v1::WatchRequest request;
  request.set_bucket(bucket);
  request.set_start_revision(start_revision);
  return request;
}
v1::WatchRequest PrefixWatch(const std::string& bucket, const std::string& prefix) {
  v1::WatchRequest request = BucketWatch(bucket);
  request.set_prefix(prefix);
  return request;
}
v1::WatchRequest KeyWatch(const std::string& bucket, const std::string& key) {
  v1::WatchRequest request = BucketWatch(bucket);
  request.set_key(key);
  return request;
}

// The ordering promises of one stream, from what its client received: the
// created response first; then event revisions never fall within a response
// and rise strictly from one response to the next (equal revisions, one
// batch, only inside one response); a response's revision covers its events;
// response revisions never fall.
AssertionResult IsOrdered(const std::vector<v1::WatchResponse>& responses) {
  if (responses.empty() || !responses.front().created()) {
    return AssertionFailure() << "the first response is not the created one";
  }
  uint64_t covered = responses.front().revision();  // every revision <= this was delivered
  for (size_t i = 1; i < responses.size(); ++i) {
    const v1::WatchResponse& response = responses[i];
    if (response.created()) return AssertionFailure() << "response " << i << " is created again";
    if (response.revision() < covered) {
      return AssertionFailure() << "response " << i << " revision " << response.revision()
                                << " is below the previous " << covered;
    }
    if (response.progress() && response.events_size() > 0) {
      return AssertionFailure() << "progress response " << i << " carries events";
    }
    uint64_t previous = covered;
    for (int e = 0; e < response.events_size(); ++e) {
      const uint64_t revision = response.events(e).revision();
      const bool first = e == 0;
      if (first ? revision <= previous : revision < previous) {
        return AssertionFailure() << "response " << i << " event " << e << " has revision "
                                  << revision << " after " << previous;
      }
      previous = revision;
    }
    if (response.revision() < previous) {
      return AssertionFailure() << "response " << i << " revision " << response.revision()
                                << " is below its last event's " << previous;
    }
    covered = response.revision();
  }
  return AssertionSuccess();
}

// One Watch call read synchronously. Every Read is bounded by the call's
// deadline, so no wait in a test can hang.
class Watcher {
 public:
  Watcher(v1::Watch::Stub* stub, const v1::WatchRequest& request,
          std::chrono::milliseconds timeout = kStreamTimeout) {
    context_.set_deadline(DeadlineIn(timeout));
    reader_ = stub->Watch(&context_, request);
  }
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;
  ~Watcher() {
    if (!finished_) Cancel();
  }

  // Reads the first response, which must be the created one.
  AssertionResult ReadCreated() {
    if (!ReadOne()) return AssertionFailure() << "stream ended before created: " << StatusText();
    if (!responses_.back().created()) return AssertionFailure() << "first response not created";
    return AssertionSuccess();
  }

  // Reads one response. False once the stream has ended (status()).
  bool ReadOne() {
    if (finished_) return false;
    v1::WatchResponse response;
    if (!reader_->Read(&response)) {
      status_ = reader_->Finish();
      finished_ = true;
      return false;
    }
    responses_.push_back(std::move(response));
    return true;
  }

  // Reads until a response covers `revision` (events or progress).
  AssertionResult ReadUntilRevision(uint64_t revision) {
    while (responses_.empty() || responses_.back().revision() < revision) {
      if (!ReadOne()) {
        return AssertionFailure() << "stream ended at revision " << last_revision()
                                  << " waiting for " << revision << ": " << StatusText();
      }
    }
    return AssertionSuccess();
  }

  // Reads until a response satisfies `done`.
  template <typename Done>
  AssertionResult ReadUntil(Done done) {
    while (responses_.empty() || !done(responses_.back())) {
      if (!ReadOne()) {
        return AssertionFailure() << "stream ended at revision " << last_revision() << ": "
                                  << StatusText();
      }
    }
    return AssertionSuccess();
  }

  // Reads until at least `count` events arrived.
  AssertionResult ReadUntilEvents(size_t count) {
    while (event_count() < count) {
      if (!ReadOne()) {
        return AssertionFailure() << "stream ended after " << event_count() << " of " << count
                                  << " events: " << StatusText();
      }
    }
    return AssertionSuccess();
  }

  // Reads the rest of the stream; returns its status.
  grpc::Status Finish() {
    while (ReadOne()) {
    }
    return status_;
  }

  // Cancels the call and returns its status once it has ended.
  grpc::Status Cancel() {
    context_.TryCancel();
    return Finish();
  }

  grpc::ClientContext& context() { return context_; }
  bool finished() const { return finished_; }
  const grpc::Status& status() const { return status_; }
  const std::vector<v1::WatchResponse>& responses() const { return responses_; }
  uint64_t last_revision() const { return responses_.empty() ? 0 : responses_.back().revision(); }

  std::vector<v1::WatchEvent> events() const {
    std::vector<v1::WatchEvent> all;
    for (const v1::WatchResponse& response : responses_) {
      all.insert(all.end(), response.events().begin(), response.events().end());
    }
    return all;
  }
  std::vector<Change> changes() const {
    std::vector<Change> all;
    for (const v1::WatchEvent& event : events()) all.push_back(ChangeOf(event));
    return all;
  }
  std::vector<uint64_t> event_revisions() const {
    std::vector<uint64_t> all;
    for (const v1::WatchEvent& event : events()) all.push_back(event.revision());
    return all;
  }
  size_t event_count() const {
    size_t n = 0;
    for (const v1::WatchResponse& response : responses_) n += response.events_size();
    return n;
  }

  // The trailing metadata wasikv-oldest-revision, if the server sent it.
  std::optional<uint64_t> OldestRevisionMetadata() const {
    const auto& trailers = context_.GetServerTrailingMetadata();
    auto it = trailers.find("wasikv-oldest-revision");
    if (it == trailers.end()) return std::nullopt;
    return std::stoull(std::string(it->second.data(), it->second.size()));
  }

 private:
  std::string StatusText() const {
    if (!finished_) return "still open";
    return std::to_string(status_.error_code()) + " " + status_.error_message();
  }

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader_;
  std::vector<v1::WatchResponse> responses_;
  bool finished_ = false;
  grpc::Status status_;
};

// One Watch call read with gRPC's callback API, so many can run at once
// without a thread each. Waits end when the condition holds or the call does
// (its deadline bounds every wait).
class AsyncWatcher : public grpc::ClientReadReactor<v1::WatchResponse> {
 public:
  AsyncWatcher(v1::Watch::Stub* stub, v1::WatchRequest request) : request_(std::move(request)) {
    context_.set_deadline(DeadlineIn(kStreamTimeout));
    stub->async()->Watch(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  AsyncWatcher(const AsyncWatcher&) = delete;
  AsyncWatcher& operator=(const AsyncWatcher&) = delete;
  // gRPC borrows this object until OnDone.
  ~AsyncWatcher() { CancelAndWait(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (response_.created()) created_revision_ = response_.revision();
      for (const v1::WatchEvent& event : response_.events()) changes_.push_back(ChangeOf(event));
    }
    changed_.notify_all();
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      status_ = status;
    }
    changed_.notify_all();
  }

  bool AwaitCreated() {
    return Await([this] { return created_revision_.has_value(); });
  }
  bool AwaitEvents(size_t n) {
    return Await([this, n] { return changes_.size() >= n; });
  }
  grpc::Status AwaitDone() {
    Await([] { return false; });
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  grpc::Status CancelAndWait() {
    context_.TryCancel();
    return AwaitDone();
  }

  uint64_t created_revision() {
    std::lock_guard<std::mutex> lock(mu_);
    return created_revision_.value_or(0);
  }
  std::vector<Change> changes() {
    std::lock_guard<std::mutex> lock(mu_);
    return changes_;
  }

 private:
  template <typename Ready>
  bool Await(Ready ready) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return done_ || ready(); });
    return ready();
  }

  grpc::ClientContext context_;
  v1::WatchRequest request_;
  v1::WatchResponse response_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::optional<uint64_t> created_revision_;
  bool done_ = false;
  grpc::Status status_;
  std::vector<Change> changes_;
};

// The resident and peak resident memory of a process, in bytes.
struct Memory {
  uint64_t rss = 0;
  uint64_t peak_rss = 0;
};
Memory MemoryOf(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  Memory memory;
  std::string line;
  while (std::getline(status, line)) {
    auto kib = [&line] { return std::stoull(line.substr(line.find(':') + 1)) * 1024; };
    if (line.rfind("VmRSS:", 0) == 0) memory.rss = kib();
    if (line.rfind("VmHWM:", 0) == 0) memory.peak_rss = kib();
  }
  return memory;
}

// A server in its own directory plus stubs for all three services.
class WatchTest : public ::testing::Test {
 protected:
  void StartServer(const std::vector<std::string>& args = {}) {
    auto server = ServerProcess::Start(dir_.Join("data"), args);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = server_->NewChannel();
    kv_ = v1::KV::NewStub(channel_);
    buckets_ = v1::Buckets::NewStub(channel_);
    watch_ = v1::Watch::NewStub(channel_);
  }

  // Stops the server (SIGTERM). The fixture's channel goes first: gRPC lets
  // a server wait about 5 s for clients that keep a connection open.
  void StopServer() {
    kv_.reset();
    buckets_.reset();
    watch_.reset();
    channel_.reset();
    ASSERT_EQ(server_->Stop(), 0);
  }

  // A Watch stub on a connection of its own, which goes away with the stub.
  std::unique_ptr<v1::Watch::Stub> PrivateWatchStub() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return v1::Watch::NewStub(
        grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(), args));
  }

  // Calls `method` on `stub` with a deadline; returns the status.
  template <typename Stub, typename Request, typename Response>
  grpc::Status Call(Stub* stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(kCallTimeout));
    return (stub->*method)(&context, request, response);
  }

  uint64_t Set(const std::string& bucket, const std::string& key, const std::string& value) {
    v1::SetRequest request;
    request.set_bucket(bucket);
    request.set_key(key);
    request.set_value(value);
    v1::SetResponse response;
    grpc::Status status = Call(kv_.get(), &v1::KV::Stub::Set, request, &response);
    EXPECT_TRUE(status.ok()) << "Set " << key << ": " << status.error_message();
    return response.revision();
  }

  // The revision of the delete; 0 if the key did not exist.
  uint64_t Delete(const std::string& bucket, const std::string& key) {
    v1::DeleteRequest request;
    request.set_bucket(bucket);
    request.set_key(key);
    v1::DeleteResponse response;
    grpc::Status status = Call(kv_.get(), &v1::KV::Stub::Delete, request, &response);
    EXPECT_TRUE(status.ok()) << "Delete " << key << ": " << status.error_message();
    return response.deleted() ? response.revision() : 0;
  }

  uint64_t SetMany(const std::string& bucket, const Pairs& pairs) {
    v1::SetManyRequest request;
    request.set_bucket(bucket);
    for (const auto& [key, value] : pairs) {
      v1::KeyValue* entry = request.add_entries();
      entry->set_key(key);
      entry->set_value(value);
    }
    v1::SetManyResponse response;
    grpc::Status status = Call(kv_.get(), &v1::KV::Stub::SetMany, request, &response);
    EXPECT_TRUE(status.ok()) << "SetMany: " << status.error_message();
    return response.revision();
  }

  uint64_t CreateBucket(const std::string& bucket) {
    v1::CreateBucketRequest request;
    request.set_bucket(bucket);
    v1::CreateBucketResponse response;
    grpc::Status status =
        Call(buckets_.get(), &v1::Buckets::Stub::CreateBucket, request, &response);
    EXPECT_TRUE(status.ok()) << "CreateBucket: " << status.error_message();
    return response.revision();
  }

  uint64_t DeleteBucket(const std::string& bucket) {
    v1::DeleteBucketRequest request;
    request.set_bucket(bucket);
    v1::DeleteBucketResponse response;
    grpc::Status status =
        Call(buckets_.get(), &v1::Buckets::Stub::DeleteBucket, request, &response);
    EXPECT_TRUE(status.ok()) << "DeleteBucket: " << status.error_message();
    EXPECT_TRUE(response.deleted());
    return response.revision();
  }

  // Waits until the server's history starts at `oldest`: the trimmer runs
  // every second and there is no hook to run it now. This polls observable
  // state rather than sleeping: each attempt is a real watch of an empty
  // bucket (so it replays nothing) from revision 1, or from the oldest
  // revision the last attempt reported. Until history is trimmed that far the
  // watch is created and ends at its own 300 ms deadline, which paces the
  // loop; the loop gives up after 20 s. Returns the final OUT_OF_RANGE watch.
  std::unique_ptr<Watcher> WaitForTrimTo(uint64_t oldest) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    uint64_t probe = 1;
    while (std::chrono::steady_clock::now() < give_up) {
      auto watcher = std::make_unique<Watcher>(watch_.get(), BucketWatch("trim-probe", probe),
                                               std::chrono::milliseconds(300));
      grpc::Status status = watcher->Finish();
      if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
        std::optional<uint64_t> held = watcher->OldestRevisionMetadata();
        if (held == oldest) return watcher;
        if (held) probe = *held;
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
            << status.error_message();
      }
    }
    ADD_FAILURE() << "history was not trimmed to " << oldest << " within 20 s";
    return nullptr;
  }

  // The server still answers after whatever a test sent it.
  void ExpectServing() {
    const uint64_t revision = Set("alive", "probe", "yes");
    EXPECT_GT(revision, 0u);
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::KV::Stub> kv_;
  std::unique_ptr<v1::Buckets::Stub> buckets_;
  std::unique_ptr<v1::Watch::Stub> watch_;
};

TEST_F(WatchTest, DeliversLiveChangesInOrder) {
  StartServer();
  Watcher watcher(watch_.get(), PrefixWatch("b", "k"));
  ASSERT_TRUE(watcher.ReadCreated());

  std::vector<Change> expected;
  for (int i = 0; i < 5; ++i) {
    const std::string key = "k" + std::to_string(i);
    const std::string value = "v" + std::to_string(i);
    expected.push_back(SetChange(Set("b", key, value), key, value));
  }
  ASSERT_TRUE(watcher.ReadUntilEvents(5));
  EXPECT_TRUE(IsOrdered(watcher.responses()));
  EXPECT_EQ(watcher.changes(), expected);
}

// 4 writers (Sets, Deletes, SetManys) into one bucket while a whole-bucket, a
// prefix and a key watcher run: each stream is ordered, and each sees exactly
// the writes it targets, no gap, no duplicate.
TEST_F(WatchTest, ConcurrentWritersReachEveryWatcherInOrderWithoutGaps) {
  StartServer();
  CreateBucket("w");
  Watcher whole(watch_.get(), BucketWatch("w"));
  Watcher prefix(watch_.get(), PrefixWatch("w", "t2-"));
  Watcher key(watch_.get(), KeyWatch("w", "t2-k3"));
  ASSERT_TRUE(whole.ReadCreated());
  ASSERT_TRUE(prefix.ReadCreated());
  ASSERT_TRUE(key.ReadCreated());

  // Each watcher reads while the writers write, until the last write, which
  // every watcher sees.
  const std::vector<Watcher*> watchers = {&whole, &prefix, &key};
  std::vector<AssertionResult> reads(watchers.size(), AssertionSuccess());
  std::vector<std::thread> readers;
  for (size_t i = 0; i < watchers.size(); ++i) {
    readers.emplace_back([&, i] {
      reads[i] = watchers[i]->ReadUntil(
          [](const v1::WatchResponse& response) { return Sets(response, "t2-k3", "end"); });
    });
  }

  constexpr int kWriters = 4;
  constexpr int kOpsPerWriter = 200;
  std::vector<std::vector<Change>> written(kWriters);
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([this, t, &written] {
      // Keys are per writer, so a writer knows which of its keys exist.
      const std::string mine = "t" + std::to_string(t) + "-k";
      std::set<std::string> live;
      for (int i = 0; i < kOpsPerWriter; ++i) {
        const std::string value = std::to_string(t) + ":" + std::to_string(i);
        if (i % 10 == 9) {
          Pairs pairs;
          for (int j = 0; j < 5; ++j)
            pairs.emplace_back(mine + std::to_string((i + j) % 20), value);
          const uint64_t revision = SetMany("w", pairs);
          for (const auto& [k, v] : pairs) {
            written[t].push_back(SetChange(revision, k, v));
            live.insert(k);
          }
        } else if (i % 7 == 3 && !live.empty()) {
          const std::string k = *live.begin();
          live.erase(live.begin());
          const uint64_t revision = Delete("w", k);
          EXPECT_NE(revision, 0u) << k << " existed";
          written[t].push_back(DeleteChange(revision, k));
        } else {
          const std::string k = mine + std::to_string(i % 20);
          written[t].push_back(SetChange(Set("w", k, value), k, value));
          live.insert(k);
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  const uint64_t last = Set("w", "t2-k3", "end");
  written[2].push_back(SetChange(last, "t2-k3", "end"));
  for (std::thread& reader : readers) reader.join();

  std::vector<Change> all;
  for (const auto& changes : written) all.insert(all.end(), changes.begin(), changes.end());
  std::sort(all.begin(), all.end());
  auto matching = [&all](auto predicate) {
    std::vector<Change> out;
    std::copy_if(all.begin(), all.end(), std::back_inserter(out), predicate);
    return out;
  };

  for (size_t i = 0; i < watchers.size(); ++i) {
    ASSERT_TRUE(reads[i]);
    EXPECT_EQ(watchers[i]->last_revision(), last);
    EXPECT_TRUE(IsOrdered(watchers[i]->responses()));
  }
  // Within one batch the order of events is not promised: compare sorted.
  auto sorted = [](std::vector<Change> changes) {
    std::sort(changes.begin(), changes.end());
    return changes;
  };
  EXPECT_EQ(sorted(whole.changes()), all);
  EXPECT_EQ(sorted(prefix.changes()),
            matching([](const Change& c) { return std::get<2>(c).starts_with("t2-"); }));
  EXPECT_EQ(sorted(key.changes()),
            matching([](const Change& c) { return std::get<2>(c) == "t2-k3"; }));

  // The whole-bucket watcher saw exactly the revisions the writers got back.
  std::set<uint64_t> acknowledged;
  for (const Change& change : all) acknowledged.insert(std::get<0>(change));
  const std::vector<uint64_t> seen = whole.event_revisions();
  EXPECT_EQ(std::set<uint64_t>(seen.begin(), seen.end()), acknowledged);
}

// All events of one revision arrive in one response, even when they are
// larger than the server's response size target (1 MiB), live and replayed.
TEST_F(WatchTest, BatchArrivesAsOneResponse) {
  StartServer();
  Watcher small(watch_.get(), BucketWatch("batch"));
  ASSERT_TRUE(small.ReadCreated());

  Pairs pairs;
  for (int i = 0; i < 50; ++i) pairs.emplace_back("k" + std::to_string(i), "v" + std::to_string(i));
  const uint64_t revision = SetMany("batch", pairs);
  // Values of 40 KiB: 2 MB in one revision.
  Pairs large;
  for (int i = 0; i < 50; ++i) {
    large.emplace_back("big" + std::to_string(i),
                       std::string(40 << 10, static_cast<char>('a' + i % 26)));
  }
  const uint64_t large_revision = SetMany("batch", large);

  ASSERT_TRUE(small.ReadUntilRevision(large_revision));
  ASSERT_TRUE(IsOrdered(small.responses()));
  // Exactly one response holds events of `batch_revision`, and it holds them
  // all (it may hold other revisions too).
  auto expect_batch = [](const std::vector<v1::WatchResponse>& responses, uint64_t batch_revision,
                         const Pairs& batch) {
    int holding = 0;
    std::set<std::pair<std::string, std::string>> got;
    for (const v1::WatchResponse& response : responses) {
      bool holds = false;
      for (const v1::WatchEvent& event : response.events()) {
        if (event.revision() != batch_revision) continue;
        holds = true;
        EXPECT_EQ(event.type(), v1::WatchEvent::SET);
        got.emplace(event.key(), event.value());
      }
      holding += holds ? 1 : 0;
    }
    EXPECT_EQ(holding, 1) << "responses holding revision " << batch_revision;
    const std::set<std::pair<std::string, std::string>> want(batch.begin(), batch.end());
    EXPECT_TRUE(got == want) << got.size() << " of " << want.size() << " events";
  };
  expect_batch(small.responses(), revision, pairs);
  expect_batch(small.responses(), large_revision, large);
  EXPECT_EQ(small.event_count(), pairs.size() + large.size());

  // Replayed from the log, the large batch is still one response.
  Watcher replay(watch_.get(), BucketWatch("batch", large_revision));
  ASSERT_TRUE(replay.ReadCreated());
  EXPECT_EQ(replay.responses().front().revision(), large_revision - 1);
  ASSERT_TRUE(replay.ReadUntilRevision(large_revision));
  expect_batch(replay.responses(), large_revision, large);
}

// A watch from a past revision replays the log, then continues live while a
// writer keeps writing: the revisions it sees are exactly the committed ones
// from the start on. A small change cache and 8 KiB values make the replay
// read RocksDB over several responses before it reaches the cache.
TEST_F(WatchTest, ReplayThenLiveHasNoGapOrDuplicateAtTheSeam) {
  StartServer({"--watch-cache-bytes=64k"});
  CreateBucket("r");
  const std::string value(8 << 10, 'x');
  std::vector<uint64_t> committed;
  for (int i = 0; i < 100; ++i) committed.push_back(Set("r", "k" + std::to_string(i), value));

  // The writer runs before, during and after the watch's creation; the last
  // key it writes tells the watcher it is done.
  std::vector<uint64_t> live;
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) {
      live.push_back(Set("r", i == 199 ? "end" : "live" + std::to_string(i % 30), value));
    }
  });
  const uint64_t start = committed[9];
  Watcher watcher(watch_.get(), BucketWatch("r", start));
  const AssertionResult created = watcher.ReadCreated();
  const AssertionResult read = watcher.ReadUntil(
      [&value](const v1::WatchResponse& response) { return Sets(response, "end", value); });
  writer.join();
  ASSERT_TRUE(created);
  ASSERT_TRUE(read);
  EXPECT_EQ(watcher.responses().front().revision(), start - 1);

  std::vector<uint64_t> expected(committed.begin() + 9, committed.end());
  expected.insert(expected.end(), live.begin(), live.end());
  EXPECT_EQ(watcher.event_revisions(), expected);
  EXPECT_TRUE(IsOrdered(watcher.responses()));
  EXPECT_GT(watcher.responses().size(), 3u) << "the replay should span several responses";
}

// A watch from a revision not yet committed waits for it and starts there.
TEST_F(WatchTest, StreamsPastTheServersCapAreResourceExhausted) {
  StartServer({"--max-watch-streams=2"});
  auto first = std::make_unique<Watcher>(watch_.get(), BucketWatch("capped"));
  ASSERT_TRUE(first->ReadCreated());
  Watcher second(watch_.get(), BucketWatch("capped"));
  ASSERT_TRUE(second.ReadCreated());
  Watcher third(watch_.get(), BucketWatch("capped"));
  EXPECT_FALSE(third.ReadOne());
  EXPECT_EQ(third.status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(third.status().error_message(), HasSubstr("--max-watch-streams"));
  // The open streams keep working, and a closed one frees its place (the
  // server lets go of a stream just after its client sees the end: poll).
  const uint64_t revision = Set("capped", "k", "v");
  EXPECT_TRUE(second.ReadUntilRevision(revision));
  first->Cancel();
  first.reset();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool admitted = false;
  while (!admitted && std::chrono::steady_clock::now() < give_up) {
    Watcher next(watch_.get(), BucketWatch("capped"));
    admitted = next.ReadCreated();
    if (!admitted) {
      EXPECT_EQ(next.status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    }
  }
  EXPECT_TRUE(admitted);
  ExpectServing();
}

TEST_F(WatchTest, FutureStartRevisionWaitsForIt) {
  StartServer();
  const uint64_t now = CreateBucket("future");
  const uint64_t start = now + 5;
  Watcher watcher(watch_.get(), BucketWatch("future", start));
  ASSERT_TRUE(watcher.ReadCreated());
  EXPECT_EQ(watcher.responses().front().revision(), start - 1);
  std::vector<uint64_t> revisions;
  for (int i = 0; i < 10; ++i) revisions.push_back(Set("future", "k" + std::to_string(i), "v"));
  ASSERT_EQ(revisions.front(), now + 1) << "revisions are consecutive here";
  ASSERT_TRUE(watcher.ReadUntilRevision(revisions.back()));
  EXPECT_EQ(watcher.event_revisions(),
            std::vector<uint64_t>(revisions.begin() + 4, revisions.end()));
}

// Shutdown ends the stream with UNAVAILABLE; a watch on the restarted server
// from the last revision seen + 1 delivers exactly what the first missed.
TEST_F(WatchTest, ResumesAcrossRestartFromLastRevision) {
  StartServer();
  CreateBucket("r");
  std::vector<Change> all;
  auto write = [&](const std::string& name) {
    for (int i = 0; i < 5; ++i) {
      const std::string key = name + std::to_string(i);
      all.push_back(SetChange(Set("r", key, name), key, name));
    }
  };

  // The first watch reads on its own connection, as a separate client would,
  // and goes on reading while the server stops.
  std::unique_ptr<v1::Watch::Stub> stub = PrivateWatchStub();
  auto first = std::make_unique<Watcher>(stub.get(), BucketWatch("r"));
  ASSERT_TRUE(first->ReadCreated());
  write("a");
  ASSERT_TRUE(first->ReadUntilRevision(std::get<0>(all.back())));
  write("b");  // some of these may arrive before the stream ends
  std::vector<Change> received;
  std::vector<v1::WatchResponse> responses;
  grpc::Status ended;
  std::thread reader([&] {
    ended = first->Finish();
    received = first->changes();
    responses = first->responses();
    first.reset();
    stub.reset();
  });
  StopServer();
  reader.join();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE) << ended.error_message();
  EXPECT_TRUE(IsOrdered(responses));
  const uint64_t resume = responses.back().revision() + 1;

  StartServer();
  write("c");
  Watcher second(watch_.get(), BucketWatch("r", resume));
  ASSERT_TRUE(second.ReadCreated());
  EXPECT_EQ(second.responses().front().revision(), resume - 1);
  ASSERT_TRUE(second.ReadUntilRevision(std::get<0>(all.back())));
  EXPECT_TRUE(IsOrdered(second.responses()));

  const std::vector<Change> rest = second.changes();
  received.insert(received.end(), rest.begin(), rest.end());
  EXPECT_EQ(received, all);
}

// Every stream open at shutdown ends with UNAVAILABLE, including those with a
// response in flight at that moment: 50 watchers read a bucket a writer keeps
// changing, so at any instant some of them are being written to.
TEST_F(WatchTest, ShutdownEndsEveryReadingStreamWithUnavailable) {
  StartServer();
  CreateBucket("s");
  std::unique_ptr<v1::Watch::Stub> stub = PrivateWatchStub();
  std::vector<std::unique_ptr<AsyncWatcher>> watchers;
  for (int i = 0; i < 50; ++i) {
    watchers.push_back(std::make_unique<AsyncWatcher>(stub.get(), BucketWatch("s")));
  }
  for (auto& watcher : watchers) ASSERT_TRUE(watcher->AwaitCreated());

  std::atomic<bool> stopping{false};
  std::unique_ptr<v1::KV::Stub> kv = v1::KV::NewStub(server_->NewChannel());
  std::thread writer([&] {
    // Until the server goes away (bounded in case it never does).
    for (int i = 0; i < 100000 && !stopping; ++i) {
      v1::SetRequest request;
      request.set_bucket("s");
      request.set_key("k" + std::to_string(i % 100));
      request.set_value(std::string(1000, 'v'));
      v1::SetResponse response;
      grpc::ClientContext context;
      context.set_deadline(DeadlineIn(kCallTimeout));
      if (!kv->Set(&context, request, &response).ok()) break;
    }
  });
  bool busy = true;
  for (auto& watcher : watchers) busy = busy && watcher->AwaitEvents(20);
  EXPECT_TRUE(busy) << "the watchers were not receiving";
  StopServer();
  stopping = true;
  writer.join();

  for (size_t i = 0; i < watchers.size(); ++i) {
    SCOPED_TRACE("watcher " + std::to_string(i));
    const grpc::Status status = watchers[i]->AwaitDone();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    // Only this writer writes, so the revisions delivered are consecutive.
    uint64_t expected = watchers[i]->created_revision() + 1;
    for (const Change& change : watchers[i]->changes()) {
      ASSERT_EQ(std::get<0>(change), expected);
      ++expected;
    }
  }
}

// A client that stopped reading cannot hold shutdown up: its stream, stuck on
// a response the client never takes, is cut at the shutdown timeout at the
// latest, and the server exits cleanly.
TEST_F(WatchTest, StalledWatcherDoesNotHoldUpShutdown) {
  StartServer({"--shutdown-timeout=1s"});
  CreateBucket("s");
  std::unique_ptr<v1::Watch::Stub> stub = PrivateWatchStub();
  auto stalled = std::make_unique<Watcher>(stub.get(), BucketWatch("s"));
  ASSERT_TRUE(stalled->ReadCreated());
  // 20 MB: more than the transport buffers, so a response stays in flight.
  for (int i = 0; i < 200; ++i) Set("s", "k" + std::to_string(i), std::string(100 << 10, 'v'));
  StopServer();  // fails if wasikvd has not exited within 30 s
  stalled.reset();
}

// A watch from a trimmed revision fails with OUT_OF_RANGE and says where
// history starts, in the message and the trailing metadata.
TEST_F(WatchTest, TrimmedStartIsOutOfRangeWithOldestRevision) {
  StartServer({"--history-revisions=10"});
  CreateBucket("t");
  std::vector<uint64_t> revisions;
  for (int i = 0; i < 50; ++i) revisions.push_back(Set("t", "k" + std::to_string(i), "v"));
  const uint64_t oldest = revisions.back() - 9;

  std::unique_ptr<Watcher> refused = WaitForTrimTo(oldest);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->status().error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(refused->status().error_message(),
              HasSubstr("oldest revision still held is " + std::to_string(oldest)));
  EXPECT_EQ(refused->OldestRevisionMetadata(), oldest);

  Watcher from_oldest(watch_.get(), BucketWatch("t", oldest));
  ASSERT_TRUE(from_oldest.ReadCreated());
  ASSERT_TRUE(from_oldest.ReadUntilRevision(revisions.back()));
  EXPECT_EQ(from_oldest.event_revisions(),
            std::vector<uint64_t>(revisions.end() - 10, revisions.end()));

  Watcher before_oldest(watch_.get(), BucketWatch("t", oldest - 1));
  EXPECT_EQ(before_oldest.Finish().error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(before_oldest.OldestRevisionMetadata(), oldest);
}

// Filters and previous values; a bucket delete reaches a prefix watcher of
// that bucket; another bucket's changes reach none of them.
TEST_F(WatchTest, FiltersPreviousValuesAndBucketDelete) {
  StartServer();
  CreateBucket("f");
  auto with = [](v1::WatchRequest request, v1::WatchRequest::Filter filter, bool prev) {
    request.set_filter(filter);
    request.set_prev_value(prev);
    // Progress lets a watcher that sees no final event still report that it
    // is caught up.
    request.set_progress_interval_ms(100);
    return request;
  };
  Watcher all(watch_.get(), with(BucketWatch("f"), v1::WatchRequest::ALL, false));
  Watcher sets(watch_.get(), with(BucketWatch("f"), v1::WatchRequest::SETS_ONLY, false));
  Watcher deletes(watch_.get(), with(BucketWatch("f"), v1::WatchRequest::DELETES_ONLY, false));
  Watcher prev(watch_.get(), with(BucketWatch("f"), v1::WatchRequest::ALL, true));
  Watcher prefix(watch_.get(), with(PrefixWatch("f", "p"), v1::WatchRequest::ALL, false));
  for (Watcher* w : {&all, &sets, &deletes, &prev, &prefix}) ASSERT_TRUE(w->ReadCreated());

  const uint64_t a1 = Set("f", "a", "1");
  Set("g", "a", "other");
  const uint64_t a2 = Set("f", "a", "2");
  const uint64_t b3 = Set("f", "b", "3");
  const uint64_t many = SetMany("f", {{"b", "4"}, {"c", "5"}});
  SetMany("g", {{"b", "other"}});
  const uint64_t a_deleted = Delete("f", "a");
  Delete("g", "a");
  const uint64_t p = Set("f", "p1", "x");
  const uint64_t bucket_deleted = DeleteBucket("f");
  const uint64_t last = Set("g", "z", "last");

  for (Watcher* w : {&all, &sets, &deletes, &prev, &prefix}) {
    ASSERT_TRUE(w->ReadUntilRevision(last));
    EXPECT_TRUE(IsOrdered(w->responses()));
    for (const v1::WatchEvent& event : w->events()) {
      EXPECT_LE(event.revision(), bucket_deleted) << "an event of bucket g: " << event.key();
    }
  }
  const Change gone{bucket_deleted, v1::WatchEvent::BUCKET_DELETED, "", ""};
  auto sorted = [](std::vector<Change> changes) {
    std::sort(changes.begin(), changes.end());
    return changes;
  };
  const std::vector<Change> sets_expected = {SetChange(a1, "a", "1"),   SetChange(a2, "a", "2"),
                                             SetChange(b3, "b", "3"),   SetChange(many, "b", "4"),
                                             SetChange(many, "c", "5"), SetChange(p, "p1", "x")};
  const std::vector<Change> deletes_expected = {DeleteChange(a_deleted, "a"), gone};
  std::vector<Change> all_expected = sets_expected;
  all_expected.insert(all_expected.end(), deletes_expected.begin(), deletes_expected.end());
  EXPECT_EQ(sorted(sets.changes()), sets_expected);
  EXPECT_EQ(sorted(deletes.changes()), deletes_expected);
  EXPECT_EQ(sorted(all.changes()), sorted(all_expected));
  EXPECT_EQ(sorted(prev.changes()), sorted(all_expected));
  EXPECT_EQ(prefix.changes(), (std::vector<Change>{SetChange(p, "p1", "x"), gone}));

  // Without prev_value, no previous data.
  for (const v1::WatchEvent& event : all.events()) {
    EXPECT_EQ(event.prev_version(), 0u);
    EXPECT_FALSE(event.prev_found());
    EXPECT_TRUE(event.prev_value().empty());
  }
  // With it: version and value of what each change replaced.
  struct Prev {
    uint64_t version;
    bool found;
    std::string value;
  };
  std::map<std::pair<uint64_t, std::string>, Prev> expected_prev = {
      {{a1, "a"}, {0, false, ""}},   {{a2, "a"}, {a1, true, "1"}},
      {{b3, "b"}, {0, false, ""}},   {{many, "b"}, {b3, true, "3"}},
      {{many, "c"}, {0, false, ""}}, {{a_deleted, "a"}, {a2, true, "2"}},
      {{p, "p1"}, {0, false, ""}}};
  for (const v1::WatchEvent& event : prev.events()) {
    if (event.type() == v1::WatchEvent::BUCKET_DELETED) continue;
    auto it = expected_prev.find({event.revision(), event.key()});
    ASSERT_NE(it, expected_prev.end()) << event.key() << "@" << event.revision();
    EXPECT_EQ(event.prev_version(), it->second.version) << event.key() << "@" << event.revision();
    EXPECT_EQ(event.prev_found(), it->second.found) << event.key() << "@" << event.revision();
    EXPECT_EQ(event.prev_value(), it->second.value) << event.key() << "@" << event.revision();
  }
}

// An idle watch gets progress responses that cover writes to other buckets,
// so it can resume from there without replaying them.
TEST_F(WatchTest, IdleWatchGetsProgressPastOtherBuckets) {
  StartServer();
  CreateBucket("idle");
  v1::WatchRequest request = BucketWatch("idle");
  request.set_progress_interval_ms(200);
  Watcher watcher(watch_.get(), request);
  ASSERT_TRUE(watcher.ReadCreated());
  uint64_t current = 0;
  for (int i = 0; i < 5; ++i) current = Set("busy", "k" + std::to_string(i), "v");

  // Progress responses may arrive before the writes above are covered; each
  // is a real response, and the stream deadline bounds the wait.
  ASSERT_TRUE(watcher.ReadUntilRevision(current));
  const v1::WatchResponse& progress = watcher.responses().back();
  EXPECT_TRUE(progress.progress());
  EXPECT_FALSE(progress.created());
  EXPECT_EQ(progress.events_size(), 0);
  EXPECT_EQ(progress.revision(), current);
  EXPECT_EQ(watcher.event_count(), 0u);
  EXPECT_TRUE(IsOrdered(watcher.responses()));

  // Resuming right after the progress revision replays nothing of "busy".
  Watcher resumed(watch_.get(), BucketWatch("idle", progress.revision() + 1));
  ASSERT_TRUE(resumed.ReadCreated());
  const uint64_t next = Set("idle", "k", "v");
  ASSERT_TRUE(resumed.ReadUntilRevision(next));
  EXPECT_EQ(resumed.changes(), std::vector<Change>{SetChange(next, "k", "v")});
}

// progress_interval_ms = 0 takes the server's --watch-progress-interval.
TEST_F(WatchTest, ServerDefaultProgressInterval) {
  StartServer({"--watch-progress-interval=200ms"});
  CreateBucket("idle");
  Watcher watcher(watch_.get(), BucketWatch("idle"));
  ASSERT_TRUE(watcher.ReadCreated());
  const uint64_t current = Set("busy", "k", "v");
  ASSERT_TRUE(watcher.ReadUntilRevision(current));
  EXPECT_TRUE(watcher.responses().back().progress());
  EXPECT_EQ(watcher.event_count(), 0u);
}

// Watchers that stop reading do not hold writers back or slow a healthy
// watcher, and the server does not queue for them.
TEST_F(WatchTest, StalledWatchersNeitherBlockWritersNorGrowMemory) {
  StartServer();
  CreateBucket("big");
  std::vector<std::unique_ptr<Watcher>> stalled;
  for (int i = 0; i < 4; ++i) {
    v1::WatchRequest request = i % 2 == 0 ? BucketWatch("big") : PrefixWatch("big", "k");
    request.set_prev_value(i == 3);
    stalled.push_back(std::make_unique<Watcher>(watch_.get(), request));
    ASSERT_TRUE(stalled.back()->ReadCreated());  // and never read again
  }
  Watcher healthy(watch_.get(), BucketWatch("big"));
  ASSERT_TRUE(healthy.ReadCreated());
  const Memory before = MemoryOf(server_->pid());

  constexpr int kWrites = 400;
  std::vector<uint64_t> revisions;
  std::thread writer([&] {
    for (int i = 0; i < kWrites; ++i) {
      revisions.push_back(Set("big", "k" + std::to_string(i % 50),
                              std::string(100 << 10, static_cast<char>('a' + i % 26))));
    }
  });
  const bool healthy_got_all = static_cast<bool>(healthy.ReadUntilEvents(kWrites));
  writer.join();
  const Memory after = MemoryOf(server_->pid());

  ASSERT_EQ(revisions.size(), static_cast<size_t>(kWrites));
  for (uint64_t revision : revisions) ASSERT_NE(revision, 0u) << "a write failed";
  EXPECT_TRUE(healthy_got_all);
  EXPECT_EQ(healthy.event_revisions(), revisions);
  // The bound: the change cache (64 MiB by default; 40 MiB of values here),
  // the RocksDB memtables of the data and log column families (each value
  // lands in both: 2 x 40 MiB), and per stream one response in flight (about
  // 1 MiB, 2 MiB with previous values). A server that queued for the 4
  // stalled watchers would hold another 4 x 40 MiB and fail.
  const uint64_t growth = after.peak_rss - before.rss;
  // The bound is the uninstrumented server's: a sanitizer's shadow memory
  // and quarantine of freed blocks count in RSS too (build/asan's server
  // peaks near 500 MiB here).
#ifndef WASIKV_SANITIZED
  EXPECT_LT(growth, uint64_t{200} << 20)
      << "server RSS " << (before.rss >> 20) << " MiB before, peak " << (after.peak_rss >> 20)
      << " MiB after";
#else
  (void)growth;
#endif
  for (auto& watcher : stalled) {
    EXPECT_EQ(watcher->Cancel().error_code(), grpc::StatusCode::CANCELLED);
  }
  ExpectServing();
}

// 200 watchers of one prefix over 4 connections all get the same 20 events.
TEST_F(WatchTest, ManyWatchersOnOnePrefixAllReceiveEverything) {
  StartServer();
  CreateBucket("many");

  constexpr int kChannels = 4;
  constexpr int kWatchers = 200;
  std::vector<std::unique_ptr<v1::Watch::Stub>> stubs;
  for (int i = 0; i < kChannels; ++i) stubs.push_back(PrivateWatchStub());
  std::vector<std::unique_ptr<AsyncWatcher>> watchers;
  for (int i = 0; i < kWatchers; ++i) {
    watchers.push_back(
        std::make_unique<AsyncWatcher>(stubs[i % kChannels].get(), PrefixWatch("many", "p")));
  }
  for (auto& watcher : watchers) ASSERT_TRUE(watcher->AwaitCreated());

  std::vector<Change> expected;
  for (int i = 0; i < 20; ++i) {
    const std::string key = "p" + std::to_string(i);
    expected.push_back(SetChange(Set("many", key, "v"), key, "v"));
    Set("many", "other" + std::to_string(i), "v");  // not under the prefix
  }
  for (auto& watcher : watchers) {
    EXPECT_TRUE(watcher->AwaitEvents(expected.size()));
    EXPECT_EQ(watcher->changes(), expected);
  }
  for (auto& watcher : watchers) {
    EXPECT_EQ(watcher->CancelAndWait().error_code(), grpc::StatusCode::CANCELLED);
  }
}

// Bad requests fail at once with the right code and a message naming the
// field; the server keeps serving.
TEST_F(WatchTest, BadRequestsAreRefusedNamingTheField) {
  StartServer();
  struct Case {
    std::string name;
    v1::WatchRequest request;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({"empty bucket", BucketWatch(""), "bucket"});
  cases.push_back({"bad bucket", BucketWatch("no/slash"), "bucket"});
  cases.push_back({"long key", KeyWatch("b", std::string(4097, 'k')), "key"});
  cases.push_back({"empty key", KeyWatch("b", ""), "key"});
  cases.push_back({"long prefix", PrefixWatch("b", std::string(4097, 'p')), "prefix"});
  v1::WatchRequest fast = BucketWatch("b");
  fast.set_progress_interval_ms(50);
  cases.push_back({"progress too often", fast, "progress_interval_ms"});
  v1::WatchRequest filter = BucketWatch("b");
  filter.set_filter(static_cast<v1::WatchRequest::Filter>(7));
  cases.push_back({"unknown filter", filter, "filter"});

  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Watcher watcher(watch_.get(), c.request);
    const grpc::Status status = watcher.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.field));
    EXPECT_TRUE(watcher.responses().empty());
  }
  ExpectServing();
  Watcher ok(watch_.get(), BucketWatch("b"));
  EXPECT_TRUE(ok.ReadCreated());
}

TEST_F(WatchTest, StrictModeRefusesMissingBucket) {
  StartServer({"--auto-create-buckets=false"});
  Watcher missing(watch_.get(), BucketWatch("nope"));
  const grpc::Status status = missing.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("bucket 'nope'"));

  const uint64_t created = CreateBucket("nope");
  Watcher watcher(watch_.get(), BucketWatch("nope"));
  ASSERT_TRUE(watcher.ReadCreated());
  EXPECT_GE(watcher.responses().front().revision(), created);
  const uint64_t revision = Set("nope", "k", "v");
  ASSERT_TRUE(watcher.ReadUntilRevision(revision));
  EXPECT_EQ(watcher.changes(), std::vector<Change>{SetChange(revision, "k", "v")});
}

// A client deadline and a client cancel end their streams with the matching
// code; the server drops them and keeps serving watches.
TEST_F(WatchTest, DeadlineAndCancelEndStreamsCleanly) {
  StartServer();
  Watcher short_lived(watch_.get(), BucketWatch("d"), std::chrono::milliseconds(300));
  EXPECT_EQ(short_lived.Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LE(short_lived.responses().size(), 1u) << "only the created response";

  Watcher cancelled(watch_.get(), BucketWatch("d"));
  ASSERT_TRUE(cancelled.ReadCreated());
  EXPECT_EQ(cancelled.Cancel().error_code(), grpc::StatusCode::CANCELLED);

  ExpectServing();
  Watcher fresh(watch_.get(), BucketWatch("d"));
  ASSERT_TRUE(fresh.ReadCreated());
  const uint64_t revision = Set("d", "k", "v");
  ASSERT_TRUE(fresh.ReadUntilRevision(revision));
  EXPECT_EQ(fresh.changes(), std::vector<Change>{SetChange(revision, "k", "v")});
}

// A caught-up watch of a quiet bucket must survive history being trimmed by
// writes to other buckets: it has missed nothing. (Its stream position only
// moves when its own bucket changes or a progress response is due; the
// default progress interval, 10 s, is longer than this test.)
TEST_F(WatchTest, QuietBucketWatchSurvivesTrimmingCausedByOtherBuckets) {
  StartServer({"--history-revisions=10"});
  CreateBucket("quiet");
  Watcher watcher(watch_.get(), BucketWatch("quiet"));
  ASSERT_TRUE(watcher.ReadCreated());
  uint64_t last = 0;
  for (int i = 0; i < 50; ++i) last = Set("busy", "k" + std::to_string(i), "v");
  ASSERT_NE(WaitForTrimTo(last - 9), nullptr);

  const uint64_t revision = Set("quiet", "k", "v");
  ASSERT_TRUE(watcher.ReadUntilRevision(revision));
  EXPECT_EQ(watcher.changes(), std::vector<Change>{SetChange(revision, "k", "v")});
}

// A watcher that stopped reading and fell behind the retention bound gets,
// once it reads again, a gap-free prefix of the changes and then OUT_OF_RANGE
// saying where history starts.
TEST_F(WatchTest, StalledWatcherBehindRetentionEndsOutOfRange) {
  StartServer({"--history-revisions=10"});
  CreateBucket("s");
  Watcher stalled(watch_.get(), BucketWatch("s"), std::chrono::seconds(30));
  ASSERT_TRUE(stalled.ReadCreated());
  // 40 MB: far more than the transport buffers for a client that does not
  // read, so the stream falls behind.
  std::vector<uint64_t> revisions;
  for (int i = 0; i < 400; ++i) {
    revisions.push_back(Set("s", "k" + std::to_string(i % 50),
                            std::string(100 << 10, static_cast<char>('a' + i % 26))));
  }
  const uint64_t oldest = revisions.back() - 9;
  ASSERT_NE(WaitForTrimTo(oldest), nullptr);

  const grpc::Status status = stalled.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE) << status.error_message();
  EXPECT_THAT(status.error_message(),
              HasSubstr("oldest revision still held is " + std::to_string(oldest)));
  EXPECT_EQ(stalled.OldestRevisionMetadata(), oldest);
  const std::vector<uint64_t> got = stalled.event_revisions();
  ASSERT_LT(got.size(), revisions.size());
  EXPECT_EQ(got, std::vector<uint64_t>(revisions.begin(), revisions.begin() + got.size()));
  EXPECT_TRUE(IsOrdered(stalled.responses()));
}

// Where history starts survives a restart: a watch from a trimmed revision
// is refused at once, naming the real oldest revision.
TEST_F(WatchTest, TrimmedHistoryStaysTrimmedAcrossRestart) {
  StartServer({"--history-revisions=10"});
  uint64_t last = 0;
  for (int i = 0; i < 50; ++i) last = Set("t", "k" + std::to_string(i), "v");
  const uint64_t oldest = last - 9;
  ASSERT_NE(WaitForTrimTo(oldest), nullptr);
  StopServer();
  StartServer({"--history-revisions=10"});

  Watcher refused(watch_.get(), BucketWatch("t", 1));
  const grpc::Status status = refused.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE) << status.error_message();
  EXPECT_TRUE(refused.responses().empty()) << "the watch was created";
  EXPECT_THAT(status.error_message(),
              HasSubstr("oldest revision still held is " + std::to_string(oldest)));
  EXPECT_EQ(refused.OldestRevisionMetadata(), oldest);

  Watcher from_oldest(watch_.get(), BucketWatch("t", oldest));
  ASSERT_TRUE(from_oldest.ReadCreated());
  ASSERT_TRUE(from_oldest.ReadUntilRevision(last));
  EXPECT_EQ(from_oldest.event_count(), 10u);
}

}  // namespace
}  // namespace wasikv
