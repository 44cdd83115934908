// The shape of a wasikv command: its name, help and flags (Command), and what
// it runs with (CommandContext: parsed arguments, output, and the client).
#ifndef WASIKV_CLIENT_CLI_COMMAND_H_
#define WASIKV_CLIENT_CLI_COMMAND_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/cli/args.h"
#include "client/cli/output.h"
#include "wasikv/client.h"

namespace wasikv::cli {

// The exit codes scripts rely on (listed in `wasikv --help`).
enum class ExitCode : int {
  kOk = 0,        // success; the key or bucket was found; cas swapped
  kNotFound = 1,  // get/exists/mget: a key is missing; cas: not swapped; bucket open: no bucket
  kUsage = 2,     // bad command line, refused before any call
  kError = 3,     // the server or the connection failed
};

class CommandContext;

// What a command returns: an exit code, or the failed call's status (printed
// as "wasikv: <CODE>: <message>", exit 3).
using CommandOutcome = absl::StatusOr<ExitCode>;

struct Command {
  std::string_view name;     // "get", "bucket create"
  std::string_view args;     // after the name in the usage line: "BUCKET KEY"
  std::string_view summary;  // one line, for the command list
  std::string_view details;  // paragraphs for `wasikv <name> --help`
  std::vector<FlagSpec> flags;
  CommandOutcome (*run)(CommandContext& context);
};

// Reports a usage error of `command` on standard error, with its usage line
// and a pointer to its --help. Returns ExitCode::kUsage.
ExitCode ReportUsage(Output& out, const Command& command, std::string_view message);

// Everything a running command uses. Owns the client, created on first use so
// that usage errors never touch the network. Not thread-safe.
class CommandContext {
 public:
  CommandContext(const Command& command, ParsedArgs args, ClientOptions options, Output& out)
      : command_(command), args_(std::move(args)), options_(std::move(options)), out_(out) {}
  CommandContext(const CommandContext&) = delete;
  CommandContext& operator=(const CommandContext&) = delete;

  const Command& command() const { return command_; }
  const ParsedArgs& args() const { return args_; }
  const std::vector<std::string>& positional() const { return args_.positional(); }
  Output& out() { return out_; }
  bool json() const { return out_.json(); }

  // The client for the --endpoint/--token/--timeout in effect. The Client
  // starts threads: the watch command blocks its signals before this.
  absl::StatusOr<Client*> client();

  // The value at positional `index`, or all of standard input (byte for
  // byte) if that argument is "-" or absent.
  absl::StatusOr<std::string> ValueArgument(size_t index) const;

  // Reports a usage error on standard error with a pointer to --help, and
  // returns ExitCode::kUsage for the command to return.
  ExitCode Usage(std::string_view message);
  // True if between `min` and `max` positional arguments were given;
  // otherwise reports the usage error and returns false.
  bool ExpectArgs(size_t min, size_t max);

 private:
  const Command& command_;
  const ParsedArgs args_;
  const ClientOptions options_;
  Output& out_;
  std::unique_ptr<Client> client_;
};

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_COMMAND_H_
