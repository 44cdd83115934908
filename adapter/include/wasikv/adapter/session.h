// The runtime-neutral core of the wasi:keyvalue adapter: what each function
// of wasi:keyvalue 0.2.0-draft and 0.2.0-draft2 means, on top of the wasikv
// client, with the handle tables of one guest instance.
#ifndef WASIKV_ADAPTER_SESSION_H_
#define WASIKV_ADAPTER_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "wasikv/adapter/host.h"
#include "wasikv/types.h"

namespace wasikv::adapter {

// Handles the guest holds: small non-zero integers that are never reused
// within a session, so a stale handle fails loudly instead of reaching
// someone else's resource.
using Handle = uint32_t;

// Counts the handles of every kind one guest instance holds against
// HostOptions::max_handles.
class HandleBudget {
 public:
  explicit HandleBudget(uint32_t limit) : limit_(limit) {}
  // RESOURCE_EXHAUSTED (an error for the guest, not a trap) at the limit.
  absl::Status Acquire(std::string_view kind);
  void Release() { --in_use_; }
  uint32_t in_use() const { return in_use_; }

 private:
  uint32_t limit_;
  uint32_t in_use_ = 0;
};

// The trap for a handle the guest does not hold.
absl::Status UnknownHandle(std::string_view kind, Handle handle);

// One kind of handle. Unknown handles are guest traps, as the component
// model's resource tables make them.
template <typename T>
class HandleTable {
 public:
  HandleTable(std::string_view kind, HandleBudget* budget) : kind_(kind), budget_(budget) {}
  ~HandleTable() {
    for (size_t i = 0; i < entries_.size(); ++i) budget_->Release();
  }
  HandleTable(const HandleTable&) = delete;
  HandleTable& operator=(const HandleTable&) = delete;

  absl::StatusOr<Handle> Insert(T value) {
    if (absl::Status s = budget_->Acquire(kind_); !s.ok()) return s;
    do {
      ++next_;
    } while (next_ == 0 || entries_.contains(next_));
    entries_.emplace(next_, std::move(value));
    return next_;
  }
  absl::StatusOr<T*> Get(Handle handle) {
    auto it = entries_.find(handle);
    if (it == entries_.end()) return UnknownHandle(kind_, handle);
    return &it->second;
  }
  absl::StatusOr<T> Take(Handle handle) {
    auto it = entries_.find(handle);
    if (it == entries_.end()) return UnknownHandle(kind_, handle);
    T value = std::move(it->second);
    entries_.erase(it);
    budget_->Release();
    return value;
  }
  size_t size() const { return entries_.size(); }

 private:
  std::string kind_;
  HandleBudget* budget_;
  Handle next_ = 0;
  absl::flat_hash_map<Handle, T> entries_;
};

// One guest instance's view of the store. Each method is one wasi:keyvalue
// function; errors are absl::Status (convert with ToKeyValueError) and guest
// contract violations are GuestTrap statuses.
//
// Not thread-safe: a guest instance runs on one thread at a time, and so
// does its session. Every call is a blocking client call.
class Session {
 public:
  explicit Session(std::shared_ptr<const Host> host);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Host& host() const { return *host_; }
  HandleBudget& budget() { return budget_; }

  // store.open: resolves the identifier against the host's policy, asks the
  // server whether the bucket is usable, and returns a new bucket handle.
  absl::StatusOr<Handle> Open(std::string_view identifier);
  absl::Status DropBucket(Handle bucket);
  // Called on every successful Open with the bucket's name and the server
  // revision the open saw, so a watcher can start right after it (see
  // WatchDelivery). One observer; setting another replaces it.
  using OpenObserver = std::function<void(const std::string& bucket, uint64_t revision)>;
  void set_open_observer(OpenObserver observer) { open_observer_ = std::move(observer); }

  // A new handle to a bucket by its resolved name, without asking the
  // server (watch events hand the guest the bucket they happened in).
  absl::StatusOr<Handle> OpenResolved(std::string bucket_name);
  absl::StatusOr<std::string> BucketName(Handle bucket);

