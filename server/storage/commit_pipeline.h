// CommitPipeline decides, orders and durably writes every change the store
// makes, with group commit, on two threads: a decider and a writer.
//
// A caller submits a Write and is called back; no thread waits per write.
// The decider takes writes in submission order and lets each decide what it
// changes against a View: the latest committed data overlaid with the
// writes decided before it that are not written yet (those of its own group
// and of the group the writer is writing). A decision that changes something
// becomes a change record with the next revision. The writer writes a group
// in one RocksDB WriteBatch (one fsync when sync is on), runs the listeners,
// and then tells every write of the group how it ended, while the decider
// already decides the next group: deciding (reads) and writing (WAL and
// memtable inserts) overlap instead of taking turns on one thread. Writes
// submitted meanwhile queue, and the next group takes them all, so group size
// follows the offered load, not a thread count.
//
// Deciding on one thread serialises every read-modify-write (Increment,
// CompareAndSwap, a Set's "created") without locks, the way Redis runs its
// commands on one thread; the WriteBatch per group is LevelDB's group commit.
// Revisions are handed out in the order the data becomes visible, so a
// watcher never sees revision N+1 before N. At most one group is decided
// ahead of the one being written.
//
// The data column family is derived from each record's events; the record
// itself is stored in the log column family under its revision, in the same
// batch, so the log and the data never disagree. If a batch fails, no write
// of its group took effect and no revision was consumed; the group decided
// on top of it fails with the same error, since its decisions read data that
// was never written.
//
// Thread safety: Submit(), Commit() and LastCommittedRevision() may be
// called from any thread but the pipeline's own. Decide runs on the decider
// thread; Done and the listeners run on the writer thread (Done also on the
// decider's for a group failed before its write). They must be quick (Decide
// may read RocksDB) and must not wait for another write. Every Done of a
// group happens before any decision of an exclusive write that follows it.
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
#include "server/storage/change_record.h"
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
    // Decides, on the decider thread: appends the events the write makes
    // to `record` (none: it changes nothing), or returns why it is refused
    // (nothing of it is written).
    virtual absl::Status Decide(View& view, storage::ChangeRecord* record) = 0;
    // How the write ended: OK once what it decided is durable (or it changed
    // nothing), else the refusal or the group's write error. Called once, on
    // a pipeline thread (on the submitter's after Stop()).
    virtual void Done(const absl::Status& status) = 0;
  };

  // Receives each committed group's records (those with events), revisions
  // ascending and consecutive, on the writer thread after the write and
  // before any write of the group is told it is done.
  using Listener = std::function<void(const CommittedRecords&)>;
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
  // Stops the pipeline's threads if Stop() was not called.
  ~CommitPipeline();

  void AddListener(Listener listener) { listeners_.push_back(std::move(listener)); }
  void SetGroupObserver(GroupObserver observer) { group_observer_ = std::move(observer); }
  void Start();
  // Decides and writes everything already submitted, then stops the
  // pipeline's threads. Writes submitted afterwards are refused with
  // UNAVAILABLE.
  void Stop();

  // Queues `write` for the decider.
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
    // Shared with the listeners once committed.
    std::shared_ptr<storage::ChangeRecord> record = std::make_shared<storage::ChangeRecord>();
    absl::Status status;
  };
  // The overlay's entry for a key decided in this group: the version that
  // wrote it (0: deleted) and its value, owned by that write's record.
  struct Pending {
    uint64_t version = 0;
    const std::string* value = nullptr;
  };

  // Decided groups travel from the decider to the writer one at a time.
  using Group = std::deque<Decided>;
  // Looked up by std::string_view without building a std::string.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  using OverlayMap = std::unordered_map<std::string, Pending, KeyHash, std::equal_to<>>;

  // The overlay's entry for `data_key`, newest first; nullptr if no write
  // decided and not yet written touches it. Decider thread only.
  const Pending* FindPending(std::string_view data_key) const;
  // The decider's loop.
  void Run();
  // Waits for submitted writes and moves them to `queue`; false once
  // stopping with nothing left.
  bool WaitForWrites(std::deque<std::unique_ptr<Write>>* queue);
  // Waits until the writer has written its group or more writes arrive;
  // true (and the writes moved to `queue`) if they arrived first.
  bool GrowWhileWriterBusy(std::deque<std::unique_ptr<Write>>* queue);
  // Begins a new group at the revision after the last one decided.
  void StartGroup();
  // Decides writes from the front of `queue` into `group`; true once the
  // group is closed (a limit reached, or an exclusive write in it or next).
  bool DecideInto(std::deque<std::unique_ptr<Write>>* queue, Group* group);
  // Waits until the writer has written every group handed to it, then hands
  // it `group`, or fails `group` if the last write failed.
  void HandOff(Group* group);
  // Waits until the writer has also told every write it was handed.
  void WaitUntilWriterIdle();
  // The writer's loop.
  void RunWriter();
  // Writes the group's records (if any) in one batch and collects them.
  absl::Status WriteGroup(const Group& group, CommittedRecords* records,
                          std::chrono::nanoseconds* write_time);
  // Runs the listeners and tells every write of `group` how it ended.
  void FinishGroup(Group* group, const CommittedRecords& records, const absl::Status& written,
                   std::chrono::nanoseconds write_time);
  // Appends the record and the data changes it describes to `batch_`.
  void EncodeRecord(const storage::ChangeRecord& record);
  // Notes in the overlay what `record` changes.
  void Overlay(const storage::ChangeRecord& record);

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const data_cf_;
  rocksdb::ColumnFamilyHandle* const log_cf_;
  const bool sync_writes_;
  std::vector<Listener> listeners_;
  GroupObserver group_observer_;
  std::atomic<uint64_t> last_committed_;

  // Decider thread only. `overlay_` holds the group being decided,
  // `handed_overlay_` the group last handed to the writer (its records stay
  // alive until the next hand-off), `last_decided_` the revision of the last
  // record decided; the group_ fields describe the group being decided.
  OverlayMap overlay_;
  OverlayMap handed_overlay_;
  uint64_t last_decided_ = 0;
  uint64_t group_next_revision_ = 0;
  int64_t group_unix_micros_ = 0;
  size_t group_bytes_ = 0;

  // One mutex for submissions and the hand-off, so the decider can wait for
  // either.
  absl::Mutex mu_;
  std::deque<std::unique_ptr<Write>> submitted_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // The counters count groups: handed to the writer, written (or failed) by
  // it, and finished (every write told).
  Group handed_ ABSL_GUARDED_BY(mu_);
  bool has_handed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t groups_handed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t groups_written_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t groups_finished_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_write_ ABSL_GUARDED_BY(mu_);
  bool writer_stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Writer thread only: reused, so a group's batch does not allocate (and
  // fault in) its buffers again.
  rocksdb::WriteBatch batch_;
  std::string serialized_;

  std::thread decider_;
  std::thread writer_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_COMMIT_PIPELINE_H_
