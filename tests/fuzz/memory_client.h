// MemoryClient: a wasikv::Client over an in-memory map, for the fuzzers that
// drive the adapter (a real wasikvd per input would cost milliseconds where
// libFuzzer wants microseconds). It keeps the server's observable contract
// where the adapter depends on it: revisions and versions, NOT_FOUND for an
// unknown bucket, opaque ListKeys cursors, decimal counters, the three
// compare-and-swap conditions. Anything else (watches, backups) is
// UNIMPLEMENTED.
//
// Not thread-safe (the fuzzers call it from one thread); async calls run
// their callback before they return. `fault`, if set, is asked before each
// call: a non-OK status fails the call with it, as a server or network error
// would.
#ifndef WASIKV_TESTS_FUZZ_MEMORY_CLIENT_H_
#define WASIKV_TESTS_FUZZ_MEMORY_CLIENT_H_

#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wasikv/client.h"

namespace wasikv::fuzz {

class MemoryClient final : public Client {
 public:
  MemoryClient() = default;
  MemoryClient(const MemoryClient&) = delete;
  MemoryClient& operator=(const MemoryClient&) = delete;

  // Makes `bucket` exist (empty); "not found" for every other name.
  void AddBucket(std::string bucket);
  void set_fault(std::function<absl::Status()> fault) { fault_ = std::move(fault); }

  absl::StatusOr<BucketStatus> OpenBucket(std::string_view bucket,
                                          const CallOptions& call = {}) override;
  absl::StatusOr<uint64_t> CreateBucket(std::string_view bucket,
                                        const CallOptions& call = {}) override;
  absl::StatusOr<DeleteBucketResult> DeleteBucket(std::string_view bucket,
                                                  const CallOptions& call = {}) override;
  absl::StatusOr<std::vector<BucketInfo>> ListBuckets(const CallOptions& call = {}) override;

  absl::StatusOr<GetResult> Get(std::string_view bucket, std::string_view key,
                                const CallOptions& call = {}) override;
  absl::StatusOr<SetResult> Set(std::string_view bucket, std::string_view key,
                                std::string_view value, const CallOptions& call = {}) override;
  absl::StatusOr<DeleteResult> Delete(std::string_view bucket, std::string_view key,
                                      const CallOptions& call = {}) override;
  absl::StatusOr<ExistsResult> Exists(std::string_view bucket, std::string_view key,
                                      const CallOptions& call = {}) override;
  absl::StatusOr<ListKeysPage> ListKeys(std::string_view bucket, const ListKeysOptions& list,
                                        const CallOptions& call = {}) override;
  absl::StatusOr<IncrementResult> Increment(std::string_view bucket, std::string_view key,
                                            int64_t delta, const CallOptions& call = {}) override;
  absl::StatusOr<CasResult> CompareAndSwap(std::string_view bucket, std::string_view key,
                                           const CasExpectation& expected,
                                           std::string_view new_value,
                                           const CallOptions& call = {}) override;
  absl::StatusOr<GetManyResult> GetMany(std::string_view bucket, std::span<const std::string> keys,
                                        const CallOptions& call = {}) override;
  absl::StatusOr<uint64_t> SetMany(std::string_view bucket, std::span<const KeyValue> entries,
                                   const CallOptions& call = {}) override;
  absl::StatusOr<DeleteManyResult> DeleteMany(std::string_view bucket,
                                              std::span<const std::string> keys,
                                              const CallOptions& call = {}) override;

  absl::StatusOr<BackupResult> Backup(const BackupOptions& backup,
                                      const CallOptions& call = {}) override;
  absl::StatusOr<BackupList> ListBackups(std::string_view dir,
                                         const CallOptions& call = {}) override;

  void GetAsync(std::string_view bucket, std::string_view key, Callback<GetResult> done,
                const CallOptions& call = {}) override;
  void SetAsync(std::string_view bucket, std::string_view key, std::string_view value,
                Callback<SetResult> done, const CallOptions& call = {}) override;
  void DeleteAsync(std::string_view bucket, std::string_view key, Callback<DeleteResult> done,
                   const CallOptions& call = {}) override;
  void ExistsAsync(std::string_view bucket, std::string_view key, Callback<ExistsResult> done,
                   const CallOptions& call = {}) override;
  void ListKeysAsync(std::string_view bucket, const ListKeysOptions& list,
                     Callback<ListKeysPage> done, const CallOptions& call = {}) override;
  void IncrementAsync(std::string_view bucket, std::string_view key, int64_t delta,
                      Callback<IncrementResult> done, const CallOptions& call = {}) override;
  void CompareAndSwapAsync(std::string_view bucket, std::string_view key,
                           const CasExpectation& expected, std::string_view new_value,
                           Callback<CasResult> done, const CallOptions& call = {}) override;
  void GetManyAsync(std::string_view bucket, std::span<const std::string> keys,
                    Callback<GetManyResult> done, const CallOptions& call = {}) override;
  void SetManyAsync(std::string_view bucket, std::span<const KeyValue> entries,
                    Callback<uint64_t> done, const CallOptions& call = {}) override;
  void DeleteManyAsync(std::string_view bucket, std::span<const std::string> keys,
                       Callback<DeleteManyResult> done, const CallOptions& call = {}) override;
  void OpenBucketAsync(std::string_view bucket, Callback<BucketStatus> done,
                       const CallOptions& call = {}) override;
  void CreateBucketAsync(std::string_view bucket, Callback<uint64_t> done,
                         const CallOptions& call = {}) override;
  void DeleteBucketAsync(std::string_view bucket, Callback<DeleteBucketResult> done,
                         const CallOptions& call = {}) override;
  void ListBucketsAsync(Callback<std::vector<BucketInfo>> done,
                        const CallOptions& call = {}) override;
  void BackupAsync(const BackupOptions& backup, Callback<BackupResult> done,
                   const CallOptions& call = {}) override;
  void ListBackupsAsync(std::string_view dir, Callback<BackupList> done,
                        const CallOptions& call = {}) override;

  absl::StatusOr<HealthStatus> CheckHealth(std::string_view service,
                                           const CallOptions& call = {}) override;
  absl::StatusOr<std::unique_ptr<WatchSubscription>> Watch(const WatchOptions& options,
                                                           WatchHandler handler = {}) override;

 private:
  struct Bucket {
    uint64_t create_revision = 0;
    std::map<std::string, VersionedValue, std::less<>> keys;
  };

  absl::Status Fault() const;
  absl::StatusOr<Bucket*> Find(std::string_view bucket);

  std::function<absl::Status()> fault_;
  std::map<std::string, Bucket, std::less<>> buckets_;
  uint64_t revision_ = 0;
};

}  // namespace wasikv::fuzz

#endif  // WASIKV_TESTS_FUZZ_MEMORY_CLIENT_H_
