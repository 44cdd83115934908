// Test guest for the first-generation world keyvalue-handle-watch (seed 001): unversioned
// interfaces, every handle (bucket, values, error, streams) a plain u32 the host keeps in its own
// tables, errors read through wasi-cloud-error.trace.
//
// Flattening (MAX_FLAT_PARAMS 16, MAX_FLAT_RESULTS 1): a result<...>, string or list return goes
// through a trailing return-area pointer; a lone u32 / u64 return is the core result. Return
// areas: result tag @0, payload at the payload's alignment (4, or 8 for u64).
//
// Handle lifetimes (u32 handles, so nothing is automatic): every call borrows its handles and the
// guest drops each handle it was given exactly once: outgoing values after set / set-many,
// incoming values after consume-sync / consume-async (and after reading the stream), errors after
// trace, streams when done (an output stream before the value it fills is set).
#include "guest_abi.h"
#include "watch_log.h"

WASIKV_DEFINE_REALLOC(GuestAlignedRealloc)

// wasi:keyvalue/types

// open-bucket(name) -> result<bucket, error>: bucket @4; error @4.
WASIKV_IMPORT("wasi:keyvalue/types", "open-bucket")
void import_open_bucket(const char* name, size_t name_len, uint8_t* ret);

WASIKV_IMPORT("wasi:keyvalue/types", "drop-bucket") void import_drop_bucket(uint32_t bucket);

WASIKV_IMPORT("wasi:keyvalue/types", "new-outgoing-value") uint32_t import_new_outgoing_value(void);

// outgoing-value-write-body-sync(outgoing-value, list<u8>) -> result<_, error>: error @4.
WASIKV_IMPORT("wasi:keyvalue/types", "outgoing-value-write-body-sync")
void import_outgoing_value_write_body_sync(uint32_t outgoing_value, const char* body,
                                           size_t body_len, uint8_t* ret);

// outgoing-value-write-body-async(outgoing-value) -> result<output-stream, error>: stream @4;
// error @4.
WASIKV_IMPORT("wasi:keyvalue/types", "outgoing-value-write-body-async")
void import_outgoing_value_write_body_async(uint32_t outgoing_value, uint8_t* ret);

WASIKV_IMPORT("wasi:keyvalue/types", "drop-outgoing-value")
void import_drop_outgoing_value(uint32_t outgoing_value);

// incoming-value-consume-sync(incoming-value) -> result<list<u8>, error>: list @4/@8; error @4.
WASIKV_IMPORT("wasi:keyvalue/types", "incoming-value-consume-sync")
void import_incoming_value_consume_sync(uint32_t incoming_value, uint8_t* ret);

// incoming-value-consume-async(incoming-value) -> result<input-stream, error>: stream @4;
// error @4.
WASIKV_IMPORT("wasi:keyvalue/types", "incoming-value-consume-async")
void import_incoming_value_consume_async(uint32_t incoming_value, uint8_t* ret);

// size(incoming-value) -> u64: the core result.
WASIKV_IMPORT("wasi:keyvalue/types", "size") uint64_t import_size(uint32_t incoming_value);

WASIKV_IMPORT("wasi:keyvalue/types", "drop-incoming-value")
void import_drop_incoming_value(uint32_t incoming_value);

// wasi:keyvalue/wasi-cloud-error

// trace(error) -> string: ptr @0, len @4.
WASIKV_IMPORT("wasi:keyvalue/wasi-cloud-error", "trace")
void import_trace(uint32_t error, uint8_t* ret);

WASIKV_IMPORT("wasi:keyvalue/wasi-cloud-error", "drop-error")
void import_drop_error(uint32_t error);

// wasi:keyvalue/readwrite

// get(bucket, key) -> result<incoming-value, error>: incoming value @4; error @4.
WASIKV_IMPORT("wasi:keyvalue/readwrite", "get")
void import_get(uint32_t bucket, const char* key, size_t key_len, uint8_t* ret);

// set(bucket, key, outgoing-value) -> result<_, error>: error @4.
WASIKV_IMPORT("wasi:keyvalue/readwrite", "set")
void import_set(uint32_t bucket, const char* key, size_t key_len, uint32_t outgoing_value,
                uint8_t* ret);

