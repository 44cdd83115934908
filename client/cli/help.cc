#include "client/cli/help.h"

#include <algorithm>
#include <span>

#include "client/cli/command_table.h"

namespace wasikv::cli {
namespace {

constexpr std::string_view kExitCodes =
    "Exit codes:\n"
    "  0  success; the key or bucket exists; cas swapped\n"
    "  1  not found: get, exists or mget of a missing key, cas not swapped,\n"
    "     bucket open of a missing bucket, health other than SERVING\n"
    "  2  usage error: a bad command line, refused before anything is sent\n"
    "  3  server or connection error, printed to standard error as\n"
    "     \"wasikv: <CODE>: <message>\" (CODE as in kv.proto: INVALID_ARGUMENT, ...)\n";

constexpr std::string_view kEncodings =
    "Values:\n"
    "  A VALUE argument is stored as given. set and cas read the value from\n"
    "  standard input, byte for byte, when it is \"-\" or left out.\n"
    "\n"
    "Output:\n"
    "  Raw by default. get prints the value's bytes exactly. The line formats of\n"
    "  ls, mget and watch escape backslash, tab, newline, carriage return, other\n"
    "  control bytes and bytes that are not UTF-8 (\\\\ \\t \\n \\r \\xHH), so every\n"
    "  record is one line.\n"
    "  --json prints one JSON document per line, always valid UTF-8. A value\n"
    "  that is valid UTF-8 is a plain JSON string. Any other value is base64\n"
    "  (standard alphabet, padded) with a flag member beside it:\n"
    "    {\"value\":\"AP8=\",\"value_encoding\":\"base64\"}\n"
    "  Revisions, versions and counters are JSON numbers.\n";

std::string FlagLines(std::span<const FlagSpec> flags) {
  size_t width = 0;
  for (const FlagSpec& flag : flags) {
    width = std::max(width, flag.name.size() + flag.value_name.size() + 3);
  }
  std::string text;
  for (const FlagSpec& flag : flags) {
    std::string left = "--" + std::string(flag.name);
    if (!flag.value_name.empty()) left += " " + std::string(flag.value_name);
    text += "  " + left + std::string(width - left.size() + 2, ' ') + std::string(flag.help) + "\n";
  }
  return text;
}

std::string CommandList(bool buckets_only) {
  size_t width = 0;
  for (const Command& command : AllCommands()) width = std::max(width, command.name.size());
  std::string text;
  for (const Command& command : AllCommands()) {
    if (buckets_only && !command.name.starts_with("bucket ")) continue;
    text += "  " + std::string(command.name) + std::string(width - command.name.size() + 2, ' ') +
            std::string(command.summary) + "\n";
  }
  return text;
}

}  // namespace

std::string ToolHelp() {
  return "wasikv: the command-line client of wasikvd, the wasikv key-value server.\n"
         "\n"
         "Usage: wasikv [flags] COMMAND ARGS...\n"
         "\n"
         "Commands:\n" +
         CommandList(false) +
         "\n"
         "'wasikv COMMAND --help' (or 'wasikv help COMMAND') describes a command.\n"
         "\n"
         "Flags (anywhere on the line):\n" +
         FlagLines(GlobalFlags()) +
         "\n"
         "Environment:\n"
         "  WASIKV_ENDPOINT         the server when --endpoint is not given\n"
         "  WASIKV_TOKEN            the bearer token when --token is not given\n"
         "  WASIKV_TLS              true: as --tls\n"
         "  WASIKV_TLS_CA           as --tls-ca\n"
         "  WASIKV_TLS_CERT         as --tls-cert\n"
         "  WASIKV_TLS_KEY          as --tls-key\n"
         "  WASIKV_TLS_SERVER_NAME  as --tls-server-name\n"
         "\n" +
         std::string(kEncodings) + "\n" + std::string(kExitCodes);
}

std::string BucketGroupHelp() {
  return "Usage: wasikv bucket SUBCOMMAND ARGS...\n"
         "\n"
         "Subcommands:\n" +
         CommandList(true) +
         "\n"
         "'wasikv bucket SUBCOMMAND --help' describes a subcommand.\n";
}

std::string CommandHelp(const Command& command) {
  std::string text = "Usage: wasikv " + std::string(command.name);
  if (!command.args.empty()) text += " " + std::string(command.args);
  text += "\n\n" + std::string(command.details) + "\n";
  if (!command.flags.empty()) text += "\nFlags:\n" + FlagLines(command.flags);
  text +=
      "\nGlobal flags: --endpoint HOST:PORT, --token T, --timeout DURATION, --json,\n"
      "--tls, --tls-ca FILE, --tls-cert FILE, --tls-key FILE, --tls-server-name NAME\n"
      "(see 'wasikv --help', also for the raw and JSON encodings).\n\n";
  text += kExitCodes;
  return text;
}

}  // namespace wasikv::cli
