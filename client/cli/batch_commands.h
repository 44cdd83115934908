// The many-key commands: mget, mset, mdel (each one atomic call).
#ifndef WASIKV_CLIENT_CLI_BATCH_COMMANDS_H_
#define WASIKV_CLIENT_CLI_BATCH_COMMANDS_H_

#include <vector>

#include "client/cli/command.h"

namespace wasikv::cli {

std::vector<Command> BatchCommands();

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_BATCH_COMMANDS_H_
