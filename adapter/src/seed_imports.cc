// Seed 001's keyvalue-handle-watch world on the canonical ABI. Every
// resource is a u32 the host hands out, so a result<T, error> is a tag at 0
// and a u32 (or u64 at 8) payload; an error is a handle whose trace is the
// message.
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "import_tables.h"
#include "seed_state.h"
#include "wasikv/internal/status_macros.h"
#include "wasikv/internal/status_text.h"

namespace wasikv::adapter {
namespace {

using Args = std::span<const uint64_t>;
using Results = std::span<uint64_t>;
using Seed = CoreGuest::SeedState;

// Runs `body` for a result<T, error> whose payload is at `payload_offset`;
// a failure becomes an error handle there.
template <typename Body>
absl::Status WithSeedResult(CoreGuest& guest, AbiCall& call, uint32_t ret, uint32_t payload_offset,
                            Body&& body) {
  absl::Status status = std::forward<Body>(body)();
  if (IsGuestTrap(status)) return status;
  call.Store8(ret, 0, status.ok() ? 0 : 1);
  if (status.ok()) return status;
  const KeyValueError error = ToKeyValueError(status);
  std::string trace = error.message;
  if (error.kind == KeyValueError::Kind::kNoSuchStore) trace = "no such store: " + trace;
  if (error.kind == KeyValueError::Kind::kAccessDenied) trace = "access denied: " + trace;
  absl::StatusOr<Handle> handle = guest.seed().errors.Insert(std::move(trace));
  // Without a handle the error cannot be reported; failing loudly beats
  // pretending the call worked.
  if (!handle.ok()) return GuestTrap(MessageOf(handle.status()));
  call.Store32(ret, payload_offset, *handle);
  return absl::OkStatus();
}

// types.open-bucket(name) -> result<bucket, error>
absl::Status OpenBucket(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 2);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "open-bucket's return area"));
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string name, call.ReadString(ArgSlice(args, 0), "name"));
    ASSIGN_OR_RETURN(Handle bucket, guest.session().Open(name));
    call.Store32(ret, 4, bucket);
    return absl::OkStatus();
  });
}

absl::Status DropBucket(CoreGuest& guest, Args args, Results) {
  return guest.session().DropBucket(ArgU32(args, 0));
}

// types.new-outgoing-value() -> outgoing-value. With no error case to report
// a full handle table through, that is a trap.
absl::Status NewOutgoingValue(CoreGuest& guest, Args, Results results) {
  absl::StatusOr<Handle> handle = guest.seed().outgoing.Insert({});
  if (!handle.ok()) return GuestTrap(MessageOf(handle.status()));
  results[0] = *handle;
  return absl::OkStatus();
}

absl::Status DropOutgoingValue(CoreGuest& guest, Args args, Results) {
  return guest.seed().outgoing.Take(ArgU32(args, 0)).status();
}

// types.outgoing-value-write-body-sync(outgoing-value, list<u8>) -> result<_, error>
absl::Status WriteBodySync(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "write-body-sync's return area"));
  ASSIGN_OR_RETURN(Seed::OutgoingValue * value, guest.seed().outgoing.Get(ArgU32(args, 0)));
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(value->body, call.ReadBytes(ArgSlice(args, 1), "value"));
    return absl::OkStatus();
  });
}

// types.outgoing-value-write-body-async(outgoing-value) -> result<output-stream, error>
absl::Status WriteBodyAsync(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 1);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "write-body-async's return area"));
  const Handle outgoing = ArgU32(args, 0);
  RETURN_IF_ERROR(guest.seed().outgoing.Get(outgoing).status());
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(Handle stream, guest.seed().output_streams.Insert({outgoing}));
    call.Store32(ret, 4, stream);
    return absl::OkStatus();
  });
}

// types.incoming-value-consume-sync(incoming-value) -> result<list<u8>, error>
absl::Status ConsumeSync(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 1);
  RETURN_IF_ERROR(call.CheckArea(ret, 12, 4, "consume-sync's return area"));
  ASSIGN_OR_RETURN(Seed::IncomingValue * value, guest.seed().incoming.Get(ArgU32(args, 0)));
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    RETURN_IF_ERROR(call.Reserve(value->bytes.size(), "the value"));
    ASSIGN_OR_RETURN(GuestSlice bytes, call.LowerBytes(value->bytes));
    call.Store32(ret, 4, bytes.ptr);
    call.Store32(ret, 8, bytes.len);
    return absl::OkStatus();
  });
}

