// wasi:keyvalue 0.2.0-draft and 0.2.0-draft2 on the canonical ABI. Offsets
// are the return-area layouts of ../shared/spec/wasi-keyvalue.md: a result's
// tag at 0, its payload at the payload's alignment.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "import_tables.h"
#include "wasikv/internal/status_macros.h"

namespace wasikv::adapter {
namespace {

using Args = std::span<const uint64_t>;
using Results = std::span<uint64_t>;

// result<T, error> with T of alignment <= 4: 16 bytes, error at 4.
constexpr uint32_t kSmallResultSize = 16;

// Lowers option<list<u8>> at `offset`: tag, then (ptr, len).
absl::Status LowerOptionalBytes(AbiCall& call, uint32_t ret, uint32_t offset,
                                const std::optional<std::string>& value) {
  call.Store8(ret, offset, value ? 1 : 0);
  if (!value) return absl::OkStatus();
  RETURN_IF_ERROR(call.Reserve(value->size(), "the value"));
  ASSIGN_OR_RETURN(GuestSlice bytes, call.LowerBytes(*value));
  call.Store32(ret, offset + 4, bytes.ptr);
  call.Store32(ret, offset + 8, bytes.len);
  return absl::OkStatus();
}

// store.open(identifier) -> result<bucket, error>
absl::Status Open(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 2);
  RETURN_IF_ERROR(call.CheckArea(ret, kSmallResultSize, 4, "open's return area"));
  return WithResult(call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string identifier, call.ReadString(ArgSlice(args, 0), "identifier"));
    ASSIGN_OR_RETURN(Handle bucket, guest.session().Open(identifier));
    call.Store32(ret, 4, bucket);
    return absl::OkStatus();
  });
}

absl::Status DropBucket(CoreGuest& guest, Args args, Results) {
  return guest.session().DropBucket(ArgU32(args, 0));
}

// bucket.get(key) -> result<option<list<u8>>, error>
absl::Status Get(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, kSmallResultSize, 4, "get's return area"));
  return WithResult(call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key, call.ReadString(ArgSlice(args, 1), "key"));
    ASSIGN_OR_RETURN(std::optional<std::string> value, guest.session().Get(ArgU32(args, 0), key));
    return LowerOptionalBytes(call, ret, 4, value);
  });
}

// bucket.set(key, value) -> result<_, error>
absl::Status Set(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 5);
  RETURN_IF_ERROR(call.CheckArea(ret, kSmallResultSize, 4, "set's return area"));
  return WithResult(call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key, call.ReadString(ArgSlice(args, 1), "key"));
    ASSIGN_OR_RETURN(std::string value, call.ReadBytes(ArgSlice(args, 3), "value"));
    return guest.session().Set(ArgU32(args, 0), key, value);
  });
}

// bucket.delete(key) -> result<_, error>; a missing key is not an error.
absl::Status Delete(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, kSmallResultSize, 4, "delete's return area"));
  return WithResult(call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key, call.ReadString(ArgSlice(args, 1), "key"));
    return guest.session().Delete(ArgU32(args, 0), key).status();
  });
}

// bucket.exists(key) -> result<bool, error>
absl::Status Exists(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, kSmallResultSize, 4, "exists's return area"));
  return WithResult(call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key, call.ReadString(ArgSlice(args, 1), "key"));
    ASSIGN_OR_RETURN(bool exists, guest.session().Exists(ArgU32(args, 0), key));
    call.Store8(ret, 4, exists ? 1 : 0);
    return absl::OkStatus();
  });
}

uint64_t KeyListBytes(const std::vector<std::string>& keys) {
  uint64_t total = keys.size() * uint64_t{8};
  for (const std::string& key : keys) total += key.size();
  return total;
}

// draft: bucket.list-keys(cursor: option<u64>) -> result<key-response, error>
// key-response { keys: list<string> @0, cursor: option<u64> tag @8, u64 @16 }
absl::Status ListKeysDraft(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, 32, 8, "list-keys's return area"));
  return WithResult(call, ret, 8, [&]() -> absl::Status {
    std::optional<uint64_t> cursor;
    if (ArgU32(args, 1) != 0) cursor = args[2];
    ASSIGN_OR_RETURN(Session::OffsetKeyPage page,
                     guest.session().ListKeysFrom(ArgU32(args, 0), cursor));
    RETURN_IF_ERROR(call.Reserve(KeyListBytes(page.keys), "the key list"));
    ASSIGN_OR_RETURN(GuestSlice keys, call.LowerStringList(page.keys));
    call.Store32(ret, 8, keys.ptr);
    call.Store32(ret, 12, keys.len);
    call.Store8(ret, 16, page.cursor ? 1 : 0);
    call.Store64(ret, 24, page.cursor.value_or(0));
    return absl::OkStatus();
  });
}

