#include "ready_signal.h"

#include <atomic>

#include "js_values.h"

namespace wasikv::adapter::node {

struct ReadySignal::Shared {
  // Set by the Notify() that queued a call, cleared on the JS thread just
  // before the callback runs, so a Notify() racing with the callback queues
  // a new call rather than being lost.
  std::atomic<bool> pending{false};
};

void ReadySignal::CallJs(napi_env env, napi_value callback, void* context, void* /*data*/) {
  // env is null when the function is torn down with calls still queued.
  if (env == nullptr || callback == nullptr) return;
  static_cast<ReadySignal::Shared*>(context)->pending.store(false);
  napi_value receiver = Undefined(env);
  // A throwing callback is an uncaught exception, which N-API reports.
  napi_call_function(env, receiver, callback, 0, nullptr, nullptr);
}

std::unique_ptr<ReadySignal> ReadySignal::Create(napi_env env, napi_value callback,
                                                 bool keep_alive) {
  napi_value name = MakeString(env, "wasikv watch");
  if (name == nullptr) return nullptr;
  auto* shared = new Shared;
  napi_threadsafe_function function = nullptr;
  if (!NapiOk(env, napi_create_threadsafe_function(
                       env, callback, nullptr, name, /*max_queue_size=*/0,
                       /*initial_thread_count=*/1, /*thread_finalize_data=*/shared,
                       [](napi_env, void* data, void*) { delete static_cast<Shared*>(data); },
                       shared, &CallJs, &function))) {
    delete shared;
    return nullptr;
  }
  if (!keep_alive && !NapiOk(env, napi_unref_threadsafe_function(env, function))) {
    napi_release_threadsafe_function(function, napi_tsfn_abort);
    return nullptr;
  }
  return std::unique_ptr<ReadySignal>(new ReadySignal(function, shared));
}

ReadySignal::~ReadySignal() { napi_release_threadsafe_function(function_, napi_tsfn_abort); }

void ReadySignal::Notify() {
  if (shared_->pending.exchange(true)) return;
  // Nonblocking on an unbounded queue: never waits. napi_closing only once
  // the function is being torn down, when nobody wants the signal.
  napi_call_threadsafe_function(function_, nullptr, napi_tsfn_nonblocking);
}

}  // namespace wasikv::adapter::node
