#include "client/cli/interrupt_watcher.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace wasikv::cli {

InterruptWatcher::InterruptWatcher() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, &old_mask_);
}

InterruptWatcher::~InterruptWatcher() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    // The eventfd counter cannot overflow from one write: this succeeds.
    [[maybe_unused]] ssize_t written = write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (signal_fd_ >= 0) close(signal_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
  // A signal that arrived after the watcher stopped reading is delivered now,
  // with its default action: the command is done and the user asked to stop.
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

absl::Status InterruptWatcher::Start(std::function<void()> on_interrupt) {
  signal_fd_ = signalfd(-1, &signals_, SFD_CLOEXEC);
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  if (signal_fd_ < 0 || stop_fd_ < 0) {
    return absl::InternalError(std::string("signal handling: ") + std::strerror(errno));
  }
  thread_ = std::thread([this, on_interrupt = std::move(on_interrupt)] { Wait(on_interrupt); });
  return absl::OkStatus();
}

void InterruptWatcher::Wait(std::function<void()> on_interrupt) {
  pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents != 0) {
      signalfd_siginfo info;
      if (read(signal_fd_, &info, sizeof info) != sizeof info) continue;
      interrupted_.store(true);
      on_interrupt();
      return;
    }
  }
}

}  // namespace wasikv::cli
