#include "server/storage/change_cache.h"

namespace wasikv {

void ChangeCache::Append(const CommittedRecords& records) {
  absl::MutexLock lock(&mu_);
  for (const SharedRecord& record : records) {
    // The size the pipeline computed when it serialised the record.
    const size_t size = record->GetCachedSize();
    // A gap (a record that does not follow the newest) means the cache missed
    // commits; start over rather than serve a hole.
    if (!records_.empty() && record->revision() != records_.back()->revision() + 1) {
      records_.clear();
      sizes_.clear();
      bytes_ = 0;
    }
    records_.push_back(record);
    sizes_.push_back(size);
    bytes_ += size;
  }
  while (bytes_ > max_bytes_ && records_.size() > 1) {
    bytes_ -= sizes_.front();
    records_.pop_front();
    sizes_.pop_front();
  }
}

bool ChangeCache::Read(uint64_t from, size_t max_bytes, std::vector<SharedRecord>* out) const {
  absl::MutexLock lock(&mu_);
  if (records_.empty()) return false;
  const uint64_t first = records_.front()->revision();
  const uint64_t last = records_.back()->revision();
  if (from < first || from > last) return false;
  size_t bytes = 0;
  for (size_t i = from - first; i < records_.size() && (bytes < max_bytes || i == from - first);
       ++i) {
    out->push_back(records_[i]);
    bytes += sizes_[i];
  }
  return true;
}

void ChangeCache::DropBefore(uint64_t revision) {
  absl::MutexLock lock(&mu_);
  while (!records_.empty() && records_.front()->revision() < revision) {
    bytes_ -= sizes_.front();
    records_.pop_front();
    sizes_.pop_front();
  }
}

}  // namespace wasikv
