// Test guest for wasi:keyvalue@0.2.0-draft2 (upstream main; what Spin 3 ships): string cursors,
// an s64 increment and the cas resource. get-many has the upstream shape (list<option<tuple<
// string, list<u8>>>>), not Spin's variant. Built twice: classic and cm32p2 mangling.
#define WASIKV_KV_VERSION "0.2.0-draft2"
#include "guest_abi.h"

WASIKV_DEFINE_REALLOC(GuestAlignedRealloc)

// list-keys(cursor: option<string>) -> result<key-response, error>: keys @4/@8, cursor tag @12,
// string @16/@20; error @4.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("store"), "[method]bucket.list-keys")
void import_bucket_list_keys(uint32_t bucket, int32_t has_cursor, const char* cursor,
                             size_t cursor_len, uint8_t* ret);

// increment(bucket, key, delta: s64) -> result<s64, error>; return area align 8: value @8;
// error @8.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("atomics"), "increment")
void import_atomics_increment(uint32_t bucket, const char* key, size_t key_len, int64_t delta,
                              uint8_t* ret);

// [static]cas.new(bucket, key) -> result<cas, error>: handle @4; error @4.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("atomics"), "[static]cas.new")
void import_cas_new(uint32_t bucket, const char* key, size_t key_len, uint8_t* ret);

// [method]cas.current() -> result<option<list<u8>>, error>: as get.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("atomics"), "[method]cas.current")
void import_cas_current(uint32_t cas, uint8_t* ret);

// swap(cas: own<cas>, value) -> result<_, cas-error>: cas-error tag @4; store-error's error @8
// (tag @8, message @12/@16); cas-failed's new cas handle @8.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("atomics"), "swap")
void import_atomics_swap(uint32_t cas, const char* value, size_t value_len, uint8_t* ret);

WASIKV_IMPORT(WASIKV_KV_INTERFACE("atomics"), WASIKV_DROP_NAME("cas"))
void import_cas_drop(uint32_t cas);

// One page of list-keys; `keys` and `cursor` belong to the caller (FreeKeyPage).
typedef struct {
  HostStr* keys;
  size_t count;
  bool has_cursor;
  HostStr cursor;
} KeyPage;

static void FreeKeyPage(KeyPage* page) {
  FreeStrList(page->keys, page->count);
  if (page->has_cursor) {
    GuestFree(page->cursor.ptr, page->cursor.len);
  }
}

// `cursor` NULL is none.
static KvStatus ListKeys(uint32_t bucket, const HostStr* cursor, KeyPage* page) {
  _Alignas(8) uint8_t ret[24];
  if (cursor == NULL) {
    import_bucket_list_keys(bucket, 0, NULL, 0, ret);
  } else {
    import_bucket_list_keys(bucket, 1, cursor->ptr, cursor->len, ret);
  }
  KvStatus status = LoadKvStatus(ret, 4);
  if (!status.failed) {
    page->keys = LoadPtr(ret, 4);
    page->count = LoadU32(ret, 8);
    page->has_cursor = LoadFlag(ret, 12);
    page->cursor =
        page->has_cursor ? (HostStr){LoadPtr(ret, 16), LoadU32(ret, 20)} : (HostStr){NULL, 0};
  }
  return status;
}

static KvStatus Increment(uint32_t bucket, const char* key, int64_t delta, int64_t* value) {
  _Alignas(8) uint8_t ret[24];
  import_atomics_increment(bucket, key, strlen(key), delta, ret);
  KvStatus status = LoadKvStatus(ret, 8);
  if (!status.failed) {
    *value = (int64_t)LoadU64(ret, 8);
  }
  return status;
}

static KvStatus CasNew(uint32_t bucket, const char* key, uint32_t* cas) {
  _Alignas(8) uint8_t ret[16];
  import_cas_new(bucket, key, strlen(key), ret);
  KvStatus status = LoadKvStatus(ret, 4);
  if (!status.failed) {
    *cas = LoadU32(ret, 4);
  }
  return status;
}

static KvStatus CasCurrent(uint32_t cas, KvValue* value) {
  _Alignas(8) uint8_t ret[16];
  import_cas_current(cas, ret);
  KvStatus status = LoadKvStatus(ret, 4);
  if (!status.failed) {
    *value = LoadKvValue(ret, 4);
  }
  return status;
}

typedef enum { kSwapOk, kSwapStoreError, kSwapCasFailed } SwapOutcome;

// A lifted result<_, cas-error>.
typedef struct {
  SwapOutcome outcome;
  KvStatus store_error;  // kSwapStoreError
  uint32_t new_cas;      // kSwapCasFailed: a fresh cas the guest owns
} SwapResult;

