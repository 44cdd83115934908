// ServerProcess runs the real wasikvd binary for a test: on 127.0.0.1 port 0
// with the test's own data directory, so tests run in parallel. Readiness is
// learned from --ready-fd (the server writes its address when it serves), so
// no test sleeps or polls to find out.
#ifndef WASIKV_TESTS_SERVER_PROCESS_H_
#define WASIKV_TESTS_SERVER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace wasikv::testing {

// Path of the wasikvd binary under test (set by CMake).
const char* WasikvdPath();

class ServerProcess {
 public:
  // Starts wasikvd on 127.0.0.1:0 with --data-dir `data_dir`, --sync-writes
  // off unless `extra_args` says otherwise, and `extra_args`. Returns once
  // it serves, or an error with its exit status if it died first. Its log
  // (stderr) is the test's, or appended to `log_path` if one is given.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& data_dir, const std::vector<std::string>& extra_args = {},
      const std::string& log_path = "");

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  // Kills the process if it still runs. Built with a sanitizer, stops it with
  // SIGTERM instead and aborts (failing the test) unless it exits 0, so its
  // leaks and late reports are the test's.
  ~ServerProcess();

  const std::string& address() const { return address_; }
  // The admin HTTP port's HOST:PORT; empty if the test turned it off.
  const std::string& admin_address() const { return admin_address_; }
  pid_t pid() const { return pid_; }
  // A new channel to the server.
  std::shared_ptr<grpc::Channel> NewChannel() const;

  // Sends `signal` and waits up to `timeout` for the exit. Returns the exit
  // code (128+signal if killed by a signal), or nullopt on timeout.
  std::optional<int> StopWith(int signal,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // SIGTERM: the graceful path.
  std::optional<int> Stop() { return StopWith(SIGTERM); }

 private:
  ServerProcess(pid_t pid, std::string address, std::string admin_address)
      : pid_(pid), address_(std::move(address)), admin_address_(std::move(admin_address)) {}
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout);

  pid_t pid_;
  std::string address_;
  std::string admin_address_;
  bool exited_ = false;
};

// Should this test binary crash (a bug in the code under test), kills `pid`
// too: an orphaned wasikvd keeps ctest's output pipe open and hangs the run
// until ctest's timeout. One server at a time; 0 forgets it.
void KillOnCrash(pid_t pid);

// Runs wasikvd with `args` to completion (for flag tests). Returns the exit
// code and what it printed on stdout and stderr.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunWasikvd(const std::vector<std::string>& args);
// Runs `command` (argv[0] is the program's path) the same way.
CommandResult RunCommand(const std::vector<std::string>& command);

// A command running in the background (StartCommand), for a test that talks
// to it while it runs: its stdout is read as it comes, line by line, so the
// test waits for what the command says instead of sleeping. Its stderr is
// the test's. Killed when destroyed if it still runs, and when the test
// process dies. Used by one thread.
class RunningCommand {
 public:
  RunningCommand(const RunningCommand&) = delete;
  RunningCommand& operator=(const RunningCommand&) = delete;
  ~RunningCommand();

  // The next line of stdout without its newline; nullopt if stdout ended or
  // `timeout` passed first.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
  // Waits up to `timeout` for stdout to end and the command to exit: its
  // exit code (128+signal if killed) and all of its stdout, the lines
  // ReadLine returned included. nullopt on timeout.
  std::optional<CommandResult> Wait(std::chrono::milliseconds timeout);

 private:
  friend absl::StatusOr<std::unique_ptr<RunningCommand>> StartCommand(
      const std::vector<std::string>& command);
  RunningCommand(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}
  // Appends what stdout has to output_, waiting until `deadline`; false at
  // its end or the deadline.
  bool ReadMore(std::chrono::steady_clock::time_point deadline);

  pid_t pid_;
  int stdout_fd_;  // -1 once stdout ended
  std::string output_;
  size_t line_start_ = 0;  // output_ before it was returned by ReadLine
  bool exited_ = false;
};

// Starts `command` (argv[0] is the program's path).
absl::StatusOr<std::unique_ptr<RunningCommand>> StartCommand(
    const std::vector<std::string>& command);

}  // namespace wasikv::testing

#endif  // WASIKV_TESTS_SERVER_PROCESS_H_
