// Unit tests of Store: the storage engine alone, against real RocksDB, each
// test with a store of its own in a fresh directory.
#include "server/storage/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <latch>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/storage/commit_pipeline.h"
#include "tests/temp_dir.h"

// Test counterparts of RETURN_IF_ERROR / ASSIGN_OR_RETURN: a failure ends the
// test and prints the status.
#define ASSERT_OK(expr)                                           \
  do {                                                            \
    const ::absl::Status wasikv_test_status_ = (expr);            \
    ASSERT_TRUE(wasikv_test_status_.ok()) << wasikv_test_status_; \
  } while (false)

#define WASIKV_TEST_CONCAT_INNER_(a, b) a##b
#define WASIKV_TEST_CONCAT_(a, b) WASIKV_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  WASIKV_ASSERT_OK_AND_ASSIGN_IMPL_(WASIKV_TEST_CONCAT_(wasikv_test_statusor_, __LINE__), lhs, expr)
#define WASIKV_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr)      \
  auto statusor = (expr);                                           \
  ASSERT_TRUE(statusor.ok()) << #expr << ": " << statusor.status(); \
  lhs = std::move(statusor).value()

namespace wasikv {
namespace {

using StatusCode = absl::StatusCode;

constexpr std::string_view kBucket = "bucket";

enum class BucketMode { kAutoCreate, kStrict };

// A Store of its own in a fresh directory, removed when the test ends.
// Writes are not synced: the tests that reopen rely on a clean Close, which
// flushes everything.
class ScratchStore {
 public:
  explicit ScratchStore(BucketMode mode = BucketMode::kAutoCreate)
      : options_{.data_dir = dir_.path(),
                 .sync_writes = false,
                 .auto_create_buckets = mode == BucketMode::kAutoCreate} {
    // Like TempDir, a broken fixture throws; gtest reports it as a failure.
    if (absl::Status opened = Open(); !opened.ok()) throw std::runtime_error(opened.ToString());
  }

  Store& operator*() { return *store_; }
  Store* operator->() { return store_.get(); }
  const StoreOptions& options() const { return options_; }

  // Closes the store and opens it again on the same directory.
  absl::Status Reopen() {
    absl::Status closed = store_->Close();
    store_.reset();
    if (!closed.ok()) return closed;
    return Open();
  }

 private:
  absl::Status Open() {
    absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(options_);
    if (!opened.ok()) return opened.status();
    store_ = std::move(opened).value();
    return absl::OkStatus();
  }

  testing::TempDir dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

// `key` of `bucket` holds `value`, written at revision `version`.
::testing::AssertionResult Holds(Store& store, std::string_view bucket, std::string_view key,
                                 std::string_view value, uint64_t version) {
  absl::StatusOr<Store::ReadResult> read = store.Get(bucket, key);
  if (!read.ok()) return ::testing::AssertionFailure() << "Get failed: " << read.status();
  if (!read->value) return ::testing::AssertionFailure() << "key '" << key << "' is missing";
  if (read->value->value != value || read->value->version != version) {
    return ::testing::AssertionFailure()
           << "key '" << key << "' holds '" << read->value->value << "' at version "
           << read->value->version << ", expected '" << value << "' at version " << version;
  }
  return ::testing::AssertionSuccess();
}

// `key` of `bucket` reads as not found.
::testing::AssertionResult IsMissing(Store& store, std::string_view bucket, std::string_view key) {
  absl::StatusOr<Store::ReadResult> read = store.Get(bucket, key);
  if (!read.ok()) return ::testing::AssertionFailure() << "Get failed: " << read.status();
  if (read->value) {
    return ::testing::AssertionFailure() << "key '" << key << "' holds '" << read->value->value
                                         << "' at version " << read->value->version;
  }
  return ::testing::AssertionSuccess();
}

// Conditions for CompareAndSwap. (Designated initializers would trip
// -Wmissing-field-initializers on the members a kind does not use.)
CasCondition ValueIs(std::string expected) {
  CasCondition condition;
  condition.kind = CasCondition::Kind::kValue;
  condition.expected_value = std::move(expected);
  return condition;
}
CasCondition Absent() {
  CasCondition condition;
  condition.kind = CasCondition::Kind::kAbsent;
  return condition;
}
CasCondition VersionIs(uint64_t expected) {
  CasCondition condition;
  condition.kind = CasCondition::Kind::kVersion;
  condition.expected_version = expected;
  return condition;
}

// The revision a write reports, whatever its result type.
template <typename T>
absl::StatusOr<uint64_t> RevisionOf(absl::StatusOr<T> result) {
  if (!result.ok()) return result.status();
  if constexpr (std::is_same_v<T, uint64_t>) {
    return *result;
  } else {
    return result->revision;
  }
}

std::vector<std::optional<std::string>> ValuesOf(const Store::ManyReadResult& read) {
  std::vector<std::optional<std::string>> values;
  for (const std::optional<VersionedValue>& v : read.values) {
    values.push_back(v ? std::optional<std::string>(v->value) : std::nullopt);
  }
  return values;
}

std::vector<std::string> BucketNames(const Store::BucketList& list) {
  std::vector<std::string> names;
  for (const BucketInfo& bucket : list.buckets) names.push_back(bucket.name);
  return names;
}

// Every key of `bucket` starting with `prefix`, fetched `page_size` at a time.
// `between_pages` runs after every page that reports more.
absl::StatusOr<std::vector<std::string>> ListAll(Store& store, std::string_view bucket,
                                                 std::string_view prefix, size_t page_size,
                                                 const std::function<void()>& between_pages) {
  std::vector<std::string> all;
  std::optional<std::string> cursor;
  for (;;) {
    absl::StatusOr<Store::ListResult> page = store.ListKeys(bucket, prefix, cursor, page_size);
    if (!page.ok()) return page.status();
    all.insert(all.end(), page->keys.begin(), page->keys.end());
    if (!page->more) return all;
    if (page->keys.empty()) return absl::InternalError("a page with more has no keys");
    cursor = page->keys.back();
    between_pages();
  }
}

// Runs body(0) ... body(threads - 1) on as many threads, released together so
// they contend, and waits for all of them.
void RunConcurrently(int threads, const std::function<void(int)>& body) {
  std::latch start(threads);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&start, &body, i] {
      start.arrive_and_wait();
      body(i);
    });
  }
  for (std::thread& worker : workers) worker.join();
}

// ---------------------------------------------------------------------------
// Get, Set, Delete

TEST(Store, GetOfMissingKeyIsNotFoundNotAnError) {
  ScratchStore store;
  ASSERT_OK(store->Set(kBucket, "present", "v").status());

  ASSERT_OK_AND_ASSIGN(const Store::ReadResult read, store->Get(kBucket, "absent"));
  EXPECT_FALSE(read.value.has_value());
  EXPECT_EQ(read.revision, store->CurrentRevision());
}

