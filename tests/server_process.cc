#include "tests/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace wasikv::testing {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(60);

std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

int ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

// Reads from `fd` until a newline, EOF or the deadline.
std::string ReadLine(int fd, std::chrono::steady_clock::time_point deadline) {
  std::string line;
  char c;
  while (line.empty() || line.back() != '\n') {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = read(fd, &c, 1);
    if (n <= 0) break;
    line.push_back(c);
  }
  if (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

// Waits up to `timeout` for `pid` to exit and reaps it: its ExitCode, or
// nullopt on timeout.
std::optional<int> WaitForPid(pid_t pid, std::chrono::milliseconds timeout) {
  // A pidfd becomes readable when the process exits: no polling loop.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(std::max<int64_t>(timeout.count(), 0)));
    close(pidfd);
    if (ready <= 0) return std::nullopt;
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return std::nullopt;
  return ExitCode(status);
}

}  // namespace

const char* WasikvdPath() { return WASIKVD_PATH; }

namespace {

std::atomic<pid_t> g_crash_victim{0};

void KillVictimAndDie(int sig) {
  const pid_t pid = g_crash_victim.load();
  if (pid > 0) kill(pid, SIGKILL);
  raise(sig);  // SA_RESETHAND restored the default action
}

}  // namespace

void KillOnCrash(pid_t pid) {
  static const bool installed = [] {
    struct sigaction action = {};
    action.sa_handler = KillVictimAndDie;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) sigaction(sig, &action, nullptr);
    return true;
  }();
  (void)installed;
  g_crash_victim.store(pid);
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& data_dir, const std::vector<std::string>& extra_args,
    const std::string& log_path) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  // The admin port on port 0 too, so parallel tests never collide on it.
  std::vector<std::string> args = {
      WasikvdPath(), "--listen=127.0.0.1:0", "--admin-listen=127.0.0.1:0", "--data-dir",
      data_dir,      "--ready-fd=3",         "--sync-writes=false"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv = Argv(args);

  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // A test that crashes must not leave its server running (holding ctest's
    // output pipe open): the server dies with its parent.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(127);
    // dup2 clears close-on-exec on the copy, so only fd 3 reaches wasikvd.
    if (dup2(ready[1], 3) < 0) _exit(127);
    if (!log_path.empty()) {
      const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (log < 0 || dup2(log, 2) < 0) _exit(127);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(ready[1]);
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  std::string address = ReadLine(ready[0], deadline);
  // Empty when the test turned the admin port off (the server closes the fd).
  std::string admin_address = address.empty() ? "" : ReadLine(ready[0], deadline);
  close(ready[0]);
  std::unique_ptr<ServerProcess> process(
      new ServerProcess(pid, std::move(address), std::move(admin_address)));
  if (process->address().empty()) {
    std::optional<int> code = process->StopWith(SIGKILL);
    return absl::UnavailableError("wasikvd did not start; exit code " +
                                  (code ? std::to_string(*code) : std::string("unknown")));
  }
  return process;
}

ServerProcess::~ServerProcess() {
  if (exited_) return;
#ifdef WASIKV_SANITIZED
  // Under a sanitizer the server stops the graceful way, so what it reports
  // at exit (LeakSanitizer's leaks above all) reaches this test's output, and
  // a server that does not exit 0 fails the test that ran it.
  const std::optional<int> code = Stop();
  if (code == 0) return;
  std::fprintf(stderr, "wasikvd (pid %d) did not exit cleanly on SIGTERM: %s\n", pid_,
               code ? ("exit code " + std::to_string(*code)).c_str() : "timed out");
  if (!code) StopWith(SIGKILL);
  std::abort();
#else
  StopWith(SIGKILL);
#endif
}

std::shared_ptr<grpc::Channel> ServerProcess::NewChannel() const {
  return grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
}

std::optional<int> ServerProcess::StopWith(int signal, std::chrono::milliseconds timeout) {
  if (exited_) return std::nullopt;
  kill(pid_, signal);
  return WaitForExit(timeout);
}

std::optional<int> ServerProcess::WaitForExit(std::chrono::milliseconds timeout) {
  std::optional<int> code = WaitForPid(pid_, timeout);
  exited_ = code.has_value();
  return code;
}

CommandResult RunWasikvd(const std::vector<std::string>& args) {
  std::vector<std::string> full = {WasikvdPath()};
  full.insert(full.end(), args.begin(), args.end());
  return RunCommand(full);
}

CommandResult RunCommand(const std::vector<std::string>& command) {
  std::vector<std::string> args = command;
  std::vector<char*> argv = Argv(args);
  int out[2];
  CommandResult result;
  if (pipe2(out, O_CLOEXEC) != 0) return result;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(out[1], 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  char buffer[4096];
  ssize_t n;
  while ((n = read(out[0], buffer, sizeof buffer)) > 0) result.output.append(buffer, n);
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = ExitCode(status);
  return result;
}

absl::StatusOr<std::unique_ptr<RunningCommand>> StartCommand(
    const std::vector<std::string>& command) {
  std::vector<std::string> args = command;
  std::vector<char*> argv = Argv(args);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    // As for the server: the command dies with the test.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(127);
    dup2(out[1], 1);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  return std::unique_ptr<RunningCommand>(new RunningCommand(pid, out[0]));
}

RunningCommand::~RunningCommand() {
  if (!exited_) {
    kill(pid_, SIGKILL);
    WaitForPid(pid_, std::chrono::seconds(30));
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

bool RunningCommand::ReadMore(std::chrono::steady_clock::time_point deadline) {
  if (stdout_fd_ < 0) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  pollfd p{stdout_fd_, POLLIN, 0};
  if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buffer[4096];
  const ssize_t n = read(stdout_fd_, buffer, sizeof buffer);
  if (n <= 0) {
    close(stdout_fd_);
    stdout_fd_ = -1;
    return false;
  }
  output_.append(buffer, static_cast<size_t>(n));
  return true;
}

std::optional<std::string> RunningCommand::ReadLine(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t end;
  while ((end = output_.find('\n', line_start_)) == std::string::npos) {
    if (!ReadMore(deadline)) return std::nullopt;
  }
  std::string line = output_.substr(line_start_, end - line_start_);
  line_start_ = end + 1;
  return line;
}

std::optional<CommandResult> RunningCommand::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ReadMore(deadline)) {
  }
  if (stdout_fd_ >= 0) return std::nullopt;  // the deadline, not the end
  std::optional<int> code = WaitForPid(pid_, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 deadline - std::chrono::steady_clock::now()));
  if (!code) return std::nullopt;
  exited_ = true;
  return CommandResult{*code, output_};
}

}  // namespace wasikv::testing
