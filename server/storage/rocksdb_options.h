// Every RocksDB tuning decision wasikvd makes, in one place.
#ifndef WASIKV_SERVER_STORAGE_ROCKSDB_OPTIONS_H_
#define WASIKV_SERVER_STORAGE_ROCKSDB_OPTIONS_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/utilities/backup_engine.h"

namespace wasikv {

// RocksDB logs to `info_log` (a RocksDbLogger, rocksdb_logger.h).
rocksdb::DBOptions MakeDBOptions(std::shared_ptr<rocksdb::Logger> info_log);
// Column family "default": point reads dominate, so bloom filters and a
// shared block cache.
rocksdb::ColumnFamilyOptions MakeDataColumnFamilyOptions(size_t block_cache_bytes);
// Column family "log": appended in revision order, read in ranges by
// watchers, trimmed from the front.
rocksdb::ColumnFamilyOptions MakeLogColumnFamilyOptions();
// Both column families, data first: the order Store opens them in.
std::vector<rocksdb::ColumnFamilyDescriptor> MakeColumnFamilies(size_t block_cache_bytes);

// A checkpoint of the live database, opened only to be backed up (see
// backup.h): it must already exist, lives for seconds, and is never
// compacted or cached much.
rocksdb::DBOptions MakeCheckpointDBOptions();
std::vector<rocksdb::ColumnFamilyDescriptor> MakeCheckpointColumnFamilies();

// A BackupEngine directory of wasikv backups: table files shared between
// backups by checksum, every file synced.
rocksdb::BackupEngineOptions MakeBackupEngineOptions(const std::string& backup_dir);

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_ROCKSDB_OPTIONS_H_
