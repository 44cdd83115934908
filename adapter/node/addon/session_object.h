// The addon's JS class `Session`: one guest instance's wasi:keyvalue state
// (wasikv::adapter::Session, its bucket and cas handle tables) and one
// method per Session function.
//
//   const session = new Session(host);
//   open(identifier: string): number                       bucket handle
//   dropBucket(bucket: number): void
//   get(bucket, key: string): Uint8Array | undefined
//   set(bucket, key: string, value: Uint8Array): void
//   delete(bucket, key: string): boolean                   whether it existed
//   exists(bucket, key: string): boolean
//   listKeys(bucket, cursor?: string): { keys: string[], cursor?: string }        draft2
//   listKeysFrom(bucket, cursor?: bigint): { keys: string[], cursor?: bigint }    draft
//   increment(bucket, key, delta: bigint): bigint          s64, draft2
//   incrementUnsigned(bucket, key, delta: bigint): bigint  u64, draft
//   newCas(bucket, key): number                            cas handle
//   casCurrent(cas): Uint8Array | undefined
//   swap(cas, value: Uint8Array): number | undefined       consumes cas; undefined
//                                                          when swapped, else a fresh cas
//   dropCas(cas): void
//   getMany(bucket, keys: string[]): (Uint8Array | undefined)[]
//   setMany(bucket, entries: [string, Uint8Array][]): void
//   deleteMany(bucket, keys: string[]): void
//   openHandles(): number                                  buckets and cas held
//   close(): void                                          releases every handle
//                                                          and stops watching
//
// Watch delivery (what lib/watch_delivery.mjs builds on):
//   watch(options, onReady: () => void): void
//       options: { buckets?: string[], watchOpenedBuckets?: boolean (true),
//                  maxQueuedEvents?: number (10000), keepAlive?: boolean (false) }
//       Starts a WatchFeed (wasikv/adapter/watch_feed.h) on this session:
//       every bucket it opens from now on is watched from the revision its
//       open saw, and `buckets` from now. onReady runs on this JS thread, on
//       a later turn of the event loop, when the feed has events (or has
//       failed). Signals coalesce, so onReady must make someone take events
//       until takeEvents returns fewer than asked. The signal keeps Node
//       alive only with keepAlive. Throws ERR_WASIKV_WATCHING if watching.
//   takeEvents(max?: number): { bucket: string, type: 'set' | 'delete',
//                              key: string, value?: Uint8Array,
//                              revision: bigint }[]
//       Up to max (default 100) events, oldest first, without waiting; []
//       when none is ready. Throws the error that ended the feed (for
//       example OUT_OF_RANGE: the history it needed was trimmed) once the
//       events before it are taken, or RESOURCE_EXHAUSTED for an event whose
//       key and value are over maxCallAllocationBytes (the core binding's
//       limit on what it lowers into the guest); after that, every call
//       throws the same error. ERR_WASIKV_NOT_WATCHING without watch().
//   openResolved(bucket: string): number                   a new handle to a
//       bucket by its resolved name, for the bucket an event happened in
//       (no server call, no policy check: the feed only watches buckets the
//       session could open or the host configured)
//   unwatch(): void                                        stops the feed (its
//       queued events are dropped) and releases onReady; a no-op if not
//       watching. A watching Session is not collected until unwatch() or
//       close(): the signal holds onReady.
//
// Handles are numbers, values Uint8Arrays (fresh copies), u64/s64 BigInts.
// A failed call throws what ThrowStatus (key_value_error.h) throws: an
// Error with a jco `payload` for the guest's error variant, or a plain
// Error (code ERR_WASIKV_TRAP) for a trap such as an unknown handle.
// Mistyped arguments throw TypeError or RangeError. Every call blocks the
// JS thread on one server call (jco's host imports are synchronous), with
// the Host's deadline.
//
// Results are held to the Host's maxCallAllocationBytes, as the core-wasm
// binding holds what it lowers into the guest: jco lowers them itself, so
// this is the last place the limit can be applied.
//
// After close() every method but the drops (no-ops then) and openHandles
// throws an Error with code ERR_WASIKV_CLOSED. Used on one JS thread.
#ifndef WASIKV_ADAPTER_NODE_ADDON_SESSION_OBJECT_H_
#define WASIKV_ADAPTER_NODE_ADDON_SESSION_OBJECT_H_

