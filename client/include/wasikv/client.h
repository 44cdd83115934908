// wasikv::Client: the C++ client of wasikvd. Every server operation as a
// blocking call returning absl::StatusOr, and as an asynchronous call that
// invokes a callback.
//
// Errors carry the server's canonical code and message unchanged
// (INVALID_ARGUMENT names the bad field and the limit; see kv.proto). "Not
// found" is never an error for a key: Get returns an empty optional.
//
// Thread safety: a Client is meant to be shared. All methods may be called
// concurrently from any number of threads; it multiplexes calls over one
// HTTP/2 connection. Callbacks of the async forms run on gRPC or client
// threads: keep them short and do not block in them on another call of the
// same client.
//
// Ownership: Bucket handles, WatchSubscriptions and in-flight asynchronous
// calls borrow the Client; destroy it only after they are gone and every
// callback has run.
#ifndef WASIKV_CLIENT_H_
#define WASIKV_CLIENT_H_

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "wasikv/options.h"
#include "wasikv/types.h"
#include "wasikv/watch.h"

namespace wasikv {

class Bucket;

template <typename T>
using Callback = std::function<void(absl::StatusOr<T>)>;

class Client {
 public:
  // Creates a client. Connecting is lazy: an unreachable server shows up as
  // UNAVAILABLE on the first call, after retries.
  static absl::StatusOr<std::unique_ptr<Client>> Create(const ClientOptions& options);
  virtual ~Client() = default;

  // A handle for the common path: the same calls without the bucket name.
  Bucket bucket(std::string name);

