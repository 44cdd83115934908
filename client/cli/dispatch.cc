#include "client/cli/dispatch.h"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <vector>

#include "client/cli/client_settings.h"
#include "client/cli/command_table.h"
#include "client/cli/help.h"
#include "client/cli/output.h"

namespace wasikv::cli {
namespace {

// The words naming a command ("get", "bucket create") and where they are.
struct CommandWords {
  std::string name;
  std::vector<size_t> positions;
};

// Reads the command words starting at `from`, stepping over global flags.
CommandWords ReadCommandWords(std::span<const std::string> args, size_t from) {
  CommandWords words;
  const size_t first = FindPositional(args, GlobalFlags(), from);
  if (first == args.size()) return words;
  words.name = args[first];
  words.positions.push_back(first);
  if (words.name == "bucket") {
    const size_t second = FindPositional(args, GlobalFlags(), first + 1);
    if (second < args.size()) {
      words.name += " " + args[second];
      words.positions.push_back(second);
    }
  }
  return words;
}

int Print(std::FILE* stream, const std::string& text, ExitCode code) {
  std::fputs(text.c_str(), stream);
  return static_cast<int>(code);
}

// A command line with no command: help, the version, or a usage error.
int RunWithoutCommand(std::span<const std::string> args, bool help, Output& out) {
  if (help) return Print(stdout, ToolHelp(), ExitCode::kOk);
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, GlobalFlags());
  if (parsed.ok() && parsed->Has("version")) {
    return Print(stdout, "wasikv " WASIKV_VERSION "\n", ExitCode::kOk);
  }
  if (args.empty()) return Print(stderr, ToolHelp(), ExitCode::kUsage);
  out.Note(parsed.ok() ? std::string("missing command") : std::string(parsed.status().message()));
  out.Note("see 'wasikv --help'");
  return static_cast<int>(ExitCode::kUsage);
}

int RunCommand(const Command& command, std::span<const std::string> args, Output& usage_out) {
  // The command's flags first: they win a clash of names (cas --version N
  // over the tool's --version).
  std::vector<FlagSpec> flags = command.flags;
  flags.insert(flags.end(), GlobalFlags().begin(), GlobalFlags().end());
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, flags);
  if (!parsed.ok()) {
    return static_cast<int>(
        ReportUsage(usage_out, command, std::string(parsed.status().message())));
  }
  absl::StatusOr<ClientOptions> options = ResolveClientOptions(*parsed);
  if (!options.ok()) {
    return static_cast<int>(
        ReportUsage(usage_out, command, std::string(options.status().message())));
  }
  Output out(stdout, stderr, parsed->Has("json"));
  CommandContext context(command, *std::move(parsed), *std::move(options), out);
  CommandOutcome outcome = command.run(context);
  out.Flush();
  if (!outcome.ok()) {
    out.Error(outcome.status());
    return static_cast<int>(ExitCode::kError);
  }
  if (!out.ok()) {
    out.Note("writing standard output failed");
    return static_cast<int>(ExitCode::kError);
  }
  return static_cast<int>(*outcome);
}

}  // namespace

int Run(std::span<const std::string> args) {
  // Errors before the command runs go to standard error only.
  Output usage_out(stdout, stderr, /*json=*/false);
  bool help = WantsHelp(args);
  CommandWords words = ReadCommandWords(args, 0);
  if (words.name == "help") {
    help = true;
    CommandWords topic = ReadCommandWords(args, words.positions.back() + 1);
    topic.positions.insert(topic.positions.begin(), words.positions.front());
    words = std::move(topic);
  }
  if (words.positions.empty()) return RunWithoutCommand(args, help, usage_out);
  if (words.name == "bucket") {
    if (help) return Print(stdout, BucketGroupHelp(), ExitCode::kOk);
    usage_out.Note("bucket: missing subcommand (create, delete, list or open)");
    usage_out.Note("see 'wasikv bucket --help'");
    return static_cast<int>(ExitCode::kUsage);
  }
  const Command* command = FindCommand(words.name);
  if (command == nullptr) {
    usage_out.Note("unknown command '" + words.name + "'");
    usage_out.Note(words.name.starts_with("bucket ") ? "see 'wasikv bucket --help'"
                                                     : "see 'wasikv --help'");
    return static_cast<int>(ExitCode::kUsage);
  }
  if (help) return Print(stdout, CommandHelp(*command), ExitCode::kOk);

  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    if (std::find(words.positions.begin(), words.positions.end(), i) == words.positions.end()) {
      rest.push_back(args[i]);
    }
  }
  return RunCommand(*command, rest, usage_out);
}

}  // namespace wasikv::cli
