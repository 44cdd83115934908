#include "server/storage/background_error_listener.h"

#include <string>

#include "server/common/log.h"

namespace wasikv {
namespace {

const char* ReasonName(rocksdb::BackgroundErrorReason reason) {
  switch (reason) {
    case rocksdb::BackgroundErrorReason::kFlush:
    case rocksdb::BackgroundErrorReason::kFlushNoWAL:
      return "flush";
    case rocksdb::BackgroundErrorReason::kCompaction:
      return "compaction";
    case rocksdb::BackgroundErrorReason::kWriteCallback:
      return "write";
    case rocksdb::BackgroundErrorReason::kMemTable:
      return "memtable";
    case rocksdb::BackgroundErrorReason::kManifestWrite:
    case rocksdb::BackgroundErrorReason::kManifestWriteNoWAL:
      return "manifest_write";
  }
  return "unknown";
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void BackgroundErrorListener::OnBackgroundError(rocksdb::BackgroundErrorReason reason,
                                                rocksdb::Status* error) {
  if (error == nullptr || error->ok()) return;
  const bool stops_writes = error->severity() >= rocksdb::Status::Severity::kHardError;
  // RocksDB reports the error again on every failed recovery attempt: only
  // the first of a stop is worth an operator's attention.
  const bool newly_stopped = stops_writes && !writes_stopped_.exchange(true);
  if (newly_stopped) stopped_since_micros_.store(NowMicros());
  spdlog::level::level_enum level = spdlog::level::debug;
  if (newly_stopped) {
    level = spdlog::level::err;
  } else if (!stops_writes && error->severity() >= rocksdb::Status::Severity::kSoftError) {
    level = spdlog::level::warn;
  }
  LogEvent(level, stops_writes ? "storage_writes_stopped" : "storage_background_error",
           {{"reason", ReasonName(reason)},
            {"disk_full", error->IsNoSpace() ? "true" : "false"},
            {"error", error->ToString()}});
}

void BackgroundErrorListener::OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) {
  if (!info.new_bg_error.ok()) {
    LogEvent(spdlog::level::debug, "storage_recovery_failed",
             {{"error", info.new_bg_error.ToString()}});
    return;
  }
  recoveries_.fetch_add(1, std::memory_order_relaxed);
  if (!writes_stopped_.exchange(false)) return;
  const int64_t stopped_ms = (NowMicros() - stopped_since_micros_.load()) / 1000;
  LogEvent(spdlog::level::warn, "storage_writes_resumed",
           {{"stopped_ms", std::to_string(stopped_ms)}, {"error", info.old_bg_error.ToString()}});
}

}  // namespace wasikv
