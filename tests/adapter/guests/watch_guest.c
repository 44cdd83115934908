// Watch guest for the watch-service world (wasi:keyvalue/watcher, 0.2.0-draft
// or, with -DWASIKV_KV_VERSION='"0.2.0-draft2"', draft2): start() opens bucket
// "watched", which makes the host watch it; the exported on-set / on-delete
// log each event, and check_watch compares the log with what the test wrote.
#ifndef WASIKV_KV_VERSION
#define WASIKV_KV_VERSION "0.2.0-draft"
#endif
#include "guest_abi.h"
#include "watch_log.h"

WASIKV_DEFINE_REALLOC(GuestAlignedRealloc)

#ifdef WASIKV_GUEST_CM32P2
#define WASIKV_WATCHER_EXPORT(fn) \
  WASIKV_EXPORT("cm32p2|wasi:keyvalue/watcher@" WASIKV_KV_VERSION "|" fn)
#else
#define WASIKV_WATCHER_EXPORT(fn) WASIKV_EXPORT("wasi:keyvalue/watcher@" WASIKV_KV_VERSION "#" fn)
#endif

// on-set(bucket: owned bucket, key: string, value: list<u8>): the handler
// owns all three.
WASIKV_WATCHER_EXPORT("on-set")
void OnSet(uint32_t bucket, uint8_t* key, size_t key_len, uint8_t* value, size_t value_len) {
  WatchLogSet(key, key_len, value, value_len);
  GuestFree(key, key_len);
  GuestFree(value, value_len);
  DropBucket(bucket);
}

// on-delete(bucket: owned bucket, key: string)
WASIKV_WATCHER_EXPORT("on-delete") void OnDelete(uint32_t bucket, uint8_t* key, size_t key_len) {
  WatchLogDelete(key, key_len);
  GuestFree(key, key_len);
  DropBucket(bucket);
}

WASIKV_EXPORT("start") int32_t start(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("watched", &bucket)));
  DropBucket(bucket);
  return 0;
}

WASIKV_DEFINE_WATCH_CHECKS()

// The writes check_watch expects, made by this guest through its imports,
// so a guest on another runtime can watch them.
WASIKV_EXPORT("write_sequence") int32_t write_sequence(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("watched", &bucket)));
  CHECK(IsOk(Set(bucket, "w1", "v1")));
  CHECK(IsOk(Set(bucket, "w2", "v2")));
  CHECK(IsOk(Delete(bucket, "w1")));
  CHECK(IsOk(Set(bucket, "w2", "v2b")));
  CHECK(IsOk(Set(bucket, "w3", "v3")));
  CHECK(IsOk(Delete(bucket, "w3")));
  DropBucket(bucket);
  return 0;
}

// The component-model names of the exports (kebab-case, ../wit/guests.wit world watch-guest;
// "start" is the same in both). wabt and wasm2c call the names above; one C function cannot carry
// two export names.
WASIKV_EXPORT("write-sequence") int32_t write_sequence_component(void) { return write_sequence(); }
WASIKV_EXPORT("event-count") int32_t event_count_component(void) { return event_count(); }
WASIKV_EXPORT("check-watch") int32_t check_watch_component(void) { return check_watch(); }
