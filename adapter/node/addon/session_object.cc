#include "session_object.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core_guest_object.h"
#include "fmt/format.h"
#include "host_object.h"
#include "js_values.h"
#include "key_value_error.h"

namespace wasikv::adapter::node {
namespace {

constexpr napi_type_tag kSessionTag = {0x7761'7369'6b76'7365ULL, 0x7373'0000'0000'0001ULL};

// Reads one method argument into `var`, returning from the method (with the
// exception Read* threw pending) if it is missing or mistyped.
#define WASIKV_READ_ARG(var, expr) \
  auto var = (expr);               \
  if (!var) return nullptr

// The session a method is called on: nullptr with an exception pending if
// the receiver is not a Session or (unless `allow_closed`) is closed.
SessionObject* Receiver(const JsCall& call, bool allow_closed = false) {
  if (!call.ok()) return nullptr;
  napi_env env = call.env();
  bool tagged = false;
  napi_valuetype type = napi_undefined;
  napi_typeof(env, call.self(), &type);
  if (type == napi_object) napi_check_object_type_tag(env, call.self(), &kSessionTag, &tagged);
  void* wrapped = nullptr;
  SessionObject* object = nullptr;
  if (tagged && napi_unwrap(env, call.self(), &wrapped) == napi_ok) {
    object = static_cast<SessionObject*>(wrapped);
  } else if (type == napi_object) {
    object = CoreGuestObject::SessionOf(env, call.self());
  }
  if (object == nullptr) {
    ThrowTypeError(env, "this is not a Session");
    return nullptr;
  }
  if (object->session() == nullptr && !allow_closed) {
    napi_throw_error(env, "ERR_WASIKV_CLOSED", "this wasi:keyvalue session is closed");
    return nullptr;
  }
  return object;
}

// jco lowers results into the guest itself, through the guest's realloc, so
// the limit the core binding's AbiCall::Reserve applies to what it lowers is
// applied here, with the same message, before a result is handed over.
absl::Status CheckResultBytes(const Session& session, uint64_t bytes, std::string_view what) {
  const uint32_t limit = session.host().options().max_call_allocation_bytes;
  if (bytes > limit) {
    return absl::ResourceExhaustedError(fmt::format(
        "{} is {} bytes, over the host's limit of {} bytes per call (max_call_allocation_bytes)",
        what, bytes, limit));
  }
  return absl::OkStatus();
}

// Canonical-ABI bytes of a list<string> in guest memory.
uint64_t KeyListBytes(const std::vector<std::string>& keys) {
  uint64_t total = keys.size() * uint64_t{8};
  for (const std::string& key : keys) total += key.size();
  return total;
}

napi_value OptionalBytes(napi_env env, const std::optional<std::string>& value) {
  return value ? MakeBytes(env, *value) : Undefined(env);
}

// watch()'s options.
struct WatchArgs {
  WatchFeedOptions feed;
  bool keep_alive = false;
};

std::optional<bool> ReadBool(napi_env env, napi_value value, std::string_view what) {
  napi_valuetype type = napi_undefined;
  napi_typeof(env, value, &type);
  bool flag = false;
  if (type != napi_boolean || !NapiOk(env, napi_get_value_bool(env, value, &flag))) {
    ThrowTypeError(env, std::string(what) + " must be a boolean");
    return std::nullopt;
  }
  return flag;
}

// nullopt, with a TypeError or RangeError naming the option pending, for a
// bad one.
std::optional<WatchArgs> ReadWatchArgs(napi_env env, napi_value options) {
  WatchArgs out;
  if (IsNullish(env, options)) return out;
  napi_valuetype type = napi_undefined;
  napi_typeof(env, options, &type);
  if (type != napi_object) {
    ThrowTypeError(env, "options must be an object");
    return std::nullopt;
  }
  Property buckets = GetProperty(env, options, "buckets");
  if (!buckets.ok) return std::nullopt;
  if (buckets.value != nullptr) {
    std::optional<std::vector<std::string>> names =
        ReadStringArray(env, buckets.value, "options.buckets");
    if (!names) return std::nullopt;
    out.feed.buckets = *std::move(names);
  }
  Property opened = GetProperty(env, options, "watchOpenedBuckets");
  if (!opened.ok) return std::nullopt;
  if (opened.value != nullptr) {
    std::optional<bool> flag = ReadBool(env, opened.value, "options.watchOpenedBuckets");
    if (!flag) return std::nullopt;
    out.feed.watch_opened_buckets = *flag;
  }
  Property max_queued = GetProperty(env, options, "maxQueuedEvents");
  if (!max_queued.ok) return std::nullopt;
  if (max_queued.value != nullptr) {
    std::optional<uint32_t> max = ReadU32(env, max_queued.value, "options.maxQueuedEvents");
    if (!max) return std::nullopt;
    if (*max == 0) {
      ThrowRangeError(env, "options.maxQueuedEvents must be an integer from 1 to 4294967295");
      return std::nullopt;
    }
    out.feed.max_queued_events = *max;
  }
  Property keep_alive = GetProperty(env, options, "keepAlive");
  if (!keep_alive.ok) return std::nullopt;
  if (keep_alive.value != nullptr) {
    std::optional<bool> flag = ReadBool(env, keep_alive.value, "options.keepAlive");
    if (!flag) return std::nullopt;
    out.keep_alive = *flag;
  }
  return out;
}

// { bucket, type, key, value, revision }: value undefined for a delete.
napi_value EventObject(napi_env env, const FeedEvent& change) {
  const bool is_set = change.event.type == WatchEvent::Type::kSet;
  napi_value object = nullptr;
  if (!NapiOk(env, napi_create_object(env, &object)) ||
      !SetProperty(env, object, "bucket", MakeString(env, change.bucket)) ||
      !SetProperty(env, object, "type", MakeString(env, is_set ? "set" : "delete")) ||
      !SetProperty(env, object, "key", MakeString(env, change.event.key)) ||
      !SetProperty(env, object, "value",
                   is_set ? MakeBytes(env, change.event.value) : Undefined(env)) ||
      !SetProperty(env, object, "revision", MakeBigUint64(env, change.event.revision))) {
    return nullptr;
  }
  return object;
}

// { keys, cursor } with cursor undefined on the last page.
napi_value KeyPage(napi_env env, const std::vector<std::string>& keys, napi_value cursor) {
  napi_value page = nullptr;
  if (!NapiOk(env, napi_create_object(env, &page)) ||
      !SetProperty(env, page, "keys", MakeStringArray(env, keys)) ||
      !SetProperty(env, page, "cursor", cursor)) {
    return nullptr;
  }
  return page;
}

napi_property_descriptor Method(const char* name, napi_callback callback) {
  return napi_property_descriptor{
      name, nullptr, callback, nullptr, nullptr, nullptr, napi_default_method, nullptr};
}

}  // namespace

std::vector<napi_property_descriptor> SessionObject::SharedMethods() {
  return {
      Method("openHandles", &SessionObject::OpenHandles),
      Method("watch", &SessionObject::Watch),
      Method("takeEvents", &SessionObject::TakeEvents),
      Method("openResolved", &SessionObject::OpenResolved),
      Method("unwatch", &SessionObject::Unwatch),
  };
}

bool SessionObject::Define(napi_env env, napi_value exports) {
  const napi_property_descriptor methods[] = {
      Method("open", &SessionObject::Open),
      Method("dropBucket", &SessionObject::DropBucket),
      Method("get", &SessionObject::Get),
      Method("set", &SessionObject::Set),
      Method("delete", &SessionObject::Delete),
      Method("exists", &SessionObject::Exists),
      Method("listKeys", &SessionObject::ListKeys),
      Method("listKeysFrom", &SessionObject::ListKeysFrom),
      Method("increment", &SessionObject::Increment),
      Method("incrementUnsigned", &SessionObject::IncrementUnsigned),
      Method("newCas", &SessionObject::NewCas),
      Method("casCurrent", &SessionObject::CasCurrent),
      Method("swap", &SessionObject::Swap),
      Method("dropCas", &SessionObject::DropCas),
      Method("getMany", &SessionObject::GetMany),
      Method("setMany", &SessionObject::SetMany),
      Method("deleteMany", &SessionObject::DeleteMany),
      Method("openHandles", &SessionObject::OpenHandles),
      Method("close", &SessionObject::Close),
      Method("watch", &SessionObject::Watch),
      Method("takeEvents", &SessionObject::TakeEvents),
      Method("openResolved", &SessionObject::OpenResolved),
      Method("unwatch", &SessionObject::Unwatch),
  };
  napi_value constructor = nullptr;
  return NapiOk(env, napi_define_class(env, "Session", NAPI_AUTO_LENGTH, &SessionObject::New,
                                       nullptr, std::size(methods), methods, &constructor)) &&
         SetProperty(env, exports, "Session", constructor);
}

napi_value SessionObject::New(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  if (!call.ok()) return nullptr;
  napi_value target = nullptr;
  if (!NapiOk(env, napi_get_new_target(env, info, &target))) return nullptr;
  if (target == nullptr) return ThrowTypeError(env, "Session must be called with new");
  HostObject* host = HostObject::Unwrap(env, call.arg(0), "the Session's host");
  if (host == nullptr) return nullptr;
  auto* object = new SessionObject(std::make_unique<Session>(host->host()));
  if (!NapiOk(env,
              napi_wrap(
                  env, call.self(), object,
                  [](napi_env, void* data, void*) { delete static_cast<SessionObject*>(data); },
                  nullptr, nullptr))) {
    delete object;
    return nullptr;
  }
  if (!NapiOk(env, napi_type_tag_object(env, call.self(), &kSessionTag))) return nullptr;
  return call.self();
}

napi_value SessionObject::Open(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(identifier, ReadString(env, call.arg(0), "identifier"));
  absl::StatusOr<Handle> bucket = self->session_->Open(*identifier);
  if (!bucket.ok()) return ThrowStatus(env, bucket.status());
  return MakeU32(env, *bucket);
}

napi_value SessionObject::DropBucket(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call, /*allow_closed=*/true);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  if (self->session_ == nullptr) return Undefined(env);
  if (absl::Status s = self->session_->DropBucket(*bucket); !s.ok()) return ThrowStatus(env, s);
  return Undefined(env);
}

