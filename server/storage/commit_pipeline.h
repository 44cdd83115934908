// CommitPipeline decides, orders and durably writes every change the store
// makes, on one committer thread, with group commit.
//
// A caller submits a Write and is called back; no thread waits per write.
// The committer takes writes in submission order and lets each decide what
// it changes against a View: the latest committed data overlaid with the
// writes decided before it in the same group, which are not written yet. A
// decision that changes something becomes a change record with the next
// revision. The committer writes the group in one RocksDB WriteBatch (one
// fsync when sync is on), runs the listeners, and then tells every write of
// the group how it ended. Writes submitted meanwhile queue, and the next group
// takes them all, so group size follows the offered load, not a thread count.
//
// Deciding on one thread serialises every read-modify-write (Increment,
// CompareAndSwap, a Set's "created") without locks, the way Redis runs its
// commands on one thread; the WriteBatch per group is LevelDB's group commit.
// Revisions are handed out in the order the data becomes visible, so a
// watcher never sees revision N+1 before N.
//
// The data column family is derived from each record's events; the record
// itself is stored in the log column family under its revision, in the same
// batch, so the log and the data never disagree. If the batch fails, no
// write of the group took effect and no revision was consumed.
//
// Thread safety: Submit(), Commit() and LastCommittedRevision() may be
// called from any thread but the committer's own. Decide, Done and the
// listeners run on the committer thread: they must be quick (Decide may read
// RocksDB) and must not wait for another write.
#ifndef WASIKV_SERVER_STORAGE_COMMIT_PIPELINE_H_
#define WASIKV_SERVER_STORAGE_COMMIT_PIPELINE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"
#include "server/storage/storage.pb.h"

namespace wasikv {

class CommitPipeline {
 public:
  // A key's latest value as a write sees it while deciding.
  struct LatestValue {
    uint64_t version = 0;  // 0: the key does not exist
    std::string value;
  };

  // What a write reads while it decides: committed data overlaid with the
  // writes decided before it in its group. Keys are key_format::DataKey.
  class View {
   public:
    // The latest value of `data_key`; `value` is filled only if `with_value`.
    absl::Status Read(std::string_view data_key, bool with_value, LatestValue* latest);
    // The latest versions of `data_keys` (0: missing), in one batched lookup.
    absl::Status ReadVersions(std::span<const std::string> data_keys,
                              std::vector<uint64_t>* versions);
    // The revision a record decided now gets if it has events.
    uint64_t next_revision() const { return next_revision_; }
    // The revision a write that changes nothing reports: every write decided
    // before it included.
    uint64_t current_revision() const { return next_revision_ - 1; }
    // A snapshot of exactly the committed data; only for exclusive writes,
    // whose group holds nothing before them. The caller releases it.
    const rocksdb::Snapshot* TakeSnapshot();

   private:
    friend class CommitPipeline;
    View(CommitPipeline* pipeline, uint64_t next_revision)
        : pipeline_(pipeline), next_revision_(next_revision) {}
    CommitPipeline* const pipeline_;
    const uint64_t next_revision_;
  };

  // One write. The pipeline owns it from Submit() and destroys it after Done.
  class Write {
   public:
    virtual ~Write() = default;
    // Exclusive writes (bucket events) are alone in their group: everything
    // submitted before them is written first, so they see RocksDB exactly.
    virtual bool exclusive() const { return false; }
    // Decides, on the committer thread: appends the events the write makes
    // to `record` (none: it changes nothing), or returns why it is refused
    // (nothing of it is written).
    virtual absl::Status Decide(View& view, storage::ChangeRecord* record) = 0;
    // How the write ended: OK once what it decided is durable (or it changed
    // nothing), else the refusal or the group's write error. Called once, on
    // the committer thread (on the submitter's after Stop()).
    virtual void Done(const absl::Status& status) = 0;
  };

  // Receives each committed group's records (those with events), revisions
  // ascending and consecutive, on the committer thread after the write and
  // before any write of the group is told it is done.
  using Listener = std::function<void(const std::vector<const storage::ChangeRecord*>&)>;
  // Receives the size and RocksDB write time (fsync included) of each group,
  // after its writes are told they are done; for metrics.
  using GroupObserver = std::function<void(size_t records, std::chrono::nanoseconds write_time)>;

  // Borrows `db` and the column family handles; they must outlive this.
  // `last_revision` is the highest revision already durable. Listeners and
  // the observer are set before the first Submit.
  CommitPipeline(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* data_cf,
                 rocksdb::ColumnFamilyHandle* log_cf, uint64_t last_revision, bool sync_writes);
  CommitPipeline(const CommitPipeline&) = delete;
  CommitPipeline& operator=(const CommitPipeline&) = delete;
  // Stops the committer if Stop() was not called.
  ~CommitPipeline();

  void AddListener(Listener listener) { listeners_.push_back(std::move(listener)); }
  void SetGroupObserver(GroupObserver observer) { group_observer_ = std::move(observer); }
  void Start();
  // Decides and writes everything already submitted, then stops the
  // committer. Writes submitted afterwards are refused with UNAVAILABLE.
  void Stop();

  // Queues `write` for the committer.
  void Submit(std::unique_ptr<Write> write);

  // Commits a record decided by the caller (no read of the data involved)
  // and waits: its revision once durable, or why it failed. For bucket
  // creation and tests.
  absl::StatusOr<uint64_t> Commit(storage::ChangeRecord* record);

  // The highest revision whose write is visible to readers.
  uint64_t LastCommittedRevision() const { return last_committed_.load(std::memory_order_acquire); }

 private:
  // A write of the group being built, with its decision.
  struct Decided {
    std::unique_ptr<Write> write;
    storage::ChangeRecord record;
    absl::Status status;
  };
  // The overlay's entry for a key decided in this group: the version that
  // wrote it (0: deleted) and its value, owned by that write's record.
  struct Pending {
    uint64_t version = 0;
    const std::string* value = nullptr;
  };

  void Run();
  // Decides writes from the front of `queue` into `group` until a limit.
  void DecideGroup(std::deque<std::unique_ptr<Write>>* queue, std::deque<Decided>* group);
  // Writes the group's records, runs the listeners, and tells every write.
  void CommitGroup(std::deque<Decided>* group);
  // Appends the record and the data changes it describes to `batch`.
  void EncodeRecord(const storage::ChangeRecord& record, rocksdb::WriteBatch* batch);
  // Notes in the overlay what `record` changes.
  void Overlay(const storage::ChangeRecord& record);

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const data_cf_;
  rocksdb::ColumnFamilyHandle* const log_cf_;
  const bool sync_writes_;
  std::vector<Listener> listeners_;
  GroupObserver group_observer_;
  std::atomic<uint64_t> last_committed_;

  // Committer thread only.
  std::unordered_map<std::string, Pending> overlay_;

  absl::Mutex mu_;
  std::deque<std::unique_ptr<Write>> submitted_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread committer_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_COMMIT_PIPELINE_H_
