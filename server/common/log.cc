#include "server/common/log.h"

#include <atomic>

#include "fmt/format.h"
#include "google/protobuf/stubs/logging.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace wasikv {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

// protobuf's own messages. In a server they are about the bytes a client
// sent ("String field ... contains invalid UTF-8"), which the call's status
// already reports: unthrottled at error level they would let any client
// flood the log, so they are debug events like every refused call.
void LogProtobufMessage(google::protobuf::LogLevel level, const char* file, int line,
                        const std::string& message) {
  LogEvent(
      level == google::protobuf::LOGLEVEL_FATAL ? spdlog::level::critical : spdlog::level::debug,
      "protobuf", {{"source", fmt::format("{}:{}", file, line)}, {"message", message}});
}

void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (byte < 0x20) {
      fmt::format_to(std::back_inserter(*out), "\\u{:04x}", byte);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// Text values are quoted when they would otherwise split the line.
void AppendTextValue(std::string_view text, std::string* out) {
  const bool plain = !text.empty() && text.find_first_of(" \"=\n\t") == std::string_view::npos;
  if (plain) {
    out->append(text);
  } else {
    AppendJsonString(text, out);
  }
}

}  // namespace

void InitLogging(LogFormat format, spdlog::level::level_enum level) {
  g_format.store(format);
  auto logger = std::make_shared<spdlog::logger>("wasikvd",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == LogFormat::kJson) {
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  google::protobuf::SetLogHandler(&LogProtobufMessage);
}

std::string LogLine(std::string_view event, std::initializer_list<LogField> fields) {
  std::string out;
  if (g_format.load() == LogFormat::kJson) {
    out.append("\"event\":");
    AppendJsonString(event, &out);
    for (const auto& [key, value] : fields) {
      out.push_back(',');
      AppendJsonString(key, &out);
      out.push_back(':');
      AppendJsonString(value, &out);
    }
    return out;
  }
  out.append(event);
  for (const auto& [key, value] : fields) {
    out.push_back(' ');
    out.append(key);
    out.push_back('=');
    AppendTextValue(value, &out);
  }
  return out;
}

}  // namespace wasikv
