#include "server/storage/commit_pipeline.h"

#include <chrono>
#include <string>
#include <utility>

#include "absl/synchronization/notification.h"
#include "server/common/thread_name.h"
#include "server/storage/key_format.h"
#include "server/storage/rocks_status.h"

namespace wasikv {
namespace {

// A group stops growing at this many writes or bytes of records, so one
// batch (and its writers' latency) stays bounded.
constexpr size_t kMaxGroupWrites = 1024;
constexpr size_t kMaxGroupBytes = 8 << 20;

int64_t NowUnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status Stopped() {
  return absl::UnavailableError("storage is closed: the write was not made");
}

// A record the caller decided; Commit() waits for it.
class DecidedRecord final : public CommitPipeline::Write {
 public:
  DecidedRecord(storage::ChangeRecord* record, absl::StatusOr<uint64_t>* outcome,
                absl::Notification* done)
      : record_(record), outcome_(outcome), done_(done) {}
  absl::Status Decide(CommitPipeline::View& view, storage::ChangeRecord* record) override {
    revision_ = view.next_revision();
    record->Swap(record_);
    return absl::OkStatus();
  }
  void Done(const absl::Status& status) override {
    if (status.ok()) {
      *outcome_ = revision_;
    } else {
      *outcome_ = status;
    }
    done_->Notify();
  }

 private:
  storage::ChangeRecord* const record_;
  absl::StatusOr<uint64_t>* const outcome_;
  absl::Notification* const done_;
  uint64_t revision_ = 0;
};

}  // namespace

absl::Status CommitPipeline::View::Read(std::string_view data_key, bool with_value,
                                        LatestValue* latest) {
  if (const Pending* pending = pipeline_->FindPending(data_key)) {
    latest->version = pending->version;
    if (with_value && pending->value != nullptr) latest->value = *pending->value;
    return absl::OkStatus();
  }
  rocksdb::PinnableSlice stored;
  rocksdb::Status s =
      pipeline_->db_->Get(rocksdb::ReadOptions(), pipeline_->data_cf_, data_key, &stored);
  if (s.IsNotFound()) {
    latest->version = 0;
    return absl::OkStatus();
  }
  if (!s.ok()) return FromRocksStatus(s, "read");
  std::optional<key_format::StoredValue> decoded = key_format::DecodeValue(stored.ToStringView());
  if (!decoded) return absl::DataLossError("a stored value is corrupt (shorter than its version)");
  latest->version = decoded->version;
  if (with_value) latest->value.assign(decoded->value);
  return absl::OkStatus();
}

absl::Status CommitPipeline::View::ReadVersions(std::span<const std::string> data_keys,
                                                std::vector<uint64_t>* versions) {
  versions->assign(data_keys.size(), 0);
  std::vector<rocksdb::Slice> unseen;
  std::vector<size_t> unseen_index;
  for (size_t i = 0; i < data_keys.size(); ++i) {
    if (const Pending* pending = pipeline_->FindPending(data_keys[i])) {
      (*versions)[i] = pending->version;
    } else {
      unseen.emplace_back(data_keys[i]);
      unseen_index.push_back(i);
    }
  }
  if (unseen.empty()) return absl::OkStatus();
  std::vector<rocksdb::PinnableSlice> values(unseen.size());
  std::vector<rocksdb::Status> statuses(unseen.size());
  // One batched lookup instead of a Get per key: a 1000-key batch shares
  // index and filter block reads.
  pipeline_->db_->MultiGet(rocksdb::ReadOptions(), pipeline_->data_cf_, unseen.size(),
                           unseen.data(), values.data(), statuses.data());
  for (size_t i = 0; i < unseen.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocksStatus(statuses[i], "read");
    std::optional<key_format::StoredValue> stored =
        key_format::DecodeValue(values[i].ToStringView());
    if (!stored) return absl::DataLossError("a stored value is corrupt (shorter than its version)");
    (*versions)[unseen_index[i]] = stored->version;
  }
  return absl::OkStatus();
}

const rocksdb::Snapshot* CommitPipeline::View::TakeSnapshot() {
  return pipeline_->db_->GetSnapshot();
}

CommitPipeline::CommitPipeline(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* data_cf,
                               rocksdb::ColumnFamilyHandle* log_cf, uint64_t last_revision,
                               bool sync_writes)
    : db_(db),
      data_cf_(data_cf),
      log_cf_(log_cf),
      sync_writes_(sync_writes),
      last_committed_(last_revision) {}

CommitPipeline::~CommitPipeline() { Stop(); }

void CommitPipeline::Start() {
  last_decided_ = last_committed_.load(std::memory_order_relaxed);
  writer_ = std::thread([this] {
    SetCurrentThreadName("wasikv-write");
    RunWriter();
  });
  decider_ = std::thread([this] {
    SetCurrentThreadName("wasikv-decide");
    Run();
  });
}

void CommitPipeline::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopping_ = true;
  }
  if (decider_.joinable()) decider_.join();
  {
    absl::MutexLock lock(&mu_);
    writer_stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
  std::deque<std::unique_ptr<Write>> refused;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    refused.swap(submitted_);
  }
  // Only if the pipeline never started.
  for (std::unique_ptr<Write>& write : refused) write->Done(Stopped());
}