TEST(Store, GetReturnsValueAtTheRevisionOfItsSet) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->Set(kBucket, "k", "value"));

  ASSERT_OK_AND_ASSIGN(const Store::ReadResult read, store->Get(kBucket, "k"));
  ASSERT_TRUE(read.value.has_value());
  EXPECT_EQ(read.value->value, "value");
  EXPECT_EQ(read.value->version, set.revision);
  EXPECT_EQ(read.revision, set.revision);
}

TEST(Store, GetOfAnOlderKeyReportsTheNewestRevisionNotItsVersion) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult old, store->Set(kBucket, "old", "v"));
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult newer, store->Set(kBucket, "newer", "v"));

  ASSERT_OK_AND_ASSIGN(const Store::ReadResult read, store->Get(kBucket, "old"));
  ASSERT_TRUE(read.value.has_value());
  EXPECT_EQ(read.value->version, old.revision);
  EXPECT_EQ(read.revision, newer.revision) << "a read sees every write that ended before it";
}

TEST(Store, ConcurrentGetsReportRevisionsAtWhichTheirAnswerHeld) {
  // A reader of a key that a writer keeps changing: each answer must have
  // been the key's value at the revision reported with it (no write to the
  // key between its version and that revision), and one reader's revisions
  // never go back.
  constexpr int kWrites = 400;
  ScratchStore store;
  ASSERT_OK(store->Set(kBucket, "other", "v").status());
  // Every change to "k": its revision and whether it left a value.
  std::vector<std::pair<uint64_t, bool>> changes;
  struct Seen {
    bool found;
    uint64_t version;
    uint64_t revision;
  };
  std::vector<Seen> seen;
  std::atomic<bool> writing{true};
  RunConcurrently(3, [&](int thread) {
    if (thread == 0) {
      for (int i = 0; i < kWrites; ++i) {
        const bool deletes = i % 5 == 4;
        absl::StatusOr<Store::WriteResult> write =
            deletes ? store->Delete(kBucket, "k") : store->Set(kBucket, "k", "v");
        if (write.ok() && (!deletes || write->changed)) {
          changes.emplace_back(write->revision, !deletes);
        }
        // Writes to another key move the revision without touching "k".
        store->Set(kBucket, "other", "v").IgnoreError();
      }
      writing = false;
    } else if (thread == 1) {
      while (writing) {
        absl::StatusOr<Store::ReadResult> read = store->Get(kBucket, "k");
        if (!read.ok()) continue;
        seen.push_back(
            {read->value.has_value(), read->value ? read->value->version : 0, read->revision});
      }
    } else {
      while (writing) store->Get(kBucket, "other").IgnoreError();
    }
  });
  ASSERT_FALSE(seen.empty());
  uint64_t previous = 0;
  for (const Seen& read : seen) {
    EXPECT_GE(read.revision, previous) << "a later read reported an earlier revision";
    previous = read.revision;
    // The change to "k" in force at read.revision: the last one at or below it.
    auto after = std::upper_bound(changes.begin(), changes.end(), read.revision,
                                  [](uint64_t revision, const std::pair<uint64_t, bool>& change) {
                                    return revision < change.first;
                                  });
    if (read.found) {
      ASSERT_NE(after, changes.begin());
      EXPECT_EQ(std::prev(after)->first, read.version)
          << "value of version " << read.version << " reported at revision " << read.revision;
    } else {
      EXPECT_TRUE(after == changes.begin() || !std::prev(after)->second)
          << "reported missing at revision " << read.revision << ", when it held a value";
    }
  }
}

TEST(Store, EmptyValueIsStoredNotMissing) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->Set(kBucket, "k", ""));
  EXPECT_TRUE(Holds(*store, kBucket, "k", "", set.revision));
}

TEST(Store, SetReportsCreatedOnlyForANewKey) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult first, store->Set(kBucket, "k", "1"));
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult second, store->Set(kBucket, "k", "1"));
  EXPECT_TRUE(first.changed);
  EXPECT_FALSE(second.changed);
}

TEST(Store, OverwriteGivesTheValueANewVersion) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult first, store->Set(kBucket, "k", "old"));
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult second, store->Set(kBucket, "k", "new"));
  EXPECT_GT(second.revision, first.revision);
  EXPECT_TRUE(Holds(*store, kBucket, "k", "new", second.revision));
}

TEST(Store, DeleteOfMissingKeyChangesNothing) {
  ScratchStore store;
  ASSERT_OK(store->Set(kBucket, "other", "v").status());
  const uint64_t before = store->CurrentRevision();

  ASSERT_OK_AND_ASSIGN(const Store::WriteResult deleted, store->Delete(kBucket, "absent"));
  EXPECT_FALSE(deleted.changed);
  EXPECT_EQ(deleted.revision, before);
  EXPECT_EQ(store->CurrentRevision(), before);
}

TEST(Store, DeleteOfExistingKeyCommitsANewRevision) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->Set(kBucket, "k", "v"));

  ASSERT_OK_AND_ASSIGN(const Store::WriteResult deleted, store->Delete(kBucket, "k"));
  EXPECT_TRUE(deleted.changed);
  EXPECT_GT(deleted.revision, set.revision);
  EXPECT_EQ(store->CurrentRevision(), deleted.revision);
  EXPECT_TRUE(IsMissing(*store, kBucket, "k"));
}

// ---------------------------------------------------------------------------
// Revisions

TEST(Store, EveryKindOfWriteTakesAHigherRevision) {
  ScratchStore store;
  const std::vector<std::pair<std::string, std::string>> pairs = {{"m1", "v"}, {"m2", "v"}};
  const std::vector<std::string> doomed = {"m1", "m2"};
  const std::vector<std::pair<std::string, std::function<absl::StatusOr<uint64_t>()>>> writes = {
      {"Set (creating the bucket)", [&] { return RevisionOf(store->Set(kBucket, "k", "1")); }},
      {"Set", [&] { return RevisionOf(store->Set(kBucket, "k", "2")); }},
      {"Increment", [&] { return RevisionOf(store->Increment(kBucket, "k", 1)); }},
      {"CompareAndSwap",
       [&] { return RevisionOf(store->CompareAndSwap(kBucket, "k", ValueIs("3"), "4")); }},
      {"SetMany", [&] { return RevisionOf(store->SetMany(kBucket, pairs)); }},
      {"DeleteMany", [&] { return RevisionOf(store->DeleteMany(kBucket, doomed)); }},
      {"Delete", [&] { return RevisionOf(store->Delete(kBucket, "k")); }},
      {"CreateBucket", [&] { return RevisionOf(store->CreateBucket("other")); }},
      {"DeleteBucket", [&] { return RevisionOf(store->DeleteBucket("other")); }},
  };

  uint64_t previous = store->CurrentRevision();
  for (const auto& [name, write] : writes) {
    SCOPED_TRACE(name);
    ASSERT_OK_AND_ASSIGN(const uint64_t revision, write());
    EXPECT_GT(revision, previous);
    EXPECT_EQ(revision, store->CurrentRevision());
    previous = revision;
  }
}

