// The wasikv command-line tool, run as a subprocess against the real wasikvd.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "tests/test_pki.h"

extern char** environ;

namespace wasikv {
namespace {

using ::testing::HasSubstr;
using testing::ServerProcess;
using ::testing::StartsWith;
using testing::TempDir;
using namespace std::string_literals;

// How long any one CLI run may take before the test kills it and fails.
constexpr auto kProcessTimeout = std::chrono::seconds(60);

struct CliResult {
  int exit_code = -1;  // -1: killed after kProcessTimeout
  std::string out;
  std::string err;
};

int ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

// A running wasikv with pipes on its standard input, output and error.
class CliProcess {
 public:
  // Starts WASIKV_CLI_PATH with `args`. The child sees this process's
  // environment without any WASIKV_* variable, plus `env`.
  static std::unique_ptr<CliProcess> Start(const std::vector<std::string>& args,
                                           const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv_storage = {WASIKV_CLI_PATH};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<std::string> env_storage;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "WASIKV_", 7) != 0) env_storage.emplace_back(*e);
    }
    for (const auto& [name, value] : env) env_storage.push_back(name + "=" + value);
    // Built before fork: the child only calls async-signal-safe functions.
    std::vector<char*> argv = Pointers(argv_storage);
    std::vector<char*> envp = Pointers(env_storage);

    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      return nullptr;
    }
    const pid_t pid = fork();
    if (pid == 0) {
      signal(SIGPIPE, SIG_DFL);  // ignored dispositions survive exec; this test ignores it
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    return std::unique_ptr<CliProcess>(new CliProcess(pid, in[1], out[0], err[0]));
  }

  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;
  ~CliProcess() {
    if (!exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : {in_, out_, err_}) {
      if (fd >= 0) close(fd);
    }
  }

  // The next line the process writes to standard error, or nullopt at EOF
  // or after the timeout.
  std::optional<std::string> ReadErrorLine() {
    const auto deadline = std::chrono::steady_clock::now() + kProcessTimeout;
    while (true) {
      const size_t newline = err_buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = err_buffer_.substr(0, newline);
        err_buffer_.erase(0, newline + 1);
        return line;
      }
      const int left = MillisecondsUntil(deadline);
      pollfd p{err_, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, left) <= 0) return std::nullopt;
      if (!ReadSome(err_, err_buffer_)) return std::nullopt;
    }
  }

  void Signal(int signal) { kill(pid_, signal); }

  // Writes `input` to standard input and closes it, reads both outputs to
  // EOF and waits for the exit.
  CliResult Finish(const std::string& input = "") {
    const auto deadline = std::chrono::steady_clock::now() + kProcessTimeout;
    size_t written = 0;
    if (input.empty()) CloseFd(in_);
    while (out_ >= 0 || err_ >= 0) {
      std::vector<pollfd> fds;
      if (in_ >= 0) fds.push_back({in_, POLLOUT, 0});
      if (out_ >= 0) fds.push_back({out_, POLLIN, 0});
      if (err_ >= 0) fds.push_back({err_, POLLIN, 0});
      const int left = MillisecondsUntil(deadline);
      if (left <= 0 || poll(fds.data(), fds.size(), left) <= 0) {
        ADD_FAILURE() << "wasikv did not finish in time; stderr so far: " << err_buffer_;
        return {-1, out_buffer_, err_buffer_};
      }
      for (const pollfd& p : fds) {
        if (p.revents == 0) continue;
        if (p.fd == in_) {
          const ssize_t n = write(in_, input.data() + written, input.size() - written);
          // EPIPE: the command did not read its input; that is its business.
          if (n < 0 || (written += static_cast<size_t>(n)) == input.size()) CloseFd(in_);
        } else if (p.fd == out_) {
          if (!ReadSome(out_, out_buffer_)) CloseFd(out_);
        } else if (!ReadSome(err_, err_buffer_)) {
          CloseFd(err_);
        }
      }
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    return {ExitCode(status), out_buffer_, err_buffer_};
  }

 private:
  CliProcess(pid_t pid, int in, int out, int err) : pid_(pid), in_(in), out_(out), err_(err) {}

  static std::vector<char*> Pointers(std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    for (std::string& s : strings) pointers.push_back(s.data());
    pointers.push_back(nullptr);
    return pointers;
  }

  static int MillisecondsUntil(std::chrono::steady_clock::time_point deadline) {
    return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                deadline - std::chrono::steady_clock::now())
                                .count());
  }

  // Appends what `fd` has to `buffer`; false at EOF or on an error.
  static bool ReadSome(int fd, std::string& buffer) {
    char chunk[4096];
    ssize_t n;
    do {
      n = read(fd, chunk, sizeof chunk);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
    return true;
  }

  static void CloseFd(int& fd) {
    if (fd >= 0) close(fd);
    fd = -1;
  }

  pid_t pid_;
  int in_, out_, err_;
  std::string out_buffer_, err_buffer_;
  bool exited_ = false;
};