  absl::StatusOr<std::optional<std::string>> Get(Handle bucket, std::string_view key);
  absl::StatusOr<std::optional<VersionedValue>> GetVersioned(Handle bucket, std::string_view key);
  absl::Status Set(Handle bucket, std::string_view key, std::string_view value);
  // Deleting a missing key succeeds; `deleted` says whether it existed.
  absl::StatusOr<bool> Delete(Handle bucket, std::string_view key);
  absl::StatusOr<bool> Exists(Handle bucket, std::string_view key);

  // 0.2.0-draft2: the cursor is the server's opaque page token.
  struct KeyPage {
    std::vector<std::string> keys;
    std::optional<std::string> cursor;
  };
  absl::StatusOr<KeyPage> ListKeys(Handle bucket, std::optional<std::string_view> cursor);
  // 0.2.0-draft: the cursor is a u64. As in wasmtime, it counts the keys
  // already listed, so any number is meaningful and one past the end gives
  // an empty page. Following the cursors this returns costs one page each.
  struct OffsetKeyPage {
    std::vector<std::string> keys;
    std::optional<uint64_t> cursor;
  };
  absl::StatusOr<OffsetKeyPage> ListKeysFrom(Handle bucket, std::optional<uint64_t> offset);
  // Every key of the bucket, for the seed world's get-keys, failing with an
  // error once the keys pass `max_bytes` in total.
  absl::StatusOr<std::vector<std::string>> AllKeys(Handle bucket, uint64_t max_bytes);

  // Counters are decimal ASCII. A value that is not a decimal integer, or a
  // result past int64, is an error, never a wrap.
  absl::StatusOr<int64_t> Increment(Handle bucket, std::string_view key, int64_t delta);
  // 0.2.0-draft's and seed 001's u64 increment over wasikv's s64 counters:
  // a delta past 2^63-1, or a result below zero, is OUT_OF_RANGE.
  absl::StatusOr<uint64_t> IncrementUnsigned(Handle bucket, std::string_view key, uint64_t delta);
  // The seed world's compare-and-swap on decimal counters: true if the value
  // was `expected` and is now `desired`. A missing key is an error.
  absl::StatusOr<bool> CompareAndSwapDecimal(Handle bucket, std::string_view key, uint64_t expected,
                                             uint64_t desired);

  // draft2's cas resource. New reads the key's version; Current re-reads the
  // value and moves the expectation to what it returns; Swap writes only if
  // the key still has that version, and consumes the cas either way.
  absl::StatusOr<Handle> NewCas(Handle bucket, std::string_view key);
  absl::StatusOr<std::optional<std::string>> CasCurrent(Handle cas);
  struct SwapOutcome {
    bool swapped = false;
    Handle fresh_cas = 0;  // set when !swapped: a cas on the key's new state
  };
  absl::StatusOr<SwapOutcome> Swap(Handle cas, std::string_view value);
  absl::Status DropCas(Handle cas);

  // Batch calls keep request order; get-many gives nullopt for missing keys.
  absl::StatusOr<std::vector<std::optional<std::string>>> GetMany(
      Handle bucket, std::span<const std::string> keys);
  absl::Status SetMany(Handle bucket, std::span<const KeyValue> entries);
  absl::Status DeleteMany(Handle bucket, std::span<const std::string> keys);

 private:
  struct OpenBucket {
    std::string name;
    // Where the last draft list-keys page ended, so following its cursor
    // does not rescan the keys before it.
    uint64_t resume_offset = 0;
    std::string resume_token;
  };
  struct CasState {
    std::string bucket;
    std::string key;
    std::optional<VersionedValue> seen;  // nullopt: the key was absent
  };

  absl::StatusOr<OpenBucket*> Bucket(Handle bucket);
  absl::StatusOr<Handle> NewCasOn(std::string bucket, std::string key);

  std::shared_ptr<const Host> host_;
  OpenObserver open_observer_;
  HandleBudget budget_;
  HandleTable<OpenBucket> buckets_;
  HandleTable<CasState> cas_;
};

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_SESSION_H_