// delete(bucket, key) -> result<_, error>: error @4.
WASIKV_IMPORT("wasi:keyvalue/readwrite", "delete")
void import_delete(uint32_t bucket, const char* key, size_t key_len, uint8_t* ret);

// exists(bucket, key) -> result<bool, error>: bool @4; error @4.
WASIKV_IMPORT("wasi:keyvalue/readwrite", "exists")
void import_exists(uint32_t bucket, const char* key, size_t key_len, uint8_t* ret);

// wasi:keyvalue/atomic

// increment(bucket, key, delta: u64) -> result<u64, error>; return area align 8: value @8;
// error @8.
WASIKV_IMPORT("wasi:keyvalue/atomic", "increment")
void import_increment(uint32_t bucket, const char* key, size_t key_len, uint64_t delta,
                      uint8_t* ret);

// compare-and-swap(bucket, key, old: u64, new: u64) -> result<bool, error>: bool @4; error @4.
WASIKV_IMPORT("wasi:keyvalue/atomic", "compare-and-swap")
void import_compare_and_swap(uint32_t bucket, const char* key, size_t key_len, uint64_t old_value,
                             uint64_t new_value, uint8_t* ret);

// wasi:keyvalue/batch

// A set-many element tuple<string, outgoing-value>: key @0/@4, outgoing value @8.
typedef struct {
  const char* key;
  size_t key_len;
  uint32_t outgoing_value;
} SeedKeyValue;

_Static_assert(sizeof(SeedKeyValue) == 12, "tuple<string, u32> is 12 bytes");

// get-many(bucket, keys) -> result<list<incoming-value>, error>: list @4/@8 (u32 elements);
// error @4.
WASIKV_IMPORT("wasi:keyvalue/batch", "get-many")
void import_get_many(uint32_t bucket, const GuestStr* keys, size_t count, uint8_t* ret);

// get-keys(bucket) -> list<string>: list @0/@4.
WASIKV_IMPORT("wasi:keyvalue/batch", "get-keys")
void import_get_keys(uint32_t bucket, uint8_t* ret);

// set-many(bucket, list<tuple<string, outgoing-value>>) -> result<_, error>: error @4.
WASIKV_IMPORT("wasi:keyvalue/batch", "set-many")
void import_set_many(uint32_t bucket, const SeedKeyValue* key_values, size_t count, uint8_t* ret);

// delete-many(bucket, keys) -> result<_, error>: error @4.
WASIKV_IMPORT("wasi:keyvalue/batch", "delete-many")
void import_delete_many(uint32_t bucket, const GuestStr* keys, size_t count, uint8_t* ret);

// wasi:io/streams (stream-error is an empty record: an err carries nothing)

// write(output-stream, list<u8>) -> result<u64, stream-error>: written @8.
WASIKV_IMPORT("wasi:io/streams", "write")
void import_stream_write(uint32_t stream, const char* bytes, size_t len, uint8_t* ret);

// read(input-stream, len: u64) -> result<tuple<list<u8>, stream-status>, stream-error>: list
// @4/@8, status u8 @12 (0 open, 1 ended).
WASIKV_IMPORT("wasi:io/streams", "read")
void import_stream_read(uint32_t stream, uint64_t len, uint8_t* ret);

WASIKV_IMPORT("wasi:io/streams", "drop-output-stream")
void import_drop_output_stream(uint32_t stream);

WASIKV_IMPORT("wasi:io/streams", "drop-input-stream")
void import_drop_input_stream(uint32_t stream);

enum { kStreamOpen = 0, kStreamEnded = 1 };

// A lifted result<_, error>; `error` is a handle the guest owns.
typedef struct {
  bool failed;
  uint32_t error;
} SeedStatus;

static SeedStatus LoadSeedStatus(const uint8_t* ret, size_t error_offset) {
  SeedStatus status = {LoadFlag(ret, 0), 0};
  if (status.failed) {
    status.error = LoadU32(ret, error_offset);
  }
  return status;
}

// Consumes `status` (drops its error): true when it is ok.
static bool SeedIsOk(SeedStatus status) {
  if (status.failed) {
    import_drop_error(status.error);
  }
  return !status.failed;
}

