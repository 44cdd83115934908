// wasikv-run, the binary: a guest module on wabt against a real server, its
// output and exit codes (0 ran, 1 trapped, 2 could not run), and its watch
// phase (--watch-events).
#include <chrono>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapter/guest_loader.h"
#include "tests/adapter/test_server.h"
#include "tests/adapter/watch_sequence.h"
#include "tests/test_pki.h"
#include "wasikv/client.h"

namespace wasikv::testing {
namespace {

using ::testing::HasSubstr;

class WasikvRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    client_ = server_.client;
  }

  CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {WASIKV_RUN_PATH, "--endpoint", server_.process->address()});
    return RunCommand(args);
  }

  std::unique_ptr<RunningCommand> Start(std::vector<std::string> args) {
    args.insert(args.begin(), {WASIKV_RUN_PATH, "--endpoint", server_.process->address()});
    absl::StatusOr<std::unique_ptr<RunningCommand>> command = StartCommand(args);
    EXPECT_TRUE(command.ok()) << command.status();
    return command.ok() ? *std::move(command) : nullptr;
  }

  TestServer server_;
  std::shared_ptr<Client> client_;
};

TEST_F(WasikvRunTest, RunsAnExportAndPrintsItsResult) {
  ASSERT_TRUE(client_->Set("run-bucket", "atomics_key", "5").ok());
  CommandResult result = Run({"--default-bucket", "run-bucket", "--invoke", "check_wasmtime",
                              GuestWasmPath("draft_guest")});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "0\n");
  absl::StatusOr<GetResult> counter = client_->Get("run-bucket", "atomics_key");
  ASSERT_TRUE(counter.ok() && counter->value.has_value());
  EXPECT_EQ(counter->value->value, "6");
}

TEST_F(WasikvRunTest, PolicyFlagsReachTheGuest) {
  // check_spin expects "forbidden" to be refused.
  CommandResult refused =
      Run({"--deny-bucket", "forbidden", "--invoke", "check_spin", GuestWasmPath("draft2_guest")});
  EXPECT_EQ(refused.output, "0\n");
  CommandResult allowed = Run({"--invoke", "check_spin", GuestWasmPath("draft2_guest_cm32p2")});
  EXPECT_EQ(allowed.exit_code, 0);
  EXPECT_NE(allowed.output, "0\n") << "without --deny-bucket, opening 'forbidden' works";
}

TEST_F(WasikvRunTest, ATrapExitsOneWithTheReason) {
  CommandResult result =
      Run({"--default-bucket", "trap", "--invoke", "oob_key_ptr", GuestWasmPath("hostile_guest")});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("trap"));
  EXPECT_THAT(result.output, HasSubstr("outside the guest's"));
}

TEST_F(WasikvRunTest, AnImportTheAdapterLacksExitsTwoNamingIt) {
  CommandResult result = Run({GuestWasmPath("foreign_import_guest")});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr("wasi_snapshot_preview1"));
  EXPECT_THAT(result.output, HasSubstr("fd_write"));
}

TEST_F(WasikvRunTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({server_.dir.path() + "/missing.wasm"}).exit_code, 2);
  CommandResult runtime = Run({"--runtime", "wasmer", GuestWasmPath("draft_guest")});
  EXPECT_EQ(runtime.exit_code, 2);
  EXPECT_THAT(runtime.output, HasSubstr("wabt"));
  CommandResult no_export = Run({"--invoke", "nope", GuestWasmPath("draft_guest")});
  EXPECT_EQ(no_export.exit_code, 2) << no_export.output;
  EXPECT_THAT(no_export.output, HasSubstr("nope"));
  CommandResult bad_number = Run({"--max-handles", "many", GuestWasmPath("draft_guest")});
  EXPECT_EQ(bad_number.exit_code, 2);
  EXPECT_THAT(bad_number.output, HasSubstr("--max-handles"));
}

TEST_F(WasikvRunTest, AnUnreachableServerIsAnErrorTheGuestSees) {
  // check_errors opens buckets first; with no server every call fails, the
  // guest reports the failing line, and wasikv-run still exits 0: the
  // export ran and returned.
  CommandResult result = RunCommand({WASIKV_RUN_PATH, "--endpoint", "127.0.0.1:1", "--timeout-ms",
                                     "300", "--invoke", "healthy", GuestWasmPath("hostile_guest")});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output, "0\n");
}