// types.incoming-value-consume-async(incoming-value) -> result<input-stream, error>
absl::Status ConsumeAsync(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 1);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "consume-async's return area"));
  ASSIGN_OR_RETURN(Seed::IncomingValue * value, guest.seed().incoming.Get(ArgU32(args, 0)));
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(Handle stream, guest.seed().input_streams.Insert({value->bytes, 0}));
    call.Store32(ret, 4, stream);
    return absl::OkStatus();
  });
}

// types.size(incoming-value) -> u64
absl::Status Size(CoreGuest& guest, Args args, Results results) {
  ASSIGN_OR_RETURN(Seed::IncomingValue * value, guest.seed().incoming.Get(ArgU32(args, 0)));
  results[0] = value->bytes.size();
  return absl::OkStatus();
}

absl::Status DropIncomingValue(CoreGuest& guest, Args args, Results) {
  return guest.seed().incoming.Take(ArgU32(args, 0)).status();
}

// wasi-cloud-error.trace(error) -> string, at (ptr @0, len @4).
absl::Status Trace(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 1);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "trace's return area"));
  ASSIGN_OR_RETURN(std::string * trace, guest.seed().errors.Get(ArgU32(args, 0)));
  absl::StatusOr<GuestSlice> text = call.LowerBytes(*trace);
  if (!text.ok()) return GuestTrap(MessageOf(text.status()));
  call.Store32(ret, 0, text->ptr);
  call.Store32(ret, 4, text->len);
  return absl::OkStatus();
}

absl::Status DropError(CoreGuest& guest, Args args, Results) {
  return guest.seed().errors.Take(ArgU32(args, 0)).status();
}

// A missing key is an error in this world's get and delete.
absl::Status NoSuchKey(CoreGuest& guest, Handle bucket, std::string_view key) {
  absl::StatusOr<std::string> name = guest.session().BucketName(bucket);
  return absl::FailedPreconditionError(
      fmt::format("key '{}' does not exist in bucket '{}'", key, name.value_or("?")));
}

// readwrite.get(bucket, key) -> result<incoming-value, error>
absl::Status Get(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "get's return area"));
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key, call.ReadString(ArgSlice(args, 1), "key"));
    ASSIGN_OR_RETURN(std::optional<std::string> value, guest.session().Get(ArgU32(args, 0), key));
    if (!value) return NoSuchKey(guest, ArgU32(args, 0), key);
    ASSIGN_OR_RETURN(Handle incoming, guest.seed().incoming.Insert({std::move(*value)}));
    call.Store32(ret, 4, incoming);
    return absl::OkStatus();
  });
}

// readwrite.set(bucket, key, outgoing-value) -> result<_, error>
absl::Status Set(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 4);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "set's return area"));
  ASSIGN_OR_RETURN(Seed::OutgoingValue * value, guest.seed().outgoing.Get(ArgU32(args, 3)));
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key, call.ReadString(ArgSlice(args, 1), "key"));
    return guest.session().Set(ArgU32(args, 0), key, value->body);
  });
}

// readwrite.delete(bucket, key) -> result<_, error>
absl::Status Delete(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "delete's return area"));
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key, call.ReadString(ArgSlice(args, 1), "key"));
    ASSIGN_OR_RETURN(bool deleted, guest.session().Delete(ArgU32(args, 0), key));
    return deleted ? absl::OkStatus() : NoSuchKey(guest, ArgU32(args, 0), key);
  });
}

// readwrite.exists(bucket, key) -> result<bool, error>
absl::Status Exists(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "exists's return area"));
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key, call.ReadString(ArgSlice(args, 1), "key"));
    ASSIGN_OR_RETURN(bool exists, guest.session().Exists(ArgU32(args, 0), key));
    call.Store8(ret, 4, exists ? 1 : 0);
    return absl::OkStatus();
  });
}

// atomic.increment(bucket, key, delta: u64) -> result<u64, error>, payload at 8.
absl::Status Increment(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 4);
  RETURN_IF_ERROR(call.CheckArea(ret, 16, 8, "increment's return area"));
  return WithSeedResult(guest, call, ret, 8, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key, call.ReadString(ArgSlice(args, 1), "key"));
    ASSIGN_OR_RETURN(uint64_t value,
                     guest.session().IncrementUnsigned(ArgU32(args, 0), key, args[3]));
    call.Store64(ret, 8, value);
    return absl::OkStatus();
  });
}

