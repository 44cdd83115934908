// Online backup and restore, end to end: the real wasikvd, real RocksDB, real
// gRPC, through the client library. A backup taken while a writer runs holds
// exactly the writes up to its revision; a server restored from it serves
// exactly that, continues the revisions above it, and replays a gap-free
// change history to watchers. Backups into one directory are incremental,
// any of them can be restored, and every refusal names what is wrong.
//
// Each test has its own directory and servers. No sleeps: the writer thread
// is stopped by a flag once the backup call has returned, and everything
// else is ordered by the calls themselves.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "wasikv/client.h"

namespace wasikv {
namespace {

namespace fs = std::filesystem;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ServerProcess;
using testing::TempDir;

constexpr auto kWait = std::chrono::seconds(30);

// The server of the running test, killed should this binary crash (an
// orphaned wasikvd would hold ctest's output pipe open).
std::string Message(const absl::Status& status) { return std::string(status.message()); }

// Random bytes compress to nothing less, so sizes on disk are predictable.
std::string RandomValue(std::mt19937_64& random, size_t bytes) {
  std::string value(bytes, '\0');
  for (char& c : value) c = static_cast<char>('a' + random() % 26);
  return value;
}

// Bytes of every file under `dir`.
uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  return bytes;
}

// Every acknowledged write of the test, so the state as of any revision can
// be computed. Thread-safe.
class Model {
 public:
  using Key = std::pair<std::string, std::string>;  // bucket, key
  struct Write {
    uint64_t revision = 0;
    Key key;
    std::optional<std::string> value;  // nullopt: deleted
    std::chrono::steady_clock::time_point acked;
  };

  void Record(const std::string& bucket, const std::string& key, std::optional<std::string> value,
              uint64_t revision) {
    std::lock_guard lock(mu_);
    writes_.push_back(
        {revision, {bucket, key}, std::move(value), std::chrono::steady_clock::now()});
  }

  std::vector<Write> writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }

  // Every key ever written.
  std::set<Key> AllKeys() const {
    std::set<Key> keys;
    for (const Write& w : writes()) keys.insert(w.key);
    return keys;
  }

  // The live keys as of `revision`, with their values and versions.
  std::map<Key, VersionedValue> At(uint64_t revision) const {
    std::vector<Write> sorted = writes();
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Write& a, const Write& b) { return a.revision < b.revision; });
    std::map<Key, VersionedValue> state;
    for (const Write& w : sorted) {
      if (w.revision > revision) break;
      if (w.value) {
        state[w.key] = VersionedValue{*w.value, w.revision};
      } else {
        state.erase(w.key);
      }
    }
    return state;
  }

  // (revision, key, deleted) of the writes of `bucket` up to `revision`,
  // in revision order and, within one revision, key order.
  std::vector<std::tuple<uint64_t, std::string, bool>> History(const std::string& bucket,
                                                               uint64_t revision) const {
    std::vector<std::tuple<uint64_t, std::string, bool>> history;
    for (const Write& w : writes()) {
      if (w.key.first == bucket && w.revision <= revision) {
        history.emplace_back(w.revision, w.key.second, !w.value.has_value());
      }
    }
    std::sort(history.begin(), history.end());
    return history;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Write> writes_;
};

// Pulls batches until `count` events arrived; DEADLINE_EXCEEDED after kWait.
absl::StatusOr<std::vector<WatchEvent>> PullEvents(WatchSubscription& subscription, size_t count) {
  std::vector<WatchEvent> events;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (events.size() < count) {
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError("only " + std::to_string(events.size()) + " of " +
                                         std::to_string(count) + " events arrived");
    }
    auto next = subscription.Next(std::chrono::milliseconds(100));
    if (!next.ok()) return next.status();
    if (*next) events.insert(events.end(), (*next)->events.begin(), (*next)->events.end());
  }
  return events;
}

// A server that wrongly got past the restore must not serve forever: the
// listen address is not local (TEST-NET-1, RFC 5737), so it would exit too,
// with another message than the one expected.
constexpr const char* kUnbindable = "--listen=192.0.2.1:50051";
// A non-loopback address is refused before the store opens unless allowed.
constexpr const char* kAllowRemote = "--allow-insecure-remote";

