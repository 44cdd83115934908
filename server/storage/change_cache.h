// ChangeCache keeps the most recent change records in memory, so live
// watchers read new changes without touching RocksDB.
//
// It holds consecutive revisions, newest last, up to a byte budget; older
// records fall out first. Records are shared (std::shared_ptr<const>), so a
// watcher holding one while the cache moves on costs no copy.
//
// Thread safety: Append from the commit listener (one thread at a time, in
// revision order); Read from any thread.
#ifndef WASIKV_SERVER_STORAGE_CHANGE_CACHE_H_
#define WASIKV_SERVER_STORAGE_CHANGE_CACHE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/change_record.h"
#include "server/storage/storage.pb.h"

namespace wasikv {

class ChangeCache {
 public:
  explicit ChangeCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  ChangeCache(const ChangeCache&) = delete;
  ChangeCache& operator=(const ChangeCache&) = delete;

  // Adds `records` (consecutive revisions following the newest held),
  // sharing them.
  void Append(const CommittedRecords& records);

  // Appends to `out` the records from revision `from` on, stopping once
  // `max_bytes` is reached (at least one record is returned). Returns false,
  // appending nothing, unless the cache holds `from`.
  bool Read(uint64_t from, size_t max_bytes, std::vector<SharedRecord>* out) const;

  // Drops records older than `revision` (they were trimmed from history).
  void DropBefore(uint64_t revision);

 private:
  const size_t max_bytes_;
  mutable absl::Mutex mu_;
  std::deque<SharedRecord> records_ ABSL_GUARDED_BY(mu_);
  std::deque<size_t> sizes_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_CHANGE_CACHE_H_
