// The last committed revision a wasikv database holds, read the way
// Store::Open reads it: from the revision key every commit group writes, and
// from the change log's last record as a second witness (a log written by a
// version that did not keep the key).
#ifndef WASIKV_SERVER_STORAGE_LAST_REVISION_H_
#define WASIKV_SERVER_STORAGE_LAST_REVISION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "rocksdb/db.h"

namespace wasikv {

// 0 for an empty database. Reads the latest state of `db`; the handles are
// the "default" and "log" column families of key_format.h. Borrows all.
absl::StatusOr<uint64_t> ReadLastRevision(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* data_cf,
                                          rocksdb::ColumnFamilyHandle* log_cf);

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_LAST_REVISION_H_
