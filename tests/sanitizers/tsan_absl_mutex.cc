// Makes Debian's Abseil synchronisation visible to ThreadSanitizer.
//
// Debian builds libabsl_synchronization without TSan, so absl::Mutex locks
// and unlocks with atomics and futexes TSan never sees: every access guarded
// by one (ours and gRPC's, whose Mutex and gpr_mu are absl::Mutex) would be
// reported as a race. The tsan tree links this file into every executable
// (WASIKV_SANITIZE=thread, see the top-level CMakeLists.txt). It defines the
// out-of-line absl::Mutex and absl::CondVar entry points, which the
// executable's dynamic symbol table then gives to every caller in the
// process, gRPC and Abseil itself included. Each calls the real function
// (dlsym RTLD_NEXT) between the annotations an instrumented Abseil makes
// itself (absl/synchronization/mutex.cc, ABSL_TSAN_MUTEX_*): the lock as
// TSan's mutex API describes it, with the wait and any Condition evaluated
// inside the call ignored as Abseil's own annotations ignore them.
//
// Notification and BlockingCounter publish with an atomic that the library
// stores, uninstrumented, outside any mutex; their wrappers add the release
// and acquire on the object that it stands for. (Notification's inline
// HasBeenNotified cannot be wrapped: a handoff that polls it alone is still
// reported.)
//
// The *WithTimeout functions are not wrapped: Abseil implements each as its
// *WithDeadline sibling, which it calls through the PLT, so it reaches the
// wrapper here (wrapping both would annotate one lock twice).
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

#define WASIKV_TSAN_STRINGIFY2(x) #x
#define WASIKV_TSAN_STRINGIFY(x) WASIKV_TSAN_STRINGIFY2(x)