napi_value SessionObject::Get(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  WASIKV_READ_ARG(key, ReadString(env, call.arg(1), "key"));
  absl::StatusOr<std::optional<std::string>> value = self->session_->Get(*bucket, *key);
  if (!value.ok()) return ThrowStatus(env, value.status());
  if (*value) {
    if (absl::Status s = CheckResultBytes(*self->session_, (*value)->size(), "the value");
        !s.ok()) {
      return ThrowStatus(env, s);
    }
  }
  return OptionalBytes(env, *value);
}

napi_value SessionObject::Set(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  WASIKV_READ_ARG(key, ReadString(env, call.arg(1), "key"));
  WASIKV_READ_ARG(value, ReadBytes(env, call.arg(2), "value"));
  if (absl::Status s = self->session_->Set(*bucket, *key, *value); !s.ok()) {
    return ThrowStatus(env, s);
  }
  return Undefined(env);
}

napi_value SessionObject::Delete(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  WASIKV_READ_ARG(key, ReadString(env, call.arg(1), "key"));
  absl::StatusOr<bool> deleted = self->session_->Delete(*bucket, *key);
  if (!deleted.ok()) return ThrowStatus(env, deleted.status());
  return MakeBool(env, *deleted);
}

napi_value SessionObject::Exists(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  WASIKV_READ_ARG(key, ReadString(env, call.arg(1), "key"));
  absl::StatusOr<bool> exists = self->session_->Exists(*bucket, *key);
  if (!exists.ok()) return ThrowStatus(env, exists.status());
  return MakeBool(env, *exists);
}

