#include "tests/fuzz/memory_client.h"

#include <charconv>
#include <limits>
#include <utility>

namespace wasikv::fuzz {
namespace {

constexpr uint32_t kDefaultListLimit = 1000;

// Runs the blocking form and hands its result to `done`.
template <typename T, typename Call>
void Now(Callback<T>& done, Call call) {
  done(call());
}

}  // namespace

void MemoryClient::AddBucket(std::string bucket) {
  buckets_.try_emplace(std::move(bucket), Bucket{++revision_, {}});
}

absl::Status MemoryClient::Fault() const { return fault_ ? fault_() : absl::OkStatus(); }

absl::StatusOr<MemoryClient::Bucket*> MemoryClient::Find(std::string_view bucket) {
  if (absl::Status fault = Fault(); !fault.ok()) return fault;
  auto it = buckets_.find(bucket);
  if (it == buckets_.end()) {
    return absl::NotFoundError("bucket '" + std::string(bucket) + "' does not exist");
  }
  return &it->second;
}

absl::StatusOr<BucketStatus> MemoryClient::OpenBucket(std::string_view bucket, const CallOptions&) {
  if (absl::Status fault = Fault(); !fault.ok()) return fault;
  auto it = buckets_.find(bucket);
  if (it == buckets_.end()) return BucketStatus{false, false, 0, revision_};
  return BucketStatus{true, true, it->second.create_revision, revision_};
}

absl::StatusOr<uint64_t> MemoryClient::CreateBucket(std::string_view bucket, const CallOptions&) {
  if (absl::Status fault = Fault(); !fault.ok()) return fault;
  if (buckets_.contains(bucket)) return absl::AlreadyExistsError("bucket exists");
  AddBucket(std::string(bucket));
  return revision_;
}

absl::StatusOr<DeleteBucketResult> MemoryClient::DeleteBucket(std::string_view bucket,
                                                              const CallOptions&) {
  if (absl::Status fault = Fault(); !fault.ok()) return fault;
  auto it = buckets_.find(bucket);
  if (it == buckets_.end()) return DeleteBucketResult{false, 0, revision_};
  const uint64_t keys = it->second.keys.size();
  buckets_.erase(it);
  return DeleteBucketResult{true, keys, ++revision_};
}

absl::StatusOr<std::vector<BucketInfo>> MemoryClient::ListBuckets(const CallOptions&) {
  if (absl::Status fault = Fault(); !fault.ok()) return fault;
  std::vector<BucketInfo> infos;
  for (const auto& [name, bucket] : buckets_) infos.push_back({name, bucket.create_revision});
  return infos;
}

absl::StatusOr<GetResult> MemoryClient::Get(std::string_view bucket, std::string_view key,
                                            const CallOptions&) {
  absl::StatusOr<Bucket*> b = Find(bucket);
  if (!b.ok()) return b.status();
  GetResult result;
  result.revision = revision_;
  if (auto it = (*b)->keys.find(key); it != (*b)->keys.end()) result.value = it->second;
  return result;
}

absl::StatusOr<SetResult> MemoryClient::Set(std::string_view bucket, std::string_view key,
                                            std::string_view value, const CallOptions&) {
  absl::StatusOr<Bucket*> b = Find(bucket);
  if (!b.ok()) return b.status();
  const uint64_t revision = ++revision_;
  const bool created = !(*b)->keys.contains(key);
  (*b)->keys.insert_or_assign(std::string(key), VersionedValue{std::string(value), revision});
  return SetResult{revision, created};
}

absl::StatusOr<DeleteResult> MemoryClient::Delete(std::string_view bucket, std::string_view key,
                                                  const CallOptions&) {
  absl::StatusOr<Bucket*> b = Find(bucket);
  if (!b.ok()) return b.status();
  auto it = (*b)->keys.find(key);
  if (it == (*b)->keys.end()) return DeleteResult{false, revision_};
  (*b)->keys.erase(it);
  return DeleteResult{true, ++revision_};
}

absl::StatusOr<ExistsResult> MemoryClient::Exists(std::string_view bucket, std::string_view key,
                                                  const CallOptions&) {
  absl::StatusOr<Bucket*> b = Find(bucket);
  if (!b.ok()) return b.status();
  auto it = (*b)->keys.find(key);
  if (it == (*b)->keys.end()) return ExistsResult{false, 0, revision_};
  return ExistsResult{true, it->second.version, revision_};
}

absl::StatusOr<ListKeysPage> MemoryClient::ListKeys(std::string_view bucket,
                                                    const ListKeysOptions& list,
                                                    const CallOptions&) {
  absl::StatusOr<Bucket*> b = Find(bucket);
  if (!b.ok()) return b.status();
  // The cursor is the last key returned, as opaque to the caller as the
  // server's (which encodes it).
  if (!list.cursor.empty() && !list.cursor.starts_with(list.prefix)) {
    return absl::InvalidArgumentError("cursor: belongs to a listing with another prefix");
  }
  const uint32_t limit = list.limit == 0 ? kDefaultListLimit : list.limit;
  ListKeysPage page;
  page.revision = revision_;
  auto it = list.cursor.empty() ? (*b)->keys.lower_bound(list.prefix)
                                : (*b)->keys.upper_bound(list.cursor);
  for (; it != (*b)->keys.end() && it->first.starts_with(list.prefix); ++it) {
    if (page.keys.size() == limit) {
      page.next_cursor = page.keys.back();
      break;
    }
    page.keys.push_back(it->first);
  }
  return page;
}

absl::StatusOr<IncrementResult> MemoryClient::Increment(std::string_view bucket,
                                                        std::string_view key, int64_t delta,
                                                        const CallOptions&) {
  absl::StatusOr<Bucket*> b = Find(bucket);
  if (!b.ok()) return b.status();
  int64_t value = 0;
  if (auto it = (*b)->keys.find(key); it != (*b)->keys.end()) {
    const std::string& text = it->second.value;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
      return absl::FailedPreconditionError("value is not a decimal integer");
    }
  }
  int64_t sum;
  if (__builtin_add_overflow(value, delta, &sum)) {
    return absl::OutOfRangeError("increment overflows int64");
  }
  const uint64_t revision = ++revision_;
  (*b)->keys.insert_or_assign(std::string(key), VersionedValue{std::to_string(sum), revision});
  return IncrementResult{sum, revision};
}

