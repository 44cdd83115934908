// The one place RocksDB errors become absl errors.
#ifndef WASIKV_SERVER_STORAGE_ROCKS_STATUS_H_
#define WASIKV_SERVER_STORAGE_ROCKS_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace wasikv {

// Maps a RocksDB status to a canonical code. `context` names the operation
// ("commit", "read") and is prefixed to the message, which keeps RocksDB's
// own words (they name the damaged file, the full disk's file). The caller's
// input is validated before it reaches RocksDB, so a storage fault is never
// INVALID_ARGUMENT:
//   RESOURCE_EXHAUSTED  the disk is full (or past a space limit); writes fail
//                       until space is freed, reads go on
//   DATA_LOSS           RocksDB found a damaged file (a checksum mismatch):
//                       never a wrong value instead
//   UNAVAILABLE         busy, timed out, try again, shutting down: retryable
//   INTERNAL            any other I/O error
absl::Status FromRocksStatus(const rocksdb::Status& status, std::string_view context);

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_ROCKS_STATUS_H_