// Consumes `cas`.
static SwapResult Swap(uint32_t cas, const char* value) {
  _Alignas(8) uint8_t ret[20];
  import_atomics_swap(cas, value, strlen(value), ret);
  SwapResult result = {kSwapOk, {false, 0, NULL, 0}, 0};
  if (!LoadFlag(ret, 0)) {
    return result;
  }
  if (LoadFlag(ret, 4)) {
    result.outcome = kSwapCasFailed;
    result.new_cas = LoadU32(ret, 8);
  } else {
    // The error variant sits where a result<_, error> would keep it, shifted by the cas-error
    // tag: read it as a status whose discriminant is the swap's own (err).
    result.outcome = kSwapStoreError;
    result.store_error = LoadKvStatus(ret, 8);
  }
  return result;
}

// Consumes `result`: true when the swap succeeded. A cas-failed handle is dropped.
static bool SwapSucceeded(SwapResult result) {
  if (result.outcome == kSwapCasFailed) {
    import_cas_drop(result.new_cas);
  }
  GuestFree(result.store_error.message, result.store_error.message_len);
  return result.outcome == kSwapOk;
}

// Spin's draft2 conformance component; the test makes "default" a fresh bucket.
WASIKV_EXPORT("check_spin") int32_t check_spin(void) {
  uint32_t bucket = 0;
  CHECK(IsError(Open("forbidden", &bucket), kKvAccessDenied, NULL));
  CHECK(IsOk(Open("default", &bucket)));

  // Deleting a missing key succeeds, twice.
  CHECK(IsOk(Delete(bucket, "bar")));
  CHECK(IsOk(Delete(bucket, "bar")));
  bool exists = true;
  CHECK(IsOk(Exists(bucket, "bar", &exists)));
  CHECK(!exists);
  KvValue value;
  CHECK(IsOk(Get(bucket, "bar", &value)));
  CHECK(ValueIsNone(value));
  KeyPage page;
  CHECK(IsOk(ListKeys(bucket, NULL, &page)));
  CHECK(page.count == 0);
  CHECK(!page.has_cursor);
  FreeKeyPage(&page);

  CHECK(IsOk(Set(bucket, "bar", "alpha")));
  CHECK(IsOk(Set(bucket, "bar", "beta")));
  CHECK(IsOk(Get(bucket, "bar", &value)));
  CHECK(ValueIs(value, "beta"));
  CHECK(IsOk(ListKeys(bucket, NULL, &page)));
  static const char* const kBar[] = {"bar"};
  CHECK(KeysAre(page.keys, page.count, kBar, ARRAY_LEN(kBar)));
  CHECK(!page.has_cursor);
  FreeKeyPage(&page);

  int64_t counter = 0;
  CHECK(IsOk(Increment(bucket, "counter", 10, &counter)));
  CHECK(counter == 10);
  CHECK(IsOk(Increment(bucket, "counter", 5, &counter)));
  CHECK(counter == 15);
  CHECK(IsOk(Get(bucket, "counter", &value)));
  CHECK(ValueIs(value, "15"));

  uint32_t cas = 0;
  CHECK(IsOk(CasNew(bucket, "bar", &cas)));
  CHECK(IsOk(CasCurrent(cas, &value)));
  CHECK(ValueIs(value, "beta"));
  CHECK(SwapSucceeded(Swap(cas, "gamma")));
  CHECK(IsOk(Get(bucket, "bar", &value)));
  CHECK(ValueIs(value, "gamma"));

  // A write between current() and swap makes the swap fail with a fresh cas that sees the write.
  CHECK(IsOk(CasNew(bucket, "bar", &cas)));
  CHECK(IsOk(CasCurrent(cas, &value)));
  CHECK(ValueIs(value, "gamma"));
  CHECK(IsOk(Set(bucket, "bar", "delta")));
  SwapResult raced = Swap(cas, "epsilon");
  CHECK(raced.outcome == kSwapCasFailed);
  cas = raced.new_cas;
  CHECK(IsOk(CasCurrent(cas, &value)));
  CHECK(ValueIs(value, "delta"));
  CHECK(SwapSucceeded(Swap(cas, "zeta")));
  CHECK(IsOk(Get(bucket, "bar", &value)));
  CHECK(ValueIs(value, "zeta"));

  static const char* const kLookup[] = {"bar", "nope"};
  GetManyEntry* entries = NULL;
  size_t count = 0;
  CHECK(IsOk(GetMany(bucket, kLookup, ARRAY_LEN(kLookup), &entries, &count)));
  CHECK(count == 2);
  CHECK(EntryIs(&entries[0], "bar", "zeta"));
  CHECK(EntryIsNone(&entries[1]));
  FreeGetMany(entries, count);

  static const char* const kBatchKeys[] = {"sm1", "sm2"};
  static const char* const kBatchValues[] = {"one", "two"};
  CHECK(IsOk(SetMany(bucket, kBatchKeys, kBatchValues, ARRAY_LEN(kBatchKeys))));
  CHECK(IsOk(GetMany(bucket, kBatchKeys, ARRAY_LEN(kBatchKeys), &entries, &count)));
  CHECK(count == 2);
  CHECK(EntryIs(&entries[0], "sm1", "one"));
  CHECK(EntryIs(&entries[1], "sm2", "two"));
  FreeGetMany(entries, count);
  CHECK(IsOk(DeleteMany(bucket, kBatchKeys, ARRAY_LEN(kBatchKeys))));
  CHECK(IsOk(GetMany(bucket, kBatchKeys, ARRAY_LEN(kBatchKeys), &entries, &count)));
  CHECK(count == 2);
  CHECK(EntryIsNone(&entries[0]));
  CHECK(EntryIsNone(&entries[1]));
  FreeGetMany(entries, count);

  DropBucket(bucket);
  return 0;
}

