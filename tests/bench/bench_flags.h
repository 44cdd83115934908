// The benchmarks' command lines: "--name value" or "--name=value", and
// --help / -h. Each benchmark interprets the values itself.
#ifndef WASIKV_TESTS_BENCH_BENCH_FLAGS_H_
#define WASIKV_TESTS_BENCH_BENCH_FLAGS_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace wasikv::bench {

struct BenchFlag {
  std::string name;  // with its dashes, e.g. "--seconds"
  std::string value;
};

// Prints "program: error" and the usage text to stderr, then exits 2.
[[noreturn]] inline void ExitWithUsage(const char* program, const char* usage,
                                       const std::string& error) {
  std::fprintf(stderr, "%s: %s\n\n%s", program, error.c_str(), usage);
  std::exit(2);
}

// Splits argv into flags. --help prints `usage` and exits 0; a flag with no
// value exits through ExitWithUsage.
inline std::vector<BenchFlag> SplitBenchFlags(int argc, char** argv, const char* program,
                                              const char* usage) {
  std::vector<BenchFlag> flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", usage);
      std::exit(0);
    }
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      flags.push_back({arg.substr(0, eq), arg.substr(eq + 1)});
    } else if (i + 1 < argc) {
      flags.push_back({arg, argv[++i]});
    } else {
      ExitWithUsage(program, usage, "missing value for " + arg);
    }
  }
  return flags;
}

}  // namespace wasikv::bench

#endif  // WASIKV_TESTS_BENCH_BENCH_FLAGS_H_