TEST(Store, SetManyWritesAllItsKeysAtOneRevision) {
  ScratchStore store;
  ASSERT_OK(store->Set(kBucket, "b", "old").status());
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"a", "1"}, {"b", "2"}, {"c", "3"}};

  ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->SetMany(kBucket, pairs));
  EXPECT_EQ(store->CurrentRevision(), set.revision);
  for (const auto& [key, value] : pairs) {
    EXPECT_TRUE(Holds(*store, kBucket, key, value, set.revision));
  }
}

TEST(Store, DataAndRevisionSurviveReopen) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult kept, store->Set(kBucket, "kept", "v"));
  ASSERT_OK(store->Set(kBucket, "deleted", "v").status());
  ASSERT_OK(store->Delete(kBucket, "deleted").status());
  const uint64_t last = store->CurrentRevision();

  ASSERT_OK(store.Reopen());
  EXPECT_EQ(store->CurrentRevision(), last);
  EXPECT_TRUE(Holds(*store, kBucket, "kept", "v", kept.revision));
  EXPECT_TRUE(IsMissing(*store, kBucket, "deleted"));
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult next, store->Set(kBucket, "next", "v"));
  EXPECT_GT(next.revision, last);
}

TEST(Store, ReadsFromMemoryAnswerWhatIsInMemoryAndDeferTheRest) {
  ScratchStore store;
  // Enough keys to fill many SST blocks once flushed.
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 2000; ++i) {
    pairs.emplace_back("key" + std::to_string(10000 + i), std::string(100, 'a' + i % 26));
  }
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->SetMany(kBucket, pairs));
  // In the memtable: answered from memory, the same as Get.
  ASSERT_OK_AND_ASSIGN(std::optional<Store::ReadResult> fresh,
                       store->GetFromMemory(kBucket, pairs[7].first));
  ASSERT_TRUE(fresh.has_value());
  ASSERT_TRUE(fresh->value.has_value());
  EXPECT_EQ(fresh->value->value, pairs[7].second);
  EXPECT_EQ(fresh->value->version, set.revision);
  EXPECT_EQ(fresh->revision, set.revision);

  // Reopened: flushed to SST files, the block cache cold. Keys whose block
  // was not read are deferred (nullopt), never reported missing; once Get
  // has read them from disk, memory answers the same.
  ASSERT_OK(store.Reopen());
  int deferred = 0;
  for (const auto& [key, value] : pairs) {
    ASSERT_OK_AND_ASSIGN(std::optional<Store::ReadResult> cold, store->GetFromMemory(kBucket, key));
    if (cold.has_value()) {
      ASSERT_TRUE(cold->value.has_value()) << key;
      EXPECT_EQ(cold->value->value, value);
      continue;
    }
    ++deferred;
    EXPECT_TRUE(Holds(*store, kBucket, key, value, set.revision));
    ASSERT_OK_AND_ASSIGN(std::optional<Store::ReadResult> warm, store->GetFromMemory(kBucket, key));
    ASSERT_TRUE(warm.has_value()) << key;
    ASSERT_TRUE(warm->value.has_value()) << key;
    EXPECT_EQ(warm->value->value, value);
    EXPECT_EQ(warm->revision, set.revision);
  }
  EXPECT_GT(deferred, 0) << "every key was in memory after a reopen: nothing was deferred";

  // A missing key in memory is missing, not deferred; a missing bucket is
  // the same error as Get's.
  ASSERT_OK_AND_ASSIGN(std::optional<Store::ReadResult> absent,
                       store->GetFromMemory(kBucket, "key10000x"));
  if (absent.has_value()) {
    EXPECT_FALSE(absent->value.has_value());
  }
  const std::string keys[] = {pairs[0].first, pairs[1999].first};
  ASSERT_OK_AND_ASSIGN(std::optional<Store::ManyReadResult> many,
                       store->GetManyFromMemory(kBucket, keys));
  if (many.has_value()) {
    ASSERT_EQ(many->values.size(), 2u);
    EXPECT_EQ(many->values[1]->value, pairs[1999].second);
  }
}

TEST(Store, BucketsSurviveReopen) {
  ScratchStore store(BucketMode::kStrict);
  ASSERT_OK_AND_ASSIGN(const uint64_t created, store->CreateBucket("kept"));
  ASSERT_OK(store->CreateBucket("dropped").status());
  ASSERT_OK(store->DeleteBucket("dropped").status());

  ASSERT_OK(store.Reopen());
  ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> kept, store->FindBucket("kept"));
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->create_revision, created);
  ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> dropped, store->FindBucket("dropped"));
  EXPECT_FALSE(dropped.has_value());
  EXPECT_EQ(store->Get("dropped", "k").status().code(), StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// Increment

TEST(Store, IncrementOfMissingKeyStartsAtZero) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const Store::IncrementResult incremented,
                       store->Increment(kBucket, "counter", 5));
  EXPECT_EQ(incremented.value, 5);
  EXPECT_TRUE(Holds(*store, kBucket, "counter", "5", incremented.revision));
}

TEST(Store, IncrementStoresTheSumAsDecimalText) {
  ScratchStore store;
  ASSERT_OK(store->Set(kBucket, "counter", "10").status());

  ASSERT_OK_AND_ASSIGN(const Store::IncrementResult incremented,
                       store->Increment(kBucket, "counter", 5));
  EXPECT_EQ(incremented.value, 15);
  EXPECT_TRUE(Holds(*store, kBucket, "counter", "15", incremented.revision));
}

TEST(Store, IncrementByANegativeDeltaCountsDownPastZero) {
  ScratchStore store;
  ASSERT_OK(store->Set(kBucket, "counter", "3").status());

  ASSERT_OK_AND_ASSIGN(const Store::IncrementResult down,
                       store->Increment(kBucket, "counter", -10));
  EXPECT_EQ(down.value, -7);
  EXPECT_TRUE(Holds(*store, kBucket, "counter", "-7", down.revision));

  ASSERT_OK_AND_ASSIGN(const Store::IncrementResult up, store->Increment(kBucket, "counter", 7));
  EXPECT_EQ(up.value, 0);
  EXPECT_TRUE(Holds(*store, kBucket, "counter", "0", up.revision));
}

TEST(Store, IncrementOfNonDecimalValueFailsAndLeavesItUnchanged) {
  ScratchStore store;
  for (const std::string_view bad : {"abc", "", " 1", "1 ", "+1", "1.5", "-", "0x10"}) {
    SCOPED_TRACE(::testing::Message() << "stored value '" << bad << "'");
    ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->Set(kBucket, "counter", bad));

    EXPECT_EQ(store->Increment(kBucket, "counter", 1).status().code(),
              StatusCode::kFailedPrecondition);
    EXPECT_TRUE(Holds(*store, kBucket, "counter", bad, set.revision));
    EXPECT_EQ(store->CurrentRevision(), set.revision);
  }
}

