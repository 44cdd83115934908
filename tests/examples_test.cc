// The example programs of examples/ run against the real wasikvd and do what
// their usage text says. Each test starts its own server; the programs are
// the built binaries, run as a user would run them.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "wasikv/client.h"

namespace wasikv {
namespace {

using ::testing::ElementsAre;
using ::testing::MatchesRegex;
using testing::ServerProcess;
using testing::TempDir;

constexpr auto kTimeout = std::chrono::seconds(60);

struct Exited {
  int code = -1;
  std::vector<std::string> lines;  // stdout
};

// One run of an example binary: stdin from a file, stdout on a pipe, stderr
// shared with the test (shown when it fails).
class ExampleProcess {
 public:
  explicit ExampleProcess(std::vector<std::string> args,
                          const std::string& stdin_path = "/dev/null") {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return;
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      const int in = open(stdin_path.c_str(), O_RDONLY);
      if (in < 0 || dup2(in, 0) < 0 || dup2(out[1], 1) < 0) _exit(127);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    out_ = out[0];
  }
  ExampleProcess(const ExampleProcess&) = delete;
  ExampleProcess& operator=(const ExampleProcess&) = delete;
  ~ExampleProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  // The next line of stdout; nullopt at EOF or after kTimeout.
  std::optional<std::string> ReadLine() {
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    std::string line;
    char c;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{out_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        return std::nullopt;
      }
      if (read(out_, &c, 1) != 1) return std::nullopt;
      if (c == '\n') return line;
      line.push_back(c);
    }
  }

  void Signal(int signal) { kill(pid_, signal); }

  // The rest of stdout, then the exit code (128 + signal if killed).
  Exited Finish() {
    Exited result;
    while (auto line = ReadLine()) result.lines.push_back(*line);
    int status = 0;
    if (pid_ > 0 && waitpid(pid_, &status, 0) == pid_) {
      exited_ = true;
      if (WIFEXITED(status)) result.code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) result.code = 128 + WTERMSIG(status);
    }
    return result;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
};

class ExamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = ServerProcess::Start(dir_.Join("data"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ClientOptions options;
    options.endpoint = server_->address();
    auto client = Client::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  // Runs an example to completion with --endpoint of this test's server.
  Exited Run(const char* binary, std::vector<std::string> args,
             const std::string& stdin_path = "/dev/null") {
    args.insert(args.begin(), {binary, "--endpoint", server_->address()});
    return ExampleProcess(args, stdin_path).Finish();
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(ExamplesTest, CounterIncrementsAndPrints) {
  EXPECT_THAT(Run(COUNTER_PATH, {}).lines, ElementsAre(MatchesRegex("visits = 1 \\(revision .*")));
  EXPECT_THAT(Run(COUNTER_PATH, {"visits", "41"}).lines,
              ElementsAre(MatchesRegex("visits = 42 \\(revision .*")));
  EXPECT_THAT(Run(COUNTER_PATH, {"--bucket", "b", "hits", "-3"}).lines,
              ElementsAre(MatchesRegex("hits = -3 \\(revision .*")));
  auto stored = client_->Get("examples", "visits");
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->value.has_value());
  EXPECT_EQ(stored->value->value, "42");

  EXPECT_EQ(Run(COUNTER_PATH, {"visits", "many"}).code, 2);
}

TEST_F(ExamplesTest, BatchImportWritesEveryLineInBatchesOf500) {
  const std::string input = dir_.Join("input.tsv");
  {
    std::ofstream file(input);
    for (int i = 0; i < 1201; ++i) file << "key" << i << "\tvalue " << i << "\n";
  }
  for (bool from_stdin : {false, true}) {
    SCOPED_TRACE(from_stdin ? "stdin" : "file");
    const std::string bucket = from_stdin ? "from_stdin" : "from_file";
    Exited run = from_stdin ? Run(BATCH_IMPORT_PATH, {bucket}, input)
                            : Run(BATCH_IMPORT_PATH, {bucket, input});
    EXPECT_EQ(run.code, 0);
    EXPECT_THAT(run.lines, ElementsAre(MatchesRegex("batch 1: 500 keys at revision [0-9]+"),
                                       MatchesRegex("batch 2: 500 keys at revision [0-9]+"),
                                       MatchesRegex("batch 3: 201 keys at revision [0-9]+"),
                                       "imported 1201 keys in 3 batches"));
    const std::vector<std::string> keys = {"key0", "key500", "key1200"};
    auto stored = client_->GetMany(bucket, keys);
    ASSERT_TRUE(stored.ok()) << stored.status();
    for (const GetManyEntry& entry : stored->entries) {
      ASSERT_TRUE(entry.value.has_value()) << entry.key;
      EXPECT_EQ(entry.value->value, "value " + entry.key.substr(3));
    }
  }

  const std::string bad = dir_.Join("bad.tsv");
  std::ofstream(bad) << "a\t1\nno tab here\n";
  EXPECT_EQ(Run(BATCH_IMPORT_PATH, {"bad", bad}).code, 1);
}

TEST_F(ExamplesTest, WatcherPrintsChangesUntilInterrupted) {
  // --from makes the start exact: every change after this one.
  auto before = client_->Set("w", "p0", "before");
  ASSERT_TRUE(before.ok()) << before.status();
  ExampleProcess watcher({WATCHER_PATH, "--endpoint", server_->address(), "--from",
                          std::to_string(before->revision + 1), "w", "p"});

  auto set = client_->Set("w", "p1", "hello");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_TRUE(client_->Set("w", "other", "not under the prefix").ok());
  auto deleted = client_->Delete("w", "p1");
  ASSERT_TRUE(deleted.ok()) << deleted.status();

  EXPECT_EQ(watcher.ReadLine(), "revision " + std::to_string(set->revision) + ": set p1 = hello");
  EXPECT_EQ(watcher.ReadLine(), "revision " + std::to_string(deleted->revision) + ": delete p1");
  watcher.Signal(SIGINT);
  Exited exited = watcher.Finish();
  EXPECT_EQ(exited.code, 0);
  EXPECT_THAT(exited.lines, ::testing::IsEmpty());
}

}  // namespace
}  // namespace wasikv