// 25 keys through list-keys pages of 10 (the test host's page size): every key exactly once, in
// order, over more than one page, following string cursors.
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
  HostStr cursor = {NULL, 0};
  do {
    CHECK(++pages <= kMaxPages);
    KeyPage page;
    CHECK(IsOk(ListKeys(bucket, has_cursor ? &cursor : NULL, &page)));
    for (size_t i = 0; i < page.count; ++i, ++seen) {
      CHECK(seen < kKeyCount);
      key[1] = (char)('0' + seen / 10);
      key[2] = (char)('0' + seen % 10);
      CHECK(BytesEqual(page.keys[i].ptr, page.keys[i].len, key));
    }
    FreeStrList(page.keys, page.count);
    if (has_cursor) {
      GuestFree(cursor.ptr, cursor.len);
    }
    has_cursor = page.has_cursor;
    cursor = page.cursor;
  } while (has_cursor);
  CHECK(seen == kKeyCount);
  CHECK(pages > 1);

  DropBucket(bucket);
  return 0;
}

// As the draft guest's check_oversize, plus cas.current of the oversize value.
WASIKV_EXPORT("check_oversize") int32_t check_oversize(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  KvValue value;
  CHECK(IsError(Get(bucket, "big", &value), kKvOther, "limit"));
  static const char* const kBig[] = {"big"};
  GetManyEntry* entries = NULL;
  size_t count = 0;
  CHECK(IsError(GetMany(bucket, kBig, ARRAY_LEN(kBig), &entries, &count), kKvOther, "limit"));
  uint32_t cas = 0;
  CHECK(IsOk(CasNew(bucket, "big", &cas)));
  CHECK(IsError(CasCurrent(cas, &value), kKvOther, "limit"));
  import_cas_drop(cas);
  DropBucket(bucket);
  return 0;
}

WASIKV_EXPORT("check_cas_missing") int32_t check_cas_missing(void) {
  uint32_t bucket = 0;
  CHECK(IsOk(Open("", &bucket)));
  uint32_t cas = 0;
  CHECK(IsOk(CasNew(bucket, "fresh-key", &cas)));
  KvValue value;
  CHECK(IsOk(CasCurrent(cas, &value)));
  CHECK(ValueIsNone(value));
  CHECK(SwapSucceeded(Swap(cas, "1")));
  CHECK(IsOk(Get(bucket, "fresh-key", &value)));
  CHECK(ValueIs(value, "1"));

  // A cas given up without swapping goes through the resource drop.
  CHECK(IsOk(CasNew(bucket, "fresh-key", &cas)));
  CHECK(IsOk(CasCurrent(cas, &value)));
  CHECK(ValueIs(value, "1"));
  import_cas_drop(cas);

  DropBucket(bucket);
  return 0;
}

// The component-model names of the checks (kebab-case, ../wit/guests.wit world draft2-guest).
// wabt and wasm2c call the names above; one C function cannot carry two export names.
WASIKV_EXPORT("check-spin") int32_t check_spin_component(void) { return check_spin(); }
WASIKV_EXPORT("check-paging") int32_t check_paging_component(void) { return check_paging(); }
WASIKV_EXPORT("check-oversize") int32_t check_oversize_component(void) { return check_oversize(); }
WASIKV_EXPORT("check-cas-missing") int32_t check_cas_missing_component(void) {
  return check_cas_missing();
}