TEST(Store, IncrementPastTheInt64RangeIsOutOfRangeAndLeavesTheValue) {
  ScratchStore store;
  const std::pair<std::string, int64_t> overflows[] = {
      {std::to_string(std::numeric_limits<int64_t>::max()), 1},
      {std::to_string(std::numeric_limits<int64_t>::min()), -1},
  };
  for (const auto& [stored, delta] : overflows) {
    SCOPED_TRACE(stored);
    ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->Set(kBucket, "counter", stored));

    EXPECT_EQ(store->Increment(kBucket, "counter", delta).status().code(), StatusCode::kOutOfRange);
    EXPECT_TRUE(Holds(*store, kBucket, "counter", stored, set.revision));
  }
}

TEST(Store, IncrementOfStoredValueBeyondInt64IsOutOfRange) {
  ScratchStore store;
  for (const std::string_view stored : {"18446744073709551615", "-9223372036854775809"}) {
    SCOPED_TRACE(stored);
    ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->Set(kBucket, "counter", stored));

    EXPECT_EQ(store->Increment(kBucket, "counter", 1).status().code(), StatusCode::kOutOfRange);
    EXPECT_TRUE(Holds(*store, kBucket, "counter", stored, set.revision));
  }
}

// ---------------------------------------------------------------------------
// CompareAndSwap

TEST(Store, CompareAndSwapOnValueSwapsOnlyOnAMatch) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->Set(kBucket, "k", "a"));

  ASSERT_OK_AND_ASSIGN(const Store::CasResult mismatch,
                       store->CompareAndSwap(kBucket, "k", ValueIs("b"), "new"));
  EXPECT_FALSE(mismatch.swapped);
  ASSERT_TRUE(mismatch.current.has_value());
  EXPECT_EQ(mismatch.current->value, "a");
  EXPECT_EQ(mismatch.current->version, set.revision);
  EXPECT_TRUE(Holds(*store, kBucket, "k", "a", set.revision));

  ASSERT_OK_AND_ASSIGN(const Store::CasResult match,
                       store->CompareAndSwap(kBucket, "k", ValueIs("a"), "new"));
  EXPECT_TRUE(match.swapped);
  EXPECT_GT(match.revision, set.revision);
  EXPECT_TRUE(Holds(*store, kBucket, "k", "new", match.revision));
}

TEST(Store, CompareAndSwapExpectingAbsenceSwapsOnlyForAMissingKey) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const Store::CasResult created,
                       store->CompareAndSwap(kBucket, "k", Absent(), "first"));
  EXPECT_TRUE(created.swapped);
  EXPECT_TRUE(Holds(*store, kBucket, "k", "first", created.revision));

  ASSERT_OK_AND_ASSIGN(const Store::CasResult refused,
                       store->CompareAndSwap(kBucket, "k", Absent(), "second"));
  EXPECT_FALSE(refused.swapped);
  ASSERT_TRUE(refused.current.has_value());
  EXPECT_EQ(refused.current->value, "first");
  EXPECT_TRUE(Holds(*store, kBucket, "k", "first", created.revision));
}

TEST(Store, CompareAndSwapOnVersionRefusesAStaleVersion) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->Set(kBucket, "k", "a"));

  ASSERT_OK_AND_ASSIGN(const Store::CasResult match,
                       store->CompareAndSwap(kBucket, "k", VersionIs(set.revision), "b"));
  EXPECT_TRUE(match.swapped);

  ASSERT_OK_AND_ASSIGN(const Store::CasResult stale,
                       store->CompareAndSwap(kBucket, "k", VersionIs(set.revision), "c"));
  EXPECT_FALSE(stale.swapped);
  ASSERT_TRUE(stale.current.has_value());
  EXPECT_EQ(stale.current->value, "b");
  EXPECT_EQ(stale.current->version, match.revision);
  EXPECT_TRUE(Holds(*store, kBucket, "k", "b", match.revision));
}

TEST(Store, CompareAndSwapOnValueNeverMatchesAMissingKey) {
  ScratchStore store;
  ASSERT_OK(store->Set(kBucket, "other", "v").status());

  ASSERT_OK_AND_ASSIGN(const Store::CasResult result,
                       store->CompareAndSwap(kBucket, "k", ValueIs(""), "new"));
  EXPECT_FALSE(result.swapped);
  EXPECT_FALSE(result.current.has_value());
  EXPECT_TRUE(IsMissing(*store, kBucket, "k"));
}

// ---------------------------------------------------------------------------
// GetMany, SetMany, DeleteMany

TEST(Store, GetManyAnswersEachRequestedKeyInOrder) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult a, store->Set(kBucket, "a", "A"));
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult b, store->Set(kBucket, "b", "B"));
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult c, store->Set(kBucket, "c", "C"));
  // The latest commit is elsewhere: the read's revision is the store's, not
  // the highest version among the keys.
  ASSERT_OK(store->Set("elsewhere", "k", "v").status());

  const std::vector<std::string> keys = {"c", "a", "missing", "a", "b"};
  ASSERT_OK_AND_ASSIGN(const Store::ManyReadResult read, store->GetMany(kBucket, keys));
  EXPECT_EQ(ValuesOf(read),
            (std::vector<std::optional<std::string>>{"C", "A", std::nullopt, "A", "B"}));
  ASSERT_EQ(read.values.size(), keys.size());
  EXPECT_EQ(read.values[0]->version, c.revision);
  EXPECT_EQ(read.values[1]->version, a.revision);
  EXPECT_EQ(read.values[3]->version, a.revision);
  EXPECT_EQ(read.values[4]->version, b.revision);
  EXPECT_EQ(read.revision, store->CurrentRevision());
}

TEST(Store, SetManyWithARepeatedKeyKeepsTheLastValue) {
  ScratchStore store;
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"k", "first"}, {"other", "x"}, {"k", "last"}};

  ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->SetMany(kBucket, pairs));
  EXPECT_TRUE(Holds(*store, kBucket, "k", "last", set.revision));
  EXPECT_TRUE(Holds(*store, kBucket, "other", "x", set.revision));
}

TEST(Store, DeleteManyCountsEachExistingKeyOnce) {
  ScratchStore store;
  ASSERT_OK(store->Set(kBucket, "a", "v").status());
  ASSERT_OK(store->Set(kBucket, "b", "v").status());
  ASSERT_OK(store->Set(kBucket, "kept", "v").status());

  const std::vector<std::string> keys = {"a", "missing", "a", "b"};
  ASSERT_OK_AND_ASSIGN(const Store::DeleteManyResult deleted, store->DeleteMany(kBucket, keys));
  EXPECT_EQ(deleted.deleted, 2u);
  EXPECT_EQ(deleted.revision, store->CurrentRevision());
  EXPECT_TRUE(IsMissing(*store, kBucket, "a"));
  EXPECT_TRUE(IsMissing(*store, kBucket, "b"));
  ASSERT_OK_AND_ASSIGN(const Store::ReadResult kept, store->Get(kBucket, "kept"));
  EXPECT_TRUE(kept.value.has_value());
}