// Consumes `status` (drops its error): true when it is an error whose trace is non-empty and,
// unless `needle` is NULL, contains `needle`.
static bool SeedIsError(SeedStatus status, const char* needle) {
  if (!status.failed) {
    return false;
  }
  _Alignas(8) uint8_t ret[8];
  import_trace(status.error, ret);
  HostStr trace = {LoadPtr(ret, 0), LoadU32(ret, 4)};
  bool matches = trace.len > 0 && (needle == NULL || BytesContain(trace.ptr, trace.len, needle));
  GuestFree(trace.ptr, trace.len);
  import_drop_error(status.error);
  return matches;
}

static SeedStatus OpenBucket(const char* name, uint32_t* bucket) {
  _Alignas(8) uint8_t ret[8];
  import_open_bucket(name, strlen(name), ret);
  SeedStatus status = LoadSeedStatus(ret, 4);
  if (!status.failed) {
    *bucket = LoadU32(ret, 4);
  }
  return status;
}

static SeedStatus WriteBodySync(uint32_t outgoing_value, const char* body) {
  _Alignas(8) uint8_t ret[8];
  import_outgoing_value_write_body_sync(outgoing_value, body, strlen(body), ret);
  return LoadSeedStatus(ret, 4);
}

// A new outgoing value holding `body`; the caller drops it, also when the write failed.
static SeedStatus NewOutgoingValue(const char* body, uint32_t* outgoing_value) {
  *outgoing_value = import_new_outgoing_value();
  return WriteBodySync(*outgoing_value, body);
}

static SeedStatus SetValue(uint32_t bucket, const char* key, uint32_t outgoing_value) {
  _Alignas(8) uint8_t ret[8];
  import_set(bucket, key, strlen(key), outgoing_value, ret);
  return LoadSeedStatus(ret, 4);
}

static SeedStatus GetValue(uint32_t bucket, const char* key, uint32_t* incoming_value) {
  _Alignas(8) uint8_t ret[8];
  import_get(bucket, key, strlen(key), ret);
  SeedStatus status = LoadSeedStatus(ret, 4);
  if (!status.failed) {
    *incoming_value = LoadU32(ret, 4);
  }
  return status;
}

static SeedStatus Delete(uint32_t bucket, const char* key) {
  _Alignas(8) uint8_t ret[8];
  import_delete(bucket, key, strlen(key), ret);
  return LoadSeedStatus(ret, 4);
}

static SeedStatus Exists(uint32_t bucket, const char* key, bool* exists) {
  _Alignas(8) uint8_t ret[8];
  import_exists(bucket, key, strlen(key), ret);
  SeedStatus status = LoadSeedStatus(ret, 4);
  if (!status.failed) {
    *exists = LoadFlag(ret, 4);
  }
  return status;
}

static SeedStatus Increment(uint32_t bucket, const char* key, uint64_t delta, uint64_t* value) {
  _Alignas(8) uint8_t ret[16];
  import_increment(bucket, key, strlen(key), delta, ret);
  SeedStatus status = LoadSeedStatus(ret, 8);
  if (!status.failed) {
    *value = LoadU64(ret, 8);
  }
  return status;
}

static SeedStatus CompareAndSwap(uint32_t bucket, const char* key, uint64_t old_value,
                                 uint64_t new_value, bool* swapped) {
  _Alignas(8) uint8_t ret[8];
  import_compare_and_swap(bucket, key, strlen(key), old_value, new_value, ret);
  SeedStatus status = LoadSeedStatus(ret, 4);
  if (!status.failed) {
    *swapped = LoadFlag(ret, 4);
  }
  return status;
}

// Reads `incoming_value` through consume-sync, then drops it: true when it held exactly
// `expected`.
static bool IncomingIs(uint32_t incoming_value, const char* expected) {
  _Alignas(8) uint8_t ret[12];
  import_incoming_value_consume_sync(incoming_value, ret);
  SeedStatus status = LoadSeedStatus(ret, 4);
  bool matches = false;
  if (status.failed) {
    import_drop_error(status.error);
  } else {
    HostStr body = {LoadPtr(ret, 4), LoadU32(ret, 8)};
    matches = BytesEqual(body.ptr, body.len, expected);
    GuestFree(body.ptr, body.len);
  }
  import_drop_incoming_value(incoming_value);
  return matches;
}