void CommitPipeline::Submit(std::unique_ptr<Write> write) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      submitted_.push_back(std::move(write));
      return;
    }
  }
  write->Done(Stopped());
}

absl::StatusOr<uint64_t> CommitPipeline::Commit(storage::ChangeRecord* record) {
  absl::StatusOr<uint64_t> outcome;
  absl::Notification done;
  Submit(std::make_unique<DecidedRecord>(record, &outcome, &done));
  done.WaitForNotification();
  return outcome;
}

const CommitPipeline::Pending* CommitPipeline::FindPending(std::string_view data_key) const {
  if (auto it = overlay_.find(data_key); it != overlay_.end()) return &it->second;
  if (auto it = handed_overlay_.find(data_key); it != handed_overlay_.end()) return &it->second;
  return nullptr;
}

void CommitPipeline::Run() {
  std::deque<std::unique_ptr<Write>> queue;
  Group group;
  while (WaitForWrites(&queue)) {
    while (!queue.empty()) {
      // An exclusive write sees RocksDB itself, and Done of everything
      // before it has run (DeleteBucket's undoes its decision on failure).
      const bool exclusive = queue.front()->exclusive();
      if (exclusive) WaitUntilWriterIdle();
      StartGroup();
      bool closed = DecideInto(&queue, &group);
      // While the writer is busy with the group before, this one takes what
      // arrives meanwhile, as a single committer's next group would.
      while (!closed && GrowWhileWriterBusy(&queue)) closed = DecideInto(&queue, &group);
      HandOff(&group);
      if (exclusive) WaitUntilWriterIdle();
    }
  }
  WaitUntilWriterIdle();
}

bool CommitPipeline::WaitForWrites(std::deque<std::unique_ptr<Write>>* queue) {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](CommitPipeline* p)
           ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return p->stopping_ || !p->submitted_.empty(); },
      this));
  if (submitted_.empty()) return false;  // stopping, and everything is decided
  queue->swap(submitted_);
  return true;
}

bool CommitPipeline::GrowWhileWriterBusy(std::deque<std::unique_ptr<Write>>* queue) {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](CommitPipeline* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
        return p->groups_written_ == p->groups_handed_ || !p->submitted_.empty() || p->stopping_;
      },
      this));
  if (groups_written_ == groups_handed_ || submitted_.empty()) return false;
  queue->swap(submitted_);
  return true;
}

void CommitPipeline::StartGroup() {
  overlay_.clear();
  group_next_revision_ = last_decided_ + 1;
  group_unix_micros_ = NowUnixMicros();
  group_bytes_ = 0;
}

bool CommitPipeline::DecideInto(std::deque<std::unique_ptr<Write>>* queue, Group* group) {
  while (!queue->empty()) {
    if (group->size() >= kMaxGroupWrites || group_bytes_ >= kMaxGroupBytes) return true;
    if (queue->front()->exclusive() && !group->empty()) return true;
    Decided& decided = group->emplace_back();
    decided.write = std::move(queue->front());
    queue->pop_front();
    View view(this, group_next_revision_);
    storage::ChangeRecord& record = *decided.record;
    decided.status = decided.write->Decide(view, &record);
    if (!decided.status.ok() || record.events().empty()) {
      record.Clear();
    } else {
      record.set_revision(group_next_revision_++);
      record.set_commit_unix_micros(group_unix_micros_);
      Overlay(record);
      group_bytes_ += record.ByteSizeLong();
    }
    last_decided_ = group_next_revision_ - 1;
    if (decided.write->exclusive()) return true;
  }
  return false;
}

void CommitPipeline::Overlay(const storage::ChangeRecord& record) {
  for (const storage::Event& event : record.events()) {
    if (event.type() == storage::Event::SET) {
      overlay_[key_format::DataKey(event.bucket(), event.key())] = {record.revision(),
                                                                    &event.value()};
    } else if (event.type() == storage::Event::DELETE) {
      overlay_[key_format::DataKey(event.bucket(), event.key())] = {0, nullptr};
    }
  }
}

