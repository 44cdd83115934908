#include "client/cli/watch_command.h"

#include <chrono>
#include <string>

#include "client/cli/byte_encoding.h"
#include "client/cli/interrupt_watcher.h"
#include "client/cli/json_writer.h"
#include "wasikv/internal/status_macros.h"

namespace wasikv::cli {
namespace {

// How long one Next() waits before waiting again; an interrupt wakes it
// sooner by cancelling the subscription.
constexpr auto kWaitSlice = std::chrono::hours(1);

void PrintEvent(Output& out, const WatchEvent& event, bool with_prev) {
  const bool has_key = event.type != WatchEvent::Type::kBucketDeleted;
  if (out.json()) {
    JsonWriter json;
    json.BeginObject();
    switch (event.type) {
      case WatchEvent::Type::kSet:
        json.Member("type", "SET").Member("key", event.key).BytesMember("value", event.value);
        break;
      case WatchEvent::Type::kDelete:
        json.Member("type", "DEL").Member("key", event.key);
        break;
      case WatchEvent::Type::kBucketDeleted:
        json.Member("type", "BUCKET_DELETED");
        break;
    }
    json.Member("revision", event.revision);
    if (with_prev && has_key) {
      json.Member("prev_version", event.prev_version);
      if (event.prev_value) json.BytesMember("prev_value", *event.prev_value);
    }
    out.JsonLine(json.EndObject());
  } else {
    std::string line;
    switch (event.type) {
      case WatchEvent::Type::kSet:
        // The key is the second space-separated field, so its spaces are
        // escaped; the value is the rest of the line.
        line =
            "SET " + EscapeLine(event.key, /*escape_space=*/true) + " " + EscapeLine(event.value);
        break;
      case WatchEvent::Type::kDelete:
        line = "DEL " + EscapeLine(event.key, /*escape_space=*/true);
        break;
      case WatchEvent::Type::kBucketDeleted:
        line = "BUCKET_DELETED";
        break;
    }
    if (with_prev && has_key) {
      line += "\t" + std::to_string(event.prev_version);
      if (event.prev_value) line += "\t" + EscapeLine(*event.prev_value);
    }
    out.Line(line);
  }
  out.Flush();
}

CommandOutcome RunWatch(CommandContext& context) {
  if (!context.ExpectArgs(1, 1)) return ExitCode::kUsage;
  const ParsedArgs& args = context.args();
  WatchOptions options;
  options.bucket = context.positional()[0];
  if (args.Has("key") && args.Has("prefix")) {
    return context.Usage("give --key or --prefix, not both");
  }
  options.key = args.Value("key");
  options.prefix = args.Value("prefix").value_or("");
  options.prev_value = args.Has("prev");
  std::optional<uint64_t> from;
  if (std::optional<std::string> text = args.Value("from")) {
    from = ParseUint64(*text);
    if (!from || *from == 0) return context.Usage("--from must be a positive revision");
  }
  uint64_t count = 0;  // 0: until interrupted
  if (std::optional<std::string> text = args.Value("count")) {
    std::optional<uint64_t> parsed = ParseUint64(*text);
    if (!parsed || *parsed == 0) return context.Usage("--count must be a positive integer");
    count = *parsed;
  }

  // Declared before the watcher: the watcher's thread may cancel the
  // subscription, so it must stop first.
  std::unique_ptr<WatchSubscription> subscription;
  InterruptWatcher interrupts;  // before the client starts any thread
  ASSIGN_OR_RETURN(Client * client, context.client());
  // One unary call first: it fails fast (within --timeout) on a bad bucket
  // name or an unreachable server, where the subscription would keep
  // reconnecting, and its revision makes "from now" exact: every change
  // committed after the ready line below is delivered.
  ASSIGN_OR_RETURN(BucketStatus bucket, client->OpenBucket(options.bucket));
  options.start_revision = from ? *from : bucket.revision + 1;
  ASSIGN_OR_RETURN(subscription, client->Watch(options));
  RETURN_IF_ERROR(interrupts.Start([&subscription] { subscription->Cancel(); }));

  Output& out = context.out();
  out.Status("ready: watching " + options.bucket + " from revision " +
             std::to_string(options.start_revision));
  uint64_t printed = 0;
  while (true) {
    absl::StatusOr<std::optional<WatchBatch>> next = subscription->Next(kWaitSlice);
    if (!next.ok()) {
      if (interrupts.interrupted() && next.status().code() == absl::StatusCode::kCancelled) {
        return ExitCode::kOk;
      }
      return next.status();
    }
    if (!next->has_value()) continue;
    for (const WatchEvent& event : (*next)->events) {
      PrintEvent(out, event, options.prev_value);
      if (count != 0 && ++printed == count) return ExitCode::kOk;
    }
  }
}

}  // namespace

Command WatchCommand() {
  return {
      .name = "watch",
      .args = "BUCKET [--key K | --prefix P] [--from REV] [--prev] [--count N]",
      .summary = "print changes as they happen",
      .details =
          "Prints one line per change to BUCKET (or to one key, or to keys under a\n"
          "prefix), in revision order with no gaps, and keeps going across server\n"
          "restarts. Without --from it starts now: once \"ready: ...\" is printed to\n"
          "standard error, every later change is printed. Ends after N events\n"
          "(--count) or on Ctrl-C / SIGTERM, with exit 0.\n"
          "Raw lines: \"SET key value\", \"DEL key\", \"BUCKET_DELETED\", escaped as in ls\n"
          "(and spaces in the key as \\x20); with --prev, \"<TAB>prev_version<TAB>\n"
          "prev_value\" is appended (prev_version 0: the key did not exist).\n"
          "--json prints one object per line: {\"type\":\"SET\"|\"DEL\"|\"BUCKET_DELETED\",\n"
          "\"key\",\"value\",\"revision\"} and, with --prev, \"prev_version\",\"prev_value\".\n"
          "A --from revision older than the server's history fails with OUT_OF_RANGE.",
      .flags = {{"key", "K", "only this key"},
                {"prefix", "P", "only keys starting with P"},
                {"from", "REV", "start at revision REV (replaying history) instead of now"},
                {"prev", "", "include each key's previous version and value"},
                {"count", "N", "exit after N events"}},
      .run = RunWatch,
  };
}

}  // namespace wasikv::cli