CliResult RunCli(const std::vector<std::string>& args, const std::string& input = "",
                 const std::map<std::string, std::string>& env = {}) {
  std::unique_ptr<CliProcess> process = CliProcess::Start(args, env);
  if (process == nullptr) return {};
  return process->Finish(input);
}

// Parses one JSON document (a JSON object) with protobuf's JSON parser.
google::protobuf::Struct ParseJson(const std::string& text) {
  google::protobuf::Struct parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(text, &parsed);
  EXPECT_TRUE(status.ok()) << "not JSON: " << text;
  return parsed;
}

const google::protobuf::Value& Field(const google::protobuf::Struct& object,
                                     const std::string& name) {
  static const google::protobuf::Value* const kMissing = new google::protobuf::Value();
  auto it = object.fields().find(name);
  if (it == object.fields().end()) {
    ADD_FAILURE() << "no member '" << name << "'";
    return *kMissing;
  }
  return it->second;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// The revision a write command printed ("17\n").
uint64_t Revision(const CliResult& result) {
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, ::testing::MatchesRegex("[0-9]+\n"));
  return std::strtoull(result.out.c_str(), nullptr, 10);
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    // A command that exits without reading its input must not kill the test
    // with SIGPIPE.
    signal(SIGPIPE, SIG_IGN);
    auto server = ServerProcess::Start(dir_.Join("data"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // Runs the CLI against this test's server (--endpoint first; flags may
  // come anywhere).
  CliResult Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--endpoint", server_->address()});
    return RunCli(args, input);
  }

  std::unique_ptr<CliProcess> Start(std::vector<std::string> args) {
    args.insert(args.begin(), {"--endpoint", server_->address()});
    return CliProcess::Start(args);
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(Cli, SetThenGetRoundTripsRaw) {
  const uint64_t revision = Revision(Run({"set", "b", "k", "hello world"}));
  EXPECT_GT(revision, 0u);
  CliResult get = Run({"get", "b", "k"});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "hello world");  // exact bytes, no newline on a pipe
  EXPECT_EQ(get.err, "");
}

TEST_F(Cli, GetJsonHasKeyValueVersionAndRevision) {
  const uint64_t revision = Revision(Run({"set", "b", "k", "h\u00e9llo \"quoted\"\n"}));
  for (const auto& args : {std::vector<std::string>{"get", "b", "k", "--json"},
                           std::vector<std::string>{"--json", "get", "b", "k"}}) {
    CliResult get = Run(args);
    ASSERT_EQ(get.exit_code, 0) << get.err;
    ASSERT_THAT(Lines(get.out), ::testing::SizeIs(1));
    google::protobuf::Struct json = ParseJson(get.out);
    EXPECT_EQ(Field(json, "key").string_value(), "k");
    EXPECT_TRUE(Field(json, "found").bool_value());
    EXPECT_EQ(Field(json, "value").string_value(), "h\u00e9llo \"quoted\"\n");
    EXPECT_EQ(json.fields().count("value_encoding"), 0u);
    EXPECT_EQ(Field(json, "version").number_value(), static_cast<double>(revision));
    EXPECT_GE(Field(json, "revision").number_value(), static_cast<double>(revision));
  }
  CliResult set = Run({"set", "b", "k2", "v", "--json"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_TRUE(Field(ParseJson(set.out), "created").bool_value());
}

TEST_F(Cli, ValueFromStandardInputIsBinarySafe) {
  const std::string bytes = "a\0b\xff\n"s;
  Revision(Run({"set", "b", "dash", "-"}, bytes));
  Revision(Run({"set", "b", "implicit"}, bytes));
  for (const char* key : {"dash", "implicit"}) {
    CliResult get = Run({"get", "b", key});
    EXPECT_EQ(get.exit_code, 0) << get.err;
    EXPECT_EQ(get.out, bytes) << key;
  }
  // Not UTF-8: JSON carries it as base64 with the flag member.
  CliResult json = Run({"get", "b", "dash", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  google::protobuf::Struct parsed = ParseJson(json.out);
  EXPECT_EQ(Field(parsed, "value").string_value(), "YQBi/wo=");
  EXPECT_EQ(Field(parsed, "value_encoding").string_value(), "base64");
}

// `wasikv health` is what container HEALTHCHECKs run: exit 0 only for
// SERVING, 1 for a service the server does not know, 3 for no server.
TEST_F(Cli, HealthExitsZeroOnlyWhenServing) {
  CliResult whole = Run({"health"});
  EXPECT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_EQ(whole.out, "SERVING\n");
  CliResult kv = Run({"--json", "health", "wasikv.v1.KV"});
  EXPECT_EQ(kv.exit_code, 0) << kv.err;
  EXPECT_EQ(kv.out, R"({"service":"wasikv.v1.KV","status":"SERVING"})"
                    "\n");
  CliResult unknown = Run({"health", "no.such.Service"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.err;
  EXPECT_EQ(unknown.out, "SERVICE_UNKNOWN\n");
  CliResult down = RunCli({"--endpoint", "127.0.0.1:1", "--timeout", "1s", "health"});
  EXPECT_EQ(down.exit_code, 3);
  EXPECT_THAT(down.err, ::testing::HasSubstr("UNAVAILABLE"));
}

TEST_F(Cli, MissingKeyExitsOne) {
  CliResult get = Run({"get", "b", "missing"});
  EXPECT_EQ(get.exit_code, 1) << get.err;
  EXPECT_EQ(get.out, "");
  CliResult json = Run({"get", "b", "missing", "--json"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_FALSE(Field(ParseJson(json.out), "found").bool_value());

  CliResult exists = Run({"exists", "b", "missing"});
  EXPECT_EQ(exists.exit_code, 1);
  EXPECT_EQ(exists.out, "false\n");
  Revision(Run({"set", "b", "present", ""}));
  exists = Run({"exists", "b", "present"});
  EXPECT_EQ(exists.exit_code, 0);
  EXPECT_EQ(exists.out, "true\n");
  // An empty value is a value: found.
  CliResult empty = Run({"get", "b", "present"});
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_EQ(empty.out, "");
}

TEST_F(Cli, BadUsageExitsTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate"},
      {"get", "b"},
      {"get", "b", "k", "extra"},
      {"get", "b", "k", "--bogus"},
      {"incr", "b", "k", "ten"},
      // Found by tests/fuzz/args_fuzzer: it was read as -5.
      {"incr", "b", "k", "+-5"},
      {"cas", "b", "k", "v"},
      {"cas", "b", "k", "--absent", "--expect", "x", "v"},
      {"ls", "b", "--limit", "0"},
      {"mset", "b", "novalue"},
      {"watch", "b", "--key", "k", "--prefix", "p"},
      {"watch", "b", "--count", "-1"},
      {"--timeout", "soon", "get", "b", "k"},
      {"bucket"},
      {"bucket", "rename", "x"},
  };
  for (const auto& args : bad) {
    CliResult result = Run(args);
    EXPECT_EQ(result.exit_code, 2) << ::testing::PrintToString(args) << "\n" << result.err;
    EXPECT_THAT(result.err, StartsWith("wasikv")) << ::testing::PrintToString(args);
    EXPECT_EQ(result.out, "") << ::testing::PrintToString(args);
  }
  CliResult missing = Run({"get", "b"});
  EXPECT_THAT(missing.err, HasSubstr("usage: wasikv get BUCKET KEY"));
}

TEST_F(Cli, ServerRefusalExitsThreeWithItsMessage) {
  CliResult get = Run({"get", "b", ""});
  EXPECT_EQ(get.exit_code, 3);
  EXPECT_EQ(get.err, "wasikv: INVALID_ARGUMENT: key: must not be empty\n");
  EXPECT_EQ(get.out, "");
  CliResult bucket = Run({"set", "bad/bucket", "k", "v"});
  EXPECT_EQ(bucket.exit_code, 3);
  EXPECT_THAT(bucket.err, StartsWith("wasikv: INVALID_ARGUMENT: bucket"));
}

TEST_F(Cli, UnreachableServerExitsThree) {
  // Port 1 on loopback refuses connections.
  CliResult result = RunCli({"--endpoint", "127.0.0.1:1", "--timeout", "2s", "get", "b", "k"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_THAT(result.err, ::testing::MatchesRegex("wasikv: (UNAVAILABLE|DEADLINE_EXCEEDED): .*\n"));
}

TEST_F(Cli, IncrPrintsTheNewValue) {
  EXPECT_EQ(Run({"incr", "b", "n"}).out, "1\n");
  EXPECT_EQ(Run({"incr", "b", "n", "41"}).out, "42\n");
  CliResult down = Run({"incr", "b", "n", "-50"});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(down.out, "-8\n");
  CliResult json = Run({"incr", "b", "n", "--json"});
  EXPECT_EQ(Field(ParseJson(json.out), "value").number_value(), -7);
  EXPECT_EQ(Run({"get", "b", "n"}).out, "-7");

  Revision(Run({"set", "b", "text", "hello"}));
  CliResult not_a_number = Run({"incr", "b", "text"});
  EXPECT_EQ(not_a_number.exit_code, 3);
  EXPECT_THAT(not_a_number.err, StartsWith("wasikv: FAILED_PRECONDITION: "));
}

TEST_F(Cli, CasExitsZeroWhenSwappedAndOneWhenNot) {
  CliResult created = Run({"cas", "b", "k", "--absent", "v1"});
  const uint64_t v1 = Revision(created);
  EXPECT_EQ(Run({"cas", "b", "k", "--absent", "other"}).exit_code, 1);
  Revision(Run({"cas", "b", "k", "--expect", "v1", "v2"}));

  CliResult stale = Run({"cas", "b", "k", "--expect", "v1", "v3", "--json"});
  EXPECT_EQ(stale.exit_code, 1);
  google::protobuf::Struct json = ParseJson(stale.out);
  EXPECT_FALSE(Field(json, "swapped").bool_value());
  EXPECT_EQ(Field(Field(json, "current").struct_value(), "value").string_value(), "v2");

  EXPECT_EQ(Run({"cas", "b", "k", "--version", std::to_string(v1), "v4"}).exit_code, 1);
  CliResult by_version = Run({"get", "b", "k", "--json"});
  const auto version =
      static_cast<uint64_t>(Field(ParseJson(by_version.out), "version").number_value());
  Revision(Run({"cas", "b", "k", "--version", std::to_string(version), "-"}, "from stdin"));
  EXPECT_EQ(Run({"get", "b", "k"}).out, "from stdin");
}

TEST_F(Cli, MsetMgetMdel) {
  const uint64_t revision = Revision(Run({"mset", "b", "a=1", "b=2=two", "c=line\nbreak"}));
  Revision(Run({"mset", "b"}, "d\t4\ne\tfive\\tfive\n"));

  CliResult mget = Run({"mget", "b", "a", "b", "c", "d", "e"});
  EXPECT_EQ(mget.exit_code, 0) << mget.err;
  EXPECT_EQ(mget.out, "a\t1\nb\t2=two\nc\tline\\nbreak\nd\t4\ne\tfive\\tfive\n");

  // mget's raw output reads back into mset unchanged.
  Revision(Run({"mset", "copy", "-"}, mget.out));
  EXPECT_EQ(Run({"get", "copy", "c"}).out, "line\nbreak");
  EXPECT_EQ(Run({"get", "copy", "e"}).out, "five\tfive");

  CliResult partial = Run({"mget", "b", "a", "missing", "--json"});
  EXPECT_EQ(partial.exit_code, 1);
  google::protobuf::Struct json = ParseJson(partial.out);
  const auto& entries = Field(json, "entries").list_value().values();
  ASSERT_EQ(entries.size(), 2);
  EXPECT_EQ(Field(entries[0].struct_value(), "value").string_value(), "1");
  EXPECT_EQ(Field(entries[0].struct_value(), "version").number_value(),
            static_cast<double>(revision));
  EXPECT_FALSE(Field(entries[1].struct_value(), "found").bool_value());

  CliResult mdel = Run({"mdel", "b", "a", "c", "missing", "--json"});
  EXPECT_EQ(mdel.exit_code, 0) << mdel.err;
  EXPECT_EQ(Field(ParseJson(mdel.out), "deleted").number_value(), 2);
  CliResult after = Run({"mget", "b", "a", "b", "c"});
  EXPECT_EQ(after.exit_code, 1);
  EXPECT_EQ(after.out, "b\t2=two\n");
}

TEST_F(Cli, LsAllPagesThroughWithTheCursor) {
  Revision(Run({"mset", "b", "k1=", "k2=", "k3=", "k4=", "k5=", "other="}));

  CliResult page = Run({"ls", "b", "--prefix", "k", "--limit", "2"});
  EXPECT_EQ(page.exit_code, 0) << page.err;
  EXPECT_EQ(page.out, "k1\nk2\n");
  EXPECT_THAT(page.err, HasSubstr("--cursor"));

  CliResult all = Run({"ls", "b", "--prefix", "k", "--limit", "2", "--all"});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.out, "k1\nk2\nk3\nk4\nk5\n");
  EXPECT_EQ(all.err, "");

  CliResult json = Run({"ls", "b", "--limit", "2", "--all", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  google::protobuf::Struct parsed = ParseJson(json.out);
  std::vector<std::string> keys;
  for (const auto& key : Field(parsed, "keys").list_value().values()) {
    keys.push_back(key.string_value());
  }
  EXPECT_THAT(keys, ::testing::ElementsAre("k1", "k2", "k3", "k4", "k5", "other"));

  // Continuing by hand with the printed cursor.
  CliResult first = Run({"ls", "b", "--limit", "4", "--json"});
  const std::string cursor = Field(ParseJson(first.out), "next_cursor").string_value();
  ASSERT_FALSE(cursor.empty());
  EXPECT_EQ(Run({"ls", "b", "--cursor", cursor}).out, "k5\nother\n");
}

TEST_F(Cli, BucketCreateListOpenDelete) {
  Revision(Run({"bucket", "create", "fresh"}));
  CliResult again = Run({"bucket", "create", "fresh"});
  EXPECT_EQ(again.exit_code, 3);
  EXPECT_THAT(again.err, StartsWith("wasikv: ALREADY_EXISTS: "));

  Revision(Run({"set", "other", "k", "v"}));
  EXPECT_EQ(Run({"bucket", "list"}).out, "fresh\nother\n");
  CliResult json = Run({"bucket", "list", "--json"});
  EXPECT_EQ(Field(ParseJson(json.out), "buckets").list_value().values_size(), 2);

  CliResult open = Run({"bucket", "open", "fresh"});
  EXPECT_EQ(open.exit_code, 0);
  EXPECT_EQ(open.out, "true\n");

  Revision(Run({"bucket", "delete", "fresh"}));
  EXPECT_EQ(Run({"bucket", "list"}).out, "other\n");
  CliResult gone = Run({"bucket", "open", "fresh"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_EQ(gone.out, "false\n");
}

TEST_F(Cli, WatchPrintsWritesMadeAfterItIsReady) {
  std::unique_ptr<CliProcess> watch = Start({"watch", "b", "--count", "3"});
  ASSERT_NE(watch, nullptr);
  std::optional<std::string> ready = watch->ReadErrorLine();
  ASSERT_TRUE(ready.has_value());
  EXPECT_THAT(*ready, StartsWith("ready"));

  Revision(Run({"set", "b", "k1", "v1"}));
  Revision(Run({"set", "b", "k 2", "two words"}));
  Revision(Run({"del", "b", "k1"}));
  Revision(Run({"set", "b", "k4", "not printed: past --count"}));

  CliResult result = watch->Finish();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "SET k1 v1\nSET k\\x202 two words\nDEL k1\n");
}

TEST_F(Cli, WatchFromARevisionPrintsJsonLines) {
  const uint64_t first = Revision(Run({"set", "b", "k", "v1"}));
  Revision(Run({"set", "b", "bin", "\xff"}));
  Revision(Run({"del", "b", "k"}));

  CliResult result = Run({"watch", "b", "--from", std::to_string(first), "--count", "3", "--json"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 3u) << result.out;
  google::protobuf::Struct set = ParseJson(lines[0]);
  EXPECT_EQ(Field(set, "type").string_value(), "SET");
  EXPECT_EQ(Field(set, "key").string_value(), "k");
  EXPECT_EQ(Field(set, "value").string_value(), "v1");
  EXPECT_EQ(Field(set, "revision").number_value(), static_cast<double>(first));
  google::protobuf::Struct binary = ParseJson(lines[1]);
  EXPECT_EQ(Field(binary, "value").string_value(), "/w==");
  EXPECT_EQ(Field(binary, "value_encoding").string_value(), "base64");
  google::protobuf::Struct del = ParseJson(lines[2]);
  EXPECT_EQ(Field(del, "type").string_value(), "DEL");
  EXPECT_EQ(Field(del, "revision").number_value(), static_cast<double>(first + 2));
}

TEST_F(Cli, WatchEndsCleanlyOnInterrupt) {
  std::unique_ptr<CliProcess> watch = Start({"watch", "b"});
  ASSERT_NE(watch, nullptr);
  ASSERT_TRUE(watch->ReadErrorLine().has_value());
  watch->Signal(SIGINT);
  CliResult result = watch->Finish();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "");
}

TEST_F(Cli, BackupWithoutBackupDirExitsThree) {
  CliResult backup = Run({"backup"});
  EXPECT_EQ(backup.exit_code, 3);
  EXPECT_THAT(backup.err, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(backup.err, HasSubstr("--backup-dir"));
  EXPECT_EQ(Run({"backup", "a", "b"}).exit_code, 2);
  EXPECT_EQ(Run({"backup", "--keep", "many"}).exit_code, 2);
}

// backup prints the backup on one line (or JSON), backups lists them; the
// server writes under its --backup-dir.
TEST(CliBackup, BackupPrintsTheBackupAndBackupsListsIt) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.Join("data"), {"--backup-dir=" + dir.Join("backups")});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string endpoint = (*server)->address();
  const uint64_t revision = Revision(RunCli({"--endpoint", endpoint, "set", "b", "k", "v"}));
  const std::string dir_on_server =
      std::filesystem::weakly_canonical(dir.Join("backups")).string() + "/nightly";

  CliResult backup = RunCli({"--endpoint", endpoint, "backup", "nightly"});
  EXPECT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_THAT(backup.out, ::testing::MatchesRegex("backup 1 revision " + std::to_string(revision) +
                                                  " [0-9]+ bytes [0-9]+ files in .*\n"));
  EXPECT_THAT(backup.out, ::testing::EndsWith(" in " + dir_on_server + "\n"));

  CliResult json = RunCli(
      {"--endpoint", endpoint, "--json", "backup", "nightly", "--keep", "5", "--timeout", "1m"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  google::protobuf::Struct parsed = ParseJson(json.out);
  EXPECT_EQ(Field(parsed, "backup_id").number_value(), 2);
  EXPECT_EQ(Field(parsed, "revision").number_value(), static_cast<double>(revision));
  EXPECT_GT(Field(parsed, "size_bytes").number_value(), 0);
  EXPECT_GT(Field(parsed, "file_count").number_value(), 0);
  EXPECT_GT(Field(parsed, "create_unix_seconds").number_value(), 0);
  EXPECT_EQ(Field(parsed, "dir").string_value(), dir_on_server);

  CliResult list = RunCli({"--endpoint", endpoint, "backups", "nightly"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  const std::vector<std::string> lines = Lines(list.out);
  ASSERT_EQ(lines.size(), 2u) << list.out;
  EXPECT_THAT(lines[0], StartsWith("backup 1 revision " + std::to_string(revision) + " "));
  EXPECT_THAT(lines[1], StartsWith("backup 2 revision " + std::to_string(revision) + " "));

  CliResult outside = RunCli({"--endpoint", endpoint, "backup", "../elsewhere"});
  EXPECT_EQ(outside.exit_code, 3);
  EXPECT_THAT(outside.err, HasSubstr("INVALID_ARGUMENT: dir:"));
  CliResult missing = RunCli({"--endpoint", endpoint, "backups", "no-such-dir"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_THAT(missing.err, HasSubstr("NOT_FOUND"));
}

TEST_F(Cli, EndpointComesFromTheEnvironmentAndTheFlagWins) {
  const std::map<std::string, std::string> env = {{"WASIKV_ENDPOINT", server_->address()}};
  EXPECT_EQ(RunCli({"set", "b", "k", "from env"}, "", env).exit_code, 0);
  EXPECT_EQ(RunCli({"get", "b", "k"}, "", env).out, "from env");

  const std::map<std::string, std::string> wrong = {{"WASIKV_ENDPOINT", "127.0.0.1:1"}};
  EXPECT_EQ(RunCli({"get", "b", "k", "--endpoint", server_->address()}, "", wrong).out, "from env");
  EXPECT_EQ(RunCli({"get", "b", "k", "--timeout", "2s"}, "", wrong).exit_code, 3);
}

// The CLI against a wasikvd with TLS (mutual TLS when `client_ca`).
class CliTls : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    ASSERT_TRUE(pki_.MakeCa("ca", "wasikv test CA").ok());
    ASSERT_TRUE(pki_.MakeLeaf("server", {.ca = "ca", .common_name = "wasikvd"}).ok());
    ASSERT_TRUE(pki_.MakeLeaf("client", {.ca = "ca", .common_name = "cli", .serial = 2}).ok());
  }

  void StartServer(bool client_ca) {
    std::vector<std::string> flags = {"--tls-cert-file", pki_.Cert("server"), "--tls-key-file",
                                      pki_.Key("server")};
    if (client_ca) flags.insert(flags.end(), {"--tls-client-ca-file", pki_.Cert("ca")});
    auto server = ServerProcess::Start(dir_.Join("data"), flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  TempDir dir_;
  testing::TestPki pki_{dir_.path()};
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(CliTls, TlsCaConnectsAndPlaintextDoesNot) {
  StartServer(false);
  const std::string endpoint = server_->address();
  CliResult set =
      RunCli({"--endpoint", endpoint, "--tls-ca", pki_.Cert("ca"), "set", "b", "k", "v"});
  EXPECT_EQ(set.exit_code, 0) << set.err;
  CliResult get = RunCli({"get", "b", "k", "--tls-ca", pki_.Cert("ca"), "--endpoint", endpoint});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "v");

  CliResult plaintext = RunCli({"--endpoint", endpoint, "--timeout", "5s", "get", "b", "k"});
  EXPECT_EQ(plaintext.exit_code, 3);
  EXPECT_THAT(plaintext.err, HasSubstr("UNAVAILABLE"));
}

TEST_F(CliTls, MutualTlsFromTheEnvironment) {
  StartServer(true);
  const std::map<std::string, std::string> env = {{"WASIKV_ENDPOINT", server_->address()},
                                                  {"WASIKV_TLS_CA", pki_.Cert("ca")},
                                                  {"WASIKV_TLS_CERT", pki_.Cert("client")},
                                                  {"WASIKV_TLS_KEY", pki_.Key("client")},
                                                  {"WASIKV_TLS_SERVER_NAME", "localhost"}};
  CliResult set = RunCli({"set", "b", "k", "mutual"}, "", env);
  EXPECT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(RunCli({"get", "b", "k"}, "", env).out, "mutual");

  // Without a client certificate the server refuses the handshake.
  const std::map<std::string, std::string> no_cert = {{"WASIKV_ENDPOINT", server_->address()},
                                                      {"WASIKV_TLS_CA", pki_.Cert("ca")}};
  CliResult refused = RunCli({"get", "b", "k", "--timeout", "5s"}, "", no_cert);
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_THAT(refused.err, HasSubstr("UNAVAILABLE"));
}

TEST_F(CliTls, BadTlsFilesAreUsageErrors) {
  const std::string missing = dir_.Join("missing.pem");
  CliResult unreadable = RunCli({"--tls-ca", missing, "get", "b", "k"});
  EXPECT_EQ(unreadable.exit_code, 2);
  EXPECT_THAT(unreadable.err, HasSubstr("--tls-ca " + missing + ": cannot read"));

  CliResult from_env = RunCli({"get", "b", "k"}, "", {{"WASIKV_TLS_CA", missing}});
  EXPECT_EQ(from_env.exit_code, 2);
  EXPECT_THAT(from_env.err, HasSubstr("$WASIKV_TLS_CA " + missing + ": cannot read"));

  CliResult not_pem = RunCli({"--tls-ca", pki_.Key("ca"), "get", "b", "k"});
  EXPECT_EQ(not_pem.exit_code, 2);
  EXPECT_THAT(not_pem.err, HasSubstr("no PEM certificate"));

  CliResult no_key = RunCli({"--tls-cert", pki_.Cert("client"), "get", "b", "k"});
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_THAT(no_key.err, HasSubstr("--tls-cert needs --tls-key"));
}

TEST_F(Cli, HelpOnEveryCommand) {
  const std::vector<std::string> commands = {
      "get",           "set",         "del",         "exists", "ls",     "incr",
      "cas",           "mget",        "mset",        "mdel",   "watch",  "bucket create",
      "bucket delete", "bucket list", "bucket open", "backup", "backups"};
  CliResult top = RunCli({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, HasSubstr("Exit codes"));
  EXPECT_THAT(top.out, HasSubstr("WASIKV_ENDPOINT"));
  EXPECT_THAT(top.out, HasSubstr("--tls-ca FILE"));
  EXPECT_THAT(top.out, HasSubstr("WASIKV_TLS_CERT"));
  for (const std::string& name : commands) {
    EXPECT_THAT(top.out, HasSubstr("  " + name + " ")) << name;
    std::vector<std::string> args = {name, "--help"};
    if (name.starts_with("bucket ")) args = {"bucket", name.substr(7), "--help"};
    CliResult help = RunCli(args);
    EXPECT_EQ(help.exit_code, 0) << name;
    EXPECT_THAT(help.out, StartsWith("Usage: wasikv " + name)) << name;
    EXPECT_THAT(help.out, HasSubstr("Exit codes")) << name;
  }
  CliResult help_get = RunCli({"help", "get"});
  EXPECT_EQ(help_get.exit_code, 0);
  EXPECT_THAT(help_get.out, StartsWith("Usage: wasikv get BUCKET KEY"));
  CliResult bucket = RunCli({"bucket", "-h"});
  EXPECT_EQ(bucket.exit_code, 0);
  EXPECT_THAT(bucket.out, HasSubstr("bucket create"));
}

}  // namespace
}  // namespace wasikv
