// Wakes the JS thread from any thread: the WatchFeed's subscription threads
// say "events are ready", and a JS callback runs on the next turn of the
// event loop. A thin owner of one napi_threadsafe_function.
#ifndef WASIKV_ADAPTER_NODE_ADDON_READY_SIGNAL_H_
#define WASIKV_ADAPTER_NODE_ADDON_READY_SIGNAL_H_

#include <node_api.h>

#include <memory>

namespace wasikv::adapter::node {

// Notify() may be called from any thread while the signal exists; Create
// and the destructor run on the JS thread of `env`. Signals coalesce: while
// one call of the callback is pending, further Notify() calls add nothing
// (the callback is expected to take everything that is ready).
//
// Unless `keep_alive`, a pending or possible signal does not keep Node's
// event loop alive. The destructor releases the threadsafe function at once
// (a pending call is dropped, never run): stop every notifying thread first.
class ReadySignal {
 public:
  // nullptr, with a JS exception pending, if N-API refuses.
  static std::unique_ptr<ReadySignal> Create(napi_env env, napi_value callback, bool keep_alive);
  ~ReadySignal();
  ReadySignal(const ReadySignal&) = delete;
  ReadySignal& operator=(const ReadySignal&) = delete;

  void Notify();

 private:
  struct Shared;
  static void CallJs(napi_env env, napi_value callback, void* context, void* data);
  ReadySignal(napi_threadsafe_function function, Shared* shared)
      : function_(function), shared_(shared) {}

  napi_threadsafe_function function_;
  // Owned by the threadsafe function (freed when it is finalized, which may
  // be after this object is gone).
  Shared* shared_;
};

}  // namespace wasikv::adapter::node

#endif  // WASIKV_ADAPTER_NODE_ADDON_READY_SIGNAL_H_