  // Buckets.
  virtual absl::StatusOr<BucketStatus> OpenBucket(std::string_view bucket,
                                                  const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<uint64_t> CreateBucket(std::string_view bucket,
                                                const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<DeleteBucketResult> DeleteBucket(std::string_view bucket,
                                                          const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<std::vector<BucketInfo>> ListBuckets(const CallOptions& call = {}) = 0;

  // Keys.
  virtual absl::StatusOr<GetResult> Get(std::string_view bucket, std::string_view key,
                                        const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<SetResult> Set(std::string_view bucket, std::string_view key,
                                        std::string_view value, const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<DeleteResult> Delete(std::string_view bucket, std::string_view key,
                                              const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<ExistsResult> Exists(std::string_view bucket, std::string_view key,
                                              const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<ListKeysPage> ListKeys(std::string_view bucket,
                                                const ListKeysOptions& list,
                                                const CallOptions& call = {}) = 0;
  // Never retried (not idempotent).
  virtual absl::StatusOr<IncrementResult> Increment(std::string_view bucket, std::string_view key,
                                                    int64_t delta,
                                                    const CallOptions& call = {}) = 0;
  // Never retried (not idempotent).
  virtual absl::StatusOr<CasResult> CompareAndSwap(std::string_view bucket, std::string_view key,
                                                   const CasExpectation& expected,
                                                   std::string_view new_value,
                                                   const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<GetManyResult> GetMany(std::string_view bucket,
                                                std::span<const std::string> keys,
                                                const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<uint64_t> SetMany(std::string_view bucket,
                                           std::span<const KeyValue> entries,
                                           const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<DeleteManyResult> DeleteMany(std::string_view bucket,
                                                      std::span<const std::string> keys,
                                                      const CallOptions& call = {}) = 0;

  // Asynchronous forms: `done` runs once with the result. Arguments are
  // copied; nothing needs to outlive the call.
  virtual void GetAsync(std::string_view bucket, std::string_view key, Callback<GetResult> done,
                        const CallOptions& call = {}) = 0;
  virtual void SetAsync(std::string_view bucket, std::string_view key, std::string_view value,
                        Callback<SetResult> done, const CallOptions& call = {}) = 0;
  virtual void DeleteAsync(std::string_view bucket, std::string_view key,
                           Callback<DeleteResult> done, const CallOptions& call = {}) = 0;
  virtual void ExistsAsync(std::string_view bucket, std::string_view key,
                           Callback<ExistsResult> done, const CallOptions& call = {}) = 0;
  virtual void ListKeysAsync(std::string_view bucket, const ListKeysOptions& list,
                             Callback<ListKeysPage> done, const CallOptions& call = {}) = 0;
  virtual void IncrementAsync(std::string_view bucket, std::string_view key, int64_t delta,
                              Callback<IncrementResult> done, const CallOptions& call = {}) = 0;
  virtual void CompareAndSwapAsync(std::string_view bucket, std::string_view key,
                                   const CasExpectation& expected, std::string_view new_value,
                                   Callback<CasResult> done, const CallOptions& call = {}) = 0;
  virtual void GetManyAsync(std::string_view bucket, std::span<const std::string> keys,
                            Callback<GetManyResult> done, const CallOptions& call = {}) = 0;
  virtual void SetManyAsync(std::string_view bucket, std::span<const KeyValue> entries,
                            Callback<uint64_t> done, const CallOptions& call = {}) = 0;
  virtual void DeleteManyAsync(std::string_view bucket, std::span<const std::string> keys,
                               Callback<DeleteManyResult> done, const CallOptions& call = {}) = 0;
  virtual void OpenBucketAsync(std::string_view bucket, Callback<BucketStatus> done,
                               const CallOptions& call = {}) = 0;
  virtual void CreateBucketAsync(std::string_view bucket, Callback<uint64_t> done,
                                 const CallOptions& call = {}) = 0;
  virtual void DeleteBucketAsync(std::string_view bucket, Callback<DeleteBucketResult> done,
                                 const CallOptions& call = {}) = 0;
  virtual void ListBucketsAsync(Callback<std::vector<BucketInfo>> done,
                                const CallOptions& call = {}) = 0;

  // Asks the standard grpc.health.v1.Health service about `service` (""
  // for the whole server; or "wasikv.v1.KV", "wasikv.v1.Buckets",
  // "wasikv.v1.Watch"). An unreachable server is an error (UNAVAILABLE), not a
  // status. Retried like a read.
  virtual absl::StatusOr<HealthStatus> CheckHealth(std::string_view service,
                                                   const CallOptions& call = {}) = 0;

  // Subscribes to changes. With a handler, batches are pushed to it;
  // without, pull them with WatchSubscription::Next(). Fails at once only
  // for bad options; server-side refusals end the subscription (on_end or
  // Next()).
  virtual absl::StatusOr<std::unique_ptr<WatchSubscription>> Watch(const WatchOptions& options,
                                                                   WatchHandler handler = {}) = 0;
};

// The calls of one bucket. Cheap to copy; borrows the Client.
class Bucket {
 public:
  Bucket(Client* client, std::string name) : client_(client), name_(std::move(name)) {}
  const std::string& name() const { return name_; }

  absl::StatusOr<GetResult> Get(std::string_view key, const CallOptions& call = {}) const {
    return client_->Get(name_, key, call);
  }
  absl::StatusOr<SetResult> Set(std::string_view key, std::string_view value,
                                const CallOptions& call = {}) const {
    return client_->Set(name_, key, value, call);
  }
  absl::StatusOr<DeleteResult> Delete(std::string_view key, const CallOptions& call = {}) const {
    return client_->Delete(name_, key, call);
  }
  absl::StatusOr<ExistsResult> Exists(std::string_view key, const CallOptions& call = {}) const {
    return client_->Exists(name_, key, call);
  }
  absl::StatusOr<ListKeysPage> ListKeys(const ListKeysOptions& list = {},
                                        const CallOptions& call = {}) const {
    return client_->ListKeys(name_, list, call);
  }
  absl::StatusOr<IncrementResult> Increment(std::string_view key, int64_t delta,
                                            const CallOptions& call = {}) const {
    return client_->Increment(name_, key, delta, call);
  }
  absl::StatusOr<CasResult> CompareAndSwap(std::string_view key, const CasExpectation& expected,
                                           std::string_view new_value,
                                           const CallOptions& call = {}) const {
    return client_->CompareAndSwap(name_, key, expected, new_value, call);
  }
  absl::StatusOr<GetManyResult> GetMany(std::span<const std::string> keys,
                                        const CallOptions& call = {}) const {
    return client_->GetMany(name_, keys, call);
  }
  absl::StatusOr<uint64_t> SetMany(std::span<const KeyValue> entries,
                                   const CallOptions& call = {}) const {
    return client_->SetMany(name_, entries, call);
  }
  absl::StatusOr<DeleteManyResult> DeleteMany(std::span<const std::string> keys,
                                              const CallOptions& call = {}) const {
    return client_->DeleteMany(name_, keys, call);
  }
  // Subscribes to this bucket (options.bucket is overwritten).
  absl::StatusOr<std::unique_ptr<WatchSubscription>> Watch(WatchOptions options,
                                                           WatchHandler handler = {}) const {
    options.bucket = name_;
    return client_->Watch(options, std::move(handler));
  }

 private:
  Client* client_;
  std::string name_;
};

inline Bucket Client::bucket(std::string name) { return Bucket(this, std::move(name)); }

}  // namespace wasikv

#endif  // WASIKV_CLIENT_H_