// draft2: bucket.list-keys(cursor: option<string>) -> result<key-response, error>
// key-response { keys @0, cursor: option<string> tag @8, string @12 }
absl::Status ListKeysDraft2(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 4);
  RETURN_IF_ERROR(call.CheckArea(ret, 24, 4, "list-keys's return area"));
  return WithResult(call, ret, 4, [&]() -> absl::Status {
    std::optional<std::string> cursor;
    if (ArgU32(args, 1) != 0) {
      ASSIGN_OR_RETURN(cursor, call.ReadString(ArgSlice(args, 2), "cursor"));
    }
    ASSIGN_OR_RETURN(Session::KeyPage page, guest.session().ListKeys(ArgU32(args, 0), cursor));
    const std::string next = page.cursor.value_or("");
    RETURN_IF_ERROR(call.Reserve(KeyListBytes(page.keys) + next.size(), "the key list"));
    ASSIGN_OR_RETURN(GuestSlice keys, call.LowerStringList(page.keys));
    call.Store32(ret, 4, keys.ptr);
    call.Store32(ret, 8, keys.len);
    call.Store8(ret, 12, page.cursor ? 1 : 0);
    if (page.cursor) {
      ASSIGN_OR_RETURN(GuestSlice token, call.LowerBytes(next));
      call.Store32(ret, 16, token.ptr);
      call.Store32(ret, 20, token.len);
    }
    return absl::OkStatus();
  });
}

// atomics.increment(bucket, key, delta) -> result<u64 or s64, error>,
// payload at 8. draft's delta and result are u64; wasikv counters are s64.
template <bool kUnsigned>
absl::Status Increment(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 4);
  RETURN_IF_ERROR(call.CheckArea(ret, 24, 8, "increment's return area"));
  return WithResult(call, ret, 8, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key, call.ReadString(ArgSlice(args, 1), "key"));
    uint64_t value = 0;
    if (kUnsigned) {
      ASSIGN_OR_RETURN(value, guest.session().IncrementUnsigned(ArgU32(args, 0), key, args[3]));
    } else {
      ASSIGN_OR_RETURN(
          int64_t signed_value,
          guest.session().Increment(ArgU32(args, 0), key, static_cast<int64_t>(args[3])));
      value = static_cast<uint64_t>(signed_value);
    }
    call.Store64(ret, 8, value);
    return absl::OkStatus();
  });
}

// draft2: [static]cas.new(bucket, key) -> result<cas, error>
absl::Status CasNew(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, kSmallResultSize, 4, "cas.new's return area"));
  return WithResult(call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key, call.ReadString(ArgSlice(args, 1), "key"));
    ASSIGN_OR_RETURN(Handle cas, guest.session().NewCas(ArgU32(args, 0), key));
    call.Store32(ret, 4, cas);
    return absl::OkStatus();
  });
}

// draft2: [method]cas.current() -> result<option<list<u8>>, error>
absl::Status CasCurrent(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 1);
  RETURN_IF_ERROR(call.CheckArea(ret, kSmallResultSize, 4, "cas.current's return area"));
  return WithResult(call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> value, guest.session().CasCurrent(ArgU32(args, 0)));
    return LowerOptionalBytes(call, ret, 4, value);
  });
}

// draft2: swap(cas, value) -> result<_, cas-error>, where
// cas-error = variant { store-error(error), cas-failed(cas) }: its tag at 4,
// its payload at 8.
absl::Status Swap(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, 20, 4, "swap's return area"));
  absl::StatusOr<std::string> value = call.ReadBytes(ArgSlice(args, 1), "value");
  absl::StatusOr<Session::SwapOutcome> outcome =
      value.ok() ? guest.session().Swap(ArgU32(args, 0), *value) : value.status();
  if (!outcome.ok()) {
    if (IsGuestTrap(outcome.status())) return outcome.status();
    call.Store8(ret, 0, 1);
    call.Store8(ret, 4, 0);  // store-error
    return LowerError(call, ret, 8, outcome.status());
  }
  call.Store8(ret, 0, outcome->swapped ? 0 : 1);
  if (!outcome->swapped) {
    call.Store8(ret, 4, 1);  // cas-failed, with a cas on the key's new state
    call.Store32(ret, 8, outcome->fresh_cas);
  }
  return absl::OkStatus();
}

absl::Status DropCas(CoreGuest& guest, Args args, Results) {
  return guest.session().DropCas(ArgU32(args, 0));
}

// batch.get-many(bucket, keys) -> result<list<option<tuple<string, list<u8>>>>, error>
// Elements are 20 bytes: option tag @0, key @4/@8, value @12/@16.
absl::Status GetMany(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, kSmallResultSize, 4, "get-many's return area"));
  return WithResult(call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<std::string> keys, call.ReadStringList(ArgSlice(args, 1), "keys"));
    ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> values,
                     guest.session().GetMany(ArgU32(args, 0), keys));
    constexpr uint32_t kElementSize = 20;
    uint64_t total = uint64_t{kElementSize} * keys.size();
    for (size_t i = 0; i < keys.size(); ++i) {
      if (values[i]) total += keys[i].size() + values[i]->size();
    }
    RETURN_IF_ERROR(call.Reserve(total, "the get-many result"));
    ASSIGN_OR_RETURN(uint32_t list,
                     call.Allocate(static_cast<uint32_t>(kElementSize * keys.size()), 4));
    call.CopyOut(list, std::string(kElementSize * keys.size(), '\0'));
    for (size_t i = 0; i < keys.size(); ++i) {
      const uint32_t element = list + static_cast<uint32_t>(i * kElementSize);
      if (!values[i]) continue;
      call.Store8(element, 0, 1);
      ASSIGN_OR_RETURN(GuestSlice key, call.LowerBytes(keys[i]));
      ASSIGN_OR_RETURN(GuestSlice value, call.LowerBytes(*values[i]));
      call.Store32(element, 4, key.ptr);
      call.Store32(element, 8, key.len);
      call.Store32(element, 12, value.ptr);
      call.Store32(element, 16, value.len);
    }
    call.Store32(ret, 4, list);
    call.Store32(ret, 8, static_cast<uint32_t>(keys.size()));
    return absl::OkStatus();
  });
}

