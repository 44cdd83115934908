// Guest-side view of the wasi:keyvalue canonical ABI, shared by the adapter's test guests.
//
// The guests are core wasm modules written against the ABI directly (no wit-bindgen), so that one
// source builds for both import manglings and can hand the host arguments no generated binding
// would. Build: clang --target=wasm32-wasi -O2 -nostartfiles -Wl,--no-entry; add
// -DWASIKV_GUEST_CM32P2 for the newer mangling (modules prefixed "cm32p2|", drops named
// "<resource>_drop", cm32p2_realloc exported beside cabi_realloc).
//
// A guest of the 0.2.0-draft family defines WASIKV_KV_VERSION ("0.2.0-draft" or "0.2.0-draft2")
// before including this header to get the store and batch imports both revisions share; the
// imports that differ (list-keys, atomics) live in the guest's own source.
//
// Everything is single-threaded wasm32: pointers and size_t are 32 bits, so the argument structs
// below have exactly the layout of the canonical ABI records they stand for (asserted).
//
// Memory the host returns (strings, lists) is allocated through the guest's cabi_realloc and is
// owned by the guest from then on; GuestFree releases it. Check exports return 0 when every
// assertion held, otherwise the __LINE__ of the first failed CHECK (a failed check may leak).
#ifndef WASIKV_TESTS_ADAPTER_GUESTS_GUEST_ABI_H_
#define WASIKV_TESTS_ADAPTER_GUESTS_GUEST_ABI_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)    \
  do {                 \
    if (!(cond)) {     \
      return __LINE__; \
    }                  \
  } while (0)

#define ARRAY_LEN(array) (sizeof(array) / sizeof((array)[0]))

// ---------------------------------------------------------------------------------------------
// Import mangling.

#ifdef WASIKV_GUEST_CM32P2
#define WASIKV_MODULE(module) "cm32p2|" module
#define WASIKV_DROP_NAME(resource) resource "_drop"
#else
#define WASIKV_MODULE(module) module
#define WASIKV_DROP_NAME(resource) "[resource-drop]" resource
#endif

#define WASIKV_IMPORT(module, name) \
  __attribute__((import_module(WASIKV_MODULE(module)), import_name(name)))
#define WASIKV_EXPORT(name) __attribute__((export_name(name)))

// ---------------------------------------------------------------------------------------------
// cabi_realloc.

static inline size_t RoundUp(size_t size, size_t align) {
  return (size + align - 1) & ~(align - 1);
}

// The honest allocator: realloc(old_ptr, old_size, align, new_size) as the canonical ABI defines
// it. A zero-size allocation returns `align` itself (as wit-bindgen does), which is why GuestFree
// never frees an empty list. Traps rather than returning an unusable pointer.
static inline void* GuestAlignedRealloc(void* old_ptr, size_t old_size, size_t align,
                                        size_t new_size) {
  if (align == 0 || (align & (align - 1)) != 0) {
    __builtin_trap();
  }
  bool has_old = old_ptr != NULL && old_size != 0;
  if (new_size == 0) {
    if (has_old) {
      free(old_ptr);
    }
    return (void*)align;
  }
  if (has_old) {
    void* grown = realloc(old_ptr, new_size);
    if (grown == NULL) {
      __builtin_trap();
    }
    if ((uintptr_t)grown % align == 0) {
      return grown;
    }
    old_ptr = grown;
  }
  void* fresh = aligned_alloc(align, RoundUp(new_size, align));
  if (fresh == NULL) {
    __builtin_trap();
  }
  if (has_old) {
    memcpy(fresh, old_ptr, old_size < new_size ? old_size : new_size);
    free(old_ptr);
  }
  return fresh;
}

// Defines the exported cabi_realloc (and, for the cm32p2 mangling, cm32p2_realloc) on top of
// `impl`, which has GuestAlignedRealloc's signature. Expand once per guest.
#ifdef WASIKV_GUEST_CM32P2
#define WASIKV_DEFINE_CM32P2_REALLOC(impl)                                              \
  WASIKV_EXPORT("cm32p2_realloc")                                                       \
  void* cm32p2_realloc(void* old_ptr, size_t old_size, size_t align, size_t new_size) { \
    return impl(old_ptr, old_size, align, new_size);                                    \
  }
#else
#define WASIKV_DEFINE_CM32P2_REALLOC(impl)
#endif

