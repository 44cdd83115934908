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

#include "wasikv/adapter/session.h"

namespace wasikv::adapter::node {

class SessionObject {
 public:
  // Adds the class to `exports` as `Session`.
  static bool Define(napi_env env, napi_value exports);

  explicit SessionObject(std::unique_ptr<Session> session) : session_(std::move(session)) {}
  SessionObject(const SessionObject&) = delete;
  SessionObject& operator=(const SessionObject&) = delete;

  // Null once closed.
  Session* session() const { return session_.get(); }

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

  std::unique_ptr<Session> session_;
};

}  // namespace wasikv::adapter::node

#endif  // WASIKV_ADAPTER_NODE_ADDON_SESSION_OBJECT_H_