absl::StatusOr<CasResult> MemoryClient::CompareAndSwap(std::string_view bucket,
                                                       std::string_view key,
                                                       const CasExpectation& expected,
                                                       std::string_view new_value,
                                                       const CallOptions&) {
  absl::StatusOr<Bucket*> b = Find(bucket);
  if (!b.ok()) return b.status();
  auto it = (*b)->keys.find(key);
  const bool present = it != (*b)->keys.end();
  bool matches = false;
  switch (expected.kind) {
    case CasExpectation::Kind::kAbsent:
      matches = !present;
      break;
    case CasExpectation::Kind::kValue:
      matches = present && it->second.value == expected.value;
      break;
    case CasExpectation::Kind::kVersion:
      matches = present && it->second.version == expected.version;
      break;
  }
  CasResult result;
  if (!matches) {
    result.revision = revision_;
    if (present) result.current = it->second;
    return result;
  }
  result.swapped = true;
  result.revision = ++revision_;
  (*b)->keys.insert_or_assign(std::string(key),
                              VersionedValue{std::string(new_value), result.revision});
  return result;
}

absl::StatusOr<GetManyResult> MemoryClient::GetMany(std::string_view bucket,
                                                    std::span<const std::string> keys,
                                                    const CallOptions&) {
  absl::StatusOr<Bucket*> b = Find(bucket);
  if (!b.ok()) return b.status();
  GetManyResult result;
  result.revision = revision_;
  for (const std::string& key : keys) {
    GetManyEntry entry{key, std::nullopt};
    if (auto it = (*b)->keys.find(key); it != (*b)->keys.end()) entry.value = it->second;
    result.entries.push_back(std::move(entry));
  }
  return result;
}

absl::StatusOr<uint64_t> MemoryClient::SetMany(std::string_view bucket,
                                               std::span<const KeyValue> entries,
                                               const CallOptions&) {
  absl::StatusOr<Bucket*> b = Find(bucket);
  if (!b.ok()) return b.status();
  const uint64_t revision = ++revision_;
  for (const KeyValue& entry : entries) {
    (*b)->keys.insert_or_assign(entry.key, VersionedValue{entry.value, revision});
  }
  return revision;
}

absl::StatusOr<DeleteManyResult> MemoryClient::DeleteMany(std::string_view bucket,
                                                          std::span<const std::string> keys,
                                                          const CallOptions&) {
  absl::StatusOr<Bucket*> b = Find(bucket);
  if (!b.ok()) return b.status();
  uint64_t deleted = 0;
  for (const std::string& key : keys) deleted += (*b)->keys.erase(key);
  return DeleteManyResult{deleted, deleted > 0 ? ++revision_ : revision_};
}

