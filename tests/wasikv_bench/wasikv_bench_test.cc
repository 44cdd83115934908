// wasikv-bench runs briefly against the real wasikvd, redis-server and etcd on
// loopback and reports what it did. These check that the tool works and
// tells the truth about its calls, never how fast anything is.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
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

namespace wasikv {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using testing::ServerProcess;
using testing::TempDir;

constexpr auto kPeerStart = std::chrono::seconds(60);

std::string BenchPath() { return WASIKV_BENCH_PATH; }

CommandResult Bench(std::vector<std::string> flags) {
  flags.insert(flags.begin(), BenchPath());
  flags.push_back("--no-progress");
  return testing::RunCommand(flags);
}

// The JSON report as a Struct; fails the test if it is not one.
google::protobuf::Struct ParseReport(const std::string& text) {
  google::protobuf::Struct report;
  const auto status = google::protobuf::util::JsonStringToMessage(text, &report);
  EXPECT_TRUE(status.ok()) << status.message() << "\n" << text;
  return report;
}

// The results entry of `op` ("all" for the sum), or nullopt.
std::optional<google::protobuf::Struct> Result(const google::protobuf::Struct& report,
                                               const std::string& op) {
  const auto it = report.fields().find("results");
  if (it == report.fields().end()) return std::nullopt;
  for (const auto& entry : it->second.list_value().values()) {
    const auto& fields = entry.struct_value().fields();
    const auto name = fields.find("op");
    if (name != fields.end() && name->second.string_value() == op) return entry.struct_value();
  }
  return std::nullopt;
}

double Number(const google::protobuf::Struct& fields, const std::string& name) {
  const auto it = fields.fields().find(name);
  return it == fields.fields().end() ? -1 : it->second.number_value();
}

// Each op of `ops` answered calls, with none failed.
void ExpectEveryOpAnswered(const google::protobuf::Struct& report,
                           const std::vector<std::string>& ops) {
  for (const std::string& op : ops) {
    const std::optional<google::protobuf::Struct> result = Result(report, op);
    ASSERT_TRUE(result.has_value()) << "no result for " << op;
    EXPECT_GT(Number(*result, "ok") + Number(*result, "conflict"), 0) << op;
    EXPECT_EQ(Number(*result, "errors"), 0) << op;
    EXPECT_GT(Number(*result, "p99_us"), 0) << op;
    EXPECT_GE(Number(*result, "p99_us"), Number(*result, "p50_us")) << op;
  }
}

// A loopback port nothing listens on now, for a peer that cannot take port 0.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// Starts `command` and waits for a line of its output holding `ready`.
std::unique_ptr<testing::RunningCommand> StartPeer(const std::vector<std::string>& command,
                                                   const std::string& ready) {
  auto started = testing::StartCommand(command);
  EXPECT_TRUE(started.ok()) << started.status();
  if (!started.ok()) return nullptr;
  std::unique_ptr<testing::RunningCommand> peer = *std::move(started);
  const auto deadline = std::chrono::steady_clock::now() + kPeerStart;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::optional<std::string> line = peer->ReadLine(kPeerStart);
    if (!line) break;
    if (line->find(ready) != std::string::npos) return peer;
  }
  ADD_FAILURE() << command[0] << " did not say '" << ready << "'";
  return nullptr;
}

class WasikvBenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = ServerProcess::Start(dir_.path() + "/data");
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(WasikvBenchTest, EveryOpOfTheMixRunsAgainstWasikvd) {
  const CommandResult run = Bench({"--endpoint",    server_->address(),
                                   "--ops",         "get=4,set=2,incr,cas,getmany,setmany",
                                   "--keys",        "500",
                                   "--batch",       "20",
                                   "--concurrency", "8",
                                   "--connections", "2",
                                   "--duration",    "1s",
                                   "--warmup",      "200ms",
                                   "--format",      "json",
                                   "--server-pid",  std::to_string(server_->pid())});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const google::protobuf::Struct report = ParseReport(run.output);
  ExpectEveryOpAnswered(report, {"get", "set", "incr", "cas", "getmany", "setmany", "all"});
  // Preloaded keys are found, batches count their keys, the server's CPU
  // was read.
  EXPECT_EQ(Number(*Result(report, "get"), "miss"), 0);
  EXPECT_EQ(Number(*Result(report, "getmany"), "keys_per_second"),
            std::floor(Number(*Result(report, "getmany"), "calls_per_second") * 20));
  EXPECT_GT(Number(report, "server_cpu_seconds"), 0);
  EXPECT_EQ(Number(report, "concurrency"), 8);
}

