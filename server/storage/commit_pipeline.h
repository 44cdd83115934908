// CommitPipeline turns change records into durable RocksDB writes, one
// revision per record, in revision order, with group commit.
//
// Every write the store makes goes through Commit(). Callers block; the first
// caller in the queue becomes the leader, takes the records queued behind it
// (up to a group limit), gives each the next revision, writes them all in one
// RocksDB WriteBatch (one fsync for the group when sync is on) and wakes the
// others. This is LevelDB's writer queue: revisions are assigned in the same
// order the data becomes visible, so a watcher never sees revision N+1 before
// N, and concurrent writers share fsyncs instead of queueing behind them.
//
// The data column family is derived from the record's events; the record
// itself is stored in the log column family under its revision, in the same
// batch, so the log and the data never disagree.
//
// Thread safety: Commit() and LastCommittedRevision() may be called from any
// number of threads. Listeners run on the leader's thread, in revision order,
// while no later group can commit; they must be quick and must not call
// Commit().
#ifndef WASIKV_SERVER_STORAGE_COMMIT_PIPELINE_H_
#define WASIKV_SERVER_STORAGE_COMMIT_PIPELINE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"
#include "server/storage/storage.pb.h"

namespace wasikv {

class CommitPipeline {
 public:
  // Receives each committed group, revisions ascending and consecutive.
  using Listener = std::function<void(const std::vector<const storage::ChangeRecord*>&)>;

  // Borrows `db` and the column family handles; they must outlive this.
  // `last_revision` is the highest revision already durable.
  CommitPipeline(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* data_cf,
                 rocksdb::ColumnFamilyHandle* log_cf, uint64_t last_revision, bool sync_writes);
  CommitPipeline(const CommitPipeline&) = delete;
  CommitPipeline& operator=(const CommitPipeline&) = delete;

  // Assigns `record` the next revision, stamps its commit time, writes it and
  // the data changes its events describe, and returns the revision once the
  // write is durable (synced if sync_writes). On error nothing was written and
  // the revision is not consumed.
  absl::StatusOr<uint64_t> Commit(storage::ChangeRecord* record);

  // The highest revision whose write is visible to readers.
  uint64_t LastCommittedRevision() const { return last_committed_.load(std::memory_order_acquire); }

  // Registers a listener; call before the first Commit.
  void AddListener(Listener listener);

  // Receives the size and RocksDB write time (fsync included) of each group,
  // on the leader's thread after its callers are released; for metrics.
  using GroupObserver = std::function<void(size_t records, std::chrono::nanoseconds write_time)>;
  // Sets the observer; call before the first Commit.
  void SetGroupObserver(GroupObserver observer) { group_observer_ = std::move(observer); }

 private:
  struct Writer {
    storage::ChangeRecord* record = nullptr;
    absl::Status status;  // set by the leader before `done`
    bool done = false;    // guarded by the pipeline's mu_
    absl::CondVar cv;
  };

  // Appends the record and the data changes it describes to `batch`.
  void EncodeRecord(const storage::ChangeRecord& record, rocksdb::WriteBatch* batch);

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const data_cf_;
  rocksdb::ColumnFamilyHandle* const log_cf_;
  const bool sync_writes_;
  std::vector<Listener> listeners_;
  GroupObserver group_observer_;

  absl::Mutex mu_;
  std::deque<Writer*> queue_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> last_committed_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_COMMIT_PIPELINE_H_
