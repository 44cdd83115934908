// Store is wasikvd's storage engine: buckets of versioned key/value pairs in
// RocksDB, with a change log and global revisions.
//
// Every committed write gets a revision from the CommitPipeline: global,
// strictly increasing, persisted, shared by all changes of one call. A value's
// version is the revision that wrote it. "Not found" is never an error for a
// key: reads return an empty optional. It is NOT_FOUND for a bucket only when
// the store runs with auto_create_buckets=false and the bucket was never
// created.
//
// Callers validate input against RequestLimits before calling; the store
// trusts sizes and charsets but never crashes on any input.
//
// Storage faults (rocks_status.h): while the disk is full every write fails
// with RESOURCE_EXHAUSTED and reads go on; RocksDB resumes writes by itself
// once space is free again (background_error_listener.h), and nothing that was
// acknowledged is lost. A damaged file is DATA_LOSS naming the file, from the
// read that meets it or from Open; never a wrong value.
//
// Thread safety: every method may be called from any number of threads. The
// blocking calls block (RocksDB reads, synced writes), so callers keep them
// off event loops; the *Async writes never block and call back instead.
// Every write is decided on the commit pipeline's decider thread, in order,
// so read-modify-writes need no locks, and writes share fsyncs through group
// commit (commit_pipeline.h).
#ifndef WASIKV_SERVER_STORAGE_STORE_H_
#define WASIKV_SERVER_STORAGE_STORE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/background_error_listener.h"
#include "server/storage/backup.h"
#include "server/storage/change_cache.h"
#include "server/storage/commit_pipeline.h"
#include "server/storage/engine_stats.h"
#include "server/storage/rocksdb_logger.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace wasikv {

struct StoreOptions {
  // Directory holding the RocksDB files; created if missing.
  std::string data_dir = "./data";
  // fsync every commit group before acknowledging it.
  bool sync_writes = true;
  // Create buckets on their first write (true) or serve only buckets made
  // with CreateBucket (false).
  bool auto_create_buckets = true;
  // RocksDB block cache size.
  size_t block_cache_bytes = 64 << 20;
  // Change log retention. A record is trimmed once it is more than
  // history_revisions revisions old or older than history_age; 0 disables a
  // bound.
  uint64_t history_revisions = 100000;
  std::chrono::seconds history_age{24 * 3600};
  // How often the background trimmer applies retention; 0: never (tests call
  // TrimHistory themselves).
  std::chrono::milliseconds trim_interval{1000};
  // Recent change records kept in memory for watchers.
  size_t change_cache_bytes = 64 << 20;
};

struct VersionedValue {
  std::string value;
  uint64_t version = 0;  // The revision that wrote `value`.
};

struct BucketInfo {
  std::string name;
  uint64_t create_revision = 0;
};

// What a key-level compare-and-swap compares against.
struct CasCondition {
  enum class Kind { kValue, kAbsent, kVersion };
  Kind kind = Kind::kAbsent;
  std::string expected_value;     // kValue
  uint64_t expected_version = 0;  // kVersion
};

class Store {
 public:
  struct ReadResult {
    std::optional<VersionedValue> value;  // nullopt: key not found
    // A revision at which the read's answer held: at least the value's
    // version, and at least every revision the store reported to a call that
    // ended before this read began.
    uint64_t revision = 0;
  };
  struct ManyReadResult {
    std::vector<std::optional<VersionedValue>> values;  // request order
    uint64_t revision = 0;  // revision of the snapshot all values came from
  };
  struct ListResult {
    std::vector<std::string> keys;
    bool more = false;  // true if keys past the last one exist
    uint64_t revision = 0;
  };
  struct WriteResult {
    uint64_t revision = 0;  // the write's revision, or current if no-op
    bool changed = false;   // Set: key created; Delete: key existed
  };
  struct IncrementResult {
    int64_t value = 0;
    uint64_t revision = 0;
  };
  struct CasResult {
    bool swapped = false;
    uint64_t revision = 0;
    std::optional<VersionedValue> current;  // when not swapped
  };
  struct DeleteManyResult {
    uint64_t deleted = 0;
    uint64_t revision = 0;
  };
  struct DeleteBucketResult {
    bool deleted = false;
    uint64_t deleted_keys = 0;
    uint64_t revision = 0;
  };
  struct BucketList {
    std::vector<BucketInfo> buckets;
    uint64_t revision = 0;
  };

