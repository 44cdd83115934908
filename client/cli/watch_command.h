// The watch command: prints a bucket's changes as they happen.
#ifndef WASIKV_CLIENT_CLI_WATCH_COMMAND_H_
#define WASIKV_CLIENT_CLI_WATCH_COMMAND_H_

#include "client/cli/command.h"

namespace wasikv::cli {

Command WatchCommand();

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_WATCH_COMMAND_H_