uint32_t LoadU32(const std::string& bytes, size_t offset) {
  uint32_t value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

// batch.set-many(bucket, list<tuple<string, list<u8>>>) -> result<_, error>
// Elements are 16 bytes: key (ptr, len), value (ptr, len).
absl::Status SetMany(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, kSmallResultSize, 4, "set-many's return area"));
  return WithResult(call, ret, 4, [&]() -> absl::Status {
    const GuestSlice list = ArgSlice(args, 1);
    ASSIGN_OR_RETURN(std::string elements, call.ReadElements(list, 16, 4, "key-values"));
    std::vector<KeyValue> entries(list.len);
    for (uint32_t i = 0; i < list.len; ++i) {
      const size_t at = size_t{i} * 16;
      ASSIGN_OR_RETURN(entries[i].key,
                       call.ReadString({LoadU32(elements, at), LoadU32(elements, at + 4)},
                                       fmt::format("key-values[{}].key", i)));
      ASSIGN_OR_RETURN(entries[i].value,
                       call.ReadBytes({LoadU32(elements, at + 8), LoadU32(elements, at + 12)},
                                      fmt::format("key-values[{}].value", i)));
    }
    return guest.session().SetMany(ArgU32(args, 0), entries);
  });
}

// batch.delete-many(bucket, keys) -> result<_, error>
absl::Status DeleteMany(CoreGuest& guest, Args args, Results) {
  AbiCall call = StartCall(guest);
  const uint32_t ret = ArgU32(args, 3);
  RETURN_IF_ERROR(call.CheckArea(ret, kSmallResultSize, 4, "delete-many's return area"));
  return WithResult(call, ret, 4, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<std::string> keys, call.ReadStringList(ArgSlice(args, 1), "keys"));
    return guest.session().DeleteMany(ArgU32(args, 0), keys);
  });
}

#define WASIKV_STORE_IMPORTS(VERSION)                                                  \
  CoreImport{"wasi:keyvalue/store@" VERSION, "open", "iii", "", &Open},                \
      {"wasi:keyvalue/store@" VERSION, "[resource-drop]bucket", "i", "", &DropBucket}, \
      {"wasi:keyvalue/store@" VERSION, "[method]bucket.get", "iiii", "", &Get},        \
      {"wasi:keyvalue/store@" VERSION, "[method]bucket.set", "iiiiii", "", &Set},      \
      {"wasi:keyvalue/store@" VERSION, "[method]bucket.delete", "iiii", "", &Delete},  \
      {"wasi:keyvalue/store@" VERSION, "[method]bucket.exists", "iiii", "", &Exists},  \
      {"wasi:keyvalue/batch@" VERSION, "get-many", "iiii", "", &GetMany},              \
      {"wasi:keyvalue/batch@" VERSION, "set-many", "iiii", "", &SetMany}, {            \
    "wasi:keyvalue/batch@" VERSION, "delete-many", "iiii", "", &DeleteMany             \
  }

const CoreImport kStoreImports[] = {
    WASIKV_STORE_IMPORTS("0.2.0-draft"),
    {"wasi:keyvalue/store@0.2.0-draft", "[method]bucket.list-keys", "iiIi", "", &ListKeysDraft},
    {"wasi:keyvalue/atomics@0.2.0-draft", "increment", "iiiIi", "", &Increment<true>},
    WASIKV_STORE_IMPORTS("0.2.0-draft2"),
    {"wasi:keyvalue/store@0.2.0-draft2", "[method]bucket.list-keys", "iiiii", "", &ListKeysDraft2},
    {"wasi:keyvalue/atomics@0.2.0-draft2", "increment", "iiiIi", "", &Increment<false>},
    {"wasi:keyvalue/atomics@0.2.0-draft2", "[static]cas.new", "iiii", "", &CasNew},
    {"wasi:keyvalue/atomics@0.2.0-draft2", "[method]cas.current", "ii", "", &CasCurrent},
    {"wasi:keyvalue/atomics@0.2.0-draft2", "swap", "iiii", "", &Swap},
    {"wasi:keyvalue/atomics@0.2.0-draft2", "[resource-drop]cas", "i", "", &DropCas},
};

#undef WASIKV_STORE_IMPORTS

}  // namespace

std::span<const CoreImport> StoreImports() { return kStoreImports; }

}  // namespace wasikv::adapter