  // Opens (creating if needed) the store in options.data_dir, replaying the
  // WAL. DATA_LOSS naming the file if a WAL holds damage other than the torn
  // tail a crash leaves, or if a file Open reads is damaged: the store never
  // opens without a write it acknowledged.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  // Closes cleanly if Close() was not called.
  ~Store();

  // Flushes memtables and the WAL and closes RocksDB. Call once no other call
  // is in flight and make no other call afterwards; a second Close fails with
  // FAILED_PRECONDITION.
  //
  // While a storage error stops writes (a full disk) RocksDB cannot close:
  // its WAL writer saw the error, and Debian's RocksDB (built with
  // assertions) aborts on flushing it. Close then leaves RocksDB as a crash
  // would and returns UNAVAILABLE. Nothing is lost (every acknowledged write
  // is in the synced WAL, which the next Open replays), but RocksDB's threads
  // still run: the process should end without running destructors
  // (std::_Exit).
  absl::Status Close();

  // Buckets. FindBucket returns nullopt for a missing bucket in either mode.
  absl::StatusOr<std::optional<BucketInfo>> FindBucket(std::string_view bucket);
  absl::StatusOr<uint64_t> CreateBucket(std::string_view bucket);
  absl::StatusOr<DeleteBucketResult> DeleteBucket(std::string_view bucket);
  BucketList ListBuckets();

  // Reads.
  absl::StatusOr<ReadResult> Get(std::string_view bucket, std::string_view key);
  absl::StatusOr<ManyReadResult> GetMany(std::string_view bucket,
                                         std::span<const std::string> keys);
  // The same reads served only from memory (memtables and block cache,
  // RocksDB's kBlockCacheTier): nullopt when an answer needs the disk, so a
  // caller that must not block (a gRPC reaction) can hand the read to a
  // thread that may. Never blocks on I/O.
  absl::StatusOr<std::optional<ReadResult>> GetFromMemory(std::string_view bucket,
                                                          std::string_view key);
  absl::StatusOr<std::optional<ManyReadResult>> GetManyFromMemory(
      std::string_view bucket, std::span<const std::string> keys);
  // Keys of `bucket` starting with `prefix`, in byte order, strictly after
  // `start_after` if given, at most `limit`.
  absl::StatusOr<ListResult> ListKeys(std::string_view bucket, std::string_view prefix,
                                      std::optional<std::string_view> start_after, size_t limit);

  // Writes, blocking: they return once the write is durable.
  absl::StatusOr<WriteResult> Set(std::string_view bucket, std::string_view key,
                                  std::string_view value);
  absl::StatusOr<WriteResult> Delete(std::string_view bucket, std::string_view key);
  // FAILED_PRECONDITION if the stored value is not a decimal integer,
  // OUT_OF_RANGE if it or the result leaves the int64 range.
  absl::StatusOr<IncrementResult> Increment(std::string_view bucket, std::string_view key,
                                            int64_t delta);
  absl::StatusOr<CasResult> CompareAndSwap(std::string_view bucket, std::string_view key,
                                           const CasCondition& condition,
                                           std::string_view new_value);
  // All pairs at one revision; for a repeated key the last pair wins.
  // `changed` is true unless `pairs` is empty (then nothing is written).
  absl::StatusOr<WriteResult> SetMany(std::string_view bucket,
                                      std::span<const std::pair<std::string, std::string>> pairs);
  absl::StatusOr<DeleteManyResult> DeleteMany(std::string_view bucket,
                                              std::span<const std::string> keys);

