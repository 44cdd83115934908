#include "server/storage/commit_pipeline.h"

#include <chrono>

#include "server/storage/key_format.h"
#include "server/storage/rocks_status.h"

namespace wasikv {
namespace {

// A group stops growing at this many records or bytes, so one leader's
// write (and its callers' latency) stays bounded.
constexpr size_t kMaxGroupRecords = 256;
constexpr size_t kMaxGroupBytes = 8 << 20;

int64_t NowUnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

CommitPipeline::CommitPipeline(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* data_cf,
                               rocksdb::ColumnFamilyHandle* log_cf, uint64_t last_revision,
                               bool sync_writes)
    : db_(db),
      data_cf_(data_cf),
      log_cf_(log_cf),
      sync_writes_(sync_writes),
      last_committed_(last_revision) {}

void CommitPipeline::AddListener(Listener listener) { listeners_.push_back(std::move(listener)); }

absl::StatusOr<uint64_t> CommitPipeline::Commit(storage::ChangeRecord* record) {
  Writer self;
  self.record = record;
  std::vector<Writer*> group;
  {
    absl::MutexLock lock(&mu_);
    queue_.push_back(&self);
    while (!self.done && queue_.front() != &self) self.cv.Wait(&mu_);
    if (self.done) {
      if (!self.status.ok()) return self.status;
      return record->revision();
    }
    // This writer leads: take a group from the front of the queue.
    size_t group_bytes = 0;
    for (Writer* w : queue_) {
      if (group.size() == kMaxGroupRecords || group_bytes > kMaxGroupBytes) break;
      group.push_back(w);
      group_bytes += w->record->ByteSizeLong();
    }
  }

  // Only the leader reaches here, and the next leader waits for this group
  // to leave the queue, so revisions are handed out without a race.
  const uint64_t first = last_committed_.load(std::memory_order_relaxed) + 1;
  const int64_t now = NowUnixMicros();
  rocksdb::WriteBatch batch;
  for (size_t i = 0; i < group.size(); ++i) {
    group[i]->record->set_revision(first + i);
    group[i]->record->set_commit_unix_micros(now);
    EncodeRecord(*group[i]->record, &batch);
  }
  const uint64_t last = first + group.size() - 1;
  std::string revision_value;
  key_format::AppendFixed64(last, &revision_value);
  batch.Put(data_cf_, key_format::kRevisionKey, revision_value);

  rocksdb::WriteOptions write_options;
  write_options.sync = sync_writes_;
  const auto write_start = std::chrono::steady_clock::now();
  absl::Status status = FromRocksStatus(db_->Write(write_options, &batch), "commit");
  const auto write_time = std::chrono::steady_clock::now() - write_start;
  if (status.ok()) {
    last_committed_.store(last, std::memory_order_release);
    if (!listeners_.empty()) {
      std::vector<const storage::ChangeRecord*> records;
      records.reserve(group.size());
      for (Writer* w : group) records.push_back(w->record);
      for (const Listener& listener : listeners_) listener(records);
    }
  }

  {
    absl::MutexLock lock(&mu_);
    for (Writer* w : group) {
      queue_.pop_front();
      if (w == &self) continue;
      w->status = status;
      w->done = true;
      w->cv.Signal();
    }
    if (!queue_.empty()) queue_.front()->cv.Signal();
  }
  if (group_observer_ && status.ok()) {
    // Outside the queue lock: the next group may already be committing.
    group_observer_(group.size(), write_time);
  }
  if (!status.ok()) return status;
  return record->revision();
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