#include <node_api.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "ready_signal.h"
#include "wasikv/adapter/session.h"
#include "wasikv/adapter/watch_feed.h"

namespace wasikv::adapter::node {

class SessionObject {
 public:
  // Adds the class to `exports` as `Session`.
  static bool Define(napi_env env, napi_value exports);

  explicit SessionObject(std::unique_ptr<Session> session)
      : owned_(std::move(session)), session_(owned_.get()) {}
  // Serves `borrowed`, which must outlive this object or its Release(): the
  // Session of a CoreModuleGuest (core_guest_object.h), whose JS object
  // carries the methods of SharedMethods().
  explicit SessionObject(Session* borrowed) : session_(borrowed) {}
  ~SessionObject();
  SessionObject(const SessionObject&) = delete;
  SessionObject& operator=(const SessionObject&) = delete;

  // Null once closed.
  Session* session() const { return session_; }

  // What close() does: stops watching, then lets go of the session
  // (destroying it if owned). Later calls throw ERR_WASIKV_CLOSED.
  void Release();

  // The methods a CoreModuleGuest shares with Session, as property
  // descriptors: watch, takeEvents, openResolved, unwatch, openHandles.
  // They find their SessionObject through CoreGuestObject::SessionOf.
  static std::vector<napi_property_descriptor> SharedMethods();

 private:
  static napi_value New(napi_env env, napi_callback_info info);
  static napi_value Open(napi_env env, napi_callback_info info);
  static napi_value DropBucket(napi_env env, napi_callback_info info);
  static napi_value Get(napi_env env, napi_callback_info info);
  static napi_value Set(napi_env env, napi_callback_info info);
  static napi_value Delete(napi_env env, napi_callback_info info);
  static napi_value Exists(napi_env env, napi_callback_info info);
  static napi_value ListKeys(napi_env env, napi_callback_info info);
  static napi_value ListKeysFrom(napi_env env, napi_callback_info info);
  static napi_value Increment(napi_env env, napi_callback_info info);
  static napi_value IncrementUnsigned(napi_env env, napi_callback_info info);
  static napi_value NewCas(napi_env env, napi_callback_info info);
  static napi_value CasCurrent(napi_env env, napi_callback_info info);
  static napi_value Swap(napi_env env, napi_callback_info info);
  static napi_value DropCas(napi_env env, napi_callback_info info);
  static napi_value GetMany(napi_env env, napi_callback_info info);
  static napi_value SetMany(napi_env env, napi_callback_info info);
  static napi_value DeleteMany(napi_env env, napi_callback_info info);
  static napi_value OpenHandles(napi_env env, napi_callback_info info);
  static napi_value Close(napi_env env, napi_callback_info info);
  static napi_value Watch(napi_env env, napi_callback_info info);
  static napi_value TakeEvents(napi_env env, napi_callback_info info);
  static napi_value OpenResolved(napi_env env, napi_callback_info info);
  static napi_value Unwatch(napi_env env, napi_callback_info info);

  // Stops the feed (its subscription threads end), then releases the
  // signal they called, then the cleanup hook unless `from_hook`.
  void StopWatching(bool from_hook = false);
  static void OnEnvCleanup(void* self);

  std::unique_ptr<Session> owned_;  // null when borrowed
  Session* session_;                // null once released
  // Watching: the signal outlives the feed that calls it, and both stop
  // before the session goes (StopWatching). The env cleanup hook stops them
  // if Node tears the environment down first (a threadsafe function dies
  // then, and the feed's threads must not call it after).
  std::unique_ptr<ReadySignal> ready_;
  std::unique_ptr<WatchFeed> feed_;
  absl::Status watch_error_;     // sticky once takeEvents has thrown an oversize event
  napi_env hook_env_ = nullptr;  // set while the cleanup hook is registered
};

}  // namespace wasikv::adapter::node

#endif  // WASIKV_ADAPTER_NODE_ADDON_SESSION_OBJECT_H_