// atomic.compare-and-swap(bucket, key, old: u64, new: u64) -> result<bool, error>
absl::Status CompareAndSwap(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 5);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "compare-and-swap's return area"));
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key, call.ReadString(ArgSlice(args, 1), "key"));
    ASSIGN_OR_RETURN(bool swapped,
                     guest.session().CompareAndSwapDecimal(ArgU32(args, 0), key, args[3], args[4]));
    call.Store8(ret, 4, swapped ? 1 : 0);
    return absl::OkStatus();
  });
}

// batch.get-many(bucket, keys) -> result<list<incoming-value>, error>; any
// missing key fails the call, as this world specifies.
absl::Status GetMany(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, 12, 4, "get-many's return area"));
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<std::string> keys, call.ReadStringList(ArgSlice(args, 1), "keys"));
    ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> values,
                     guest.session().GetMany(ArgU32(args, 0), keys));
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!values[i]) return NoSuchKey(guest, ArgU32(args, 0), keys[i]);
    }
    RETURN_IF_ERROR(call.Reserve(keys.size() * uint64_t{4}, "the get-many result"));
    ASSIGN_OR_RETURN(uint32_t list, call.Allocate(static_cast<uint32_t>(keys.size() * 4), 4));
    std::vector<Handle> handles;
    for (size_t i = 0; i < keys.size(); ++i) {
      absl::StatusOr<Handle> handle = guest.seed().incoming.Insert({std::move(*values[i])});
      if (!handle.ok()) {
        for (Handle h : handles) guest.seed().incoming.Take(h).IgnoreError();
        return handle.status();
      }
      handles.push_back(*handle);
    }
    for (size_t i = 0; i < handles.size(); ++i) call.Store32(list, i * 4, handles[i]);
    call.Store32(ret, 4, list);
    call.Store32(ret, 8, static_cast<uint32_t>(handles.size()));
    return absl::OkStatus();
  });
}

// batch.get-keys(bucket) -> keys, at (ptr @0, len @4). There is no error
// case, so a failure traps with the reason rather than claim "no keys".
absl::Status GetKeys(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 1);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "get-keys's return area"));
  const uint64_t limit = guest.session().host().options().max_call_allocation_bytes;
  absl::StatusOr<std::vector<std::string>> keys = guest.session().AllKeys(ArgU32(args, 0), limit);
  absl::StatusOr<GuestSlice> list =
      keys.ok() ? call.LowerStringList(*keys) : absl::StatusOr<GuestSlice>(keys.status());
  if (!list.ok()) {
    return IsGuestTrap(list.status())
               ? list.status()
               : GuestTrap(fmt::format("get-keys failed: {}", MessageOf(list.status())));
  }
  call.Store32(ret, 0, list->ptr);
  call.Store32(ret, 4, list->len);
  return absl::OkStatus();
}

// batch.set-many(bucket, list<tuple<key, outgoing-value>>) -> result<_, error>
// Elements are 12 bytes: key (ptr, len), outgoing-value handle.
absl::Status SetMany(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "set-many's return area"));
  const GuestSlice list = ArgSlice(args, 1);
  ASSIGN_OR_RETURN(std::string elements, call.ReadElements(list, 12, 4, "key-values"));
  std::vector<KeyValue> entries(list.len);
  for (uint32_t i = 0; i < list.len; ++i) {
    uint32_t fields[3];
    std::memcpy(fields, elements.data() + size_t{i} * 12, sizeof fields);
    ASSIGN_OR_RETURN(entries[i].key,
                     call.ReadString({fields[0], fields[1]}, fmt::format("key-values[{}].key", i)));
    ASSIGN_OR_RETURN(Seed::OutgoingValue * value, guest.seed().outgoing.Get(fields[2]));
    entries[i].value = value->body;
  }
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    return guest.session().SetMany(ArgU32(args, 0), entries);
  });
}

// batch.delete-many(bucket, keys) -> result<_, error>; missing keys are skipped.
absl::Status DeleteMany(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, 8, 4, "delete-many's return area"));
  return WithSeedResult(guest, call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<std::string> keys, call.ReadStringList(ArgSlice(args, 1), "keys"));
    return guest.session().DeleteMany(ArgU32(args, 0), keys);
  });
}

