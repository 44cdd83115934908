// EngineStats: what RocksDB says about its own state, for operators: data
// size, compaction debt, memory, write stalls and stops. Read on demand (a metrics
// scrape), from DB properties that cost no I/O.
//
// WriteStallListener counts RocksDB's write stalls as they begin, since a
// property only shows whether one is active at the moment it is read.
// Thread safety: RocksDB calls the listener from its background threads;
// the counts may be read from any thread.
#ifndef WASIKV_SERVER_STORAGE_ENGINE_STATS_H_
#define WASIKV_SERVER_STORAGE_ENGINE_STATS_H_

#include <atomic>
#include <cstdint>
#include <span>

#include "rocksdb/db.h"
#include "rocksdb/listener.h"
#include "server/storage/background_error_listener.h"

namespace wasikv {

struct EngineStats {
  uint64_t live_data_bytes = 0;           // estimate, all column families
  uint64_t sst_bytes = 0;                 // all SST files, live or not yet deleted
  uint64_t pending_compaction_bytes = 0;  // estimate of bytes compaction must rewrite
  uint64_t memtable_bytes = 0;            // active and immutable memtables
  uint64_t block_cache_bytes = 0;         // in use
  uint64_t block_cache_capacity_bytes = 0;
  uint64_t estimated_keys = 0;  // data column family, includes internal records
  uint64_t running_compactions = 0;
  uint64_t running_flushes = 0;
  bool write_stall_active = false;  // writes delayed or stopped right now
  uint64_t write_delays = 0;        // stalls that slowed writes, since start
  uint64_t write_stops = 0;         // stalls that stopped writes, since start
  uint64_t background_errors = 0;
  bool writes_stopped = false;    // by a background error (a full disk), until RocksDB recovers
  uint64_t error_recoveries = 0;  // recoveries from such errors, since start
};

class WriteStallListener final : public rocksdb::EventListener {
 public:
  void OnStallConditionsChanged(const rocksdb::WriteStallInfo& info) override;

  uint64_t delays() const { return delays_.load(std::memory_order_relaxed); }
  uint64_t stops() const { return stops_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> delays_{0};
  std::atomic<uint64_t> stops_{0};
};

// Reads the figures of `db` across `families` (the first holds the block
// cache).
EngineStats ReadEngineStats(rocksdb::DB* db, std::span<rocksdb::ColumnFamilyHandle* const> families,
                            const WriteStallListener& stalls,
                            const BackgroundErrorListener& errors);

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_ENGINE_STATS_H_