napi_value SessionObject::ListKeys(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  std::optional<std::string> cursor;
  if (!IsNullish(env, call.arg(1))) {
    cursor = ReadString(env, call.arg(1), "cursor");
    if (!cursor) return nullptr;
  }
  absl::StatusOr<Session::KeyPage> page = self->session_->ListKeys(*bucket, cursor);
  if (!page.ok()) return ThrowStatus(env, page.status());
  const uint64_t bytes = KeyListBytes(page->keys) + page->cursor.value_or("").size();
  if (absl::Status s = CheckResultBytes(*self->session_, bytes, "the key list"); !s.ok()) {
    return ThrowStatus(env, s);
  }
  return KeyPage(env, page->keys, page->cursor ? MakeString(env, *page->cursor) : Undefined(env));
}

napi_value SessionObject::ListKeysFrom(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  std::optional<uint64_t> cursor;
  if (!IsNullish(env, call.arg(1))) {
    cursor = ReadBigUint64(env, call.arg(1), "cursor");
    if (!cursor) return nullptr;
  }
  absl::StatusOr<Session::OffsetKeyPage> page = self->session_->ListKeysFrom(*bucket, cursor);
  if (!page.ok()) return ThrowStatus(env, page.status());
  if (absl::Status s = CheckResultBytes(*self->session_, KeyListBytes(page->keys), "the key list");
      !s.ok()) {
    return ThrowStatus(env, s);
  }
  return KeyPage(env, page->keys,
                 page->cursor ? MakeBigUint64(env, *page->cursor) : Undefined(env));
}

napi_value SessionObject::Increment(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  WASIKV_READ_ARG(key, ReadString(env, call.arg(1), "key"));
  WASIKV_READ_ARG(delta, ReadBigInt64(env, call.arg(2), "delta"));
  absl::StatusOr<int64_t> value = self->session_->Increment(*bucket, *key, *delta);
  if (!value.ok()) return ThrowStatus(env, value.status());
  return MakeBigInt64(env, *value);
}