class BackupTest : public ::testing::Test {
 protected:
  void TearDown() override { testing::KillOnCrash(0); }

  std::string backup_root() const { return dir_.Join("backups"); }

  // Starts wasikvd on `data_dir` with `args`, and a client for it.
  void Start(const std::string& data_dir, const std::vector<std::string>& args) {
    client_.reset();
    server_.reset();
    auto server = ServerProcess::Start(data_dir, args);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    testing::KillOnCrash(server_->pid());
    ClientOptions options;
    options.endpoint = server_->address();
    auto client = Client::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }
  void StartWithBackups(const std::string& data_dir) {
    Start(data_dir, {"--backup-dir=" + backup_root()});
  }
  void StartRestored(const std::string& data_dir, const std::string& from,
                     std::optional<uint32_t> backup_id = std::nullopt) {
    std::vector<std::string> args = {"--restore-from=" + from};
    if (backup_id) args.push_back("--restore-backup-id=" + std::to_string(*backup_id));
    Start(data_dir, args);
  }
  void Stop() {
    client_.reset();
    ASSERT_EQ(server_->Stop(), 0);
    server_.reset();
  }

  // Writes and records.
  uint64_t Set(const std::string& bucket, const std::string& key, const std::string& value) {
    auto set = client_->Set(bucket, key, value);
    EXPECT_TRUE(set.ok()) << set.status();
    if (!set.ok()) return 0;
    model_.Record(bucket, key, value, set->revision);
    return set->revision;
  }
  uint64_t Delete(const std::string& bucket, const std::string& key) {
    auto deleted = client_->Delete(bucket, key);
    EXPECT_TRUE(deleted.ok() && deleted->deleted) << deleted.status();
    if (!deleted.ok()) return 0;
    model_.Record(bucket, key, std::nullopt, deleted->revision);
    return deleted->revision;
  }
  uint64_t SetMany(const std::string& bucket, const std::vector<KeyValue>& entries) {
    auto revision = client_->SetMany(bucket, entries);
    EXPECT_TRUE(revision.ok()) << revision.status();
    if (!revision.ok()) return 0;
    for (const KeyValue& kv : entries) model_.Record(bucket, kv.key, kv.value, *revision);
    return *revision;
  }
  uint64_t Increment(const std::string& bucket, const std::string& key, int64_t delta) {
    auto result = client_->Increment(bucket, key, delta);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return 0;
    model_.Record(bucket, key, std::to_string(result->value), result->revision);
    return result->revision;
  }

  absl::StatusOr<BackupResult> Backup(const std::string& dir, uint32_t keep = 0) {
    BackupOptions backup;
    backup.dir = dir;
    backup.keep = keep;
    return client_->Backup(backup);
  }

  // Every key of `bucket`, through all pages.
  std::set<std::string> ListAll(const std::string& bucket) {
    std::set<std::string> keys;
    ListKeysOptions list;
    do {
      auto page = client_->ListKeys(bucket, list);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      keys.insert(page->keys.begin(), page->keys.end());
      list.cursor = page->next_cursor;
    } while (!list.cursor.empty());
    return keys;
  }

  // The server serves exactly the model's state as of `revision`.
  void ExpectServesStateAt(uint64_t revision) {
    const std::map<Model::Key, VersionedValue> expected = model_.At(revision);
    for (const Model::Key& key : model_.AllKeys()) {
      SCOPED_TRACE(key.first + "/" + key.second);
      auto got = client_->Get(key.first, key.second);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(got->revision, revision);
      auto it = expected.find(key);
      if (it == expected.end()) {
        EXPECT_FALSE(got->value.has_value()) << "a write above the backup revision is back";
      } else {
        ASSERT_TRUE(got->value.has_value()) << "a write up to the backup revision is missing";
        EXPECT_EQ(got->value->value, it->second.value);
        EXPECT_EQ(got->value->version, it->second.version);
      }
    }
    std::map<std::string, std::set<std::string>> keys_by_bucket;
    for (const auto& [key, value] : expected) keys_by_bucket[key.first].insert(key.second);
    auto buckets = client_->ListBuckets();
    ASSERT_TRUE(buckets.ok()) << buckets.status();
    std::set<std::string> names;
    for (const BucketInfo& bucket : *buckets) names.insert(bucket.name);
    std::set<std::string> expected_names;
    for (const auto& [bucket, keys] : keys_by_bucket) expected_names.insert(bucket);
    EXPECT_EQ(names, expected_names);
    for (const auto& [bucket, keys] : keys_by_bucket) {
      EXPECT_EQ(ListAll(bucket), keys) << "bucket " << bucket;
    }
  }