#define WASIKV_DEFINE_REALLOC(impl)                                                   \
  WASIKV_EXPORT("cabi_realloc")                                                       \
  void* cabi_realloc(void* old_ptr, size_t old_size, size_t align, size_t new_size) { \
    return impl(old_ptr, old_size, align, new_size);                                  \
  }                                                                                   \
  WASIKV_DEFINE_CM32P2_REALLOC(impl)

// Frees a host-allocated block of `size` bytes; zero-size blocks were never allocated.
static inline void GuestFree(void* ptr, size_t size) {
  if (size != 0) {
    free(ptr);
  }
}

static inline size_t MemoryBytes(void) { return __builtin_wasm_memory_size(0) * 65536; }

// ---------------------------------------------------------------------------------------------
// Lowering: argument records as the host reads them.

// A string or list<u8> the guest passes (list<string> element: ptr @0, len @4).
typedef struct {
  const char* ptr;
  size_t len;
} GuestStr;

static inline GuestStr Str(const char* text) { return (GuestStr){text, strlen(text)}; }

// A set-many element tuple<string, list<u8>>: key @0/@4, value @8/@12.
typedef struct {
  const char* key;
  size_t key_len;
  const char* value;
  size_t value_len;
} KeyValueArg;

// A string the host allocated; the guest frees `ptr`.
typedef struct {
  char* ptr;
  size_t len;
} HostStr;

_Static_assert(sizeof(GuestStr) == 8, "list<string> element is 8 bytes");
_Static_assert(sizeof(HostStr) == 8, "list<string> element is 8 bytes");
_Static_assert(sizeof(KeyValueArg) == 16, "tuple<string, list<u8>> is 16 bytes");

// Lowers C strings into a malloc'ed list<string>; the caller frees it (not the strings).
static inline GuestStr* LowerStrings(const char* const* texts, size_t count) {
  GuestStr* list = malloc(sizeof(GuestStr) * (count == 0 ? 1 : count));
  for (size_t i = 0; i < count; ++i) {
    list[i] = Str(texts[i]);
  }
  return list;
}

// A malloc'ed NUL-terminated string of `count` copies of `c`.
static inline char* RepeatChar(char c, size_t count) {
  char* text = malloc(count + 1);
  memset(text, c, count);
  text[count] = '\0';
  return text;
}

// ---------------------------------------------------------------------------------------------
// Lifting: reading a return area.

static inline uint8_t LoadU8(const uint8_t* area, size_t offset) { return area[offset]; }

static inline uint32_t LoadU32(const uint8_t* area, size_t offset) {
  uint32_t value;
  memcpy(&value, area + offset, sizeof(value));
  return value;
}

static inline uint64_t LoadU64(const uint8_t* area, size_t offset) {
  uint64_t value;
  memcpy(&value, area + offset, sizeof(value));
  return value;
}

static inline void* LoadPtr(const uint8_t* area, size_t offset) {
  return (void*)(uintptr_t)LoadU32(area, offset);
}

// A bool, option or result discriminant: anything but 0 or 1 is a malformed area, and a host
// that writes one is broken loudly.
static inline bool LoadFlag(const uint8_t* area, size_t offset) {
  uint8_t flag = LoadU8(area, offset);
  if (flag > 1) {
    __builtin_trap();
  }
  return flag == 1;
}

static inline bool BytesEqual(const void* ptr, size_t len, const char* expected) {
  return len == strlen(expected) && (len == 0 || memcmp(ptr, expected, len) == 0);
}

static inline bool BytesContain(const void* ptr, size_t len, const char* needle) {
  size_t needle_len = strlen(needle);
  const char* bytes = ptr;
  for (size_t i = 0; i + needle_len <= len; ++i) {
    if (memcmp(bytes + i, needle, needle_len) == 0) {
      return true;
    }
  }
  return false;
}

static inline void FreeStrList(HostStr* list, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    GuestFree(list[i].ptr, list[i].len);
  }
  GuestFree(list, count * sizeof(HostStr));
}

