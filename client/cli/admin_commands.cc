#include "client/cli/admin_commands.h"

#include <ctime>
#include <limits>
#include <optional>
#include <string>

#include "client/cli/json_writer.h"
#include "wasikv/internal/status_macros.h"

namespace wasikv::cli {
namespace {

// "2026-11-22T01:02:03Z".
std::string IsoTime(int64_t unix_seconds) {
  const std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm utc = {};
  char text[32] = "";
  if (gmtime_r(&time, &utc) != nullptr)
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// "backup 2 revision 1234 56789 bytes 12 files"
std::string BackupLine(const BackupInfo& backup) {
  return "backup " + std::to_string(backup.backup_id) + " revision " +
         std::to_string(backup.revision) + " " + std::to_string(backup.size_bytes) + " bytes " +
         std::to_string(backup.file_count) + " files";
}

void BackupMembers(JsonWriter& json, const BackupInfo& backup) {
  json.Member("backup_id", backup.backup_id)
      .Member("revision", backup.revision)
      .Member("size_bytes", backup.size_bytes)
      .Member("file_count", static_cast<uint64_t>(backup.file_count))
      .Member("create_unix_seconds", backup.create_unix_seconds);
}

// --timeout if given; otherwise Client::kBackupDeadline, not the 10 s every
// other call gets.
CallOptions BackupCallOptions(const ParsedArgs& args) {
  CallOptions call;
  if (std::optional<std::string> timeout = args.Value("timeout")) {
    // Already validated with the client options.
    call.deadline = ParseDuration(*timeout).value_or(std::chrono::milliseconds(0));
  }
  return call;
}

CommandOutcome RunBackup(CommandContext& context) {
  if (!context.ExpectArgs(0, 1)) return ExitCode::kUsage;
  BackupOptions backup;
  if (!context.positional().empty()) backup.dir = context.positional()[0];
  if (std::optional<std::string> keep = context.args().Value("keep")) {
    std::optional<uint64_t> parsed = ParseUint64(*keep);
    if (!parsed || *parsed > std::numeric_limits<uint32_t>::max()) {
      return context.Usage("--keep must be a number of backups (0 keeps all)");
    }
    backup.keep = static_cast<uint32_t>(*parsed);
  }
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(BackupResult result, client->Backup(backup, BackupCallOptions(context.args())));
  if (context.json()) {
    JsonWriter json;
    json.BeginObject();
    BackupMembers(json, result.backup);
    context.out().JsonLine(json.Member("dir", result.dir).EndObject());
  } else {
    context.out().Line(BackupLine(result.backup) + " in " + result.dir);
  }
  return ExitCode::kOk;
}

CommandOutcome RunBackups(CommandContext& context) {
  if (!context.ExpectArgs(0, 1)) return ExitCode::kUsage;
  const std::string dir = context.positional().empty() ? "" : context.positional()[0];
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(BackupList list, client->ListBackups(dir));
  Output& out = context.out();
  if (out.json()) {
    JsonWriter json;
    json.BeginObject().Member("dir", list.dir).Key("backups").BeginArray();
    for (const BackupInfo& backup : list.backups) {
      json.BeginObject();
      BackupMembers(json, backup);
      json.EndObject();
    }
    out.JsonLine(json.EndArray().EndObject());
  } else {
    for (const BackupInfo& backup : list.backups) {
      out.Line(BackupLine(backup) + " at " + IsoTime(backup.create_unix_seconds));
    }
  }
  return ExitCode::kOk;
}

}  // namespace

std::vector<Command> AdminCommands() {
  return {
      {.name = "backup",
       .args = "[DIR] [--keep N]",
       .summary = "take an online backup on the server",
       .details = "Takes a consistent backup of the whole store at one revision while writes\n"
                  "go on, verifies it, and prints\n"
                  "  backup ID revision REV BYTES bytes FILES files in SERVER_DIR\n"
                  "Every write up to REV is in the backup, none above it. DIR is a directory\n"
                  "on the SERVER's machine, inside the root it runs with (--backup-dir);\n"
                  "empty or left out: the root itself; relative: inside the root. Backups in\n"
                  "one DIR are numbered 1, 2, ... and share unchanged files. Restore one\n"
                  "with 'wasikvd --restore-from=SERVER_DIR [--restore-backup-id=ID]' into an\n"
                  "empty data directory (docs/backup.md).\n"
                  "The call's deadline is 10m unless --timeout is given. A server without\n"
                  "--backup-dir refuses with FAILED_PRECONDITION (exit 3).\n"
                  "--json prints {\"backup_id\",\"revision\",\"size_bytes\",\"file_count\",\n"
                  "\"create_unix_seconds\",\"dir\"}.",
       .flags = {{"keep", "N", "then keep only the N newest backups of DIR (default 0: all)"}},
       .run = RunBackup},
      {.name = "backups",
       .args = "[DIR]",
       .summary = "list the backups of a server directory",
       .details = "Prints the backups in DIR (as for backup), oldest first, one per line:\n"
                  "  backup ID revision REV BYTES bytes FILES files at TIME\n"
                  "BYTES counts files shared with other backups. A DIR that does not exist\n"
                  "fails with NOT_FOUND (exit 3).\n"
                  "--json prints {\"dir\",\"backups\":[{\"backup_id\",\"revision\",\n"
                  "\"size_bytes\",\"file_count\",\"create_unix_seconds\"}]}.",
       .flags = {},
       .run = RunBackups},
  };
}

}  // namespace wasikv::cli
