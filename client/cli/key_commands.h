// The single-key commands: get, set, del, exists, ls, incr, cas.
#ifndef WASIKV_CLIENT_CLI_KEY_COMMANDS_H_
#define WASIKV_CLIENT_CLI_KEY_COMMANDS_H_

#include <vector>

#include "client/cli/command.h"

namespace wasikv::cli {

std::vector<Command> KeyCommands();

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_KEY_COMMANDS_H_
