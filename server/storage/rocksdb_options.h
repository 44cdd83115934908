// Every RocksDB tuning decision wasikvd makes, in one place.
#ifndef WASIKV_SERVER_STORAGE_ROCKSDB_OPTIONS_H_
#define WASIKV_SERVER_STORAGE_ROCKSDB_OPTIONS_H_

#include <cstddef>

#include "rocksdb/options.h"

namespace wasikv {

rocksdb::DBOptions MakeDBOptions();
// Column family "default": point reads dominate, so bloom filters and a
// shared block cache.
rocksdb::ColumnFamilyOptions MakeDataColumnFamilyOptions(size_t block_cache_bytes);
// Column family "log": appended in revision order, read in ranges by
// watchers, trimmed from the front.
rocksdb::ColumnFamilyOptions MakeLogColumnFamilyOptions();

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_ROCKSDB_OPTIONS_H_