TEST_F(WasikvBenchTest, OpenLoopSendsNoMoreThanTheRate) {
  const CommandResult run =
      Bench({"--endpoint", server_->address(), "--ops", "set", "--rate", "200", "--duration", "1s",
             "--warmup", "0s", "--format", "json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const google::protobuf::Struct report = ParseReport(run.output);
  const std::optional<google::protobuf::Struct> set = Result(report, "set");
  ASSERT_TRUE(set.has_value());
  // 200 calls are due in the second; each answered call was due in it.
  EXPECT_GT(Number(*set, "ok"), 0);
  EXPECT_LE(Number(*set, "ok"), 200);
  EXPECT_EQ(Number(*set, "errors"), 0);
}

TEST_F(WasikvBenchTest, WatchersReceiveTheWritesAndTimeThem) {
  const CommandResult run =
      Bench({"--endpoint", server_->address(), "--ops", "set", "--watchers", "5", "--concurrency",
             "2", "--duration", "1s", "--warmup", "100ms", "--format", "json", "--server-pid",
             std::to_string(server_->pid())});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const google::protobuf::Struct report = ParseReport(run.output);
  const auto watch = report.fields().find("watch");
  ASSERT_NE(watch, report.fields().end()) << run.output;
  const google::protobuf::Struct& fields = watch->second.struct_value();
  EXPECT_EQ(Number(fields, "watchers"), 5);
  // Every watcher sees every write of the window, but for the two calls in
  // flight as the window opened, whose events may have come before it (and
  // maybe some of the warmup's after it: at least, not exactly).
  EXPECT_GE(Number(fields, "events"), 5 * (Number(*Result(report, "set"), "ok") - 2));
  EXPECT_GT(Number(fields, "p99_us"), 0);
  EXPECT_TRUE(fields.fields().contains("server_kib_per_watcher")) << run.output;
}

TEST_F(WasikvBenchTest, ErrorsAreCountedAndFailTheRun) {
  // A bucket name wasikvd refuses: every call is an error, reported by code.
  const CommandResult run = Bench({"--endpoint", server_->address(), "--bucket", "bad/name",
                                   "--ops", "set", "--duration", "300ms"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.output, HasSubstr("INVALID_ARGUMENT"));
}

TEST(WasikvBench, UsageErrorsNameTheFlag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--ops", "put=1"}, "--ops"},
      {{"--distribution", "normal"}, "--distribution"},
      {{"--concurrency", "0"}, "--concurrency"},
      {{"--rate", "-5"}, "--rate"},
      {{"--duration", "soon"}, "--duration"},
      {{"--format", "xml"}, "--format"},
      {{"--target", "memcached"}, "--target"},
      {{"--target", "redis", "--ops", "cas"}, "--ops"},
      {{"--target", "etcd", "--ops", "incr"}, "--ops"},
      {{"--target", "etcd", "--watchers", "3"}, "--watchers"},
  };
  for (const auto& [flags, named] : cases) {
    const CommandResult run = Bench(flags);
    EXPECT_EQ(run.exit_code, 2) << run.output;
    EXPECT_THAT(run.output, HasSubstr(named)) << run.output;
  }
}

TEST(WasikvBench, DrivesRedis) {
  TempDir dir;
  const int port = FreePort();
  auto redis = StartPeer({REDIS_SERVER_PATH, "--port", std::to_string(port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", dir.path()},
                         "Ready to accept connections");
  ASSERT_NE(redis, nullptr);
  const CommandResult run = Bench({"--target",      "redis",
                                   "--endpoint",    "127.0.0.1:" + std::to_string(port),
                                   "--ops",         "get=4,set=2,incr,getmany,setmany",
                                   "--keys",        "500",
                                   "--batch",       "20",
                                   "--concurrency", "8",
                                   "--connections", "2",
                                   "--duration",    "1s",
                                   "--warmup",      "100ms",
                                   "--format",      "json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const google::protobuf::Struct report = ParseReport(run.output);
  ExpectEveryOpAnswered(report, {"get", "set", "incr", "getmany", "setmany"});
  EXPECT_EQ(Number(*Result(report, "get"), "miss"), 0);
}

TEST(WasikvBench, DrivesEtcd) {
  TempDir dir;
  const std::string client = "http://127.0.0.1:" + std::to_string(FreePort());
  const std::string peer = "http://127.0.0.1:" + std::to_string(FreePort());
  // etcd logs on stderr; the shell hands it to stdout, which the test reads.
  auto etcd =
      StartPeer({"/bin/sh", "-c",
                 "exec " ETCD_PATH " --data-dir '" + dir.path() + "/etcd' --listen-client-urls " +
                     client + " --advertise-client-urls " + client + " --listen-peer-urls " + peer +
                     " --initial-advertise-peer-urls " + peer +
                     " --initial-cluster default=" + peer + " 2>&1"},
                "ready to serve client requests");
  ASSERT_NE(etcd, nullptr);
  const CommandResult run =
      Bench({"--target", "etcd", "--endpoint", client.substr(7), "--ops",
             "get=4,set=2,cas,getmany,setmany", "--keys", "200", "--batch", "20", "--concurrency",
             "4", "--duration", "1s", "--warmup", "100ms", "--format", "json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const google::protobuf::Struct report = ParseReport(run.output);
  ExpectEveryOpAnswered(report, {"get", "set", "cas", "getmany", "setmany"});
  EXPECT_EQ(Number(*Result(report, "getmany"), "miss"), 0);
}

}  // namespace
}  // namespace wasikv