// 0.2.0-draft's u64 increment over wasikv's s64 counters.
napi_value SessionObject::IncrementUnsigned(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  WASIKV_READ_ARG(key, ReadString(env, call.arg(1), "key"));
  WASIKV_READ_ARG(delta, ReadBigUint64(env, call.arg(2), "delta"));
  absl::StatusOr<uint64_t> value = self->session_->IncrementUnsigned(*bucket, *key, *delta);
  if (!value.ok()) return ThrowStatus(env, value.status());
  return MakeBigUint64(env, *value);
}

napi_value SessionObject::NewCas(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  WASIKV_READ_ARG(key, ReadString(env, call.arg(1), "key"));
  absl::StatusOr<Handle> cas = self->session_->NewCas(*bucket, *key);
  if (!cas.ok()) return ThrowStatus(env, cas.status());
  return MakeU32(env, *cas);
}

napi_value SessionObject::CasCurrent(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(cas, ReadU32(env, call.arg(0), "cas"));
  absl::StatusOr<std::optional<std::string>> value = self->session_->CasCurrent(*cas);
  if (!value.ok()) return ThrowStatus(env, value.status());
  if (*value) {
    if (absl::Status s = CheckResultBytes(*self->session_, (*value)->size(), "the value");
        !s.ok()) {
      return ThrowStatus(env, s);
    }
  }
  return OptionalBytes(env, *value);
}

napi_value SessionObject::Swap(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(cas, ReadU32(env, call.arg(0), "cas"));
  WASIKV_READ_ARG(value, ReadBytes(env, call.arg(1), "value"));
  absl::StatusOr<Session::SwapOutcome> outcome = self->session_->Swap(*cas, *value);
  if (!outcome.ok()) return ThrowStatus(env, outcome.status());
  return outcome->swapped ? Undefined(env) : MakeU32(env, outcome->fresh_cas);
}

napi_value SessionObject::DropCas(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call, /*allow_closed=*/true);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(cas, ReadU32(env, call.arg(0), "cas"));
  if (self->session_ == nullptr) return Undefined(env);
  if (absl::Status s = self->session_->DropCas(*cas); !s.ok()) return ThrowStatus(env, s);
  return Undefined(env);
}

napi_value SessionObject::GetMany(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  WASIKV_READ_ARG(keys, ReadStringArray(env, call.arg(1), "keys"));
  absl::StatusOr<std::vector<std::optional<std::string>>> values =
      self->session_->GetMany(*bucket, *keys);
  if (!values.ok()) return ThrowStatus(env, values.status());
  // As the core binding counts it: 20-byte elements, and key and value of
  // each one present.
  uint64_t bytes = uint64_t{20} * keys->size();
  for (size_t i = 0; i < keys->size(); ++i) {
    if ((*values)[i]) bytes += (*keys)[i].size() + (*values)[i]->size();
  }
  if (absl::Status s = CheckResultBytes(*self->session_, bytes, "the get-many result"); !s.ok()) {
    return ThrowStatus(env, s);
  }
  napi_value array = nullptr;
  if (!NapiOk(env, napi_create_array_with_length(env, values->size(), &array))) return nullptr;
  for (size_t i = 0; i < values->size(); ++i) {
    napi_value element = OptionalBytes(env, (*values)[i]);
    if (element == nullptr ||
        !NapiOk(env, napi_set_element(env, array, static_cast<uint32_t>(i), element))) {
      return nullptr;
    }
  }
  return array;
}

napi_value SessionObject::SetMany(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  WASIKV_READ_ARG(entries, ReadEntries(env, call.arg(1), "entries"));
  if (absl::Status s = self->session_->SetMany(*bucket, *entries); !s.ok()) {
    return ThrowStatus(env, s);
  }
  return Undefined(env);
}

napi_value SessionObject::DeleteMany(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(bucket, ReadU32(env, call.arg(0), "bucket"));
  WASIKV_READ_ARG(keys, ReadStringArray(env, call.arg(1), "keys"));
  if (absl::Status s = self->session_->DeleteMany(*bucket, *keys); !s.ok()) {
    return ThrowStatus(env, s);
  }
  return Undefined(env);
}

napi_value SessionObject::OpenHandles(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call, /*allow_closed=*/true);
  if (self == nullptr) return nullptr;
  return MakeU32(env, self->session_ == nullptr ? 0 : self->session_->budget().in_use());
}

napi_value SessionObject::Close(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call, /*allow_closed=*/true);
  if (self == nullptr) return nullptr;
  self->Release();
  return Undefined(env);
}