// Against a wasikvd with mutual TLS: the --tls-* flags (or variables) reach
// the guest's client; a file that cannot be read is a usage error.
TEST(WasikvRunTls, TlsFlagsAndVariablesConnectWithMutualTls) {
  TempDir dir;
  TestPki pki(dir.path());
  ASSERT_TRUE(pki.MakeCa("ca", "wasikv test CA").ok());
  ASSERT_TRUE(pki.MakeLeaf("server", {.ca = "ca", .common_name = "wasikvd"}).ok());
  ASSERT_TRUE(pki.MakeLeaf("client", {.ca = "ca", .common_name = "guest", .serial = 2}).ok());
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      dir.Join("data"), {"--tls-cert-file", pki.Cert("server"), "--tls-key-file", pki.Key("server"),
                         "--tls-client-ca-file", pki.Cert("ca")});
  ASSERT_TRUE(server.ok()) << server.status();
  KillOnCrash((*server)->pid());

  CommandResult write =
      RunCommand({WASIKV_RUN_PATH, "--endpoint", (*server)->address(), "--tls-ca", pki.Cert("ca"),
                  "--tls-cert", pki.Cert("client"), "--tls-key", pki.Key("client"), "--invoke",
                  "interop_write", "--arg", "42", GuestWasmPath("draft_guest")});
  EXPECT_EQ(write.exit_code, 0) << write.output;
  EXPECT_EQ(write.output, "0\n");

  // The same through the environment, with env(1) setting it.
  CommandResult read = RunCommand(
      {"/usr/bin/env", "WASIKV_ENDPOINT=" + (*server)->address(), "WASIKV_TLS_CA=" + pki.Cert("ca"),
       "WASIKV_TLS_CERT=" + pki.Cert("client"), "WASIKV_TLS_KEY=" + pki.Key("client"),
       WASIKV_RUN_PATH, "--invoke", "interop_read", GuestWasmPath("draft_guest")});
  EXPECT_EQ(read.exit_code, 0) << read.output;
  EXPECT_EQ(read.output, "42\n");

  const std::string missing = dir.Join("missing.pem");
  CommandResult unreadable = RunCommand({WASIKV_RUN_PATH, "--endpoint", (*server)->address(),
                                         "--tls-ca", missing, GuestWasmPath("draft_guest")});
  EXPECT_EQ(unreadable.exit_code, 2);
  EXPECT_THAT(unreadable.output, HasSubstr("--tls-ca " + missing + ": cannot read"));
  CommandResult no_key =
      RunCommand({WASIKV_RUN_PATH, "--tls-cert", pki.Cert("client"), GuestWasmPath("draft_guest")});
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_THAT(no_key.output, HasSubstr("--tls-cert needs --tls-key"));
}

constexpr auto kWait = std::chrono::seconds(60);

TEST_F(WasikvRunTest, WatchEventsReachTheGuestAfterItsExportReturns) {
  // start opens "watched" and returns; what is written from then on is the
  // guest's to hear, and check_watch says whether it heard exactly that.
  std::unique_ptr<RunningCommand> run =
      Start({"--invoke", "start", "--watch-events", std::to_string(kWatchSequenceEvents),
             "--then-invoke", "check_watch", GuestWasmPath("watch_guest")});
  ASSERT_NE(run, nullptr);
  ASSERT_EQ(run->ReadLine(kWait), "0") << "start's result, printed before the watch phase";
  WriteSequence(*client_);
  std::optional<CommandResult> result = run->Wait(kWait);
  ASSERT_TRUE(result.has_value()) << "wasikv-run did not finish";
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->output, "0\n0\n");
}

TEST_F(WasikvRunTest, WatchBucketsAreWatchedFromTheStart) {
  // No open: the bucket is watched because the command line says so.
  std::unique_ptr<RunningCommand> run =
      Start({"--invoke", "event_count", "--watch-bucket", "watched", "--watch-events",
             std::to_string(kWatchSequenceEvents), "--then-invoke", "check_watch",
             GuestWasmPath("watch_guest")});
  ASSERT_NE(run, nullptr);
  ASSERT_EQ(run->ReadLine(kWait), "0");
  WriteSequence(*client_);
  std::optional<CommandResult> result = run->Wait(kWait);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->output, "0\n0\n");
}

TEST_F(WasikvRunTest, TooFewWatchEventsExitOneSayingHowMany) {
  // Nothing is written, so the deadline passes whatever the machine's speed.
  CommandResult result = Run({"--invoke", "start", "--watch-events", "2", "--watch-timeout-ms",
                              "200", "--then-invoke", "check_watch", GuestWasmPath("watch_guest")});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("0 of 2 events delivered in 200 ms"));
}

TEST_F(WasikvRunTest, WatchFlagsNeedAGuestWithHandlers) {
  CommandResult no_handlers =
      Run({"--invoke", "check_paging", "--watch-events", "1", GuestWasmPath("draft_guest")});
  EXPECT_EQ(no_handlers.exit_code, 2) << no_handlers.output;
  EXPECT_THAT(no_handlers.output, HasSubstr("watch handlers"));
  CommandResult no_events =
      Run({"--invoke", "start", "--watch-bucket", "watched", GuestWasmPath("watch_guest")});
  EXPECT_EQ(no_events.exit_code, 2);
  EXPECT_THAT(no_events.output, HasSubstr("--watch-bucket needs --watch-events"));
  CommandResult no_export =
      Run({"--invoke", "start", "--then-invoke", "nope", GuestWasmPath("watch_guest")});
  EXPECT_EQ(no_export.exit_code, 2);
  EXPECT_THAT(no_export.output, HasSubstr("'nope' (--then-invoke)"));
}

}  // namespace
}  // namespace wasikv::testing