// On ok, `*incoming_values` (count `*count`) belongs to the caller.
static SeedStatus GetMany(uint32_t bucket, const char* const* keys, size_t key_count,
                          uint32_t** incoming_values, size_t* count) {
  GuestStr* list = LowerStrings(keys, key_count);
  _Alignas(8) uint8_t ret[12];
  import_get_many(bucket, list, key_count, ret);
  free(list);
  SeedStatus status = LoadSeedStatus(ret, 4);
  if (!status.failed) {
    *incoming_values = LoadPtr(ret, 4);
    *count = LoadU32(ret, 8);
  }
  return status;
}

static SeedStatus DeleteMany(uint32_t bucket, const char* const* keys, size_t count) {
  GuestStr* list = LowerStrings(keys, count);
  _Alignas(8) uint8_t ret[8];
  import_delete_many(bucket, list, count, ret);
  free(list);
  return LoadSeedStatus(ret, 4);
}

// True when write(stream, bytes) succeeded and reported all of `bytes` written.
static bool WriteAll(uint32_t stream, const char* bytes) {
  _Alignas(8) uint8_t ret[16];
  size_t len = strlen(bytes);
  import_stream_write(stream, bytes, len, ret);
  return !LoadFlag(ret, 0) && LoadU64(ret, 8) == len;
}

WASIKV_EXPORT("check_seed") int32_t check_seed(void) {
  uint32_t bucket = 0;
  CHECK(SeedIsOk(OpenBucket("seed", &bucket)));

  uint32_t outgoing = 0;
  CHECK(SeedIsOk(NewOutgoingValue("hello", &outgoing)));
  CHECK(SeedIsOk(SetValue(bucket, "k1", outgoing)));
  import_drop_outgoing_value(outgoing);

  uint32_t incoming = 0;
  CHECK(SeedIsOk(GetValue(bucket, "k1", &incoming)));
  CHECK(import_size(incoming) == 5);
  CHECK(IncomingIs(incoming, "hello"));
  // An incoming value is dropped the same way when it was never consumed.
  CHECK(SeedIsOk(GetValue(bucket, "k1", &incoming)));
  import_drop_incoming_value(incoming);

  bool exists = false;
  CHECK(SeedIsOk(Exists(bucket, "k1", &exists)));
  CHECK(exists);
  CHECK(SeedIsOk(Delete(bucket, "k1")));
  CHECK(SeedIsOk(Exists(bucket, "k1", &exists)));
  CHECK(!exists);
  // In this world a missing key is an error, for get and for delete.
  CHECK(SeedIsError(GetValue(bucket, "k1", &incoming), "k1"));
  CHECK(SeedIsError(Delete(bucket, "k1"), NULL));

  uint64_t counter = 0;
  CHECK(SeedIsOk(Increment(bucket, "n", 7, &counter)));
  CHECK(counter == 7);
  CHECK(SeedIsOk(Increment(bucket, "n", 3, &counter)));
  CHECK(counter == 10);
  bool swapped = false;
  CHECK(SeedIsOk(CompareAndSwap(bucket, "n", 10, 42, &swapped)));
  CHECK(swapped);
  CHECK(SeedIsOk(CompareAndSwap(bucket, "n", 10, 43, &swapped)));
  CHECK(!swapped);
  CHECK(SeedIsOk(GetValue(bucket, "n", &incoming)));
  CHECK(IncomingIs(incoming, "42"));

  uint32_t value_a = 0;
  uint32_t value_b = 0;
  CHECK(SeedIsOk(NewOutgoingValue("1", &value_a)));
  CHECK(SeedIsOk(NewOutgoingValue("2", &value_b)));
  SeedKeyValue key_values[] = {{"a", 1, value_a}, {"b", 1, value_b}};
  _Alignas(8) uint8_t ret[16];
  import_set_many(bucket, key_values, ARRAY_LEN(key_values), ret);
  CHECK(SeedIsOk(LoadSeedStatus(ret, 4)));
  import_drop_outgoing_value(value_a);
  import_drop_outgoing_value(value_b);

  import_get_keys(bucket, ret);
  HostStr* keys = LoadPtr(ret, 0);
  size_t key_count = LoadU32(ret, 4);
  static const char* const kAllKeys[] = {"a", "b", "n"};
  CHECK(KeysAre(keys, key_count, kAllKeys, ARRAY_LEN(kAllKeys)));
  FreeStrList(keys, key_count);

  static const char* const kPresent[] = {"a", "b"};
  uint32_t* values = NULL;
  size_t count = 0;
  CHECK(SeedIsOk(GetMany(bucket, kPresent, ARRAY_LEN(kPresent), &values, &count)));
  CHECK(count == 2);
  CHECK(IncomingIs(values[0], "1"));
  CHECK(IncomingIs(values[1], "2"));
  GuestFree(values, count * sizeof(uint32_t));

  // get-many fails on a missing key; delete-many skips it.
  static const char* const kOneMissing[] = {"a", "missing"};
  CHECK(SeedIsError(GetMany(bucket, kOneMissing, ARRAY_LEN(kOneMissing), &values, &count), NULL));
  CHECK(SeedIsOk(DeleteMany(bucket, kOneMissing, ARRAY_LEN(kOneMissing))));
  CHECK(SeedIsOk(Exists(bucket, "a", &exists)));
  CHECK(!exists);

  // The async bodies: write through an output stream, read back through an input stream.
  outgoing = import_new_outgoing_value();
  import_outgoing_value_write_body_async(outgoing, ret);
  SeedStatus status = LoadSeedStatus(ret, 4);
  CHECK(SeedIsOk(status));
  uint32_t output = LoadU32(ret, 4);
  CHECK(WriteAll(output, "par"));
  CHECK(WriteAll(output, "ts"));
  import_drop_output_stream(output);
  CHECK(SeedIsOk(SetValue(bucket, "k2", outgoing)));
  import_drop_outgoing_value(outgoing);

  CHECK(SeedIsOk(GetValue(bucket, "k2", &incoming)));
  import_incoming_value_consume_async(incoming, ret);
  status = LoadSeedStatus(ret, 4);
  CHECK(SeedIsOk(status));
  uint32_t input = LoadU32(ret, 4);
  enum { kMaxReads = 1000 };
  char body[16];
  size_t body_len = 0;
  uint8_t stream_status = kStreamOpen;
  for (int reads = 0; stream_status != kStreamEnded; ++reads) {
    CHECK(reads < kMaxReads);
    import_stream_read(input, 100, ret);
    CHECK(!LoadFlag(ret, 0));
    HostStr chunk = {LoadPtr(ret, 4), LoadU32(ret, 8)};
    stream_status = LoadU8(ret, 12);
    CHECK(stream_status == kStreamOpen || stream_status == kStreamEnded);
    CHECK(chunk.len <= 100 && body_len + chunk.len <= sizeof(body));
    memcpy(body + body_len, chunk.ptr, chunk.len);
    body_len += chunk.len;
    GuestFree(chunk.ptr, chunk.len);
  }
  CHECK(BytesEqual(body, body_len, "parts"));
  import_drop_input_stream(input);
  import_drop_incoming_value(incoming);

  import_drop_bucket(bucket);

  CHECK(SeedIsError(OpenBucket("bad name!", &bucket), "bucket"));
  return 0;
}

