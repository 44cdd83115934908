// Test guest for wasi:keyvalue@0.2.0-draft (the revision wasmtime ships): u64 cursors and a u64
// increment. Each check_* export replays one scenario against the adapter.
#define WASIKV_KV_VERSION "0.2.0-draft"
#include "guest_abi.h"

WASIKV_DEFINE_REALLOC(GuestAlignedRealloc)

// list-keys(cursor: option<u64>) -> result<key-response, error>; return area align 8: keys
// @8/@12, cursor tag @16, u64 @24; error @8.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("store"), "[method]bucket.list-keys")
void import_bucket_list_keys(uint32_t bucket, int32_t has_cursor, uint64_t cursor, uint8_t* ret);

// increment(bucket, key, delta: u64) -> result<u64, error>; return area align 8: value @8;
// error @8.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("atomics"), "increment")
void import_atomics_increment(uint32_t bucket, const char* key, size_t key_len, uint64_t delta,
                              uint8_t* ret);

// One page of list-keys; `keys` belongs to the caller (FreeStrList).
typedef struct {
  HostStr* keys;
  size_t count;
  bool has_cursor;
  uint64_t cursor;
} KeyPage;

static KvStatus ListKeys(uint32_t bucket, bool has_cursor, uint64_t cursor, KeyPage* page) {
  _Alignas(8) uint8_t ret[32];
  import_bucket_list_keys(bucket, has_cursor, has_cursor ? cursor : 0, ret);
  KvStatus status = LoadKvStatus(ret, 8);
  if (!status.failed) {
    page->keys = LoadPtr(ret, 8);
    page->count = LoadU32(ret, 12);
    page->has_cursor = LoadFlag(ret, 16);
    page->cursor = LoadU64(ret, 24);
  }
  return status;
}

static KvStatus Increment(uint32_t bucket, const char* key, uint64_t delta, uint64_t* value) {
  _Alignas(8) uint8_t ret[24];
  import_atomics_increment(bucket, key, strlen(key), delta, ret);
  KvStatus status = LoadKvStatus(ret, 8);
  if (!status.failed) {
    *value = LoadU64(ret, 8);
  }
  return status;
}

// wasmtime's keyvalue test program; the host presets "atomics_key" = "5" in the default bucket.
WASIKV_EXPORT("check_wasmtime") int32_t check_wasmtime(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));

  uint64_t counter = 0;
  CHECK(IsOk(Increment(bucket, "atomics_key", 1, &counter)));
  CHECK(counter == 6);

  KeyPage page;
  CHECK(IsOk(ListKeys(bucket, false, 0, &page)));
  static const char* const kStoredKeys[] = {"atomics_key"};
  CHECK(KeysAre(page.keys, page.count, kStoredKeys, ARRAY_LEN(kStoredKeys)));
  CHECK(!page.has_cursor);
  FreeStrList(page.keys, page.count);

  CHECK(IsOk(Set(bucket, "hello", "world")));
  KvValue value;
  CHECK(IsOk(Get(bucket, "hello", &value)));
  CHECK(ValueIs(value, "world"));
  bool exists = false;
  CHECK(IsOk(Exists(bucket, "hello", &exists)));
  CHECK(exists);
  CHECK(IsOk(Delete(bucket, "hello")));
  CHECK(IsOk(Exists(bucket, "hello", &exists)));
  CHECK(!exists);

  static const char* const kBatchKeys[] = {"a1", "b1", "c1"};
  static const char* const kBatchValues[] = {"v1", "v1", "v1"};
  CHECK(IsOk(SetMany(bucket, kBatchKeys, kBatchValues, ARRAY_LEN(kBatchKeys))));
  static const char* const kDeletedKeys[] = {"a1", "c1"};
  CHECK(IsOk(DeleteMany(bucket, kDeletedKeys, ARRAY_LEN(kDeletedKeys))));
  GetManyEntry* entries = NULL;
  size_t count = 0;
  CHECK(IsOk(GetMany(bucket, kBatchKeys, ARRAY_LEN(kBatchKeys), &entries, &count)));
  CHECK(count == 3);
  CHECK(EntryIsNone(&entries[0]));
  CHECK(EntryIs(&entries[1], "b1", "v1"));
  CHECK(EntryIsNone(&entries[2]));
  FreeGetMany(entries, count);

  // A cursor past the end: an empty page.
  CHECK(IsOk(ListKeys(bucket, true, 1000, &page)));
  CHECK(page.count == 0);
  FreeStrList(page.keys, page.count);

  // u64::MAX + 1 is an error, not a wrap.
  CHECK(IsOk(Set(bucket, "max", "18446744073709551615")));
  CHECK(!IsOk(Increment(bucket, "max", 1, &counter)));

  DropBucket(bucket);
  return 0;
}