TEST(Store, DeleteManyOfMissingKeysCommitsNothing) {
  ScratchStore store;
  ASSERT_OK(store->Set(kBucket, "other", "v").status());
  const uint64_t before = store->CurrentRevision();

  const std::vector<std::string> keys = {"x", "y"};
  ASSERT_OK_AND_ASSIGN(const Store::DeleteManyResult deleted, store->DeleteMany(kBucket, keys));
  EXPECT_EQ(deleted.deleted, 0u);
  EXPECT_EQ(deleted.revision, before);
  EXPECT_EQ(store->CurrentRevision(), before);
}

// ---------------------------------------------------------------------------
// ListKeys

TEST(Store, ListKeysReturnsKeysInByteOrder) {
  ScratchStore store;
  // Upper case before lower case, a key before its extensions (even by a NUL
  // byte), multi-byte UTF-8 (U+00E9, U+1F600) after ASCII.
  const std::vector<std::string> sorted = {"B", "a",        std::string("a\0", 2), "a\x01", "ab",
                                           "b", "\xc3\xa9", "\xf0\x9f\x98\x80"};
  // Inserted in reverse, so the order comes from the store, not the inserts.
  for (auto key = sorted.rbegin(); key != sorted.rend(); ++key) {
    ASSERT_OK(store->Set(kBucket, *key, "v").status());
  }

  ASSERT_OK_AND_ASSIGN(const Store::ListResult list,
                       store->ListKeys(kBucket, "", std::nullopt, 100));
  EXPECT_EQ(list.keys, sorted);
  EXPECT_FALSE(list.more);
  EXPECT_EQ(list.revision, store->CurrentRevision());
}

TEST(Store, ListKeysReturnsOnlyKeysWithThePrefix) {
  ScratchStore store;
  for (const char* key : {"ap", "apple", "app", "apricot", "banana", "a"}) {
    ASSERT_OK(store->Set(kBucket, key, "v").status());
  }

  ASSERT_OK_AND_ASSIGN(const Store::ListResult ap,
                       store->ListKeys(kBucket, "ap", std::nullopt, 100));
  EXPECT_EQ(ap.keys, (std::vector<std::string>{"ap", "app", "apple", "apricot"}));
  ASSERT_OK_AND_ASSIGN(const Store::ListResult app,
                       store->ListKeys(kBucket, "app", std::nullopt, 100));
  EXPECT_EQ(app.keys, (std::vector<std::string>{"app", "apple"}));
  ASSERT_OK_AND_ASSIGN(const Store::ListResult none,
                       store->ListKeys(kBucket, "c", std::nullopt, 100));
  EXPECT_TRUE(none.keys.empty());
  EXPECT_FALSE(none.more);
}

TEST(Store, ListKeysDoesNotSeeBucketsWhoseNameExtendsItsOwn) {
  ScratchStore store;
  ASSERT_OK(store->Set("a", "x", "v").status());
  ASSERT_OK(store->Set("ab", "x", "v").status());
  ASSERT_OK(store->Set("ab", "y", "v").status());
  ASSERT_OK(store->Set("a b", "z", "v").status());

  ASSERT_OK_AND_ASSIGN(const Store::ListResult a, store->ListKeys("a", "", std::nullopt, 100));
  EXPECT_EQ(a.keys, (std::vector<std::string>{"x"}));
  ASSERT_OK_AND_ASSIGN(const Store::ListResult ab, store->ListKeys("ab", "", std::nullopt, 100));
  EXPECT_EQ(ab.keys, (std::vector<std::string>{"x", "y"}));
  ASSERT_OK_AND_ASSIGN(const Store::ListResult a_b_prefix,
                       store->ListKeys("a", "b", std::nullopt, 100));
  EXPECT_TRUE(a_b_prefix.keys.empty());
  EXPECT_TRUE(IsMissing(*store, "a", "y"));
}

TEST(Store, ListKeysPagesWithStartAfterAndLimit) {
  ScratchStore store;
  for (const char* key : {"k1", "k2", "k3", "k4", "k5", "k6", "x"}) {
    ASSERT_OK(store->Set(kBucket, key, "v").status());
  }

  ASSERT_OK_AND_ASSIGN(const Store::ListResult first,
                       store->ListKeys(kBucket, "k", std::nullopt, 3));
  EXPECT_EQ(first.keys, (std::vector<std::string>{"k1", "k2", "k3"}));
  EXPECT_TRUE(first.more);
  // The last page is exactly full: `more` says whether keys remain, not
  // whether the page filled up.
  ASSERT_OK_AND_ASSIGN(const Store::ListResult last, store->ListKeys(kBucket, "k", "k3", 3));
  EXPECT_EQ(last.keys, (std::vector<std::string>{"k4", "k5", "k6"}));
  EXPECT_FALSE(last.more);
  // start_after need not be a stored key, and may sort before the prefix.
  ASSERT_OK_AND_ASSIGN(const Store::ListResult between, store->ListKeys(kBucket, "k", "k4a", 10));
  EXPECT_EQ(between.keys, (std::vector<std::string>{"k5", "k6"}));
  ASSERT_OK_AND_ASSIGN(const Store::ListResult before, store->ListKeys(kBucket, "k", "a", 2));
  EXPECT_EQ(before.keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_TRUE(before.more);
}

TEST(Store, PagedListingSeesEachSteadyKeyOnceWhileOtherKeysChange) {
  ScratchStore store;
  // k00..k59: multiples of 3 stay put during the listing; the rest churn.
  auto key = [](int i) { return std::string(i < 10 ? "k0" : "k") + std::to_string(i); };
  constexpr int kKeys = 60;
  std::vector<std::string> steady;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_OK(store->Set(kBucket, key(i), "v").status());
    if (i % 3 == 0) steady.push_back(key(i));
  }

  // Between pages, delete one churning key from the low end and one from the
  // high end and insert a key next to each: with pages of 4, both behind and
  // ahead of the cursor.
  int round = 0;
  absl::Status churn_status;
  auto churn = [&] {
    ++round;
    for (const int i : {3 * round - 2, kKeys - 3 * round + 1}) {
      churn_status.Update(store->Delete(kBucket, key(i)).status());
      churn_status.Update(store->Set(kBucket, key(i) + "+", "new").status());
    }
  };
  ASSERT_OK_AND_ASSIGN(const std::vector<std::string> listed,
                       ListAll(*store, kBucket, "k", 4, churn));
  ASSERT_OK(churn_status);
  ASSERT_GT(round, 5);

  EXPECT_EQ(std::adjacent_find(listed.begin(), listed.end(), std::greater_equal<>()), listed.end())
      << "keys out of order or repeated";
  for (const std::string& k : steady) {
    EXPECT_EQ(std::count(listed.begin(), listed.end(), k), 1) << k;
  }
}

