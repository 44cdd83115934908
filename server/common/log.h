// Structured logging for wasikvd on top of spdlog.
//
// Every line is an event name plus key=value fields. In text format a line
// reads `2026-11-22T01:02:03.456Z info listening address=127.0.0.1:50051`; in
// JSON format the same line is one object per line, ready for a log shipper:
// {"ts":"...","level":"info","event":"listening","address":"127.0.0.1:50051"}.
// Thread safety: InitLogging once at start-up; the rest from any thread.
#ifndef WASIKV_SERVER_COMMON_LOG_H_
#define WASIKV_SERVER_COMMON_LOG_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "spdlog/spdlog.h"

namespace wasikv {

enum class LogFormat { kText, kJson };

// Logs to stderr in `format` at `level` and above.
void InitLogging(LogFormat format, spdlog::level::level_enum level);

using LogField = std::pair<std::string_view, std::string>;

// Renders an event and its fields in the configured format.
std::string LogLine(std::string_view event, std::initializer_list<LogField> fields = {});

inline void LogEvent(spdlog::level::level_enum level, std::string_view event,
                     std::initializer_list<LogField> fields = {}) {
  if (!spdlog::should_log(level)) return;
  spdlog::log(level, "{}", LogLine(event, fields));
}

}  // namespace wasikv

#endif  // WASIKV_SERVER_COMMON_LOG_H_
