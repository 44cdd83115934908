// ExampleArgs: the command line of the example programs, kept out of them so
// each example shows only the client. Flags are `--name=value` or
// `--name value`; everything else is positional. Every example takes
// --endpoint (default: $WASIKV_ENDPOINT, else 127.0.0.1:50051).
#ifndef WASIKV_EXAMPLES_EXAMPLE_ARGS_H_
#define WASIKV_EXAMPLES_EXAMPLE_ARGS_H_

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wasikv_examples {

struct ExampleArgs {
  std::string endpoint;
  std::map<std::string, std::string> flags;  // without the leading "--"
  std::vector<std::string> positional;

  std::string Flag(const std::string& name, std::string fallback) const {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  }
};

// Parses argv, or prints `usage` and returns nullopt on --help or a flag
// without a value.
inline std::optional<ExampleArgs> ParseArgs(int argc, char** argv, const char* usage) {
  ExampleArgs args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cerr << usage;
      return std::nullopt;
    }
    if (arg.size() <= 2 || arg.rfind("--", 0) != 0) {
      args.positional.push_back(arg);
      continue;
    }
    const size_t equals = arg.find('=');
    if (equals != std::string::npos) {
      args.flags[arg.substr(2, equals - 2)] = arg.substr(equals + 1);
    } else if (i + 1 < argc) {
      args.flags[arg.substr(2)] = argv[++i];
    } else {
      std::cerr << arg << " needs a value\n" << usage;
      return std::nullopt;
    }
  }
  const char* env = std::getenv("WASIKV_ENDPOINT");
  args.endpoint = args.Flag("endpoint", env != nullptr && *env != '\0' ? env : "127.0.0.1:50051");
  return args;
}

// The whole of `text` as a number, or nullopt.
template <typename Number>
std::optional<Number> ParseNumber(const std::string& text) {
  Number number{};
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, number);
  if (error != std::errc() || ptr != end) return std::nullopt;
  return number;
}

}  // namespace wasikv_examples

#endif  // WASIKV_EXAMPLES_EXAMPLE_ARGS_H_
