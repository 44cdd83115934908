// Dispatch: from a command line to a finished command. Finds the command
// word(s), answers --help and --version, parses the flags, resolves the
// connection settings, runs the command and turns its outcome into the exit
// code (see ExitCode).
#ifndef WASIKV_CLIENT_CLI_DISPATCH_H_
#define WASIKV_CLIENT_CLI_DISPATCH_H_

#include <span>
#include <string>

namespace wasikv::cli {

// Runs the command line `args` (without the program name); returns the
// process exit code.
int Run(std::span<const std::string> args);

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_DISPATCH_H_
