// BackgroundErrorListener follows RocksDB's background error state: the
// errors that stop writes (a full disk, a failed WAL or flush write) until
// RocksDB recovers, and the recoveries. It logs each change once and tells
// metrics whether writes are stopped right now.
//
// A full disk is the common case: RocksDB stops writes (reads go on), its
// SstFileManager polls the free space every 5 s, and once one memtable's worth
// (write_buffer_size) is free it flushes and resumes writes by itself.
//
// Thread safety: RocksDB calls it from its threads; the accessors may be
// called from any thread. Ownership: shared by the store and the DBOptions it
// opens RocksDB with.
#ifndef WASIKV_SERVER_STORAGE_BACKGROUND_ERROR_LISTENER_H_
#define WASIKV_SERVER_STORAGE_BACKGROUND_ERROR_LISTENER_H_

#include <atomic>
#include <chrono>
#include <cstdint>

#include "rocksdb/listener.h"

namespace wasikv {

class BackgroundErrorListener final : public rocksdb::EventListener {
 public:
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* error) override;
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override;

  // True from an error that stops writes until RocksDB has recovered from it.
  bool writes_stopped() const { return writes_stopped_.load(std::memory_order_acquire); }
  // Times RocksDB recovered from such an error, since start.
  uint64_t recoveries() const { return recoveries_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> writes_stopped_{false};
  std::atomic<int64_t> stopped_since_micros_{0};
  std::atomic<uint64_t> recoveries_{0};
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_BACKGROUND_ERROR_LISTENER_H_
