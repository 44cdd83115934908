#include "client/cli/args.h"

#include <charconv>
#include <cmath>

namespace wasikv::cli {
namespace {

// "-", "-5" and anything without a leading dash are positional.
bool IsFlagToken(std::string_view arg) {
  if (arg.size() < 2 || arg[0] != '-') return false;
  return !(arg[1] >= '0' && arg[1] <= '9');
}

const FlagSpec* FindSpec(std::span<const FlagSpec> specs, std::string_view name) {
  for (const FlagSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

// Splits "--name=value" / "--name" / "-h" into the name and the inline value.
std::pair<std::string_view, std::optional<std::string_view>> SplitFlag(std::string_view arg) {
  if (arg == "-h") return {"help", std::nullopt};
  std::string_view body = arg.substr(arg.starts_with("--") ? 2 : 1);
  const size_t equals = body.find('=');
  if (equals == std::string_view::npos) return {body, std::nullopt};
  return {body.substr(0, equals), body.substr(equals + 1)};
}

template <typename T>
std::optional<T> ParseInteger(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> ParsedArgs::Value(std::string_view flag) const {
  auto it = flags_.find(flag);
  if (it == flags_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<ParsedArgs> ParseArgs(std::span<const std::string> args,
                                     std::span<const FlagSpec> specs) {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      parsed.positional_.insert(parsed.positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (!IsFlagToken(arg)) {
      parsed.positional_.push_back(arg);
      continue;
    }
    auto [name, inline_value] = SplitFlag(arg);
    const FlagSpec* spec = FindSpec(specs, name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError("unknown flag '" + arg + "'");
    }
    if (spec->value_name.empty()) {
      if (inline_value) {
        return absl::InvalidArgumentError("flag --" + std::string(name) + " takes no value");
      }
      parsed.flags_[std::string(name)] = "";
      continue;
    }
    if (inline_value) {
      parsed.flags_[std::string(name)] = std::string(*inline_value);
    } else if (i + 1 < args.size()) {
      parsed.flags_[std::string(name)] = args[++i];
    } else {
      return absl::InvalidArgumentError("flag --" + std::string(name) + " needs a value (" +
                                        std::string(spec->value_name) + ")");
    }
  }
  return parsed;
}

size_t FindPositional(std::span<const std::string> args, std::span<const FlagSpec> specs,
                      size_t from) {
  for (size_t i = from; i < args.size(); ++i) {
    if (args[i] == "--") return i + 1 < args.size() ? i + 1 : args.size();
    if (!IsFlagToken(args[i])) return i;
    auto [name, inline_value] = SplitFlag(args[i]);
    const FlagSpec* spec = FindSpec(specs, name);
    if (spec != nullptr && !spec->value_name.empty() && !inline_value) ++i;
  }
  return args.size();
}

bool WantsHelp(std::span<const std::string> args) {
  for (const std::string& arg : args) {
    if (arg == "--") return false;
    if (arg == "--help" || arg == "-h") return true;
  }
  return false;
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  // from_chars rejects a leading '+'; accept it for deltas like "+5" (but
  // not "+-5", which from_chars would then read as -5).
  if (text.starts_with('+')) {
    text.remove_prefix(1);
    if (text.starts_with('-')) return std::nullopt;
  }
  return ParseInteger<int64_t>(text);
}

std::optional<uint64_t> ParseUint64(std::string_view text) { return ParseInteger<uint64_t>(text); }

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  while (!text.empty()) {
    size_t number_end = 0;
    while (number_end < text.size() &&
           ((text[number_end] >= '0' && text[number_end] <= '9') || text[number_end] == '.')) {
      ++number_end;
    }
    double number = 0;
    const char* start = text.data();
    auto [ptr, ec] = std::from_chars(start, start + number_end, number);
    if (number_end == 0 || ec != std::errc() || ptr != start + number_end) return std::nullopt;
    text.remove_prefix(number_end);
    size_t unit_end = 0;
    while (unit_end < text.size() && text[unit_end] >= 'a' && text[unit_end] <= 'z') ++unit_end;
    const std::string_view unit = text.substr(0, unit_end);
    text.remove_prefix(unit_end);
    if (unit == "ms") {
      total_ms += number;
    } else if (unit == "s" || (unit.empty() && text.empty())) {
      total_ms += number * 1000;
    } else if (unit == "m") {
      total_ms += number * 60 * 1000;
    } else if (unit == "h") {
      total_ms += number * 3600 * 1000;
    } else {
      return std::nullopt;
    }
  }
  // Below a millisecond rounds to nothing; past a year is a typo.
  if (!(total_ms >= 1) || total_ms > 365.0 * 24 * 3600 * 1000) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(total_ms)));
}

}  // namespace wasikv::cli
