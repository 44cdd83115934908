// Hostile guest for wasi:keyvalue@0.2.0-draft: each export commits one act a well-behaved binding
// never would. The host must trap the act (or, for many_handles, refuse with an error) and keep
// serving other instances. A trapping export that returns instead yields the __LINE__ after the
// act; setup failures return the line of the failed CHECK. Built twice: classic and cm32p2.
#define WASIKV_KV_VERSION "0.2.0-draft"
#include "guest_abi.h"

// What cabi_realloc hands the host (set_realloc_mode).
enum {
  kReallocNormal = 0,
  kReallocOutOfBounds = 1,  // 0xFFFFFF00, past any memory this guest has
  kReallocEdge = 2,         // allocations of 8+ bytes start 4 bytes before the end of memory
  kReallocMisaligned = 3,   // allocations with align > 1 are one byte off
};

static int32_t g_realloc_mode = kReallocNormal;

static void* HostileRealloc(void* old_ptr, size_t old_size, size_t align, size_t new_size) {
  switch (g_realloc_mode) {
    case kReallocOutOfBounds:
      return (void*)(uintptr_t)0xFFFFFF00u;
    case kReallocEdge:
      if (new_size >= 8) {
        return (void*)(MemoryBytes() - 4);
      }
      break;
    case kReallocMisaligned:
      if (align > 1) {
        return (uint8_t*)GuestAlignedRealloc(old_ptr, old_size, align, new_size + 1) + 1;
      }
      break;
    default:
      break;
  }
  return GuestAlignedRealloc(old_ptr, old_size, align, new_size);
}

WASIKV_DEFINE_REALLOC(HostileRealloc)

WASIKV_EXPORT("set_realloc_mode") void set_realloc_mode(int32_t mode) { g_realloc_mode = mode; }

// The control: a well-behaved round trip.
WASIKV_EXPORT("healthy") int32_t healthy(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  CHECK(IsOk(Set(bucket, "canary", "alive")));
  KvValue value;
  CHECK(IsOk(Get(bucket, "canary", &value)));
  CHECK(ValueIs(value, "alive"));
  DropBucket(bucket);
  return 0;
}

// A key that starts in memory and runs 98 bytes past its end.
WASIKV_EXPORT("oob_key_ptr") int32_t oob_key_ptr(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  _Alignas(8) uint8_t ret[16];
  import_bucket_get(bucket, (const char*)(MemoryBytes() - 2), 100, ret);
  return __LINE__;
}

// ptr + len wraps around 2^32.
WASIKV_EXPORT("overflow_len") int32_t overflow_len(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  _Alignas(8) uint8_t ret[16];
  import_bucket_get(bucket, (const char*)(uintptr_t)16, 0xFFFFFFFFu, ret);
  return __LINE__;
}

WASIKV_EXPORT("oob_ret_ptr") int32_t oob_ret_ptr(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  import_bucket_get(bucket, "x", 1, (uint8_t*)(uintptr_t)0xFFFFFFF0u);
  return __LINE__;
}

// get's return area needs 4-byte alignment.
WASIKV_EXPORT("misaligned_ret") int32_t misaligned_ret(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  _Alignas(8) uint8_t ret[24];
  import_bucket_get(bucket, "x", 1, ret + 1);
  return __LINE__;
}

// The host must allocate the value of "x" through a realloc that answers out of bounds.
WASIKV_EXPORT("bad_realloc") int32_t bad_realloc(void) {
  g_realloc_mode = kReallocNormal;
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  CHECK(IsOk(Set(bucket, "x", "y")));
  g_realloc_mode = kReallocOutOfBounds;
  KvValue value;
  KvStatus status = Get(bucket, "x", &value);
  (void)status;
  return __LINE__;
}

