#include "server/storage/rocksdb_options.h"

#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace wasikv {

rocksdb::DBOptions MakeDBOptions() {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  // Two cores are common for this daemon; flushes and compactions share them.
  options.max_background_jobs = 2;
  options.bytes_per_sync = 1 << 20;
  // All memtables together (data and change log) stay under this, so a
  // write burst cannot grow the process without bound.
  options.db_write_buffer_size = 128 << 20;
  options.keep_log_file_num = 5;
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

}  // namespace wasikv
