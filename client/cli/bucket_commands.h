// The bucket commands: bucket create, delete, list, open.
#ifndef WASIKV_CLIENT_CLI_BUCKET_COMMANDS_H_
#define WASIKV_CLIENT_CLI_BUCKET_COMMANDS_H_

#include <vector>

#include "client/cli/command.h"

namespace wasikv::cli {

std::vector<Command> BucketCommands();

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_BUCKET_COMMANDS_H_