// True when `list` is exactly `expected`, in order.
static inline bool KeysAre(const HostStr* list, size_t count, const char* const* expected,
                           size_t expected_count) {
  if (count != expected_count) {
    return false;
  }
  for (size_t i = 0; i < count; ++i) {
    if (!BytesEqual(list[i].ptr, list[i].len, expected[i])) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// wasi:keyvalue@0.2.0-draft / -draft2: what both revisions share.

// Tags of the store `error` variant.
enum { kKvNoSuchStore = 0, kKvAccessDenied = 1, kKvOther = 2 };

// A lifted result<_, error>. The message (of `other`) belongs to the guest.
typedef struct {
  bool failed;
  uint8_t tag;
  char* message;
  size_t message_len;
} KvStatus;

// Reads the result discriminant @0 and, on err, the `error` variant at `error_offset`: tag, then
// for `other` the message string @+4/@+8.
static inline KvStatus LoadKvStatus(const uint8_t* ret, size_t error_offset) {
  KvStatus status = {false, 0, NULL, 0};
  if (!LoadFlag(ret, 0)) {
    return status;
  }
  status.failed = true;
  status.tag = LoadU8(ret, error_offset);
  if (status.tag > kKvOther) {
    __builtin_trap();
  }
  if (status.tag == kKvOther) {
    status.message = LoadPtr(ret, error_offset + 4);
    status.message_len = LoadU32(ret, error_offset + 8);
  }
  return status;
}

// Consumes `status` (frees its message): true when it is ok.
static inline bool IsOk(KvStatus status) {
  GuestFree(status.message, status.message_len);
  return !status.failed;
}

// Consumes `status` (frees its message): true when it is an error with `tag` and, unless `needle`
// is NULL, a message containing `needle`.
static inline bool IsError(KvStatus status, uint8_t tag, const char* needle) {
  bool matches = status.failed && status.tag == tag &&
                 (needle == NULL || BytesContain(status.message, status.message_len, needle));
  GuestFree(status.message, status.message_len);
  return matches;
}

// A lifted option<list<u8>>; the bytes belong to the guest.
typedef struct {
  bool present;
  uint8_t* ptr;
  size_t len;
} KvValue;

// Reads option<list<u8>> at `offset`: tag, then the list @+4/@+8.
static inline KvValue LoadKvValue(const uint8_t* area, size_t offset) {
  KvValue value = {false, NULL, 0};
  if (LoadFlag(area, offset)) {
    value.present = true;
    value.ptr = LoadPtr(area, offset + 4);
    value.len = LoadU32(area, offset + 8);
  }
  return value;
}

// Consumes `value`: true when it is some(expected).
static inline bool ValueIs(KvValue value, const char* expected) {
  bool matches = value.present && BytesEqual(value.ptr, value.len, expected);
  GuestFree(value.ptr, value.len);
  return matches;
}

// Consumes `value`: true when it is none.
static inline bool ValueIsNone(KvValue value) {
  GuestFree(value.ptr, value.len);
  return !value.present;
}

// A get-many element option<tuple<string, list<u8>>>: tag @0, key @4/@8, value @12/@16.
typedef struct {
  uint8_t is_some;
  char* key;
  size_t key_len;
  uint8_t* value;
  size_t value_len;
} GetManyEntry;

_Static_assert(sizeof(GetManyEntry) == 20, "get-many element is 20 bytes");
_Static_assert(offsetof(GetManyEntry, key) == 4, "key @4");
_Static_assert(offsetof(GetManyEntry, value) == 12, "value @12");

static inline bool EntryIs(const GetManyEntry* entry, const char* key, const char* value) {
  return entry->is_some == 1 && BytesEqual(entry->key, entry->key_len, key) &&
         BytesEqual(entry->value, entry->value_len, value);
}

static inline bool EntryIsNone(const GetManyEntry* entry) { return entry->is_some == 0; }

static inline void FreeGetMany(GetManyEntry* entries, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (entries[i].is_some) {
      GuestFree(entries[i].key, entries[i].key_len);
      GuestFree(entries[i].value, entries[i].value_len);
    }
  }
  GuestFree(entries, count * sizeof(GetManyEntry));
}

#ifdef WASIKV_KV_VERSION

#define WASIKV_KV_INTERFACE(name) "wasi:keyvalue/" name "@" WASIKV_KV_VERSION

// open(identifier) -> result<bucket, error>: handle @4; error @4.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("store"), "open")
void import_store_open(const char* identifier, size_t identifier_len, uint8_t* ret);

// get(key) -> result<option<list<u8>>, error>: option @4, list @8/@12; error @4.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("store"), "[method]bucket.get")
void import_bucket_get(uint32_t bucket, const char* key, size_t key_len, uint8_t* ret);

// set(key, value) -> result<_, error>: error @4.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("store"), "[method]bucket.set")
void import_bucket_set(uint32_t bucket, const char* key, size_t key_len, const char* value,
                       size_t value_len, uint8_t* ret);

// delete(key) -> result<_, error>: error @4.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("store"), "[method]bucket.delete")
void import_bucket_delete(uint32_t bucket, const char* key, size_t key_len, uint8_t* ret);

// exists(key) -> result<bool, error>: bool @4; error @4.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("store"), "[method]bucket.exists")
void import_bucket_exists(uint32_t bucket, const char* key, size_t key_len, uint8_t* ret);

WASIKV_IMPORT(WASIKV_KV_INTERFACE("store"), WASIKV_DROP_NAME("bucket"))
void import_bucket_drop(uint32_t bucket);

// get-many(bucket, keys) -> result<list<option<tuple<string, list<u8>>>>, error>: list @4/@8
// (GetManyEntry elements); error @4.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("batch"), "get-many")
void import_batch_get_many(uint32_t bucket, const GuestStr* keys, size_t count, uint8_t* ret);

// set-many(bucket, key-values) -> result<_, error>: error @4.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("batch"), "set-many")
void import_batch_set_many(uint32_t bucket, const KeyValueArg* key_values, size_t count,
                           uint8_t* ret);

// delete-many(bucket, keys) -> result<_, error>: error @4.
WASIKV_IMPORT(WASIKV_KV_INTERFACE("batch"), "delete-many")
void import_batch_delete_many(uint32_t bucket, const GuestStr* keys, size_t count, uint8_t* ret);

static inline KvStatus Open(const char* identifier, uint32_t* bucket) {
  _Alignas(8) uint8_t ret[16];
  import_store_open(identifier, strlen(identifier), ret);
  KvStatus status = LoadKvStatus(ret, 4);
  if (!status.failed) {
    *bucket = LoadU32(ret, 4);
  }
  return status;
}

static inline void DropBucket(uint32_t bucket) { import_bucket_drop(bucket); }

static inline KvStatus Get(uint32_t bucket, const char* key, KvValue* value) {
  _Alignas(8) uint8_t ret[16];
  import_bucket_get(bucket, key, strlen(key), ret);
  KvStatus status = LoadKvStatus(ret, 4);
  if (!status.failed) {
    *value = LoadKvValue(ret, 4);
  }
  return status;
}

static inline KvStatus Set(uint32_t bucket, const char* key, const char* value) {
  _Alignas(8) uint8_t ret[16];
  import_bucket_set(bucket, key, strlen(key), value, strlen(value), ret);
  return LoadKvStatus(ret, 4);
}

static inline KvStatus Delete(uint32_t bucket, const char* key) {
  _Alignas(8) uint8_t ret[16];
  import_bucket_delete(bucket, key, strlen(key), ret);
  return LoadKvStatus(ret, 4);
}

static inline KvStatus Exists(uint32_t bucket, const char* key, bool* exists) {
  _Alignas(8) uint8_t ret[16];
  import_bucket_exists(bucket, key, strlen(key), ret);
  KvStatus status = LoadKvStatus(ret, 4);
  if (!status.failed) {
    *exists = LoadFlag(ret, 4);
  }
  return status;
}

// On ok, `*entries` (count `*count`) belongs to the caller: FreeGetMany.
static inline KvStatus GetMany(uint32_t bucket, const char* const* keys, size_t key_count,
                               GetManyEntry** entries, size_t* count) {
  GuestStr* list = LowerStrings(keys, key_count);
  _Alignas(8) uint8_t ret[16];
  import_batch_get_many(bucket, list, key_count, ret);
  free(list);
  KvStatus status = LoadKvStatus(ret, 4);
  if (!status.failed) {
    *entries = LoadPtr(ret, 4);
    *count = LoadU32(ret, 8);
  }
  return status;
}

// Sets keys[i] = values[i] for i < count.
static inline KvStatus SetMany(uint32_t bucket, const char* const* keys, const char* const* values,
                               size_t count) {
  KeyValueArg* list = malloc(sizeof(KeyValueArg) * (count == 0 ? 1 : count));
  for (size_t i = 0; i < count; ++i) {
    list[i] = (KeyValueArg){keys[i], strlen(keys[i]), values[i], strlen(values[i])};
  }
  _Alignas(8) uint8_t ret[16];
  import_batch_set_many(bucket, list, count, ret);
  free(list);
  return LoadKvStatus(ret, 4);
}

static inline KvStatus DeleteMany(uint32_t bucket, const char* const* keys, size_t count) {
  GuestStr* list = LowerStrings(keys, count);
  _Alignas(8) uint8_t ret[16];
  import_batch_delete_many(bucket, list, count, ret);
  free(list);
  return LoadKvStatus(ret, 4);
}

#endif  // WASIKV_KV_VERSION

#endif  // WASIKV_TESTS_ADAPTER_GUESTS_GUEST_ABI_H_