  TempDir dir_;
  Model model_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(BackupTest, RestoredServerServesExactlyTheBackupRevisionAndContinuesAboveIt) {
  ASSERT_NO_FATAL_FAILURE(StartWithBackups(dir_.Join("data")));
  std::mt19937_64 random(7);
  for (int i = 0; i < 50; ++i) Set("alpha", "k" + std::to_string(i), "v" + std::to_string(i));
  Set("alpha", "doomed", "soon gone");
  Delete("alpha", "doomed");
  for (int i = 0; i < 3; ++i) Increment("alpha", "counter", 5);
  Set("alpha", "overwritten", "before");
  // Megabytes, so that the backup takes long enough for the writer to
  // commit during it.
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<KeyValue> entries;
    for (int i = 0; i < 500; ++i) {
      entries.push_back(
          {"b" + std::to_string(batch) + "-" + std::to_string(i), RandomValue(random, 1000)});
    }
    SetMany("beta", entries);
  }

  // A writer that keeps committing while the backup runs.
  std::atomic<bool> stop{false};
  std::atomic<bool> writer_failed{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string key = i % 2 == 0 ? "w" + std::to_string(i) : "hot";
      const std::string value = "w-value-" + std::to_string(i);
      auto set = client_->Set("alpha", key, value);
      if (!set.ok()) {
        ADD_FAILURE() << set.status();
        writer_failed.store(true);
        return;
      }
      model_.Record("alpha", key, value, set->revision);
      written.fetch_add(1);
    }
  });
  // A writer that failed writes no more: waiting for it would hang the test.
  while (written.load() < 20 && !writer_failed.load()) std::this_thread::yield();
  if (writer_failed.load()) {
    writer.join();
    FAIL() << "the writer failed before the backup started";
  }
  const auto backup_start = std::chrono::steady_clock::now();
  const std::vector<Model::Write> before_backup = model_.writes();
  absl::StatusOr<BackupResult> backup = Backup("full");
  const auto backup_end = std::chrono::steady_clock::now();
  stop.store(true);
  writer.join();
  ASSERT_TRUE(backup.ok()) << backup.status();
  const uint64_t r = backup->backup.revision;
  EXPECT_EQ(backup->backup.backup_id, 1u);
  EXPECT_EQ(backup->dir, (fs::weakly_canonical(backup_root()) / "full").string());
  EXPECT_GT(backup->backup.size_bytes, 2'000'000u);
  EXPECT_GT(backup->backup.file_count, 0u);
  EXPECT_GT(backup->backup.create_unix_seconds, 0);

  // Everything acknowledged before the call is in the backup; the writer
  // went on committing during it, and its writes after the backup's point
  // are not in the backup but are on the live server.
  for (const Model::Write& w : before_backup) ASSERT_LE(w.revision, r);
  std::vector<Model::Write> during_above;
  for (const Model::Write& w : model_.writes()) {
    if (w.acked > backup_start && w.acked < backup_end && w.revision > r) during_above.push_back(w);
  }
  EXPECT_FALSE(during_above.empty()) << "no write committed while the backup ran";
  for (const Model::Write& w : during_above) {
    auto got = client_->Get(w.key.first, w.key.second);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(got->value.has_value());
    EXPECT_GE(got->value->version, w.revision);
  }

  // Writes after the backup, all of which the restore must leave out.
  Set("alpha", "overwritten", "after");
  Delete("alpha", "k0");
  Set("alpha", "late", "x");
  Set("gamma", "new-bucket", "x");
  ASSERT_NO_FATAL_FAILURE(Stop());

  ASSERT_NO_FATAL_FAILURE(StartRestored(dir_.Join("restored"), backup->dir));
  ASSERT_NO_FATAL_FAILURE(ExpectServesStateAt(r));

  // The change history up to R came along: a watch from the first revision
  // replays exactly the model's writes of the bucket, then the new ones.
  // A watch from R+1 sees exactly the writes made after the restore.
  const auto history = model_.History("alpha", r);
  WatchOptions from_start;
  from_start.bucket = "alpha";
  from_start.start_revision = 1;
  auto replay = client_->Watch(from_start);
  ASSERT_TRUE(replay.ok()) << replay.status();
  WatchOptions from_backup = from_start;
  from_backup.start_revision = r + 1;
  auto live = client_->Watch(from_backup);
  ASSERT_TRUE(live.ok()) << live.status();

  auto first = client_->Set("alpha", "after-restore", "1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->revision, r + 1) << "revisions do not continue right above the backup";
  auto deleted = client_->Delete("alpha", "k1");
  ASSERT_TRUE(deleted.ok() && deleted->deleted) << deleted.status();
  const std::vector<KeyValue> batch = {{"m1", "a"}, {"m2", "b"}};
  auto batch_revision = client_->SetMany("alpha", batch);
  ASSERT_TRUE(batch_revision.ok()) << batch_revision.status();
  EXPECT_EQ(deleted->revision, r + 2);
  EXPECT_EQ(*batch_revision, r + 3);

  auto events = PullEvents(**live, 4);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 4u);
  std::vector<std::tuple<uint64_t, std::string, WatchEvent::Type>> seen;
  for (const WatchEvent& e : *events) seen.emplace_back(e.revision, e.key, e.type);
  EXPECT_THAT(seen, ElementsAre(std::tuple(r + 1, "after-restore", WatchEvent::Type::kSet),
                                std::tuple(r + 2, "k1", WatchEvent::Type::kDelete),
                                std::tuple(r + 3, "m1", WatchEvent::Type::kSet),
                                std::tuple(r + 3, "m2", WatchEvent::Type::kSet)));

  auto replayed = PullEvents(**replay, history.size() + 4);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  ASSERT_EQ(replayed->size(), history.size() + 4);
  std::vector<std::tuple<uint64_t, std::string, bool>> replayed_history;
  uint64_t previous = 0;
  for (size_t i = 0; i < history.size(); ++i) {
    const WatchEvent& e = (*replayed)[i];
    EXPECT_GE(e.revision, previous);
    previous = e.revision;
    replayed_history.emplace_back(e.revision, e.key, e.type == WatchEvent::Type::kDelete);
  }
  std::sort(replayed_history.begin(), replayed_history.end());
  EXPECT_EQ(replayed_history, history);
  EXPECT_EQ((*replayed)[history.size()].revision, r + 1);
}

