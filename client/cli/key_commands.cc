#include "client/cli/key_commands.h"

#include <limits>
#include <string>

#include "client/cli/byte_encoding.h"
#include "client/cli/json_writer.h"
#include "wasikv/internal/status_macros.h"

namespace wasikv::cli {
namespace {

// Raw output of one write: its revision.
void PrintRevision(Output& out, uint64_t revision) { out.Line(std::to_string(revision)); }

CommandOutcome RunGet(CommandContext& context) {
  if (!context.ExpectArgs(2, 2)) return ExitCode::kUsage;
  const std::string& bucket = context.positional()[0];
  const std::string& key = context.positional()[1];
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(GetResult result, client->Get(bucket, key));
  Output& out = context.out();
  if (out.json()) {
    JsonWriter json;
    json.BeginObject().Member("key", key).Member("found", result.value.has_value());
    if (result.value) {
      json.BytesMember("value", result.value->value).Member("version", result.value->version);
    }
    json.Member("revision", result.revision).EndObject();
    out.JsonLine(json);
  } else if (result.value) {
    const std::string& value = result.value->value;
    out.Write(value);
    // Exact bytes for pipes and files; a terminal gets its prompt on a new
    // line.
    if (out.is_terminal() && !value.empty() && value.back() != '\n') out.Write("\n");
  }
  return result.value ? ExitCode::kOk : ExitCode::kNotFound;
}

CommandOutcome RunSet(CommandContext& context) {
  if (!context.ExpectArgs(2, 3)) return ExitCode::kUsage;
  const std::string& bucket = context.positional()[0];
  const std::string& key = context.positional()[1];
  ASSIGN_OR_RETURN(std::string value, context.ValueArgument(2));
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(SetResult result, client->Set(bucket, key, value));
  if (context.json()) {
    JsonWriter json;
    json.BeginObject()
        .Member("key", key)
        .Member("revision", result.revision)
        .Member("created", result.created)
        .EndObject();
    context.out().JsonLine(json);
  } else {
    PrintRevision(context.out(), result.revision);
  }
  return ExitCode::kOk;
}

CommandOutcome RunDel(CommandContext& context) {
  if (!context.ExpectArgs(2, 2)) return ExitCode::kUsage;
  const std::string& bucket = context.positional()[0];
  const std::string& key = context.positional()[1];
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(DeleteResult result, client->Delete(bucket, key));
  if (context.json()) {
    JsonWriter json;
    json.BeginObject()
        .Member("key", key)
        .Member("deleted", result.deleted)
        .Member("revision", result.revision)
        .EndObject();
    context.out().JsonLine(json);
  } else {
    PrintRevision(context.out(), result.revision);
  }
  return ExitCode::kOk;
}

CommandOutcome RunExists(CommandContext& context) {
  if (!context.ExpectArgs(2, 2)) return ExitCode::kUsage;
  const std::string& bucket = context.positional()[0];
  const std::string& key = context.positional()[1];
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(ExistsResult result, client->Exists(bucket, key));
  if (context.json()) {
    JsonWriter json;
    json.BeginObject().Member("key", key).Member("exists", result.exists);
    if (result.exists) json.Member("version", result.version);
    json.Member("revision", result.revision).EndObject();
    context.out().JsonLine(json);
  } else {
    context.out().Line(result.exists ? "true" : "false");
  }
  return result.exists ? ExitCode::kOk : ExitCode::kNotFound;
}

CommandOutcome RunLs(CommandContext& context) {
  if (!context.ExpectArgs(1, 1)) return ExitCode::kUsage;
  const std::string& bucket = context.positional()[0];
  const ParsedArgs& args = context.args();
  ListKeysOptions list;
  list.prefix = args.Value("prefix").value_or("");
  list.cursor = args.Value("cursor").value_or("");
  if (std::optional<std::string> limit = args.Value("limit")) {
    std::optional<uint64_t> parsed = ParseUint64(*limit);
    if (!parsed || *parsed == 0 || *parsed > std::numeric_limits<uint32_t>::max()) {
      return context.Usage("--limit must be a positive integer");
    }
    list.limit = static_cast<uint32_t>(*parsed);
  }
  const bool all = args.Has("all");
  ASSIGN_OR_RETURN(Client * client, context.client());

  Output& out = context.out();
  JsonWriter json;
  if (out.json()) json.BeginObject().Key("keys").BeginArray();
  // The first page's revision: watching from it + 1 misses nothing that
  // changed during a multi-page listing.
  uint64_t revision = 0;
  bool first = true;
  do {
    ASSIGN_OR_RETURN(ListKeysPage page, client->ListKeys(bucket, list));
    if (first) revision = page.revision;
    first = false;
    for (const std::string& key : page.keys) {
      if (out.json()) {
        json.String(key);
      } else {
        out.Line(EscapeLine(key));
      }
    }
    if (out.json()) out.Write(json.Take());  // stream long listings
    list.cursor = std::move(page.next_cursor);
  } while (all && !list.cursor.empty());

  if (out.json()) {
    json.EndArray();
    if (!all) json.Member("next_cursor", list.cursor);
    json.Member("revision", revision).EndObject();
    out.JsonLine(json);
  } else if (!list.cursor.empty()) {
    out.Note("more keys may follow: continue with --cursor " + list.cursor +
             ", or list them all with --all");
  }
  return ExitCode::kOk;
}

CommandOutcome RunIncr(CommandContext& context) {
  if (!context.ExpectArgs(2, 3)) return ExitCode::kUsage;
  const std::string& bucket = context.positional()[0];
  const std::string& key = context.positional()[1];
  int64_t delta = 1;
  if (context.positional().size() == 3) {
    std::optional<int64_t> parsed = ParseInt64(context.positional()[2]);
    if (!parsed) return context.Usage("DELTA must be a signed 64-bit integer");
    delta = *parsed;
  }
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(IncrementResult result, client->Increment(bucket, key, delta));
  if (context.json()) {
    JsonWriter json;
    json.BeginObject()
        .Member("key", key)
        .Member("value", result.value)
        .Member("revision", result.revision)
        .EndObject();
    context.out().JsonLine(json);
  } else {
    context.out().Line(std::to_string(result.value));
  }
  return ExitCode::kOk;
}

CommandOutcome RunCas(CommandContext& context) {
  if (!context.ExpectArgs(2, 3)) return ExitCode::kUsage;
  const std::string& bucket = context.positional()[0];
  const std::string& key = context.positional()[1];
  const ParsedArgs& args = context.args();
  const int conditions = static_cast<int>(args.Has("expect")) +
                         static_cast<int>(args.Has("absent")) +
                         static_cast<int>(args.Has("version"));
  if (conditions != 1) return context.Usage("give exactly one of --expect, --absent, --version");
  CasExpectation expected = CasExpectation::Absent();
  if (std::optional<std::string> value = args.Value("expect")) {
    expected = CasExpectation::Value(*value);
  } else if (std::optional<std::string> version = args.Value("version")) {
    std::optional<uint64_t> parsed = ParseUint64(*version);
    if (!parsed || *parsed == 0) {
      return context.Usage(
          "--version must be a positive revision (use --absent for a missing key)");
    }
    expected = CasExpectation::Version(*parsed);
  }
  ASSIGN_OR_RETURN(std::string new_value, context.ValueArgument(2));
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(CasResult result, client->CompareAndSwap(bucket, key, expected, new_value));

  Output& out = context.out();
  if (out.json()) {
    JsonWriter json;
    json.BeginObject()
        .Member("key", key)
        .Member("swapped", result.swapped)
        .Member("revision", result.revision);
    if (!result.swapped) {
      json.Key("current");
      if (result.current) {
        json.BeginObject()
            .BytesMember("value", result.current->value)
            .Member("version", result.current->version)
            .EndObject();
      } else {
        json.Null();
      }
    }
    out.JsonLine(json.EndObject());
  } else if (result.swapped) {
    PrintRevision(out, result.revision);
  } else if (result.current) {
    out.Note("not swapped: the key's current version is " +
             std::to_string(result.current->version));
  } else {
    out.Note("not swapped: the key does not exist");
  }
  return result.swapped ? ExitCode::kOk : ExitCode::kNotFound;
}

}  // namespace

std::vector<Command> KeyCommands() {
  return {
      {.name = "get",
       .args = "BUCKET KEY",
       .summary = "print a key's value",
       .details = "Prints the value of KEY exactly as stored (no newline is added, except on a\n"
                  "terminal). A missing key prints nothing and exits 1.\n"
                  "--json prints {\"key\",\"found\",\"value\",\"version\",\"revision\"}.",
       .flags = {},
       .run = RunGet},
      {.name = "set",
       .args = "BUCKET KEY [VALUE | -]",
       .summary = "write a key",
       .details = "Creates or overwrites KEY. Without VALUE, or with \"-\", the value is read\n"
                  "from standard input, byte for byte (a trailing newline is kept; use\n"
                  "printf rather than echo to store none). Prints the revision of the write.\n"
                  "--json prints {\"key\",\"revision\",\"created\"}.",
       .flags = {},
       .run = RunSet},
      {.name = "del",
       .args = "BUCKET KEY",
       .summary = "delete a key",
       .details = "Deletes KEY and prints the revision. Deleting a missing key succeeds\n"
                  "(exit 0) and writes nothing.\n"
                  "--json prints {\"key\",\"deleted\",\"revision\"}.",
       .flags = {},
       .run = RunDel},
      {.name = "exists",
       .args = "BUCKET KEY",
       .summary = "test whether a key exists",
       .details = "Prints true and exits 0 if KEY exists, prints false and exits 1 if not.\n"
                  "--json prints {\"key\",\"exists\",\"version\",\"revision\"}.",
       .flags = {},
       .run = RunExists},
      {.name = "ls",
       .args = "BUCKET [--prefix P] [--limit N] [--all] [--cursor C]",
       .summary = "list keys",
       .details = "Prints keys in byte order, one per line (backslash, tab, newline and other\n"
                  "control bytes escaped as \\\\ \\t \\n \\xHH). Without --all one page is listed\n"
                  "(N keys, default the server's page of 1000) and, if more may follow, the\n"
                  "cursor to continue with is printed to standard error. With --all every\n"
                  "page is fetched, N keys per request.\n"
                  "--json prints {\"keys\":[...],\"next_cursor\",\"revision\"} (no next_cursor\n"
                  "with --all); revision is that of the first page.",
       .flags = {{"prefix", "P", "only keys starting with P"},
                 {"limit", "N", "keys per page (server default 1000, at most 10000)"},
                 {"all", "", "fetch every page"},
                 {"cursor", "C", "continue a listing where the last page ended"}},
       .run = RunLs},
      {.name = "incr",
       .args = "BUCKET KEY [DELTA]",
       .summary = "add to a counter atomically",
       .details = "Adds DELTA (default 1, may be negative) to the decimal counter in KEY (a\n"
                  "missing key counts as 0) and prints the new value. A value that is not a\n"
                  "decimal integer fails with FAILED_PRECONDITION; overflow with OUT_OF_RANGE.\n"
                  "Never retried: rerun only after reading the counter.\n"
                  "--json prints {\"key\",\"value\",\"revision\"}.",
       .flags = {},
       .run = RunIncr},
      {.name = "cas",
       .args = "BUCKET KEY (--expect VALUE | --absent | --version N) [NEWVALUE | -]",
       .summary = "compare and swap",
       .details = "Writes NEWVALUE only if KEY currently holds VALUE (--expect), does not\n"
                  "exist (--absent), or has version N (--version). NEWVALUE is read from\n"
                  "standard input when absent or \"-\". Prints the revision and exits 0 if\n"
                  "swapped; exits 1 if not, with the key's current state on standard error.\n"
                  "--json prints {\"key\",\"swapped\",\"revision\"} and, when not swapped,\n"
                  "\"current\": {\"value\",\"version\"} or null for a missing key.",
       .flags = {{"expect", "VALUE", "swap if the current value is VALUE"},
                 {"absent", "", "swap if the key does not exist"},
                 {"version", "N", "swap if the key's version is N"}},
       .run = RunCas},
  };
}

}  // namespace wasikv::cli