SessionObject::~SessionObject() { StopWatching(); }

void SessionObject::Release() {
  StopWatching();
  session_ = nullptr;
  owned_.reset();
}

void SessionObject::StopWatching(bool from_hook) {
  // The feed's destructor waits for its subscription threads, the only
  // callers of the signal; then nothing can call the signal any more.
  feed_.reset();
  ready_.reset();
  watch_error_ = absl::OkStatus();
  if (hook_env_ != nullptr && !from_hook) {
    napi_remove_env_cleanup_hook(hook_env_, &SessionObject::OnEnvCleanup, this);
  }
  hook_env_ = nullptr;
}

void SessionObject::OnEnvCleanup(void* self) {
  static_cast<SessionObject*>(self)->StopWatching(/*from_hook=*/true);
}

napi_value SessionObject::Watch(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  std::optional<WatchArgs> options = ReadWatchArgs(env, call.arg(0));
  if (!options) return nullptr;
  napi_valuetype type = napi_undefined;
  napi_typeof(env, call.arg(1), &type);
  if (type != napi_function) return ThrowTypeError(env, "onReady must be a function");
  if (self->feed_ != nullptr) {
    napi_throw_error(env, "ERR_WASIKV_WATCHING", "this session is already watching");
    return nullptr;
  }
  self->ready_ = ReadySignal::Create(env, call.arg(1), options->keep_alive);
  if (self->ready_ == nullptr) return nullptr;
  // Registered after the threadsafe function, so it runs before the
  // function's own teardown (cleanup hooks run last registered first).
  if (!NapiOk(env, napi_add_env_cleanup_hook(env, &SessionObject::OnEnvCleanup, self))) {
    self->ready_.reset();
    return nullptr;
  }
  self->hook_env_ = env;
  ReadySignal* ready = self->ready_.get();
  absl::StatusOr<std::unique_ptr<WatchFeed>> feed =
      WatchFeed::Create(*self->session_, std::move(options->feed), [ready] { ready->Notify(); });
  if (!feed.ok()) {
    self->StopWatching();
    return ThrowStatus(env, feed.status());
  }
  self->feed_ = *std::move(feed);
  return Undefined(env);
}

napi_value SessionObject::TakeEvents(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  uint32_t max = 100;
  if (!IsNullish(env, call.arg(0))) {
    WASIKV_READ_ARG(given, ReadU32(env, call.arg(0), "max"));
    if (*given == 0) return ThrowRangeError(env, "max must be an integer from 1 to 4294967295");
    max = *given;
  }
  if (self->feed_ == nullptr) {
    napi_throw_error(env, "ERR_WASIKV_NOT_WATCHING", "this session is not watching");
    return nullptr;
  }
  if (!self->watch_error_.ok()) return ThrowStatus(env, self->watch_error_);
  absl::StatusOr<std::vector<FeedEvent>> changes =
      self->feed_->Take(std::chrono::milliseconds(0), max);
  if (!changes.ok()) return ThrowStatus(env, changes.status());
  // An event over the limit, and the feed with it, ends here; the events
  // before it are delivered.
  size_t count = 0;
  for (; count < changes->size(); ++count) {
    const WatchEvent& event = (*changes)[count].event;
    absl::Status s = CheckResultBytes(*self->session_, event.key.size() + event.value.size(),
                                      "the watch event's key and value");
    if (!s.ok()) {
      self->watch_error_ = std::move(s);
      if (count == 0) return ThrowStatus(env, self->watch_error_);
      break;
    }
  }
  napi_value array = nullptr;
  if (!NapiOk(env, napi_create_array_with_length(env, count, &array))) return nullptr;
  for (size_t i = 0; i < count; ++i) {
    napi_value element = EventObject(env, (*changes)[i]);
    if (element == nullptr ||
        !NapiOk(env, napi_set_element(env, array, static_cast<uint32_t>(i), element))) {
      return nullptr;
    }
  }
  return array;
}

napi_value SessionObject::OpenResolved(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call);
  if (self == nullptr) return nullptr;
  WASIKV_READ_ARG(name, ReadString(env, call.arg(0), "bucket"));
  absl::StatusOr<Handle> bucket = self->session_->OpenResolved(*std::move(name));
  if (!bucket.ok()) return ThrowStatus(env, bucket.status());
  return MakeU32(env, *bucket);
}

napi_value SessionObject::Unwatch(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  SessionObject* self = Receiver(call, /*allow_closed=*/true);
  if (self == nullptr) return nullptr;
  self->StopWatching();
  return Undefined(env);
}

#undef WASIKV_READ_ARG

}  // namespace wasikv::adapter::node
