#include "server/storage/last_revision.h"

#include <algorithm>
#include <memory>
#include <string>

#include "rocksdb/iterator.h"
#include "server/common/status_macros.h"
#include "server/storage/key_format.h"
#include "server/storage/rocks_status.h"

namespace wasikv {

absl::StatusOr<uint64_t> ReadLastRevision(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* data_cf,
                                          rocksdb::ColumnFamilyHandle* log_cf) {
  uint64_t last_revision = 0;
  std::string stored_revision;
  rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), data_cf, key_format::kRevisionKey, &stored_revision);
  if (s.ok()) {
    last_revision = key_format::DecodeFixed64(stored_revision).value_or(0);
  } else if (!s.IsNotFound()) {
    return FromRocksStatus(s, "read of revision");
  }
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), log_cf));
  it->SeekToLast();
  if (it->Valid()) {
    last_revision =
        std::max(last_revision, key_format::DecodeLogKey(it->key().ToStringView()).value_or(0));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan of change log"));
  return last_revision;
}

}  // namespace wasikv