// handle-watch, the seed world's export: the host calls these for changes to
// bucket "watched" once start_watch has opened it. The bucket and
// incoming-value handles are the handler's to drop.

WASIKV_EXPORT("wasi:keyvalue/handle-watch#on-set")
void OnSet(uint32_t bucket, uint8_t* key, size_t key_len, uint32_t incoming_value) {
  _Alignas(8) uint8_t ret[12];
  import_incoming_value_consume_sync(incoming_value, ret);
  SeedStatus status = LoadSeedStatus(ret, 4);
  if (status.failed) {
    __builtin_trap();
  }
  HostStr body = {LoadPtr(ret, 4), LoadU32(ret, 8)};
  WatchLogSet(key, key_len, body.ptr, body.len);
  GuestFree(body.ptr, body.len);
  GuestFree(key, key_len);
  import_drop_incoming_value(incoming_value);
  import_drop_bucket(bucket);
}

WASIKV_EXPORT("wasi:keyvalue/handle-watch#on-delete")
void OnDelete(uint32_t bucket, uint8_t* key, size_t key_len) {
  WatchLogDelete(key, key_len);
  GuestFree(key, key_len);
  import_drop_bucket(bucket);
}

WASIKV_EXPORT("start_watch") int32_t start_watch(void) {
  uint32_t bucket = 0;
  CHECK(!OpenBucket("watched", &bucket).failed);
  import_drop_bucket(bucket);
  return 0;
}

WASIKV_DEFINE_WATCH_CHECKS()
