// The admin commands: backup (take an online backup on the server) and
// backups (list the backups of a directory). See docs/backup.md.
#ifndef WASIKV_CLIENT_CLI_ADMIN_COMMANDS_H_
#define WASIKV_CLIENT_CLI_ADMIN_COMMANDS_H_

#include <vector>

#include "client/cli/command.h"

namespace wasikv::cli {

std::vector<Command> AdminCommands();

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_ADMIN_COMMANDS_H_
