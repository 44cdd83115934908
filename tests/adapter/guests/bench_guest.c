// Benchmark guest for wasi:keyvalue@0.2.0-draft: loops of one call, so the
// host can time what a guest pays per call on each runtime
// (tests/adapter/adapter_bench.cc). Each returns 0, or the line that failed.
#define WASIKV_KV_VERSION "0.2.0-draft"
#include "guest_abi.h"

WASIKV_DEFINE_REALLOC(GuestAlignedRealloc)

// n gets of "bench-key", which the host has set.
WASIKV_EXPORT("get_loop") int32_t get_loop(int32_t n) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  for (int32_t i = 0; i < n; ++i) {
    KvValue value;
    CHECK(IsOk(Get(bucket, "bench-key", &value)));
    CHECK(value.present);
    GuestFree(value.ptr, value.len);
  }
  DropBucket(bucket);
  return 0;
}

// n sets of "bench-key" to a 100-byte value.
WASIKV_EXPORT("set_loop") int32_t set_loop(int32_t n) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  char* value = RepeatChar('v', 100);
  for (int32_t i = 0; i < n; ++i) CHECK(IsOk(Set(bucket, "bench-key", value)));
  free(value);
  DropBucket(bucket);
  return 0;
}

// n opens and drops: the adapter's cost with one cheap RPC (OpenBucket).
WASIKV_EXPORT("open_loop") int32_t open_loop(int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    uint32_t bucket = 0;
    CHECK(IsOk(Open("", &bucket)));
    DropBucket(bucket);
  }
  return 0;
}

// The same loops under their WIT names, for the component build
// (tests/adapter/wit/guests.wit, world bench-guest).
WASIKV_EXPORT("get-loop") int32_t get_loop_wit(int32_t n) { return get_loop(n); }
WASIKV_EXPORT("set-loop") int32_t set_loop_wit(int32_t n) { return set_loop(n); }
WASIKV_EXPORT("open-loop") int32_t open_loop_wit(int32_t n) { return open_loop(n); }