// The real definition of absl::<cls>::<suffix> ("4LockEv": the mangled
// member name and signature), from the library after this executable.
enum class Member { kNonConst, kConst };
template <typename F>
F Real(const char* cls, const char* suffix, Member member = Member::kNonConst) {
  const std::string ns = WASIKV_TSAN_STRINGIFY(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  const std::string name = std::string(member == Member::kConst ? "_ZNK" : "_ZN") + "4absl" +
                           std::to_string(ns.size()) + ns + std::to_string(std::strlen(cls)) + cls +
                           suffix;
  void* symbol = dlsym(RTLD_NEXT, name.c_str());
  if (symbol == nullptr) {
    std::fprintf(stderr, "tsan_absl_mutex: %s not found: %s\n", name.c_str(), dlerror());
    std::abort();
  }
  F function;
  static_assert(sizeof function == sizeof symbol);
  std::memcpy(&function, &symbol, sizeof function);
  return function;
}

// The mode a caller of Await or CondVar::Wait holds `mu` in. Abseil keeps
// its whole state in one word (mutex.h: std::atomic<intptr_t> mu_), whose
// kMuWriter bit (mutex.cc) says exclusive.
unsigned HeldMode(const absl::Mutex* mu) {
  static_assert(sizeof(absl::Mutex) == sizeof(std::atomic<intptr_t>));
  constexpr intptr_t kMuWriter = 0x0008;
  const auto* word = reinterpret_cast<const std::atomic<intptr_t>*>(mu);
  return (word->load(std::memory_order_relaxed) & kMuWriter) != 0 ? 0 : __tsan_mutex_read_lock;
}

// Around a blocking call that releases `mu` and takes it again before it
// returns (Await, CondVar::Wait): the release is annotated before the call;
// the reacquisition spans it, so what runs inside is ignored.
template <typename Call>
auto Reacquiring(absl::Mutex* mu, Call call) {
  const unsigned mode = HeldMode(mu);
  __tsan_mutex_pre_unlock(mu, mode);
  __tsan_mutex_post_unlock(mu, mode);
  __tsan_mutex_pre_lock(mu, mode);
  auto result = call();
  __tsan_mutex_post_lock(mu, mode, 0);
  return result;
}

// Around a call that takes `mu` in `mode` and returns holding it.
template <typename Call>
auto Locking(absl::Mutex* mu, unsigned mode, Call call) {
  __tsan_mutex_pre_lock(mu, mode);
  auto result = call();
  __tsan_mutex_post_lock(mu, mode, 0);
  return result;
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

using Cond = const Condition&;

Mutex::~Mutex() {
  static const auto real = Real<void (*)(Mutex*)>("Mutex", "D1Ev");
  real(this);
  __tsan_mutex_destroy(this, 0);
}

void Mutex::Lock() {
  static const auto real = Real<void (*)(Mutex*)>("Mutex", "4LockEv");
  Locking(this, 0, [&] { return (real(this), 0); });
}

void Mutex::ReaderLock() {
  static const auto real = Real<void (*)(Mutex*)>("Mutex", "10ReaderLockEv");
  Locking(this, __tsan_mutex_read_lock, [&] { return (real(this), 0); });
}

bool Mutex::TryLock() {
  static const auto real = Real<bool (*)(Mutex*)>("Mutex", "7TryLockEv");
  __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
  const bool locked = real(this);
  __tsan_mutex_post_lock(this, __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed),
                         0);
  return locked;
}

bool Mutex::ReaderTryLock() {
  static const auto real = Real<bool (*)(Mutex*)>("Mutex", "13ReaderTryLockEv");
  const unsigned mode = __tsan_mutex_read_lock | __tsan_mutex_try_lock;
  __tsan_mutex_pre_lock(this, mode);
  const bool locked = real(this);
  __tsan_mutex_post_lock(this, mode | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  return locked;
}

void Mutex::Unlock() {
  static const auto real = Real<void (*)(Mutex*)>("Mutex", "6UnlockEv");
  __tsan_mutex_pre_unlock(this, 0);
  real(this);
  __tsan_mutex_post_unlock(this, 0);
}

void Mutex::ReaderUnlock() {
  static const auto real = Real<void (*)(Mutex*)>("Mutex", "12ReaderUnlockEv");
  __tsan_mutex_pre_unlock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_unlock(this, __tsan_mutex_read_lock);
}

void Mutex::LockWhen(Cond cond) {
  static const auto real = Real<void (*)(Mutex*, Cond)>("Mutex", "8LockWhenERKNS0_9ConditionE");
  Locking(this, 0, [&] { return (real(this, cond), 0); });
}

void Mutex::ReaderLockWhen(Cond cond) {
  static const auto real =
      Real<void (*)(Mutex*, Cond)>("Mutex", "14ReaderLockWhenERKNS0_9ConditionE");
  Locking(this, __tsan_mutex_read_lock, [&] { return (real(this, cond), 0); });
}

bool Mutex::LockWhenWithDeadline(Cond cond, Time deadline) {
  static const auto real = Real<bool (*)(Mutex*, Cond, Time)>(
      "Mutex", "20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, 0, [&] { return real(this, cond, deadline); });
}

bool Mutex::ReaderLockWhenWithDeadline(Cond cond, Time deadline) {
  static const auto real = Real<bool (*)(Mutex*, Cond, Time)>(
      "Mutex", "26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, __tsan_mutex_read_lock, [&] { return real(this, cond, deadline); });
}

void Mutex::Await(Cond cond) {
  static const auto real = Real<void (*)(Mutex*, Cond)>("Mutex", "5AwaitERKNS0_9ConditionE");
  Reacquiring(this, [&] { return (real(this, cond), 0); });
}

bool Mutex::AwaitWithDeadline(Cond cond, Time deadline) {
  static const auto real = Real<bool (*)(Mutex*, Cond, Time)>(
      "Mutex", "17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Reacquiring(this, [&] { return real(this, cond, deadline); });
}

void CondVar::Wait(Mutex* mu) {
  static const auto real = Real<void (*)(CondVar*, Mutex*)>("CondVar", "4WaitEPNS0_5MutexE");
  Reacquiring(mu, [&] { return (real(this, mu), 0); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  static const auto real = Real<bool (*)(CondVar*, Mutex*, Time)>(
      "CondVar", "16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return Reacquiring(mu, [&] { return real(this, mu, deadline); });
}

void Notification::Notify() {
  static const auto real = Real<void (*)(Notification*)>("Notification", "6NotifyEv");
  __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  static const auto real = Real<void (*)(const Notification*)>(
      "Notification", "19WaitForNotificationEv", Member::kConst);
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  static const auto real = Real<bool (*)(const Notification*, Duration)>(
      "Notification", "30WaitForNotificationWithTimeoutENS0_8DurationE", Member::kConst);
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  static const auto real = Real<bool (*)(const Notification*, Time)>(
      "Notification", "31WaitForNotificationWithDeadlineENS0_4TimeE", Member::kConst);
  const bool notified = real(this, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool BlockingCounter::DecrementCount() {
  static const auto real =
      Real<bool (*)(BlockingCounter*)>("BlockingCounter", "14DecrementCountEv");
  __tsan_release(this);
  return real(this);
}

void BlockingCounter::Wait() {
  static const auto real = Real<void (*)(BlockingCounter*)>("BlockingCounter", "4WaitEv");
  real(this);
  __tsan_acquire(this);
}

ABSL_NAMESPACE_END
}  // namespace absl