TEST_F(BackupTest, BackupsShareFilesAndAnyOfThemRestores) {
  ASSERT_NO_FATAL_FAILURE(StartWithBackups(dir_.Join("data")));
  std::mt19937_64 random(11);
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<KeyValue> entries;
    for (int i = 0; i < 500; ++i) {
      entries.push_back(
          {"b" + std::to_string(batch) + "-" + std::to_string(i), RandomValue(random, 1000)});
    }
    SetMany("big", entries);
  }
  auto first = Backup("nightly");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->backup.backup_id, 1u);
  const uint64_t first_bytes = DirectoryBytes(first->dir);

  Set("big", "after-first", "x");
  Set("small", "k", "v");
  auto second = Backup("nightly");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->backup.backup_id, 2u);
  EXPECT_EQ(second->dir, first->dir);
  EXPECT_GT(second->backup.revision, first->backup.revision);
  const uint64_t second_bytes = DirectoryBytes(second->dir);
  // Each backup consists of all the data, but the second added only what
  // changed: the directory grew by far less than a second copy.
  EXPECT_GT(second->backup.size_bytes, 2'000'000u);
  EXPECT_LT(second_bytes, first_bytes + first_bytes / 10)
      << "first " << first_bytes << " bytes, both " << second_bytes;

  auto list = client_->ListBackups("nightly");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->dir, first->dir);
  ASSERT_EQ(list->backups.size(), 2u);
  EXPECT_EQ(list->backups[0].backup_id, 1u);
  EXPECT_EQ(list->backups[0].revision, first->backup.revision);
  EXPECT_EQ(list->backups[1].backup_id, 2u);
  EXPECT_EQ(list->backups[1].revision, second->backup.revision);
  EXPECT_EQ(list->backups[1].size_bytes, second->backup.size_bytes);
  ASSERT_NO_FATAL_FAILURE(Stop());

  ASSERT_NO_FATAL_FAILURE(StartRestored(dir_.Join("from-1"), first->dir, 1));
  ASSERT_NO_FATAL_FAILURE(ExpectServesStateAt(first->backup.revision));
  ASSERT_NO_FATAL_FAILURE(Stop());
  ASSERT_NO_FATAL_FAILURE(StartRestored(dir_.Join("from-latest"), first->dir));
  ASSERT_NO_FATAL_FAILURE(ExpectServesStateAt(second->backup.revision));
  ASSERT_NO_FATAL_FAILURE(Stop());

  // keep: a third backup with keep=1 leaves only itself, and backup 1 is
  // gone for restores too.
  ASSERT_NO_FATAL_FAILURE(Start(dir_.Join("from-latest"), {"--backup-dir=" + backup_root()}));
  auto third = Backup("nightly", /*keep=*/1);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->backup.backup_id, 3u);
  EXPECT_EQ(third->backup.revision, second->backup.revision);
  list = client_->ListBackups("nightly");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->backups.size(), 1u);
  EXPECT_EQ(list->backups[0].backup_id, 3u);
  ASSERT_NO_FATAL_FAILURE(Stop());
  const auto gone =
      testing::RunWasikvd({kUnbindable, kAllowRemote, "--data-dir", dir_.Join("never"),
                           "--restore-from", first->dir, "--restore-backup-id=1"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.output, HasSubstr("has no backup 1; it holds backups 3"));
}

