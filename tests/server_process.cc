#include "tests/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

}  // namespace

const char* WasikvdPath() { return WASIKVD_PATH; }

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& data_dir, const std::vector<std::string>& extra_args) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  std::vector<std::string> args = {WasikvdPath(), "--listen=127.0.0.1:0", "--data-dir",
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
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(ready[1]);
  std::string address = ReadLine(ready[0], std::chrono::steady_clock::now() + kStartTimeout);
  close(ready[0]);
  std::unique_ptr<ServerProcess> process(new ServerProcess(pid, address));
  if (address.empty()) {
    std::optional<int> code = process->StopWith(SIGKILL);
    return absl::UnavailableError("wasikvd did not start; exit code " +
                                  (code ? std::to_string(*code) : std::string("unknown")));
  }
  return process;
}

ServerProcess::~ServerProcess() {
  if (!exited_) StopWith(SIGKILL);
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
  // A pidfd becomes readable when the process exits: no polling loop.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(timeout.count()));
    close(pidfd);
    if (ready <= 0) return std::nullopt;
  }
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  exited_ = true;
  return ExitCode(status);
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

}  // namespace wasikv::testing
