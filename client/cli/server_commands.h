// The commands about the server itself rather than its data: health.
#ifndef WASIKV_CLIENT_CLI_SERVER_COMMANDS_H_
#define WASIKV_CLIENT_CLI_SERVER_COMMANDS_H_

#include <vector>

#include "client/cli/command.h"

namespace wasikv::cli {

std::vector<Command> ServerCommands();

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_SERVER_COMMANDS_H_