TEST_F(BackupTest, RefusedWithoutBackupDir) {
  ASSERT_NO_FATAL_FAILURE(Start(dir_.Join("data"), {}));
  Set("b", "k", "v");
  auto backup = Backup("");
  EXPECT_EQ(backup.status().code(), absl::StatusCode::kFailedPrecondition) << backup.status();
  EXPECT_THAT(Message(backup.status()), HasSubstr("--backup-dir"));
  auto list = client_->ListBackups("");
  EXPECT_EQ(list.status().code(), absl::StatusCode::kFailedPrecondition) << list.status();
}

TEST_F(BackupTest, DirMustLieInsideTheBackupRoot) {
  fs::create_directories(backup_root());
  fs::create_directories(dir_.Join("outside"));
  fs::create_directory_symlink(dir_.Join("outside"), backup_root() + "/link");
  ASSERT_NO_FATAL_FAILURE(StartWithBackups(dir_.Join("data")));
  Set("b", "k", "v");
  for (const std::string& dir :
       {std::string("../x"), std::string("a/../../x"), std::string("/etc"), backup_root() + "2",
        backup_root() + "/../x", std::string("link/x"), backup_root() + "/link",
        std::string("a\0b", 3)}) {
    SCOPED_TRACE(dir);
    auto backup = Backup(dir);
    EXPECT_EQ(backup.status().code(), absl::StatusCode::kInvalidArgument) << backup.status();
    EXPECT_THAT(Message(backup.status()), HasSubstr("dir"));
  }
  EXPECT_FALSE(fs::exists(dir_.Join("x")));
  EXPECT_TRUE(fs::is_empty(dir_.Join("outside")));

  const fs::path root = fs::weakly_canonical(backup_root());
  auto at_root = Backup("");
  ASSERT_TRUE(at_root.ok()) << at_root.status();
  EXPECT_EQ(at_root->dir, root.string());
  auto nested = Backup("nightly/a");
  ASSERT_TRUE(nested.ok()) << nested.status();
  EXPECT_EQ(nested->dir, (root / "nightly" / "a").string());
  auto absolute = Backup(backup_root() + "/nightly/./b/");
  ASSERT_TRUE(absolute.ok()) << absolute.status();
  EXPECT_EQ(absolute->dir, (root / "nightly" / "b").string());
  auto missing = client_->ListBackups("no-such-dir");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
}