// ---------------------------------------------------------------------------
// Buckets

TEST(Store, FirstWriteCreatesTheBucketInAutoCreateMode) {
  ScratchStore store;
  ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> before, store->FindBucket(kBucket));
  EXPECT_FALSE(before.has_value());

  ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->Set(kBucket, "k", "v"));
  ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> after, store->FindBucket(kBucket));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->name, kBucket);
  EXPECT_GT(after->create_revision, 0u);
  EXPECT_LT(after->create_revision, set.revision);
}

TEST(Store, ReadsOfAMissingBucketFindNothingAndDoNotCreateIt) {
  ScratchStore store;
  const std::vector<std::string> keys = {"a", "b"};

  ASSERT_OK_AND_ASSIGN(const Store::ReadResult read, store->Get(kBucket, "a"));
  EXPECT_FALSE(read.value.has_value());
  ASSERT_OK_AND_ASSIGN(const Store::ManyReadResult many, store->GetMany(kBucket, keys));
  EXPECT_EQ(ValuesOf(many), (std::vector<std::optional<std::string>>{std::nullopt, std::nullopt}));
  ASSERT_OK_AND_ASSIGN(const Store::ListResult list,
                       store->ListKeys(kBucket, "", std::nullopt, 10));
  EXPECT_TRUE(list.keys.empty());
  // Deleting from a missing bucket deletes nothing, so it is a read too.
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult deleted, store->Delete(kBucket, "a"));
  EXPECT_FALSE(deleted.changed);
  ASSERT_OK_AND_ASSIGN(const Store::DeleteManyResult deleted_many,
                       store->DeleteMany(kBucket, keys));
  EXPECT_EQ(deleted_many.deleted, 0u);

  ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> bucket, store->FindBucket(kBucket));
  EXPECT_FALSE(bucket.has_value());
  EXPECT_TRUE(store->ListBuckets().buckets.empty());
  EXPECT_EQ(store->CurrentRevision(), 0u);
}

TEST(Store, StrictModeServesOnlyCreatedBuckets) {
  ScratchStore store(BucketMode::kStrict);
  const std::vector<std::string> keys = {"k"};
  EXPECT_EQ(store->Get(kBucket, "k").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->GetMany(kBucket, keys).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->ListKeys(kBucket, "", std::nullopt, 10).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Set(kBucket, "k", "v").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Increment(kBucket, "k", 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->CompareAndSwap(kBucket, "k", Absent(), "v").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store->Delete(kBucket, "k").status().code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> missing, store->FindBucket(kBucket));
  EXPECT_FALSE(missing.has_value());
  EXPECT_EQ(store->CurrentRevision(), 0u);

  ASSERT_OK_AND_ASSIGN(const uint64_t created, store->CreateBucket(kBucket));
  ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> found, store->FindBucket(kBucket));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->create_revision, created);
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult set, store->Set(kBucket, "k", "v"));
  EXPECT_TRUE(Holds(*store, kBucket, "k", "v", set.revision));
}

TEST(Store, CreatingAnExistingBucketIsAlreadyExists) {
  ScratchStore store(BucketMode::kStrict);
  ASSERT_OK_AND_ASSIGN(const uint64_t created, store->CreateBucket(kBucket));

  EXPECT_EQ(store->CreateBucket(kBucket).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store->CurrentRevision(), created);
  ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> found, store->FindBucket(kBucket));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->create_revision, created);
}

TEST(Store, DeleteBucketRemovesItsKeysAndNoOtherBuckets) {
  ScratchStore store;
  for (const char* key : {"x", "y", "z"}) ASSERT_OK(store->Set("a", key, "v").status());
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult ab_x, store->Set("ab", "x", "v"));
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult b_x, store->Set("b", "x", "v"));

  ASSERT_OK_AND_ASSIGN(const Store::DeleteBucketResult deleted, store->DeleteBucket("a"));
  EXPECT_TRUE(deleted.deleted);
  EXPECT_EQ(deleted.deleted_keys, 3u);
  EXPECT_EQ(deleted.revision, store->CurrentRevision());
  ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> gone, store->FindBucket("a"));
  EXPECT_FALSE(gone.has_value());
  EXPECT_TRUE(IsMissing(*store, "a", "x"));
  EXPECT_TRUE(Holds(*store, "ab", "x", "v", ab_x.revision));
  EXPECT_TRUE(Holds(*store, "b", "x", "v", b_x.revision));
  EXPECT_EQ(BucketNames(store->ListBuckets()), (std::vector<std::string>{"ab", "b"}));

  // Writing to the name again starts an empty bucket, not the old one.
  ASSERT_OK(store->Set("a", "new", "v").status());
  ASSERT_OK_AND_ASSIGN(const Store::ListResult list, store->ListKeys("a", "", std::nullopt, 10));
  EXPECT_EQ(list.keys, (std::vector<std::string>{"new"}));
  ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> again, store->FindBucket("a"));
  ASSERT_TRUE(again.has_value());
  EXPECT_GT(again->create_revision, deleted.revision);
}

TEST(Store, DeleteOfAMissingBucketReportsNothingDeleted) {
  ScratchStore store;
  ASSERT_OK(store->Set("other", "k", "v").status());
  const uint64_t before = store->CurrentRevision();

  ASSERT_OK_AND_ASSIGN(const Store::DeleteBucketResult deleted, store->DeleteBucket(kBucket));
  EXPECT_FALSE(deleted.deleted);
  EXPECT_EQ(deleted.deleted_keys, 0u);
  EXPECT_EQ(deleted.revision, before);
  EXPECT_EQ(store->CurrentRevision(), before);
}

TEST(Store, ListBucketsIsSortedByName) {
  ScratchStore store(BucketMode::kStrict);
  for (const char* name : {"c", "a", "b", "ab"}) ASSERT_OK(store->CreateBucket(name).status());

  const Store::BucketList list = store->ListBuckets();
  EXPECT_EQ(BucketNames(list), (std::vector<std::string>{"a", "ab", "b", "c"}));
  EXPECT_EQ(list.revision, store->CurrentRevision());
  for (const BucketInfo& bucket : list.buckets) {
    ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> found, store->FindBucket(bucket.name));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->create_revision, bucket.create_revision) << bucket.name;
  }
}

// ---------------------------------------------------------------------------
// Lifecycle

TEST(Store, SecondCloseIsFailedPrecondition) {
  ScratchStore store;
  ASSERT_OK(store->Close());
  EXPECT_EQ(store->Close().code(), StatusCode::kFailedPrecondition);
}