  // The same writes, asynchronous: they never block, and `done` gets the
  // outcome once, on a commit pipeline thread (or on this one when the
  // answer is known at once). The arguments must stay valid until then.
  // `done` may get a status for which NeedsBlockingCall() is true: the write
  // was not made because it must first create its bucket, which waits for a
  // commit; make the blocking call instead, on a thread that may block.
  template <typename Result>
  using Callback = absl::AnyInvocable<void(absl::StatusOr<Result>)>;
  void SetAsync(std::string_view bucket, std::string_view key, std::string_view value,
                Callback<WriteResult> done);
  void DeleteAsync(std::string_view bucket, std::string_view key, Callback<WriteResult> done);
  void IncrementAsync(std::string_view bucket, std::string_view key, int64_t delta,
                      Callback<IncrementResult> done);
  void CompareAndSwapAsync(std::string_view bucket, std::string_view key,
                           const CasCondition& condition, std::string_view new_value,
                           Callback<CasResult> done);
  void SetManyAsync(std::string_view bucket,
                    std::span<const std::pair<std::string, std::string>> pairs,
                    Callback<WriteResult> done);
  void DeleteManyAsync(std::string_view bucket, std::span<const std::string> keys,
                       Callback<DeleteManyResult> done);
  static bool NeedsBlockingCall(const absl::Status& status);

  uint64_t CurrentRevision() const { return pipeline_->LastCommittedRevision(); }
  bool auto_create_buckets() const { return options_.auto_create_buckets; }
  CommitPipeline& pipeline() { return *pipeline_; }
  // RocksDB's figures (sizes, compaction debt, memory, stalls), for metrics.
  EngineStats GetEngineStats() const;

  // Change history (the log Watch replays).
  //
  // The committed records with revisions from `from` on, oldest first: at
  // least one record and about `max_bytes`, or none if `from` is past the
  // current revision. OUT_OF_RANGE if `from` was trimmed; OldestRevision()
  // then says where history starts.
  absl::StatusOr<std::vector<SharedRecord>> ReadChanges(uint64_t from, size_t max_bytes);
  // The oldest revision the change log still holds (the current revision + 1
  // if it holds none).
  uint64_t OldestRevision() const { return oldest_revision_.load(std::memory_order_acquire); }
  // Applies the retention bounds now; returns the new oldest revision. The
  // store's trimmer thread calls this every trim_interval.
  absl::StatusOr<uint64_t> TrimHistory();

  // Backups (backup.h, docs/backup.md).
  //
  // Backs the whole store up into `backup_dir` (created if missing) at one
  // revision while writes go on, verifies the backup, then keeps the newest
  // `keep` backups of the directory (0: all). One backup at a time: ABORTED
  // while another runs. The checkpoint it copies from is staged inside the
  // data directory and removed afterwards (or by the next Open after a
  // crash).
  absl::StatusOr<BackupInfo> Backup(const std::string& backup_dir, uint32_t keep);

 private:
  struct BucketState {
    uint64_t create_revision = 0;
    // Set when the bucket's delete is decided; read and written only on the
    // commit pipeline's decider thread, where every write to the bucket is
    // decided (and by its writer while the decider waits for the delete).
    bool deleted = false;
  };
  class DeleteBucketWrite;

  explicit Store(const StoreOptions& options);

  // The live state of `bucket`, or nullptr if it does not exist.
  std::shared_ptr<BucketState> FindState(std::string_view bucket);
  // Commits the creation of a bucket that does not exist; the caller holds
  // create_mu_.
  absl::StatusOr<std::shared_ptr<BucketState>> CommitBucketCreate(std::string_view bucket)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(create_mu_);
  // The live state of `bucket`, creating it if auto-create is on and
  // `create` is true. NOT_FOUND in strict mode for a missing bucket; nullptr
  // (with OK) for a missing bucket otherwise.
  absl::StatusOr<std::shared_ptr<BucketState>> LookupBucket(std::string_view bucket, bool create);
  // Why a write that would create `bucket` cannot go on without blocking:
  // NOT_FOUND in strict mode, NeedsBlockingCall() otherwise.
  absl::Status MissingBucket(std::string_view bucket) const;
  // NOT_FOUND if reads of `bucket` must fail (strict mode, missing bucket).
  absl::Status CheckReadable(std::string_view bucket);
  // GetMany's read into `result`; false only with `memory_only` and a
  // block not in memory (then `result` is untouched).
  absl::StatusOr<bool> ReadMany(std::string_view bucket, std::span<const std::string> keys,
                                bool memory_only, ManyReadResult* result);
  // Get's read into `result`, with the same contract.
  absl::StatusOr<bool> ReadOne(std::string_view bucket, std::string_view key, bool memory_only,
                               ReadResult* result);
  // The lowest revision a read beginning now may report: every revision
  // committed or reported to a read before.
  uint64_t ReadFloor() const;
  // Notes a revision a read reports, for ReadFloor().
  void ReportRead(uint64_t revision);

