// The help texts: the tool's (`wasikv --help`), the bucket group's
// (`wasikv bucket --help`) and each command's (`wasikv get --help`). The
// exit codes and the output encodings are documented here, once.
#ifndef WASIKV_CLIENT_CLI_HELP_H_
#define WASIKV_CLIENT_CLI_HELP_H_

#include <string>

#include "client/cli/command.h"

namespace wasikv::cli {

std::string ToolHelp();
std::string BucketGroupHelp();
std::string CommandHelp(const Command& command);

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_HELP_H_
