// InterruptWatcher turns Ctrl-C (SIGINT) and SIGTERM into a callback on a
// thread of its own, so a long-running command (watch) can end cleanly
// instead of being killed mid-write.
//
// Construct it before any other thread starts (before the Client is
// created): it blocks the two signals in the calling thread, and threads
// started later inherit that mask, so the signals wait for Start()'s thread.
// A signal that arrives before Start() is delivered then.
//
// Thread safety: construct, Start and destroy from one thread; the callback
// runs at most once, on the watcher's thread. The destructor stops the thread
// and waits for it (and for a callback in progress) before returning.
#ifndef WASIKV_CLIENT_CLI_INTERRUPT_WATCHER_H_
#define WASIKV_CLIENT_CLI_INTERRUPT_WATCHER_H_

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

#include "absl/status/status.h"

namespace wasikv::cli {

class InterruptWatcher {
 public:
  InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;
  ~InterruptWatcher();

  // Starts waiting; `on_interrupt` runs once when a signal arrives.
  absl::Status Start(std::function<void()> on_interrupt);

  // A signal has arrived (and the callback has been called or is running).
  bool interrupted() const { return interrupted_.load(); }

 private:
  void Wait(std::function<void()> on_interrupt);

  sigset_t signals_;
  sigset_t old_mask_;
  int signal_fd_ = -1;
  int stop_fd_ = -1;  // an eventfd the destructor writes to end Wait()
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_INTERRUPT_WATCHER_H_