// 25 keys through list-keys pages of 10 (the test host's page size): every key exactly once, in
// order, over more than one page.
WASIKV_EXPORT("check_paging") int32_t check_paging(void) {
  enum { kKeyCount = 25, kMaxPages = 100 };
  uint32_t bucket = 0;
  CHECK(IsOk(Open("paging", &bucket)));
  char key[4] = "k00";
  for (int i = 0; i < kKeyCount; ++i) {
    key[1] = (char)('0' + i / 10);
    key[2] = (char)('0' + i % 10);
    CHECK(IsOk(Set(bucket, key, "v")));
  }

  int seen = 0;
  int pages = 0;
  bool has_cursor = false;
  uint64_t cursor = 0;
  do {
    CHECK(++pages <= kMaxPages);
    KeyPage page;
    CHECK(IsOk(ListKeys(bucket, has_cursor, cursor, &page)));
    for (size_t i = 0; i < page.count; ++i, ++seen) {
      CHECK(seen < kKeyCount);
      key[1] = (char)('0' + seen / 10);
      key[2] = (char)('0' + seen % 10);
      CHECK(BytesEqual(page.keys[i].ptr, page.keys[i].len, key));
    }
    FreeStrList(page.keys, page.count);
    has_cursor = page.has_cursor;
    cursor = page.cursor;
  } while (has_cursor);
  CHECK(seen == kKeyCount);
  CHECK(pages > 1);

  DropBucket(bucket);
  return 0;
}

WASIKV_EXPORT("check_errors") int32_t check_errors(void) {
  uint32_t bucket = 0;
  CHECK(IsError(Open("forbidden", &bucket), kKvAccessDenied, NULL));
  CHECK(IsError(Open("bad name!", &bucket), kKvOther, "bucket"));
  CHECK(IsOk(Open("default2", &bucket)));

  uint64_t counter = 0;
  CHECK(IsError(Increment(bucket, "counter", UINT64_C(0x8000000000000000), &counter), kKvOther,
                NULL));

  // Keys are limited to 4096 bytes.
  char* long_key = RepeatChar('k', 5000);
  KvValue value;
  CHECK(IsError(Get(bucket, long_key, &value), kKvOther, "4096"));
  free(long_key);

  DropBucket(bucket);
  return 0;
}

// The host presets "big" (100 KiB) in the default bucket and caps what one call may allocate in
// the guest at 64 KiB: reading it is an `other` error naming the limit, not a trap.
WASIKV_EXPORT("check_oversize") int32_t check_oversize(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  KvValue value;
  CHECK(IsError(Get(bucket, "big", &value), kKvOther, "limit"));
  static const char* const kBig[] = {"big"};
  GetManyEntry* entries = NULL;
  size_t count = 0;
  CHECK(IsError(GetMany(bucket, kBig, ARRAY_LEN(kBig), &entries, &count), kKvOther, "limit"));
  DropBucket(bucket);
  return 0;
}

// Interop between runtimes: one runtime's instance writes "interop" in the default bucket, an
// instance on another runtime reads it back. Returns 0 or the failing line.
WASIKV_EXPORT("interop_write") int32_t interop_write(int32_t number) {
  // Decimal, written backwards from the end of `text`; unsigned, so INT32_MIN negates too.
  char text[12];
  char* digits = text + sizeof(text) - 1;
  *digits = '\0';
  uint32_t magnitude = number < 0 ? 0u - (uint32_t)number : (uint32_t)number;
  do {
    *--digits = (char)('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  if (number < 0) {
    *--digits = '-';
  }
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  CHECK(IsOk(Set(bucket, "interop", digits)));
  DropBucket(bucket);
  return 0;
}

// The non-negative decimal number "interop" holds in the default bucket; -1 when the read
// fails, the key is missing or its value is not such a number.
WASIKV_EXPORT("interop_read") int32_t interop_read(void) {
  uint32_t bucket = 0;
  if (!IsOk(Open("", &bucket))) {
    return -1;
  }
  KvValue value = {false, NULL, 0};
  bool read = IsOk(Get(bucket, "interop", &value));
  DropBucket(bucket);
  int64_t number = value.present && value.len > 0 && value.len <= 10 ? 0 : -1;
  for (size_t i = 0; number >= 0 && i < value.len; ++i) {
    uint8_t digit = value.ptr[i];
    number = digit >= '0' && digit <= '9' ? number * 10 + (digit - '0') : -1;
  }
  GuestFree(value.ptr, value.len);
  return read && number <= INT32_MAX ? (int32_t)number : -1;
}

// The component-model names of the exports (kebab-case, ../wit/guests.wit world draft-guest).
// wabt and wasm2c call the names above; one C function cannot carry two export names.
WASIKV_EXPORT("check-wasmtime") int32_t check_wasmtime_component(void) { return check_wasmtime(); }
WASIKV_EXPORT("check-paging") int32_t check_paging_component(void) { return check_paging(); }
WASIKV_EXPORT("check-errors") int32_t check_errors_component(void) { return check_errors(); }
WASIKV_EXPORT("check-oversize") int32_t check_oversize_component(void) { return check_oversize(); }
WASIKV_EXPORT("interop-write") int32_t interop_write_component(int32_t number) {
  return interop_write(number);
}
WASIKV_EXPORT("interop-read") int32_t interop_read_component(void) { return interop_read(); }
