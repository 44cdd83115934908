// The command registry: every command of the tool and the global flags every
// command accepts.
#ifndef WASIKV_CLIENT_CLI_COMMAND_TABLE_H_
#define WASIKV_CLIENT_CLI_COMMAND_TABLE_H_

#include <span>
#include <string_view>
#include <vector>

#include "client/cli/args.h"
#include "client/cli/command.h"

namespace wasikv::cli {

// Every command, in the order the help lists them.
const std::vector<Command>& AllCommands();
// The command named `name` ("get", "bucket create"), or nullptr.
const Command* FindCommand(std::string_view name);

// Flags valid anywhere on the command line: --endpoint, --token, --timeout,
// --json, --help, --version.
std::span<const FlagSpec> GlobalFlags();

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_COMMAND_TABLE_H_
