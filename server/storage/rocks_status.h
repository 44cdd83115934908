// The one place RocksDB errors become absl errors.
#ifndef WASIKV_SERVER_STORAGE_ROCKS_STATUS_H_
#define WASIKV_SERVER_STORAGE_ROCKS_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace wasikv {

// Maps a RocksDB status to a canonical code. `context` names the operation
// ("commit", "read") and is prefixed to the message. Storage faults are
// INTERNAL or UNAVAILABLE (retryable: busy, timed out, try again), never
// INVALID_ARGUMENT: the caller's input is validated before it reaches RocksDB.
absl::Status FromRocksStatus(const rocksdb::Status& status, std::string_view context);

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_ROCKS_STATUS_H_
