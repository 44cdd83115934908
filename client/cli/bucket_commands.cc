#include "client/cli/bucket_commands.h"

#include <string>

#include "client/cli/json_writer.h"
#include "wasikv/internal/status_macros.h"

namespace wasikv::cli {
namespace {

CommandOutcome RunCreate(CommandContext& context) {
  if (!context.ExpectArgs(1, 1)) return ExitCode::kUsage;
  const std::string& bucket = context.positional()[0];
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(uint64_t revision, client->CreateBucket(bucket));
  if (context.json()) {
    JsonWriter json;
    json.BeginObject().Member("bucket", bucket).Member("revision", revision).EndObject();
    context.out().JsonLine(json);
  } else {
    context.out().Line(std::to_string(revision));
  }
  return ExitCode::kOk;
}

CommandOutcome RunDelete(CommandContext& context) {
  if (!context.ExpectArgs(1, 1)) return ExitCode::kUsage;
  const std::string& bucket = context.positional()[0];
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(DeleteBucketResult result, client->DeleteBucket(bucket));
  if (context.json()) {
    JsonWriter json;
    json.BeginObject()
        .Member("bucket", bucket)
        .Member("deleted", result.deleted)
        .Member("deleted_keys", result.deleted_keys)
        .Member("revision", result.revision)
        .EndObject();
    context.out().JsonLine(json);
  } else {
    context.out().Line(std::to_string(result.revision));
  }
  return ExitCode::kOk;
}

CommandOutcome RunList(CommandContext& context) {
  if (!context.ExpectArgs(0, 0)) return ExitCode::kUsage;
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(std::vector<BucketInfo> buckets, client->ListBuckets());
  Output& out = context.out();
  if (out.json()) {
    JsonWriter json;
    json.BeginObject().Key("buckets").BeginArray();
    for (const BucketInfo& bucket : buckets) {
      json.BeginObject()
          .Member("name", bucket.name)
          .Member("create_revision", bucket.create_revision)
          .EndObject();
    }
    out.JsonLine(json.EndArray().EndObject());
  } else {
    // Bucket names are [A-Za-z0-9._-]: nothing to escape.
    for (const BucketInfo& bucket : buckets) out.Line(bucket.name);
  }
  return ExitCode::kOk;
}

CommandOutcome RunOpen(CommandContext& context) {
  if (!context.ExpectArgs(1, 1)) return ExitCode::kUsage;
  const std::string& bucket = context.positional()[0];
  ASSIGN_OR_RETURN(Client * client, context.client());
  absl::StatusOr<BucketStatus> status = client->OpenBucket(bucket);
  // A server without auto-create answers NOT_FOUND for a missing bucket:
  // the same answer as exists=false, for scripts.
  if (!status.ok() && status.status().code() != absl::StatusCode::kNotFound) {
    return status.status();
  }
  const BucketStatus result = status.ok() ? *status : BucketStatus{};
  if (context.json()) {
    JsonWriter json;
    json.BeginObject()
        .Member("bucket", bucket)
        .Member("exists", result.exists)
        .Member("usable", result.usable);
    if (result.exists) json.Member("create_revision", result.create_revision);
    if (status.ok()) json.Member("revision", result.revision);
    context.out().JsonLine(json.EndObject());
  } else {
    context.out().Line(result.exists ? "true" : "false");
  }
  return result.exists ? ExitCode::kOk : ExitCode::kNotFound;
}

}  // namespace

std::vector<Command> BucketCommands() {
  return {
      {.name = "bucket create",
       .args = "BUCKET",
       .summary = "create an empty bucket",
       .details = "Creates BUCKET and prints the revision. An existing bucket fails with\n"
                  "ALREADY_EXISTS (exit 3). Needed only when the server runs with\n"
                  "--auto-create-buckets=false; otherwise the first write creates a bucket.\n"
                  "--json prints {\"bucket\",\"revision\"}.",
       .flags = {},
       .run = RunCreate},
      {.name = "bucket delete",
       .args = "BUCKET",
       .summary = "delete a bucket and all its keys",
       .details = "Deletes BUCKET and every key in it at one revision, and prints the\n"
                  "revision. Deleting a missing bucket succeeds (exit 0) and writes nothing.\n"
                  "--json prints {\"bucket\",\"deleted\",\"deleted_keys\",\"revision\"}.",
       .flags = {},
       .run = RunDelete},
      {.name = "bucket list",
       .args = "",
       .summary = "list buckets",
       .details = "Prints the names of the existing buckets, one per line, in order.\n"
                  "--json prints {\"buckets\":[{\"name\",\"create_revision\"}]}.",
       .flags = {},
       .run = RunList},
      {.name = "bucket open",
       .args = "BUCKET",
       .summary = "test whether a bucket exists",
       .details = "Prints true and exits 0 if BUCKET exists; prints false and exits 1 if it\n"
                  "does not (whether the server would create it on a first write or, with\n"
                  "--auto-create-buckets=false, refuses it).\n"
                  "--json prints {\"bucket\",\"exists\",\"usable\",\"create_revision\",\n"
                  "\"revision\"}.",
       .flags = {},
       .run = RunOpen},
  };
}

}  // namespace wasikv::cli