void CommitPipeline::HandOff(Group* group) {
  absl::Status failed;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](CommitPipeline* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
          return p->groups_written_ == p->groups_handed_;
        },
        this));
    // Every group handed before is in RocksDB now, or failed.
    failed = std::exchange(last_write_, absl::OkStatus());
    if (failed.ok()) {
      handed_.swap(*group);
      has_handed_ = true;
      ++groups_handed_;
      handed_overlay_.swap(overlay_);
    }
  }
  if (failed.ok()) {
    overlay_.clear();  // the group before, whose records the writer frees now
    return;
  }
  // The group was decided on top of writes that never happened: it fails
  // with them, and the next group decides against RocksDB alone.
  overlay_.clear();
  handed_overlay_.clear();
  last_decided_ = last_committed_.load(std::memory_order_acquire);
  for (Decided& decided : *group) decided.write->Done(failed);
  group->clear();
}

void CommitPipeline::WaitUntilWriterIdle() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](CommitPipeline* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
        return p->groups_finished_ == p->groups_handed_;
      },
      this));
}

void CommitPipeline::RunWriter() {
  Group group;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](CommitPipeline* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return p->writer_stopping_ || p->has_handed_;
          },
          this));
      if (!has_handed_) return;
      // The previous group's records back the decider's overlay until it
      // hands this one over, so they are freed only now.
      group.clear();
      group.swap(handed_);
      has_handed_ = false;
    }
    CommittedRecords records;
    std::chrono::nanoseconds write_time{0};
    const absl::Status written = WriteGroup(group, &records, &write_time);
    {
      absl::MutexLock lock(&mu_);
      ++groups_written_;
      if (!written.ok()) last_write_ = written;
    }
    FinishGroup(&group, records, written, write_time);
    {
      absl::MutexLock lock(&mu_);
      ++groups_finished_;
    }
  }
}

absl::Status CommitPipeline::WriteGroup(const Group& group, CommittedRecords* records,
                                        std::chrono::nanoseconds* write_time) {
  batch_.Clear();
  for (const Decided& decided : group) {
    if (decided.record->events().empty()) continue;
    EncodeRecord(*decided.record);
    records->push_back(decided.record);
  }
  if (records->empty()) return absl::OkStatus();
  std::string revision_value;
  key_format::AppendFixed64(records->back()->revision(), &revision_value);
  batch_.Put(data_cf_, key_format::kRevisionKey, revision_value);
  rocksdb::WriteOptions write_options;
  write_options.sync = sync_writes_;
  const auto write_start = std::chrono::steady_clock::now();
  absl::Status written = FromRocksStatus(db_->Write(write_options, &batch_), "commit");
  *write_time = std::chrono::steady_clock::now() - write_start;
  // Keep the buffer for the next group unless one huge write grew it.
  if (batch_.GetDataSize() > 2 * kMaxGroupBytes) batch_ = rocksdb::WriteBatch();
  if (written.ok()) last_committed_.store(records->back()->revision(), std::memory_order_release);
  return written;
}

void CommitPipeline::FinishGroup(Group* group, const CommittedRecords& records,
                                 const absl::Status& written, std::chrono::nanoseconds write_time) {
  if (written.ok() && !records.empty()) {
    for (const Listener& listener : listeners_) listener(records);
  }
  // Decisions after the first record saw data that is durable only if the
  // batch is: they share its fate.
  bool after_first_record = false;
  for (Decided& decided : *group) {
    after_first_record = after_first_record || !decided.record->events().empty();
    decided.write->Done(after_first_record && !written.ok() ? written : decided.status);
  }
  if (group_observer_ && !records.empty() && written.ok()) {
    group_observer_(records.size(), write_time);
  }
}

void CommitPipeline::EncodeRecord(const storage::ChangeRecord& record) {
  for (const storage::Event& event : record.events()) {
    switch (event.type()) {
      case storage::Event::SET:
        batch_.Put(data_cf_, key_format::DataKey(event.bucket(), event.key()),
                   key_format::EncodeValue(record.revision(), event.value()));
        break;
      case storage::Event::DELETE:
        batch_.Delete(data_cf_, key_format::DataKey(event.bucket(), event.key()));
        break;
      case storage::Event::BUCKET_CREATE: {
        storage::BucketRecord bucket;
        bucket.set_create_revision(record.revision());
        bucket.set_create_unix_micros(record.commit_unix_micros());
        batch_.Put(data_cf_, key_format::BucketRecordKey(event.bucket()),
                   bucket.SerializeAsString());
        break;
      }
      case storage::Event::BUCKET_DELETE: {
        std::string prefix = key_format::DataPrefix(event.bucket());
        batch_.DeleteRange(data_cf_, prefix, key_format::PrefixSuccessor(prefix));
        batch_.Delete(data_cf_, key_format::BucketRecordKey(event.bucket()));
        break;
      }
      default:
        break;
    }
  }
  serialized_.clear();
  record.SerializeToString(&serialized_);
  batch_.Put(log_cf_, key_format::LogKey(record.revision()), serialized_);
}

}  // namespace wasikv