// streams.read(input-stream, len: u64) -> result<tuple<list<u8>, stream-status>, stream-error>
// Area: tag @0, list @4/@8, status @12 (0 open, 1 ended). Values are in
// memory, so blocking-read is the same call.
absl::Status Read(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 2);
  RETURN_IF_ERROR(call.CheckArea(ret, 16, 4, "read's return area"));
  ASSIGN_OR_RETURN(Seed::InputStream * stream, guest.seed().input_streams.Get(ArgU32(args, 0)));
  const uint64_t room = guest.session().host().options().max_call_allocation_bytes;
  const size_t count = static_cast<size_t>(
      std::min<uint64_t>({args[1], stream->bytes.size() - stream->position, room}));
  ASSIGN_OR_RETURN(
      GuestSlice bytes,
      call.LowerBytes(std::string_view(stream->bytes).substr(stream->position, count)));
  stream->position += count;
  call.Store8(ret, 0, 0);
  call.Store32(ret, 4, bytes.ptr);
  call.Store32(ret, 8, bytes.len);
  call.Store8(ret, 12, stream->position == stream->bytes.size() ? 1 : 0);
  return absl::OkStatus();
}

// streams.write(output-stream, list<u8>) -> result<u64, stream-error>, u64 at 8.
absl::Status Write(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, 16, 8, "write's return area"));
  ASSIGN_OR_RETURN(Seed::OutputStream * stream, guest.seed().output_streams.Get(ArgU32(args, 0)));
  ASSIGN_OR_RETURN(std::string bytes, call.ReadBytes(ArgSlice(args, 1), "buf"));
  absl::StatusOr<Seed::OutgoingValue*> value = guest.seed().outgoing.Get(stream->outgoing_value);
  if (!value.ok()) {  // the value was dropped under the stream: stream-error
    call.Store8(ret, 0, 1);
    return absl::OkStatus();
  }
  (*value)->body += bytes;
  call.Store8(ret, 0, 0);
  call.Store64(ret, 8, bytes.size());
  return absl::OkStatus();
}

absl::Status DropInputStream(CoreGuest& guest, Args args, Results) {
  return guest.seed().input_streams.Take(ArgU32(args, 0)).status();
}

absl::Status DropOutputStream(CoreGuest& guest, Args args, Results) {
  return guest.seed().output_streams.Take(ArgU32(args, 0)).status();
}

const CoreImport kSeedImports[] = {
    {"wasi:keyvalue/types", "open-bucket", "iii", "", &OpenBucket},
    {"wasi:keyvalue/types", "drop-bucket", "i", "", &DropBucket},
    {"wasi:keyvalue/types", "new-outgoing-value", "", "i", &NewOutgoingValue},
    {"wasi:keyvalue/types", "drop-outgoing-value", "i", "", &DropOutgoingValue},
    {"wasi:keyvalue/types", "outgoing-value-write-body-sync", "iiii", "", &WriteBodySync},
    {"wasi:keyvalue/types", "outgoing-value-write-body-async", "ii", "", &WriteBodyAsync},
    {"wasi:keyvalue/types", "incoming-value-consume-sync", "ii", "", &ConsumeSync},
    {"wasi:keyvalue/types", "incoming-value-consume-async", "ii", "", &ConsumeAsync},
    {"wasi:keyvalue/types", "size", "i", "I", &Size},
    {"wasi:keyvalue/types", "drop-incoming-value", "i", "", &DropIncomingValue},
    {"wasi:keyvalue/wasi-cloud-error", "trace", "ii", "", &Trace},
    {"wasi:keyvalue/wasi-cloud-error", "drop-error", "i", "", &DropError},
    {"wasi:keyvalue/readwrite", "get", "iiii", "", &Get},
    {"wasi:keyvalue/readwrite", "set", "iiiii", "", &Set},
    {"wasi:keyvalue/readwrite", "delete", "iiii", "", &Delete},
    {"wasi:keyvalue/readwrite", "exists", "iiii", "", &Exists},
    {"wasi:keyvalue/atomic", "increment", "iiiIi", "", &Increment},
    {"wasi:keyvalue/atomic", "compare-and-swap", "iiiIIi", "", &CompareAndSwap},
    {"wasi:keyvalue/batch", "get-many", "iiii", "", &GetMany},
    {"wasi:keyvalue/batch", "get-keys", "ii", "", &GetKeys},
    {"wasi:keyvalue/batch", "set-many", "iiii", "", &SetMany},
    {"wasi:keyvalue/batch", "delete-many", "iiii", "", &DeleteMany},
    {"wasi:io/streams", "read", "iIi", "", &Read},
    {"wasi:io/streams", "blocking-read", "iIi", "", &Read},
    {"wasi:io/streams", "write", "iiii", "", &Write},
    {"wasi:io/streams", "blocking-write", "iiii", "", &Write},
    {"wasi:io/streams", "drop-input-stream", "i", "", &DropInputStream},
    {"wasi:io/streams", "drop-output-stream", "i", "", &DropOutputStream},
};

}  // namespace

std::span<const CoreImport> SeedImports() { return kSeedImports; }

}  // namespace wasikv::adapter