TEST(Store, OpenOfADirectoryInUseReturnsAnError) {
  ScratchStore store;
  // RocksDB's lock file refuses a second open, from this process as from
  // another (server_test's SecondServerOnSameDataDirFailsClearly runs two
  // wasikvd). Not in a forked child: fork() copies a process whose RocksDB
  // and commit pipeline threads may hold a lock (malloc's, a sanitizer's)
  // that the child then waits on forever.
  absl::StatusOr<std::unique_ptr<Store>> second = Store::Open(store.options());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(std::string(second.status().message()).find("lock"), std::string::npos)
      << second.status();
}

// ---------------------------------------------------------------------------
// Concurrency

TEST(Store, ConcurrentIncrementsOfOneKeyLoseNoUpdate) {
  constexpr int kThreads = 8;
  constexpr int kIncrementsPerThread = 500;
  ScratchStore store;
  std::vector<std::vector<absl::StatusOr<Store::IncrementResult>>> results(kThreads);

  RunConcurrently(kThreads, [&](int thread) {
    for (int i = 0; i < kIncrementsPerThread; ++i) {
      results[thread].push_back(store->Increment(kBucket, "counter", 1));
    }
  });

  std::set<int64_t> values;
  std::set<uint64_t> revisions;
  for (const auto& thread_results : results) {
    for (const absl::StatusOr<Store::IncrementResult>& result : thread_results) {
      ASSERT_TRUE(result.ok()) << result.status();
      values.insert(result->value);
      revisions.insert(result->revision);
    }
  }
  constexpr int kTotal = kThreads * kIncrementsPerThread;
  EXPECT_EQ(revisions.size(), size_t{kTotal});
  // Each count from 1 to the total was handed out exactly once.
  EXPECT_EQ(values.size(), size_t{kTotal});
  EXPECT_EQ(*values.begin(), 1);
  EXPECT_EQ(*values.rbegin(), kTotal);
  EXPECT_TRUE(Holds(*store, kBucket, "counter", std::to_string(kTotal), *revisions.rbegin()));
}

// Sets `key`, then races `threads` compare-and-swaps on its version: exactly
// one may win, and every loser must see the winner's write.
void RaceCompareAndSwaps(Store& store, std::string_view key, int threads) {
  ASSERT_OK_AND_ASSIGN(const Store::WriteResult initial, store.Set(kBucket, key, "initial"));
  std::vector<absl::StatusOr<Store::CasResult>> results(threads);
  RunConcurrently(threads, [&](int thread) {
    results[thread] = store.CompareAndSwap(kBucket, key, VersionIs(initial.revision),
                                           "writer " + std::to_string(thread));
  });

  std::vector<int> winners;
  for (int thread = 0; thread < threads; ++thread) {
    ASSERT_TRUE(results[thread].ok()) << results[thread].status();
    if (results[thread]->swapped) winners.push_back(thread);
  }
  ASSERT_EQ(winners.size(), 1u);
  const std::string winning_value = "writer " + std::to_string(winners[0]);
  const uint64_t winning_revision = results[winners[0]]->revision;
  EXPECT_TRUE(Holds(store, kBucket, key, winning_value, winning_revision));
  for (int thread = 0; thread < threads; ++thread) {
    if (thread == winners[0]) continue;
    ASSERT_TRUE(results[thread]->current.has_value());
    EXPECT_EQ(results[thread]->current->value, winning_value);
    EXPECT_EQ(results[thread]->current->version, winning_revision);
  }
}

TEST(Store, ConcurrentCompareAndSwapsOnOneVersionSwapOnce) {
  // A check-then-write race shows only in some interleavings, hence rounds.
  constexpr int kRounds = 100;
  ScratchStore store;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round);
    ASSERT_NO_FATAL_FAILURE(RaceCompareAndSwaps(*store, "k", /*threads=*/8));
  }
}

TEST(Store, ConcurrentSetsOfDifferentKeysAllCommit) {
  constexpr int kThreads = 8;
  constexpr int kSetsPerThread = 100;
  ScratchStore store;
  auto key = [](int thread, int i) { return std::to_string(thread) + "/" + std::to_string(i); };
  std::vector<std::vector<absl::StatusOr<Store::WriteResult>>> results(kThreads);

  RunConcurrently(kThreads, [&](int thread) {
    for (int i = 0; i < kSetsPerThread; ++i) {
      results[thread].push_back(store->Set(kBucket, key(thread, i), key(thread, i)));
    }
  });

  std::set<uint64_t> revisions;
  for (int thread = 0; thread < kThreads; ++thread) {
    for (int i = 0; i < kSetsPerThread; ++i) {
      const absl::StatusOr<Store::WriteResult>& result = results[thread][i];
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_TRUE(result->changed);
      revisions.insert(result->revision);
      EXPECT_TRUE(Holds(*store, kBucket, key(thread, i), key(thread, i), result->revision));
    }
  }
  EXPECT_EQ(revisions.size(), size_t{kThreads * kSetsPerThread});
}

TEST(Store, KeyDeletesRacingDeleteBucketDoNotRecreateTheBucket) {
  // Deleting keys must never create their bucket: whichever call runs first,
  // the bucket is gone once all have returned. The interleaving that breaks
  // this is narrow, hence the many rounds.
  constexpr int kRounds = 1000;
  ScratchStore store;
  const std::vector<std::string> keys = {"k"};
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_OK(store->Set(kBucket, "k", "v").status());
    RunConcurrently(3, [&](int thread) {
      switch (thread) {
        case 0:
          store->DeleteBucket(kBucket).IgnoreError();
          break;
        case 1:
          store->Delete(kBucket, "k").IgnoreError();
          break;
        default:
          store->DeleteMany(kBucket, keys).IgnoreError();
          break;
      }
    });
    ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> bucket, store->FindBucket(kBucket));
    ASSERT_FALSE(bucket.has_value()) << "round " << round << ": a key delete recreated the bucket";
  }
}

// Collects the outcomes of asynchronous writes and waits for all of them.
template <typename Result>
class AsyncOutcomes {
 public:
  explicit AsyncOutcomes(size_t count) : outcomes_(count), pending_(count) {}
  Store::Callback<Result> For(size_t index) {
    return [this, index](absl::StatusOr<Result> outcome) {
      outcomes_[index] = std::move(outcome);
      pending_.count_down();
    };
  }
  const std::vector<absl::StatusOr<Result>>& Wait() {
    pending_.wait();
    return outcomes_;
  }

 private:
  std::vector<absl::StatusOr<Result>> outcomes_;
  std::latch pending_;
};

