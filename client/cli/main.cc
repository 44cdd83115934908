// wasikv: the command-line client of wasikvd. See `wasikv --help`.
#include <string>
#include <vector>

#include "client/cli/dispatch.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return wasikv::cli::Run(args);
}