absl::StatusOr<BackupResult> MemoryClient::Backup(const BackupOptions&, const CallOptions&) {
  return absl::UnimplementedError("MemoryClient has no backups");
}

absl::StatusOr<BackupList> MemoryClient::ListBackups(std::string_view, const CallOptions&) {
  return absl::UnimplementedError("MemoryClient has no backups");
}

void MemoryClient::GetAsync(std::string_view bucket, std::string_view key, Callback<GetResult> done,
                            const CallOptions& call) {
  Now(done, [&] { return Get(bucket, key, call); });
}

void MemoryClient::SetAsync(std::string_view bucket, std::string_view key, std::string_view value,
                            Callback<SetResult> done, const CallOptions& call) {
  Now(done, [&] { return Set(bucket, key, value, call); });
}

void MemoryClient::DeleteAsync(std::string_view bucket, std::string_view key,
                               Callback<DeleteResult> done, const CallOptions& call) {
  Now(done, [&] { return Delete(bucket, key, call); });
}

void MemoryClient::ExistsAsync(std::string_view bucket, std::string_view key,
                               Callback<ExistsResult> done, const CallOptions& call) {
  Now(done, [&] { return Exists(bucket, key, call); });
}

void MemoryClient::ListKeysAsync(std::string_view bucket, const ListKeysOptions& list,
                                 Callback<ListKeysPage> done, const CallOptions& call) {
  Now(done, [&] { return ListKeys(bucket, list, call); });
}

void MemoryClient::IncrementAsync(std::string_view bucket, std::string_view key, int64_t delta,
                                  Callback<IncrementResult> done, const CallOptions& call) {
  Now(done, [&] { return Increment(bucket, key, delta, call); });
}

void MemoryClient::CompareAndSwapAsync(std::string_view bucket, std::string_view key,
                                       const CasExpectation& expected, std::string_view new_value,
                                       Callback<CasResult> done, const CallOptions& call) {
  Now(done, [&] { return CompareAndSwap(bucket, key, expected, new_value, call); });
}

void MemoryClient::GetManyAsync(std::string_view bucket, std::span<const std::string> keys,
                                Callback<GetManyResult> done, const CallOptions& call) {
  Now(done, [&] { return GetMany(bucket, keys, call); });
}

void MemoryClient::SetManyAsync(std::string_view bucket, std::span<const KeyValue> entries,
                                Callback<uint64_t> done, const CallOptions& call) {
  Now(done, [&] { return SetMany(bucket, entries, call); });
}

void MemoryClient::DeleteManyAsync(std::string_view bucket, std::span<const std::string> keys,
                                   Callback<DeleteManyResult> done, const CallOptions& call) {
  Now(done, [&] { return DeleteMany(bucket, keys, call); });
}

void MemoryClient::OpenBucketAsync(std::string_view bucket, Callback<BucketStatus> done,
                                   const CallOptions& call) {
  Now(done, [&] { return OpenBucket(bucket, call); });
}

void MemoryClient::CreateBucketAsync(std::string_view bucket, Callback<uint64_t> done,
                                     const CallOptions& call) {
  Now(done, [&] { return CreateBucket(bucket, call); });
}

void MemoryClient::DeleteBucketAsync(std::string_view bucket, Callback<DeleteBucketResult> done,
                                     const CallOptions& call) {
  Now(done, [&] { return DeleteBucket(bucket, call); });
}

void MemoryClient::ListBucketsAsync(Callback<std::vector<BucketInfo>> done,
                                    const CallOptions& call) {
  Now(done, [&] { return ListBuckets(call); });
}

void MemoryClient::BackupAsync(const BackupOptions& backup, Callback<BackupResult> done,
                               const CallOptions& call) {
  Now(done, [&] { return Backup(backup, call); });
}

void MemoryClient::ListBackupsAsync(std::string_view dir, Callback<BackupList> done,
                                    const CallOptions& call) {
  Now(done, [&] { return ListBackups(dir, call); });
}

absl::StatusOr<HealthStatus> MemoryClient::CheckHealth(std::string_view, const CallOptions&) {
  if (absl::Status fault = Fault(); !fault.ok()) return fault;
  return HealthStatus::kServing;
}

absl::StatusOr<std::unique_ptr<WatchSubscription>> MemoryClient::Watch(const WatchOptions&,
                                                                       WatchHandler) {
  return absl::UnimplementedError("MemoryClient has no watches");
}

}  // namespace wasikv::fuzz
