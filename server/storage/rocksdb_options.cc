#include "server/storage/rocksdb_options.h"

#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "server/storage/key_format.h"
#include "server/storage/rocksdb_logger.h"

namespace wasikv {

rocksdb::DBOptions MakeDBOptions(std::shared_ptr<rocksdb::Logger> info_log) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  // Two cores are common for this daemon; flushes and compactions share them.
  options.max_background_jobs = 2;
  options.bytes_per_sync = 1 << 20;
  // All memtables together (data and change log) stay under this, so a
  // write burst cannot grow the process without bound.
  options.db_write_buffer_size = 128 << 20;
  // RocksDB's log goes into wasikvd's (rocksdb_logger.h): no LOG files in
  // the data directory, where a full disk would make RocksDB abort on them.
  options.info_log = std::move(info_log);
  // WAL recovery. A write is acknowledged only once its WAL record is whole
  // and synced, so after a crash (kill -9; power loss with --sync-writes) the
  // only damage a WAL can hold is a torn last record, or zeros where space
  // was preallocated: a write nobody was told succeeded.
  // kTolerateCorruptedTailRecords drops exactly that and refuses to open on
  // any other damage, and the error names the file (rocksdb_logger.h).
  // RocksDB's default, kPointInTimeRecovery, would instead stop replaying at
  // a damaged record in the middle and open without everything after it:
  // acknowledged writes lost without a word. kAbsoluteConsistency would
  // refuse the torn tail too, so a server killed mid-write could not restart.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // A clean shutdown flushes memtables so the next open replays no WAL.
  options.avoid_flush_during_shutdown = false;
  return options;
}

rocksdb::ColumnFamilyOptions MakeDataColumnFamilyOptions(size_t block_cache_bytes) {
  rocksdb::ColumnFamilyOptions options;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  // Index and filters live in the block cache (bounded memory), partitioned
  // so no single block outgrows a cache shard: a monolithic filter of a
  // large file (over 1 MiB past ~850k keys, with 64 MiB split into 64
  // shards) is evicted as soon as it is read, and every point lookup then
  // re-reads it from disk. The top level stays pinned.
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.compression = rocksdb::kLZ4Compression;
  options.bottommost_compression = rocksdb::kZSTD;
  options.level_compaction_dynamic_level_bytes = true;
  return options;
}

rocksdb::ColumnFamilyOptions MakeLogColumnFamilyOptions() {
  rocksdb::ColumnFamilyOptions options;
  options.compression = rocksdb::kLZ4Compression;
  options.level_compaction_dynamic_level_bytes = true;
  return options;
}

std::vector<rocksdb::ColumnFamilyDescriptor> MakeColumnFamilies(size_t block_cache_bytes) {
  return {
      {rocksdb::kDefaultColumnFamilyName, MakeDataColumnFamilyOptions(block_cache_bytes)},
      {std::string(key_format::kLogColumnFamily), MakeLogColumnFamilyOptions()},
  };
}

rocksdb::DBOptions MakeCheckpointDBOptions() {
  rocksdb::DBOptions options = MakeDBOptions(std::make_shared<RocksDbLogger>());
  options.create_if_missing = false;
  options.create_missing_column_families = false;
  options.max_background_jobs = 1;
  return options;
}

std::vector<rocksdb::ColumnFamilyDescriptor> MakeCheckpointColumnFamilies() {
  std::vector<rocksdb::ColumnFamilyDescriptor> families = MakeColumnFamilies(8 << 20);
  for (rocksdb::ColumnFamilyDescriptor& family : families) {
    family.options.disable_auto_compactions = true;
  }
  return families;
}

rocksdb::BackupEngineOptions MakeBackupEngineOptions(const std::string& backup_dir) {
  rocksdb::BackupEngineOptions options(backup_dir);
  // Stated although they are the defaults: incremental backups depend on them.
  options.share_table_files = true;
  options.share_files_with_checksum = true;
  options.sync = true;
  options.backup_log_files = true;
  options.max_background_operations = 1;
  return options;
}

}  // namespace wasikv