  // Submits a write to `state`'s bucket decided by `decide`
  // (absl::Status(CommitPipeline::View&, storage::ChangeRecord*, Result*)).
  template <typename Result, typename DecideFn>
  void SubmitWrite(DecideFn decide, Callback<Result> done);
  // A write that may create its bucket: looks the bucket up (creating it if
  // needed), submits with `submit` (void(std::shared_ptr<BucketState>,
  // Callback<Result>)) and waits, again if the bucket was deleted meanwhile.
  template <typename Result, typename Submit>
  absl::StatusOr<Result> WriteCreatingBucket(std::string_view bucket, Submit submit);
  // An asynchronous write that may create its bucket, if it exists.
  template <typename Result, typename Submit>
  void WriteCreatingBucketAsync(std::string_view bucket, Submit submit, Callback<Result> done);

  void SubmitSet(std::shared_ptr<BucketState> state, std::string_view bucket, std::string_view key,
                 std::string_view value, Callback<WriteResult> done);
  void SubmitIncrement(std::shared_ptr<BucketState> state, std::string_view bucket,
                       std::string_view key, int64_t delta, Callback<IncrementResult> done);
  void SubmitCompareAndSwap(std::shared_ptr<BucketState> state, std::string_view bucket,
                            std::string_view key, const CasCondition& condition,
                            std::string_view new_value, Callback<CasResult> done);
  void SubmitSetMany(std::shared_ptr<BucketState> state, std::string_view bucket,
                     std::span<const std::pair<std::string, std::string>> pairs,
                     Callback<WriteResult> done);
  // The failure of a write decided after its bucket's delete.
  absl::Status BucketGone(std::string_view bucket) const;

  // Trims the log until the first record younger than `cutoff_micros`.
  absl::StatusOr<uint64_t> FirstRevisionYoungerThan(uint64_t from, int64_t cutoff_micros);
  void TrimLoop();

  const StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* data_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* log_cf_ = nullptr;
  std::unique_ptr<CommitPipeline> pipeline_;
  const std::shared_ptr<WriteStallListener> stall_listener_ =
      std::make_shared<WriteStallListener>();
  const std::shared_ptr<BackgroundErrorListener> error_listener_ =
      std::make_shared<BackgroundErrorListener>();
  const std::shared_ptr<RocksDbLogger> rocksdb_logger_ = std::make_shared<RocksDbLogger>();

  absl::Mutex create_mu_;  // serialises bucket creation
  absl::Mutex buckets_mu_;
  std::map<std::string, std::shared_ptr<BucketState>, std::less<>> buckets_
      ABSL_GUARDED_BY(buckets_mu_);
  bool closed_ = false;

  ChangeCache change_cache_;
  // The highest revision a read reported (ReadFloor()).
  std::atomic<uint64_t> reported_revision_{0};
  std::atomic<uint64_t> oldest_revision_{1};
  absl::Mutex backup_mu_;
  bool backup_running_ ABSL_GUARDED_BY(backup_mu_) = false;
  absl::Mutex trim_mu_;  // one trim at a time
  absl::Mutex trimmer_mu_;
  bool stop_trimmer_ ABSL_GUARDED_BY(trimmer_mu_) = false;
  std::thread trimmer_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_STORE_H_
