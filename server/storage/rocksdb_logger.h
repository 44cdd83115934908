// RocksDbLogger: RocksDB's info log, written into wasikvd's own log (stderr)
// instead of a LOG file in the data directory.
//
// Two reasons. A LOG file on the data disk fails with it: once a write to it
// hit ENOSPC, Debian's RocksDB (built with assertions) aborts the process on
// the next log line, so a full disk would crash wasikvd instead of refusing
// writes. And RocksDB's WAL recovery names the damaged WAL file only in its
// log (the status it returns says "Corruption: checksum mismatch" and no
// more), so the logger keeps that report for the error wasikvd exits with.
//
// RocksDB's errors and warnings are logged at err and warn; its chatter
// (flushes, compactions, the options dump) at debug, and only formatted when
// wasikvd logs at debug.
//
// Thread safety: RocksDB calls it from any of its threads; the report may be
// read from any thread. Ownership: shared by the store and the DBOptions it
// opens RocksDB with.
#ifndef WASIKV_SERVER_STORAGE_ROCKSDB_LOGGER_H_
#define WASIKV_SERVER_STORAGE_ROCKSDB_LOGGER_H_

#include <cstdarg>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/env.h"

namespace wasikv {

class RocksDbLogger final : public rocksdb::Logger {
 public:
  // Asks RocksDB for what wasikvd's log level shows.
  RocksDbLogger();

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  void Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) override;
  void LogHeader(const char* format, va_list ap) override;

  // The first damage RocksDB's WAL recovery reported, as it worded it
  // ("/data/000012.log: dropping 37 bytes; Corruption: checksum mismatch");
  // nullopt if none.
  std::optional<std::string> wal_damage() const;

 private:
  mutable absl::Mutex mu_;
  std::optional<std::string> wal_damage_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_ROCKSDB_LOGGER_H_
