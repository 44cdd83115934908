#include "server/storage/rocksdb_logger.h"

#include <cstdio>
#include <cstring>
#include <string_view>

#include "server/common/log.h"

namespace wasikv {
namespace {

// How the WAL recovery words a damaged record (LogReporter::Corruption in
// RocksDB's db/db_impl/db_impl_open.cc): "<file>: dropping <n> bytes;
// <status>".
constexpr char kWalDamageFormat[] = ": dropping %d bytes; %s";

spdlog::level::level_enum OurLevel(rocksdb::InfoLogLevel level) {
  switch (level) {
    case rocksdb::InfoLogLevel::DEBUG_LEVEL:
      return spdlog::level::trace;
    case rocksdb::InfoLogLevel::WARN_LEVEL:
      return spdlog::level::warn;
    case rocksdb::InfoLogLevel::ERROR_LEVEL:
      return spdlog::level::err;
    case rocksdb::InfoLogLevel::FATAL_LEVEL:
      return spdlog::level::critical;
    default:  // INFO, HEADER
      return spdlog::level::debug;
  }
}

// The least severe RocksDB level wasikvd's log level shows.
rocksdb::InfoLogLevel RocksDbLevelShown() {
  if (spdlog::should_log(spdlog::level::trace)) return rocksdb::InfoLogLevel::DEBUG_LEVEL;
  if (spdlog::should_log(spdlog::level::debug)) return rocksdb::InfoLogLevel::INFO_LEVEL;
  return rocksdb::InfoLogLevel::WARN_LEVEL;
}

std::string Format(const char* format, va_list ap) {
  std::string text(256, '\0');
  va_list copy;
  va_copy(copy, ap);
  const int n = std::vsnprintf(text.data(), text.size(), format, copy);
  va_end(copy);
  if (n < 0) return format;
  if (static_cast<size_t>(n) >= text.size()) {
    text.resize(static_cast<size_t>(n) + 1);
    va_copy(copy, ap);
    std::vsnprintf(text.data(), text.size(), format, copy);
    va_end(copy);
  }
  text.resize(static_cast<size_t>(n));
  // RocksDB's ROCKS_LOG_* macros start the line with "[source.cc:123] ".
  if (!text.empty() && text.front() == '[') {
    const size_t end = text.find("] ");
    if (end != std::string::npos) text.erase(0, end + 2);
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

RocksDbLogger::RocksDbLogger() : rocksdb::Logger(RocksDbLevelShown()) {}

void RocksDbLogger::Logv(const char* format, va_list ap) {
  Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
}

void RocksDbLogger::LogHeader(const char* format, va_list ap) {
  Logv(rocksdb::InfoLogLevel::HEADER_LEVEL, format, ap);
}

void RocksDbLogger::Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) {
  const bool damage = level >= rocksdb::InfoLogLevel::WARN_LEVEL &&
                      std::strstr(format, kWalDamageFormat) != nullptr;
  const spdlog::level::level_enum ours = OurLevel(level);
  if (!damage && !spdlog::should_log(ours)) return;
  std::string text = Format(format, ap);
  if (damage) {
    absl::MutexLock lock(&mu_);
    if (!wal_damage_) wal_damage_ = text;
  }
  LogEvent(ours, "rocksdb", {{"message", std::move(text)}});
}

std::optional<std::string> RocksDbLogger::wal_damage() const {
  absl::MutexLock lock(&mu_);
  return wal_damage_;
}

}  // namespace wasikv
