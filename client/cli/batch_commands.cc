#include "client/cli/batch_commands.h"

#include <cstdint>
#include <span>
#include <string>

#include "client/cli/byte_encoding.h"
#include "client/cli/input.h"
#include "client/cli/json_writer.h"
#include "wasikv/internal/status_macros.h"

namespace wasikv::cli {
namespace {

CommandOutcome RunMget(CommandContext& context) {
  if (!context.ExpectArgs(2, SIZE_MAX)) return ExitCode::kUsage;
  const std::string& bucket = context.positional()[0];
  std::span<const std::string> keys(context.positional().begin() + 1, context.positional().end());
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(GetManyResult result, client->GetMany(bucket, keys));

  Output& out = context.out();
  bool all_found = true;
  JsonWriter json;
  if (out.json()) json.BeginObject().Key("entries").BeginArray();
  for (const GetManyEntry& entry : result.entries) {
    all_found = all_found && entry.value.has_value();
    if (out.json()) {
      json.BeginObject().Member("key", entry.key).Member("found", entry.value.has_value());
      if (entry.value) {
        json.BytesMember("value", entry.value->value).Member("version", entry.value->version);
      }
      json.EndObject();
    } else if (entry.value) {
      out.Line(EscapeLine(entry.key) + "\t" + EscapeLine(entry.value->value));
    }
  }
  if (out.json()) {
    json.EndArray().Member("revision", result.revision).EndObject();
    out.JsonLine(json);
  }
  return all_found ? ExitCode::kOk : ExitCode::kNotFound;
}

CommandOutcome RunMset(CommandContext& context) {
  if (!context.ExpectArgs(1, SIZE_MAX)) return ExitCode::kUsage;
  const std::vector<std::string>& args = context.positional();
  const std::string& bucket = args[0];
  std::vector<KeyValue> entries;
  bool read_stdin = args.size() == 1;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "-") {
      read_stdin = true;
      continue;
    }
    const size_t equals = args[i].find('=');
    if (equals == std::string::npos) {
      return context.Usage("'" + args[i] + "' is not KEY=VALUE");
    }
    entries.push_back({args[i].substr(0, equals), args[i].substr(equals + 1)});
  }
  if (read_stdin) {
    ASSIGN_OR_RETURN(std::string input, ReadStandardInput());
    absl::StatusOr<std::vector<KeyValue>> lines = ParseKeyValueLines(input);
    if (!lines.ok()) return context.Usage(std::string(lines.status().message()));
    entries.insert(entries.end(), std::make_move_iterator(lines->begin()),
                   std::make_move_iterator(lines->end()));
  }
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(uint64_t revision, client->SetMany(bucket, entries));
  if (context.json()) {
    JsonWriter json;
    json.BeginObject()
        .Member("count", static_cast<uint64_t>(entries.size()))
        .Member("revision", revision)
        .EndObject();
    context.out().JsonLine(json);
  } else {
    context.out().Line(std::to_string(revision));
  }
  return ExitCode::kOk;
}

CommandOutcome RunMdel(CommandContext& context) {
  if (!context.ExpectArgs(2, SIZE_MAX)) return ExitCode::kUsage;
  const std::string& bucket = context.positional()[0];
  std::span<const std::string> keys(context.positional().begin() + 1, context.positional().end());
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(DeleteManyResult result, client->DeleteMany(bucket, keys));
  if (context.json()) {
    JsonWriter json;
    json.BeginObject()
        .Member("deleted", result.deleted)
        .Member("revision", result.revision)
        .EndObject();
    context.out().JsonLine(json);
  } else {
    context.out().Line(std::to_string(result.revision));
  }
  return ExitCode::kOk;
}

}  // namespace

std::vector<Command> BatchCommands() {
  return {
      {.name = "mget",
       .args = "BUCKET KEY...",
       .summary = "read many keys from one snapshot",
       .details = "Prints \"key<TAB>value\" for each key that exists, in argument order, with\n"
                  "both sides escaped as in ls (\\\\ \\t \\n \\xHH), so the output reads back\n"
                  "into mset. Exits 1 if any key is missing.\n"
                  "--json prints {\"entries\":[{\"key\",\"found\",\"value\",\"version\"}],\n"
                  "\"revision\"}.",
       .flags = {},
       .run = RunMget},
      {.name = "mset",
       .args = "BUCKET [KEY=VALUE...] [-]",
       .summary = "write many keys atomically",
       .details = "Writes every pair at one revision, or none, and prints the revision. Pairs\n"
                  "come from the arguments (split at the first '=') and, with \"-\" or when\n"
                  "no pair is given, from standard input: one \"key<TAB>value\" per line,\n"
                  "split at the first tab, with \\\\ \\t \\n \\r \\xHH decoded (other\n"
                  "backslashes are kept). Later pairs for the same key win.\n"
                  "--json prints {\"count\",\"revision\"}.",
       .flags = {},
       .run = RunMset},
      {.name = "mdel",
       .args = "BUCKET KEY...",
       .summary = "delete many keys atomically",
       .details = "Deletes the keys at one revision and prints it. Missing keys are skipped.\n"
                  "--json prints {\"deleted\",\"revision\"}.",
       .flags = {},
       .run = RunMdel},
  };
}

}  // namespace wasikv::cli
