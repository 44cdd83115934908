#include "server/storage/engine_stats.h"

namespace wasikv {

void WriteStallListener::OnStallConditionsChanged(const rocksdb::WriteStallInfo& info) {
  if (info.condition.cur == info.condition.prev) return;
  if (info.condition.cur == rocksdb::WriteStallCondition::kDelayed) {
    delays_.fetch_add(1, std::memory_order_relaxed);
  } else if (info.condition.cur == rocksdb::WriteStallCondition::kStopped) {
    stops_.fetch_add(1, std::memory_order_relaxed);
  }
}

EngineStats ReadEngineStats(rocksdb::DB* db, std::span<rocksdb::ColumnFamilyHandle* const> families,
                            const WriteStallListener& stalls,
                            const BackgroundErrorListener& errors) {
  const auto property = [db](rocksdb::ColumnFamilyHandle* family, const rocksdb::Slice& name) {
    uint64_t value = 0;
    return db->GetIntProperty(family, name, &value) ? value : 0;
  };
  EngineStats stats;
  for (rocksdb::ColumnFamilyHandle* family : families) {
    stats.live_data_bytes += property(family, rocksdb::DB::Properties::kEstimateLiveDataSize);
    stats.sst_bytes += property(family, rocksdb::DB::Properties::kTotalSstFilesSize);
    stats.pending_compaction_bytes +=
        property(family, rocksdb::DB::Properties::kEstimatePendingCompactionBytes);
    stats.memtable_bytes += property(family, rocksdb::DB::Properties::kCurSizeAllMemTables);
  }
  if (!families.empty()) {
    rocksdb::ColumnFamilyHandle* data = families.front();
    stats.block_cache_bytes = property(data, rocksdb::DB::Properties::kBlockCacheUsage);
    stats.block_cache_capacity_bytes = property(data, rocksdb::DB::Properties::kBlockCacheCapacity);
    stats.estimated_keys = property(data, rocksdb::DB::Properties::kEstimateNumKeys);
  }
  // DB-wide properties: any column family answers them.
  rocksdb::ColumnFamilyHandle* any = db->DefaultColumnFamily();
  stats.running_compactions = property(any, rocksdb::DB::Properties::kNumRunningCompactions);
  stats.running_flushes = property(any, rocksdb::DB::Properties::kNumRunningFlushes);
  stats.background_errors = property(any, rocksdb::DB::Properties::kBackgroundErrors);
  stats.write_stall_active = property(any, rocksdb::DB::Properties::kActualDelayedWriteRate) > 0 ||
                             property(any, rocksdb::DB::Properties::kIsWriteStopped) > 0;
  stats.write_delays = stalls.delays();
  stats.write_stops = stalls.stops();
  stats.writes_stopped = errors.writes_stopped();
  stats.error_recoveries = errors.recoveries();
  return stats;
}

}  // namespace wasikv