// Stores two keys with an honest realloc, then get-many's them through `mode`.
static int32_t GetManyThroughRealloc(int32_t mode) {
  g_realloc_mode = kReallocNormal;
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  static const char* const kKeys[] = {"m1", "m2"};
  static const char* const kValues[] = {"v1", "v2"};
  CHECK(IsOk(SetMany(bucket, kKeys, kValues, ARRAY_LEN(kKeys))));
  GuestStr list[] = {Str(kKeys[0]), Str(kKeys[1])};
  g_realloc_mode = mode;
  _Alignas(8) uint8_t ret[16];
  import_batch_get_many(bucket, list, ARRAY_LEN(list), ret);
  return __LINE__;
}

WASIKV_EXPORT("bad_realloc_oob") int32_t bad_realloc_oob(void) {
  return GetManyThroughRealloc(kReallocOutOfBounds);
}

WASIKV_EXPORT("bad_realloc_edge") int32_t bad_realloc_edge(void) {
  return GetManyThroughRealloc(kReallocEdge);
}

WASIKV_EXPORT("bad_realloc_misaligned") int32_t bad_realloc_misaligned(void) {
  return GetManyThroughRealloc(kReallocMisaligned);
}

WASIKV_EXPORT("double_drop") int32_t double_drop(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  DropBucket(bucket);
  DropBucket(bucket);
  return __LINE__;
}

WASIKV_EXPORT("use_after_drop") int32_t use_after_drop(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  DropBucket(bucket);
  _Alignas(8) uint8_t ret[16];
  import_bucket_get(bucket, "x", 1, ret);
  return __LINE__;
}

// A handle the host never gave out.
WASIKV_EXPORT("forged_handle") int32_t forged_handle(void) {
  _Alignas(8) uint8_t ret[16];
  import_bucket_get(0x7FFFFFFFu, "x", 1, ret);
  return __LINE__;
}

// Opens buckets until the host refuses. Returns how many opens succeeded; -1 if all 100000 did,
// -3 if the refusal was not an `other` error mentioning "limit", -2 if no bucket can be opened
// once they are all dropped again.
WASIKV_EXPORT("many_handles") int32_t many_handles(void) {
  enum { kMaxOpens = 100000 };
  uint32_t* buckets = malloc(sizeof(uint32_t) * kMaxOpens);
  int32_t opened = 0;
  bool refused = false;
  bool refused_for_limit = false;
  while (opened < kMaxOpens) {
    KvStatus status = Open("", &buckets[opened]);
    if (status.failed) {
      refused = true;
      refused_for_limit = IsError(status, kKvOther, "limit");
      break;
    }
    ++opened;
  }
  for (int32_t i = 0; i < opened; ++i) {
    DropBucket(buckets[i]);
  }
  free(buckets);
  if (!refused) {
    return -1;
  }
  if (!refused_for_limit) {
    return -3;
  }
  uint32_t bucket = 0;
  if (!IsOk(Open("", &bucket))) {
    return -2;
  }
  DropBucket(bucket);
  return opened;
}

WASIKV_EXPORT("invalid_utf8_key") int32_t invalid_utf8_key(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  static const char kKey[] = {(char)0xFF, (char)0xFE};
  _Alignas(8) uint8_t ret[16];
  import_bucket_get(bucket, kKey, sizeof(kKey), ret);
  return __LINE__;
}

// 2^29 list<string> elements of 8 bytes: 4 GiB starting at 16.
WASIKV_EXPORT("huge_list") int32_t huge_list(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  _Alignas(8) uint8_t ret[16];
  import_batch_get_many(bucket, (const GuestStr*)(uintptr_t)16, 0x20000000u, ret);
  return __LINE__;
}

// A valid one-element list whose string lies out of bounds.
WASIKV_EXPORT("list_elem_oob") int32_t list_elem_oob(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  GuestStr list[] = {{(const char*)(uintptr_t)0xFFFFFF00u, 4}};
  _Alignas(8) uint8_t ret[16];
  import_batch_get_many(bucket, list, ARRAY_LEN(list), ret);
  return __LINE__;
}
