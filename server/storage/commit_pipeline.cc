#include "server/storage/commit_pipeline.h"

#include <chrono>
#include <utility>

#include "absl/synchronization/notification.h"
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
  if (auto it = pipeline_->overlay_.find(std::string(data_key)); it != pipeline_->overlay_.end()) {
    latest->version = it->second.version;
    if (with_value && it->second.value != nullptr) latest->value = *it->second.value;
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
    if (auto it = pipeline_->overlay_.find(data_keys[i]); it != pipeline_->overlay_.end()) {
      (*versions)[i] = it->second.version;
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
  committer_ = std::thread([this] { Run(); });
}

void CommitPipeline::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopping_ = true;
  }
  if (committer_.joinable()) committer_.join();
  std::deque<std::unique_ptr<Write>> refused;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    refused.swap(submitted_);
  }
  // Only if the committer never started.
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

void CommitPipeline::Run() {
  std::deque<std::unique_ptr<Write>> queue;
  std::deque<Decided> group;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](CommitPipeline* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return p->stopping_ || !p->submitted_.empty();
          },
          this));
      if (submitted_.empty()) return;  // stopping, and everything is written
      queue.swap(submitted_);
    }
    while (!queue.empty()) {
      DecideGroup(&queue, &group);
      CommitGroup(&group);
    }
  }
}

void CommitPipeline::DecideGroup(std::deque<std::unique_ptr<Write>>* queue,
                                 std::deque<Decided>* group) {
  overlay_.clear();
  uint64_t next_revision = last_committed_.load(std::memory_order_relaxed) + 1;
  const int64_t now = NowUnixMicros();
  size_t bytes = 0;
  while (!queue->empty() && group->size() < kMaxGroupWrites && bytes < kMaxGroupBytes) {
    if (queue->front()->exclusive() && !group->empty()) break;
    Decided& decided = group->emplace_back();
    decided.write = std::move(queue->front());
    queue->pop_front();
    View view(this, next_revision);
    decided.status = decided.write->Decide(view, &decided.record);
    if (!decided.status.ok() || decided.record.events().empty()) {
      decided.record.Clear();
    } else {
      decided.record.set_revision(next_revision++);
      decided.record.set_commit_unix_micros(now);
      Overlay(decided.record);
      bytes += decided.record.ByteSizeLong();
    }
    if (decided.write->exclusive()) break;
  }
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

void CommitPipeline::CommitGroup(std::deque<Decided>* group) {
  rocksdb::WriteBatch batch;
  std::vector<const storage::ChangeRecord*> records;
  // Decisions after the first record saw data that is durable only if the
  // batch is: they share its fate.
  size_t first_with_events = group->size();
  for (size_t i = 0; i < group->size(); ++i) {
    const Decided& decided = (*group)[i];
    if (decided.record.events().empty()) continue;
    if (records.empty()) first_with_events = i;
    EncodeRecord(decided.record, &batch);
    records.push_back(&decided.record);
  }

  absl::Status written;
  std::chrono::nanoseconds write_time{0};
  if (!records.empty()) {
    std::string revision_value;
    key_format::AppendFixed64(records.back()->revision(), &revision_value);
    batch.Put(data_cf_, key_format::kRevisionKey, revision_value);
    rocksdb::WriteOptions write_options;
    write_options.sync = sync_writes_;
    const auto write_start = std::chrono::steady_clock::now();
    written = FromRocksStatus(db_->Write(write_options, &batch), "commit");
    write_time = std::chrono::steady_clock::now() - write_start;
    if (written.ok()) {
      last_committed_.store(records.back()->revision(), std::memory_order_release);
      for (const Listener& listener : listeners_) listener(records);
    }
  }

  for (size_t i = 0; i < group->size(); ++i) {
    Decided& decided = (*group)[i];
    decided.write->Done(i >= first_with_events && !written.ok() ? written : decided.status);
  }
  group->clear();
  if (group_observer_ && !records.empty() && written.ok()) {
    group_observer_(records.size(), write_time);
  }
}

void CommitPipeline::EncodeRecord(const storage::ChangeRecord& record, rocksdb::WriteBatch* batch) {
  for (const storage::Event& event : record.events()) {
    switch (event.type()) {
      case storage::Event::SET:
        batch->Put(data_cf_, key_format::DataKey(event.bucket(), event.key()),
                   key_format::EncodeValue(record.revision(), event.value()));
        break;
      case storage::Event::DELETE:
        batch->Delete(data_cf_, key_format::DataKey(event.bucket(), event.key()));
        break;
      case storage::Event::BUCKET_CREATE: {
        storage::BucketRecord bucket;
        bucket.set_create_revision(record.revision());
        bucket.set_create_unix_micros(record.commit_unix_micros());
        batch->Put(data_cf_, key_format::BucketRecordKey(event.bucket()),
                   bucket.SerializeAsString());
        break;
      }
      case storage::Event::BUCKET_DELETE: {
        std::string prefix = key_format::DataPrefix(event.bucket());
        batch->DeleteRange(data_cf_, prefix, key_format::PrefixSuccessor(prefix));
        batch->Delete(data_cf_, key_format::BucketRecordKey(event.bucket()));
        break;
      }
      default:
        break;
    }
  }
  batch->Put(log_cf_, key_format::LogKey(record.revision()), record.SerializeAsString());
}

}  // namespace wasikv