TEST_F(BackupTest, RestoreNeverOverwritesADatabase) {
  ASSERT_NO_FATAL_FAILURE(StartWithBackups(dir_.Join("data")));
  Set("b", "backed-up", "v");
  auto backup = Backup("x");
  ASSERT_TRUE(backup.ok()) << backup.status();
  ASSERT_NO_FATAL_FAILURE(Stop());

  const std::string other = dir_.Join("other");
  ASSERT_NO_FATAL_FAILURE(Start(other, {}));
  Set("b", "mine", "kept");
  ASSERT_NO_FATAL_FAILURE(Stop());

  const auto refused = testing::RunWasikvd(
      {kUnbindable, kAllowRemote, "--data-dir", other, "--restore-from", backup->dir});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.output, HasSubstr("restore_failed"));
  EXPECT_THAT(refused.output, HasSubstr("already holds a database"));
  EXPECT_THAT(refused.output, HasSubstr(other));
  EXPECT_THAT(refused.output, HasSubstr(backup->dir));

  ASSERT_NO_FATAL_FAILURE(Start(other, {}));
  auto mine = client_->Get("b", "mine");
  ASSERT_TRUE(mine.ok()) << mine.status();
  ASSERT_TRUE(mine->value.has_value());
  EXPECT_EQ(mine->value->value, "kept");
  auto backed_up = client_->Get("b", "backed-up");
  ASSERT_TRUE(backed_up.ok()) << backed_up.status();
  EXPECT_FALSE(backed_up->value.has_value());
}

TEST_F(BackupTest, RestoreWithoutBackupsFailsClearly) {
  ASSERT_NO_FATAL_FAILURE(StartWithBackups(dir_.Join("data")));
  Set("b", "k", "v");
  auto backup = Backup("x");
  ASSERT_TRUE(backup.ok()) << backup.status();
  ASSERT_NO_FATAL_FAILURE(Stop());
  fs::create_directories(dir_.Join("empty"));

  struct Case {
    std::string from;
    std::vector<std::string> extra;
    std::string message;
  };
  const std::vector<Case> cases = {
      {dir_.Join("no-such-dir"), {}, "does not exist"},
      {dir_.Join("empty"), {}, "holds no backups"},
      {backup->dir, {"--restore-backup-id=9"}, "has no backup 9; it holds backups 1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.from);
    std::vector<std::string> args = {kUnbindable,        kAllowRemote,     "--data-dir",
                                     dir_.Join("fresh"), "--restore-from", c.from};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    const auto result = testing::RunWasikvd(args);
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_THAT(result.output, HasSubstr("restore_failed"));
    EXPECT_THAT(result.output, HasSubstr(c.message));
    EXPECT_FALSE(fs::exists(dir_.Join("fresh") + "/CURRENT"));
  }
  const auto no_from = testing::RunWasikvd({"--restore-backup-id=1"});
  EXPECT_EQ(no_from.exit_code, 2);
  EXPECT_THAT(no_from.output, HasSubstr("--restore-backup-id needs --restore-from"));
}

// A restore that died half way leaves its marker: the server refuses that
// data directory, and the next restore starts over.
TEST_F(BackupTest, InterruptedRestoreIsRefusedAndRedone) {
  ASSERT_NO_FATAL_FAILURE(StartWithBackups(dir_.Join("data")));
  Set("b", "k", "v");
  auto backup = Backup("x");
  ASSERT_TRUE(backup.ok()) << backup.status();
  ASSERT_NO_FATAL_FAILURE(Stop());

  const std::string half = dir_.Join("half");
  fs::create_directories(half);
  for (const char* name : {"RESTORE-IN-PROGRESS", "CURRENT", "000001.log"}) {
    std::ofstream(half + "/" + name) << "partial";
  }
  const auto refused = testing::RunWasikvd({kUnbindable, kAllowRemote, "--data-dir", half});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.output, HasSubstr("interrupted restore"));

  ASSERT_NO_FATAL_FAILURE(StartRestored(half, backup->dir));
  ASSERT_NO_FATAL_FAILURE(ExpectServesStateAt(backup->backup.revision));
  EXPECT_FALSE(fs::exists(half + "/RESTORE-IN-PROGRESS"));
}

}  // namespace
}  // namespace wasikv
