// Command-line parsing for the wasikv tool: flags (declared per command),
// positional arguments, and the number and duration syntax of flag values.
//
// Syntax: "--name VALUE" or "--name=VALUE" for flags with a value, "--name"
// for switches, "-h" for "--help". Flags may appear anywhere, before or after
// the command. "--" ends flag parsing; "-" (standard input) and negative
// numbers ("-5") are positional arguments.
#ifndef WASIKV_CLIENT_CLI_ARGS_H_
#define WASIKV_CLIENT_CLI_ARGS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace wasikv::cli {

struct FlagSpec {
  std::string_view name;        // without the dashes: "prefix"
  std::string_view value_name;  // shown in help ("P"); empty for a switch
  std::string_view help;
};

// The result of parsing: which flags were given and the positional
// arguments in order. A flag given twice keeps its last value.
class ParsedArgs {
 public:
  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(std::string_view flag) const { return flags_.find(flag) != flags_.end(); }
  // The value of a flag that takes one; nullopt if it was not given.
  std::optional<std::string> Value(std::string_view flag) const;

 private:
  friend absl::StatusOr<ParsedArgs> ParseArgs(std::span<const std::string> args,
                                              std::span<const FlagSpec> specs);
  std::vector<std::string> positional_;
  std::map<std::string, std::string, std::less<>> flags_;  // switches map to ""
};

// Splits `args` into the flags of `specs` and positional arguments.
// INVALID_ARGUMENT naming the flag for an unknown flag, a missing value, or a
// value given to a switch.
absl::StatusOr<ParsedArgs> ParseArgs(std::span<const std::string> args,
                                     std::span<const FlagSpec> specs);

// Index of the first positional argument in `args` at or after `from`,
// stepping over flags of `specs` and their values; args.size() if none.
// Used to find the command word before the command's own flags are known.
size_t FindPositional(std::span<const std::string> args, std::span<const FlagSpec> specs,
                      size_t from);

// True if `args` asks for help (--help or -h before any "--").
bool WantsHelp(std::span<const std::string> args);

// Whole-string decimal integers; nullopt on anything else or overflow.
std::optional<int64_t> ParseInt64(std::string_view text);
std::optional<uint64_t> ParseUint64(std::string_view text);

// A positive duration: a sequence of numbers with units ms, s, m, h
// ("500ms", "1.5s", "1m30s"); a bare number is seconds.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_ARGS_H_