TEST(Store, AsyncWritesSubmittedTogetherEachSeeTheOnesBefore) {
  // Submitted without waiting, most land in one commit group, where each is
  // decided against the writes before it that are not yet in RocksDB.
  constexpr int kIncrements = 300;
  ScratchStore store;
  ASSERT_OK(store->Set(kBucket, "setup", "v").status());  // the bucket exists
  AsyncOutcomes<Store::IncrementResult> increments(kIncrements);
  for (int i = 0; i < kIncrements; ++i) {
    store->IncrementAsync(kBucket, "counter", 1, increments.For(i));
  }
  AsyncOutcomes<Store::WriteResult> sets(2);
  store->SetAsync(kBucket, "fresh", "first", sets.For(0));
  store->SetAsync(kBucket, "fresh", "second", sets.For(1));
  AsyncOutcomes<Store::CasResult> swaps(2);
  store->CompareAndSwapAsync(
      kBucket, "fresh",
      CasCondition{.kind = CasCondition::Kind::kValue, .expected_value = "second"}, "third",
      swaps.For(0));
  store->CompareAndSwapAsync(
      kBucket, "fresh",
      CasCondition{.kind = CasCondition::Kind::kValue, .expected_value = "second"}, "fourth",
      swaps.For(1));

  const auto& counted = increments.Wait();
  for (int i = 0; i < kIncrements; ++i) {
    ASSERT_TRUE(counted[i].ok()) << counted[i].status();
    EXPECT_EQ(counted[i]->value, i + 1) << "increments are decided in submission order";
  }
  const auto& set = sets.Wait();
  ASSERT_TRUE(set[0].ok() && set[1].ok());
  EXPECT_TRUE(set[0]->changed) << "the first Set created the key";
  EXPECT_FALSE(set[1]->changed) << "the second saw the first, not yet written";
  const auto& swapped = swaps.Wait();
  ASSERT_TRUE(swapped[0].ok() && swapped[1].ok());
  EXPECT_TRUE(swapped[0]->swapped);
  EXPECT_FALSE(swapped[1]->swapped);
  ASSERT_TRUE(swapped[1]->current.has_value());
  EXPECT_EQ(swapped[1]->current->value, "third");
  EXPECT_EQ(swapped[1]->current->version, swapped[0]->revision);
  EXPECT_TRUE(Holds(*store, kBucket, "fresh", "third", swapped[0]->revision));
  EXPECT_TRUE(
      Holds(*store, kBucket, "counter", std::to_string(kIncrements), counted.back()->revision));
}

TEST(Store, WritesDecidedWhileTheGroupBeforeIsWrittenSeeThatGroup) {
  // More writes than one commit group takes (1024): the decider closes the
  // first group and decides the next ones while the writer is still writing
  // the one before, so those decisions read the increments from that group,
  // not from RocksDB.
  constexpr int kIncrements = 3000;
  ScratchStore store;
  ASSERT_OK(store->Set(kBucket, "setup", "v").status());
  AsyncOutcomes<Store::IncrementResult> increments(kIncrements);
  for (int i = 0; i < kIncrements; ++i) {
    store->IncrementAsync(kBucket, "counter", 1, increments.For(i));
  }
  const auto& counted = increments.Wait();
  for (int i = 0; i < kIncrements; ++i) {
    ASSERT_TRUE(counted[i].ok()) << counted[i].status();
    ASSERT_EQ(counted[i]->value, i + 1) << "increment " << i << " missed one before it";
    if (i > 0) {
      ASSERT_EQ(counted[i]->revision, counted[i - 1]->revision + 1);
    }
  }
  EXPECT_TRUE(
      Holds(*store, kBucket, "counter", std::to_string(kIncrements), counted.back()->revision));
}

TEST(Store, AsyncWriteToAMissingBucketAsksForTheBlockingCall) {
  ScratchStore store;
  AsyncOutcomes<Store::WriteResult> set(1);
  store->SetAsync(kBucket, "k", "v", set.For(0));
  const absl::Status status = set.Wait()[0].status();
  EXPECT_TRUE(Store::NeedsBlockingCall(status)) << status;
  ASSERT_OK_AND_ASSIGN(const std::optional<BucketInfo> bucket, store->FindBucket(kBucket));
  EXPECT_FALSE(bucket.has_value()) << "the async call must not create the bucket";

  ScratchStore strict(BucketMode::kStrict);
  AsyncOutcomes<Store::WriteResult> strict_set(1);
  strict->SetAsync(kBucket, "k", "v", strict_set.For(0));
  EXPECT_EQ(strict_set.Wait()[0].status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(Store::NeedsBlockingCall(strict_set.Wait()[0].status()));
}

TEST(Store, DeleteBucketCountsExactlyTheKeysWrittenBeforeIt) {
  // Writers keep adding distinct keys while the bucket is deleted: every key
  // written at a revision before the delete's is removed and counted, every
  // later one lives on in the recreated bucket.
  constexpr int kWriters = 4;
  constexpr int kSetsPerWriter = 300;
  ScratchStore store;
  ASSERT_OK(store->Set(kBucket, "setup", "v").status());
  std::vector<std::vector<std::pair<std::string, uint64_t>>> written(kWriters);
  absl::StatusOr<Store::DeleteBucketResult> deleted;
  RunConcurrently(kWriters + 1, [&](int thread) {
    if (thread == kWriters) {
      deleted = store->DeleteBucket(kBucket);
      return;
    }
    for (int i = 0; i < kSetsPerWriter; ++i) {
      const std::string key = std::to_string(thread) + "/" + std::to_string(i);
      absl::StatusOr<Store::WriteResult> set = store->Set(kBucket, key, "v");
      ASSERT_TRUE(set.ok()) << set.status();
      written[thread].emplace_back(key, set->revision);
    }
  });
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  ASSERT_TRUE(deleted->deleted);
  uint64_t before = 1;  // "setup"
  for (const auto& writes : written) {
    for (const auto& [key, revision] : writes) {
      ASSERT_NE(revision, deleted->revision);
      ASSERT_OK_AND_ASSIGN(const Store::ReadResult read, store->Get(kBucket, key));
      if (revision < deleted->revision) {
        ++before;
        EXPECT_FALSE(read.value.has_value()) << key << " was written before the delete";
      } else {
        EXPECT_TRUE(read.value.has_value()) << key << " was written after the delete";
      }
    }
  }
  EXPECT_EQ(deleted->deleted_keys, before);
}

TEST(Store, ListenerSeesEveryRevisionInAscendingOrder) {
  ScratchStore store;
  std::mutex mu;
  std::vector<uint64_t> seen;
  store->pipeline().AddListener([&](const CommittedRecords& group) {
    std::lock_guard lock(mu);
    for (const SharedRecord& record : group) seen.push_back(record->revision());
  });

  // Concurrent writers make groups of more than one record.
  RunConcurrently(4, [&](int thread) {
    for (int i = 0; i < 100; ++i) {
      store->Set(kBucket, std::to_string(thread) + "/" + std::to_string(i), "v").IgnoreError();
    }
  });
  ASSERT_OK(store->Delete(kBucket, "0/0").status());
  ASSERT_OK(store->DeleteBucket(kBucket).status());

  std::vector<uint64_t> expected(store->CurrentRevision());
  std::iota(expected.begin(), expected.end(), uint64_t{1});
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, expected);
}

}  // namespace
}  // namespace wasikv
