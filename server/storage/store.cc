#include "server/storage/store.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>
#include <unordered_map>

#include "fmt/format.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/common/str_cat.h"
#include "server/storage/change_record.h"
#include "server/storage/key_format.h"
#include "server/storage/last_revision.h"
#include "server/storage/rocks_status.h"
#include "server/storage/rocksdb_options.h"

namespace wasikv {
namespace {

// Keys can be kilobytes of arbitrary text; messages quote a bounded, escaped
// head of them.
std::string QuoteKey(std::string_view key) {
  constexpr size_t kMaxQuoted = 64;
  std::string quoted = "'";
  for (char c : key.substr(0, kMaxQuoted)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == '\\' || c == '\'') {
      quoted += fmt::format("\\x{:02x}", byte);
    } else {
      quoted.push_back(c);
    }
  }
  quoted.push_back('\'');
  if (key.size() > kMaxQuoted) quoted.append("...");
  return quoted;
}

// Parses a stored counter. A counter's text is the one way Increment writes
// its number, as Redis requires for INCR: "0", or an optional '-' then a
// digit 1-9 then digits. So "007", "-0", "+7", " 7" and "" are not counters:
// each number has exactly one text, and Get shows what Increment would.
absl::StatusOr<int64_t> ParseCounter(std::string_view text, std::string_view key) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  const bool all_digits = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  const bool canonical = all_digits && (digits.front() != '0' || text == "0");
  if (!canonical) {
    return absl::FailedPreconditionError(
        StrCat("value of key ", QuoteKey(key), " is ", QuoteKey(text),
               ", not a decimal integer in canonical form; Increment needs a value written "
               "like \"42\", \"-12\" or \"0\" (no '+', no leading zeros, no spaces)"));
  }
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range) {
    return absl::OutOfRangeError(
        StrCat("value of key ", QuoteKey(key), " is ", QuoteKey(text),
               ", outside the signed 64-bit range [-9223372036854775808, 9223372036854775807]"));
  }
  if (error != std::errc() || end != text.data() + text.size()) {
    return absl::FailedPreconditionError(
        StrCat("value of key ", QuoteKey(key), " is not a decimal integer"));
  }
  return value;
}

std::optional<VersionedValue> ToVersionedValue(const key_format::StoredValue& stored) {
  return VersionedValue{std::string(stored.value), stored.version};
}

absl::Status CorruptValue(std::string_view key) {
  return absl::DataLossError(StrCat("stored value of key ", QuoteKey(key), " is corrupt"));
}

// Why the store did not open. RocksDB's words name a damaged table file, but
// for a damaged WAL only its log does (`wal_damage`).
absl::Status OpenError(const rocksdb::Status& opened, const std::string& data_dir,
                       const std::optional<std::string>& wal_damage) {
  absl::Status status = FromRocksStatus(opened, StrCat("open of '", data_dir, "'"));
  if (!opened.IsCorruption()) return status;
  if (wal_damage) {
    return absl::DataLossError(
        StrCat("storage open of '", data_dir, "': the write-ahead log is damaged: ", *wal_damage,
               ". Skipping the damage could lose acknowledged writes, so wasikvd does not "
               "start; restore the data directory from a backup"));
  }
  return absl::DataLossError(
      StrCat(status.message(),
             ". wasikvd does not start on a damaged data directory; restore it from a backup"));
}

}  // namespace

Store::Store(const StoreOptions& options)
    : options_(options), change_cache_(options.change_cache_bytes) {}

Store::~Store() {
  if (db_ != nullptr && !closed_) Close().IgnoreError();
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        StrCat("cannot create data directory '", options.data_dir, "': ", ec.message()));
  }
  RETURN_IF_ERROR(CheckNoInterruptedRestore(options.data_dir));
  std::unique_ptr<Store> store(new Store(options));

  const std::vector<rocksdb::ColumnFamilyDescriptor> families =
      MakeColumnFamilies(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::DBOptions db_options = MakeDBOptions(store->rocksdb_logger_);
  db_options.listeners.push_back(store->stall_listener_);
  db_options.listeners.push_back(store->error_listener_);
  rocksdb::Status opened = rocksdb::DB::Open(db_options, options.data_dir, families, &handles, &db);
  if (!opened.ok()) {
    return OpenError(opened, options.data_dir, store->rocksdb_logger_->wal_damage());
  }
  store->db_.reset(db);
  store->data_cf_ = handles[0];
  store->log_cf_ = handles[1];
  // Only now, holding the database's lock: a backup of a crashed process
  // left this behind, not one of a server still running here.
  RETURN_IF_ERROR(RemoveBackupStaging(BackupStagingDir(options.data_dir)));

  ASSIGN_OR_RETURN(const uint64_t last_revision,
                   ReadLastRevision(db, store->data_cf_, store->log_cf_));

  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), store->data_cf_));
    absl::MutexLock lock(&store->buckets_mu_);
    for (it->Seek(key_format::kBucketRecordPrefix);
         it->Valid() && it->key().starts_with(key_format::kBucketRecordPrefix); it->Next()) {
      storage::BucketRecord record;
      if (!record.ParseFromArray(it->value().data(), it->value().size())) {
        return absl::DataLossError(
            StrCat("bucket record ", QuoteKey(it->key().ToStringView()), " is corrupt"));
      }
      auto state = std::make_shared<BucketState>();
      state->create_revision = record.create_revision();
      store->buckets_.emplace(key_format::BucketNameFromRecordKey(it->key().ToStringView()), state);
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan of buckets"));
  }

  // History starts at the recorded trim point or, if history was never
  // trimmed, at the first record (an empty log starts after the current
  // revision).
  uint64_t oldest = last_revision + 1;
  std::string stored_oldest;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), store->data_cf_,
                              key_format::kCompactedRevisionKey, &stored_oldest);
  if (s.ok()) {
    oldest = key_format::DecodeFixed64(stored_oldest).value_or(oldest);
  } else if (!s.IsNotFound()) {
    return FromRocksStatus(s, "read of history start");
  } else {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), store->log_cf_));
    it->SeekToFirst();
    if (it->Valid()) oldest = key_format::DecodeLogKey(it->key().ToStringView()).value_or(oldest);
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan of change log"));
  }
  store->oldest_revision_.store(std::min(oldest, last_revision + 1));

  store->pipeline_ = std::make_unique<CommitPipeline>(db, store->data_cf_, store->log_cf_,
                                                      last_revision, options.sync_writes);
  Store* raw = store.get();
  store->pipeline_->AddListener([raw](const std::vector<const storage::ChangeRecord*>& records) {
    raw->change_cache_.Append(records);
  });
  if (options.trim_interval.count() > 0) {
    store->trimmer_ = std::thread([raw] { raw->TrimLoop(); });
  }
  return store;
}

absl::Status Store::Close() {
  if (closed_) return absl::FailedPreconditionError("store is already closed");
  closed_ = true;
  {
    absl::MutexLock lock(&trimmer_mu_);
    stop_trimmer_ = true;
  }
  if (trimmer_.joinable()) trimmer_.join();
  if (error_listener_->writes_stopped()) {
    // Deliberately never deleted: see Close() in store.h.
    (void)db_.release();
    return absl::UnavailableError(
        "storage close: a storage error stops writes (see the storage_writes_stopped log line), "
        "so RocksDB was left as a crash leaves it; every acknowledged write is in the synced "
        "WAL and the next start replays it");
  }
  absl::Status status = FromRocksStatus(db_->FlushWAL(/*sync=*/true), "WAL flush");
  rocksdb::FlushOptions flush;
  flush.wait = true;
  status.Update(FromRocksStatus(db_->Flush(flush, {data_cf_, log_cf_}), "flush"));
  db_->DestroyColumnFamilyHandle(data_cf_);
  db_->DestroyColumnFamilyHandle(log_cf_);
  status.Update(FromRocksStatus(db_->Close(), "close"));
  db_.reset();
  return status;
}

EngineStats Store::GetEngineStats() const {
  rocksdb::ColumnFamilyHandle* const families[] = {data_cf_, log_cf_};
  return ReadEngineStats(db_.get(), families, *stall_listener_, *error_listener_);
}

absl::StatusOr<uint64_t> Store::Commit(storage::ChangeRecord* record) {
  return pipeline_->Commit(record);
}

// ---------------------------------------------------------------------------
// Buckets

std::shared_ptr<Store::BucketState> Store::FindState(std::string_view bucket) {
  absl::ReaderMutexLock lock(&buckets_mu_);
  auto it = buckets_.find(bucket);
  return it == buckets_.end() ? nullptr : it->second;
}

absl::StatusOr<std::shared_ptr<Store::BucketState>> Store::CommitBucketCreate(
    std::string_view bucket) {
  storage::ChangeRecord record;
  storage::Event* event = record.add_events();
  event->set_type(storage::Event::BUCKET_CREATE);
  event->set_bucket(std::string(bucket));
  ASSIGN_OR_RETURN(uint64_t revision, Commit(&record));
  auto state = std::make_shared<BucketState>();
  state->create_revision = revision;
  absl::MutexLock lock(&buckets_mu_);
  buckets_.emplace(bucket, state);
  return state;
}

absl::StatusOr<std::shared_ptr<Store::BucketState>> Store::LookupBucket(std::string_view bucket,
                                                                        bool create) {
  if (std::shared_ptr<BucketState> state = FindState(bucket)) return state;
  if (!options_.auto_create_buckets) {
    return absl::NotFoundError(
        StrCat("bucket '", bucket,
               "' does not exist; this server serves only created buckets "
               "(--auto-create-buckets=false), create it with CreateBucket"));
  }
  if (!create) return nullptr;
  absl::MutexLock create_lock(&create_mu_);
  if (std::shared_ptr<BucketState> state = FindState(bucket)) return state;
  return CommitBucketCreate(bucket);
}

template <typename Fn>
auto Store::WithWritableBucket(std::string_view bucket, Fn write) -> decltype(write()) {
  for (;;) {
    ASSIGN_OR_RETURN(std::shared_ptr<BucketState> state, LookupBucket(bucket, /*create=*/true));
    absl::ReaderMutexLock lock(&state->mu);
    // A concurrent DeleteBucket won the race: look the bucket up again, which
    // recreates it in auto-create mode or fails in strict mode.
    if (state->deleted) continue;
    return write();
  }
}

template <typename Fn, typename Missing>
auto Store::WithExistingBucket(std::string_view bucket, Fn write, Missing missing)
    -> decltype(write()) {
  ASSIGN_OR_RETURN(std::shared_ptr<BucketState> state, LookupBucket(bucket, /*create=*/false));
  if (state == nullptr) return missing();
  absl::ReaderMutexLock lock(&state->mu);
  // Deleted meanwhile: a delete has nothing left to do, and must not
  // recreate the bucket.
  if (state->deleted) return missing();
  return write();
}

absl::Status Store::CheckReadable(std::string_view bucket) {
  return LookupBucket(bucket, /*create=*/false).status();
}

absl::StatusOr<std::optional<BucketInfo>> Store::FindBucket(std::string_view bucket) {
  std::shared_ptr<BucketState> state = FindState(bucket);
  if (state == nullptr) return std::nullopt;
  return BucketInfo{std::string(bucket), state->create_revision};
}

absl::StatusOr<uint64_t> Store::CreateBucket(std::string_view bucket) {
  absl::MutexLock create_lock(&create_mu_);
  if (FindState(bucket) != nullptr) {
    return absl::AlreadyExistsError(StrCat("bucket '", bucket, "' already exists"));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<BucketState> state, CommitBucketCreate(bucket));
  return state->create_revision;
}

absl::StatusOr<Store::DeleteBucketResult> Store::DeleteBucket(std::string_view bucket) {
  std::shared_ptr<BucketState> state = FindState(bucket);
  if (state == nullptr) return DeleteBucketResult{false, 0, CurrentRevision()};

  absl::MutexLock bucket_lock(&state->mu);
  if (state->deleted) return DeleteBucketResult{false, 0, CurrentRevision()};

  // Writers are excluded, so the count is exact.
  uint64_t deleted_keys = 0;
  {
    const std::string prefix = key_format::DataPrefix(bucket);
    const std::string limit = key_format::PrefixSuccessor(prefix);
    rocksdb::Slice upper(limit);
    rocksdb::ReadOptions read_options;
    read_options.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, data_cf_));
    for (it->Seek(prefix); it->Valid(); it->Next()) ++deleted_keys;
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan of bucket"));
  }

  storage::ChangeRecord record;
  storage::Event* event = record.add_events();
  event->set_type(storage::Event::BUCKET_DELETE);
  event->set_bucket(std::string(bucket));
  ASSIGN_OR_RETURN(uint64_t revision, Commit(&record));
  state->deleted = true;
  absl::MutexLock lock(&buckets_mu_);
  if (auto it = buckets_.find(bucket); it != buckets_.end()) buckets_.erase(it);
  return DeleteBucketResult{true, deleted_keys, revision};
}

Store::BucketList Store::ListBuckets() {
  BucketList list;
  list.revision = CurrentRevision();
  {
    absl::ReaderMutexLock lock(&buckets_mu_);
    for (const auto& [name, state] : buckets_) {
      list.buckets.push_back({name, state->create_revision});
    }
  }
  std::sort(list.buckets.begin(), list.buckets.end(),
            [](const BucketInfo& a, const BucketInfo& b) { return a.name < b.name; });
  return list;
}

// ---------------------------------------------------------------------------
// Reads

absl::StatusOr<bool> Store::ReadMany(std::string_view bucket, std::span<const std::string> keys,
                                     bool memory_only, ManyReadResult* result) {
  RETURN_IF_ERROR(CheckReadable(bucket));
  // MultiGet reads every key of one column family from one consistent view,
  // so the revision key read alongside names the snapshot exactly.
  std::vector<std::string> data_keys;
  data_keys.reserve(keys.size());
  for (const std::string& key : keys) data_keys.push_back(key_format::DataKey(bucket, key));
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size() + 1);
  slices.emplace_back(key_format::kRevisionKey);
  for (const std::string& k : data_keys) slices.emplace_back(k);
  std::vector<rocksdb::ColumnFamilyHandle*> families(slices.size(), data_cf_);
  std::vector<std::string> values;
  rocksdb::ReadOptions read_options;
  if (memory_only) read_options.read_tier = rocksdb::kBlockCacheTier;
  std::vector<rocksdb::Status> statuses = db_->MultiGet(read_options, families, slices, &values);
  // Incomplete: some key's block is not in memory; the whole read goes to
  // the disk path, so all values still come from one view.
  if (memory_only) {
    for (const rocksdb::Status& s : statuses) {
      if (s.IsIncomplete()) return false;
    }
  }

  if (statuses[0].ok()) {
    result->revision = key_format::DecodeFixed64(values[0]).value_or(0);
  } else if (!statuses[0].IsNotFound()) {
    return FromRocksStatus(statuses[0], "read of revision");
  }
  result->values.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const rocksdb::Status& s = statuses[i + 1];
    if (s.IsNotFound()) {
      result->values.emplace_back();
      continue;
    }
    RETURN_IF_ERROR(FromRocksStatus(s, "read"));
    std::optional<key_format::StoredValue> stored = key_format::DecodeValue(values[i + 1]);
    if (!stored) return CorruptValue(keys[i]);
    result->values.push_back(ToVersionedValue(*stored));
  }
  return true;
}

absl::StatusOr<Store::ManyReadResult> Store::GetMany(std::string_view bucket,
                                                     std::span<const std::string> keys) {
  ManyReadResult result;
  RETURN_IF_ERROR(ReadMany(bucket, keys, false, &result).status());
  return result;
}

absl::StatusOr<std::optional<Store::ManyReadResult>> Store::GetManyFromMemory(
    std::string_view bucket, std::span<const std::string> keys) {
  ManyReadResult result;
  ASSIGN_OR_RETURN(bool read, ReadMany(bucket, keys, true, &result));
  if (!read) return std::nullopt;
  return result;
}

absl::StatusOr<Store::ReadResult> Store::Get(std::string_view bucket, std::string_view key) {
  const std::string keys[] = {std::string(key)};
  ASSIGN_OR_RETURN(ManyReadResult many, GetMany(bucket, keys));
  return ReadResult{std::move(many.values[0]), many.revision};
}

absl::StatusOr<std::optional<Store::ReadResult>> Store::GetFromMemory(std::string_view bucket,
                                                                      std::string_view key) {
  const std::string keys[] = {std::string(key)};
  ManyReadResult many;
  ASSIGN_OR_RETURN(bool read, ReadMany(bucket, keys, true, &many));
  if (!read) return std::nullopt;
  return ReadResult{std::move(many.values[0]), many.revision};
}

absl::StatusOr<Store::ListResult> Store::ListKeys(std::string_view bucket, std::string_view prefix,
                                                  std::optional<std::string_view> start_after,
                                                  size_t limit) {
  RETURN_IF_ERROR(CheckReadable(bucket));
  const std::string bucket_prefix = key_format::DataPrefix(bucket);
  const std::string scan_prefix = StrCat(bucket_prefix, prefix);
  const std::string upper_key = key_format::PrefixSuccessor(scan_prefix);
  rocksdb::Slice upper(upper_key);

  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  read_options.iterate_upper_bound = &upper;

  ListResult result;
  absl::Status status;
  std::string stored_revision;
  rocksdb::Status s = db_->Get(read_options, data_cf_, key_format::kRevisionKey, &stored_revision);
  if (s.ok()) {
    result.revision = key_format::DecodeFixed64(stored_revision).value_or(0);
  } else if (!s.IsNotFound()) {
    status = FromRocksStatus(s, "read of revision");
  }
  if (status.ok()) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, data_cf_));
    if (start_after) {
      const std::string after = StrCat(bucket_prefix, *start_after);
      it->Seek(std::max(after, scan_prefix));
      if (it->Valid() && it->key() == after) it->Next();
    } else {
      it->Seek(scan_prefix);
    }
    for (; it->Valid(); it->Next()) {
      if (result.keys.size() == limit) {
        result.more = true;
        break;
      }
      result.keys.emplace_back(it->key().ToStringView().substr(bucket_prefix.size()));
    }
    status = FromRocksStatus(it->status(), "scan");
  }
  db_->ReleaseSnapshot(snapshot);
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::optional<VersionedValue>> Store::ReadLatest(std::string_view bucket,
                                                                std::string_view key) {
  rocksdb::PinnableSlice stored;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), data_cf_, key_format::DataKey(bucket, key), &stored);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocksStatus(s, "read"));
  std::optional<key_format::StoredValue> decoded = key_format::DecodeValue(stored.ToStringView());
  if (!decoded) return CorruptValue(key);
  return ToVersionedValue(*decoded);
}

absl::StatusOr<std::vector<uint64_t>> Store::ReadLatestVersions(
    std::string_view bucket, std::span<const std::string_view> keys) {
  std::vector<std::string> data_keys;
  data_keys.reserve(keys.size());
  for (std::string_view key : keys) data_keys.push_back(key_format::DataKey(bucket, key));
  std::vector<rocksdb::Slice> slices(data_keys.begin(), data_keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  // One batched lookup instead of a Get per key: a 1000-key batch shares
  // index and filter block reads.
  db_->MultiGet(rocksdb::ReadOptions(), data_cf_, slices.size(), slices.data(), values.data(),
                statuses.data());
  std::vector<uint64_t> versions(keys.size(), 0);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    RETURN_IF_ERROR(FromRocksStatus(statuses[i], "read"));
    std::optional<key_format::StoredValue> stored =
        key_format::DecodeValue(values[i].ToStringView());
    if (!stored) return CorruptValue(keys[i]);
    versions[i] = stored->version;
  }
  return versions;
}

// ---------------------------------------------------------------------------
// Writes

namespace {

storage::Event* AddSet(storage::ChangeRecord* record, std::string_view bucket, std::string_view key,
                       std::string_view value, uint64_t prev_version) {
  storage::Event* event = record->add_events();
  event->set_type(storage::Event::SET);
  event->set_bucket(std::string(bucket));
  event->set_key(std::string(key));
  event->set_value(std::string(value));
  event->set_prev_version(prev_version);
  return event;
}

storage::Event* AddDelete(storage::ChangeRecord* record, std::string_view bucket,
                          std::string_view key, uint64_t prev_version) {
  storage::Event* event = record->add_events();
  event->set_type(storage::Event::DELETE);
  event->set_bucket(std::string(bucket));
  event->set_key(std::string(key));
  event->set_prev_version(prev_version);
  return event;
}

}  // namespace

absl::StatusOr<Store::WriteResult> Store::Set(std::string_view bucket, std::string_view key,
                                              std::string_view value) {
  return WithWritableBucket(bucket, [&]() -> absl::StatusOr<WriteResult> {
    KeyLockTable::KeyLocks locks = key_locks_.Lock(bucket, key);
    ASSIGN_OR_RETURN(std::optional<VersionedValue> current, ReadLatest(bucket, key));
    storage::ChangeRecord record;
    AddSet(&record, bucket, key, value, current ? current->version : 0);
    ASSIGN_OR_RETURN(uint64_t revision, Commit(&record));
    return WriteResult{revision, !current.has_value()};
  });
}

absl::StatusOr<Store::WriteResult> Store::Delete(std::string_view bucket, std::string_view key) {
  auto nothing_deleted = [this] { return WriteResult{CurrentRevision(), false}; };
  return WithExistingBucket(
      bucket,
      [&]() -> absl::StatusOr<WriteResult> {
        KeyLockTable::KeyLocks locks = key_locks_.Lock(bucket, key);
        ASSIGN_OR_RETURN(std::optional<VersionedValue> current, ReadLatest(bucket, key));
        if (!current) return nothing_deleted();
        storage::ChangeRecord record;
        AddDelete(&record, bucket, key, current->version);
        ASSIGN_OR_RETURN(uint64_t revision, Commit(&record));
        return WriteResult{revision, true};
      },
      nothing_deleted);
}

absl::StatusOr<Store::IncrementResult> Store::Increment(std::string_view bucket,
                                                        std::string_view key, int64_t delta) {
  return WithWritableBucket(bucket, [&]() -> absl::StatusOr<IncrementResult> {
    KeyLockTable::KeyLocks locks = key_locks_.Lock(bucket, key);
    ASSIGN_OR_RETURN(std::optional<VersionedValue> current, ReadLatest(bucket, key));
    int64_t value = 0;
    if (current) {
      ASSIGN_OR_RETURN(value, ParseCounter(current->value, key));
    }
    int64_t sum = 0;
    if (__builtin_add_overflow(value, delta, &sum)) {
      return absl::OutOfRangeError(StrCat("incrementing key ", QuoteKey(key), " (", value, ") by ",
                                          delta, " overflows the signed 64-bit range"));
    }
    storage::ChangeRecord record;
    AddSet(&record, bucket, key, StrCat(sum), current ? current->version : 0);
    ASSIGN_OR_RETURN(uint64_t revision, Commit(&record));
    return IncrementResult{sum, revision};
  });
}

absl::StatusOr<Store::CasResult> Store::CompareAndSwap(std::string_view bucket,
                                                       std::string_view key,
                                                       const CasCondition& condition,
                                                       std::string_view new_value) {
  return WithWritableBucket(bucket, [&]() -> absl::StatusOr<CasResult> {
    KeyLockTable::KeyLocks locks = key_locks_.Lock(bucket, key);
    ASSIGN_OR_RETURN(std::optional<VersionedValue> current, ReadLatest(bucket, key));
    bool matches = false;
    switch (condition.kind) {
      case CasCondition::Kind::kAbsent:
        matches = !current.has_value();
        break;
      case CasCondition::Kind::kValue:
        matches = current.has_value() && current->value == condition.expected_value;
        break;
      case CasCondition::Kind::kVersion:
        matches = current.has_value() && current->version == condition.expected_version;
        break;
    }
    if (!matches) return CasResult{false, CurrentRevision(), std::move(current)};
    storage::ChangeRecord record;
    AddSet(&record, bucket, key, new_value, current ? current->version : 0);
    ASSIGN_OR_RETURN(uint64_t revision, Commit(&record));
    return CasResult{true, revision, std::nullopt};
  });
}

namespace {

// For each distinct key, the index of its last occurrence, in ascending index
// order: the entries a batch actually applies.
template <typename Range, typename KeyOf>
std::vector<size_t> LastOccurrences(const Range& items, KeyOf key_of) {
  std::unordered_map<std::string_view, size_t> last;
  for (size_t i = 0; i < items.size(); ++i) last[key_of(items[i])] = i;
  std::vector<size_t> indexes;
  indexes.reserve(last.size());
  for (const auto& [key, index] : last) indexes.push_back(index);
  std::sort(indexes.begin(), indexes.end());
  return indexes;
}

}  // namespace

absl::StatusOr<Store::WriteResult> Store::SetMany(
    std::string_view bucket, std::span<const std::pair<std::string, std::string>> pairs) {
  auto key_of = [](const std::pair<std::string, std::string>& p) -> std::string_view {
    return p.first;
  };
  if (pairs.empty()) return WriteResult{CurrentRevision(), false};
  return WithWritableBucket(bucket, [&]() -> absl::StatusOr<WriteResult> {
    KeyLockTable::KeyLocks locks = key_locks_.LockMany(bucket, pairs, key_of);
    const std::vector<size_t> applied = LastOccurrences(pairs, key_of);
    std::vector<std::string_view> keys;
    keys.reserve(applied.size());
    for (size_t index : applied) keys.push_back(pairs[index].first);
    ASSIGN_OR_RETURN(std::vector<uint64_t> versions, ReadLatestVersions(bucket, keys));
    storage::ChangeRecord record;
    for (size_t i = 0; i < applied.size(); ++i) {
      AddSet(&record, bucket, keys[i], pairs[applied[i]].second, versions[i]);
    }
    ASSIGN_OR_RETURN(uint64_t revision, Commit(&record));
    return WriteResult{revision, true};
  });
}

absl::StatusOr<Store::DeleteManyResult> Store::DeleteMany(std::string_view bucket,
                                                          std::span<const std::string> keys) {
  auto key_of = [](const std::string& k) -> std::string_view { return k; };
  auto nothing_deleted = [this] { return DeleteManyResult{0, CurrentRevision()}; };
  return WithExistingBucket(
      bucket,
      [&]() -> absl::StatusOr<DeleteManyResult> {
        KeyLockTable::KeyLocks locks = key_locks_.LockMany(bucket, keys, key_of);
        std::vector<std::string_view> distinct;
        for (size_t index : LastOccurrences(keys, key_of)) distinct.push_back(keys[index]);
        ASSIGN_OR_RETURN(std::vector<uint64_t> versions, ReadLatestVersions(bucket, distinct));
        storage::ChangeRecord record;
        for (size_t i = 0; i < distinct.size(); ++i) {
          if (versions[i] != 0) AddDelete(&record, bucket, distinct[i], versions[i]);
        }
        if (record.events().empty()) return nothing_deleted();
        ASSIGN_OR_RETURN(uint64_t revision, Commit(&record));
        return DeleteManyResult{static_cast<uint64_t>(record.events_size()), revision};
      },
      nothing_deleted);
}

// ---------------------------------------------------------------------------
// Change history

absl::StatusOr<std::vector<SharedRecord>> Store::ReadChanges(uint64_t from, size_t max_bytes) {
  const auto trimmed = [&] {
    return absl::OutOfRangeError(StrCat("revision ", from,
                                        " has been trimmed from history; the oldest revision "
                                        "still held is ",
                                        OldestRevision()));
  };
  if (from < OldestRevision()) return trimmed();
  std::vector<SharedRecord> records;
  const uint64_t last = CurrentRevision();
  if (from > last) return records;
  if (change_cache_.Read(from, max_bytes, &records)) return records;

  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_cf_));
  size_t bytes = 0;
  uint64_t expected = from;
  for (it->Seek(key_format::LogKey(from)); it->Valid() && expected <= last; it->Next()) {
    ASSIGN_OR_RETURN(storage::ChangeRecord record,
                     DecodeChangeRecord(it->key().ToStringView(), it->value().ToStringView()));
    // The trimmer may have removed `from` since the check above.
    if (record.revision() != expected) return trimmed();
    bytes += it->value().size();
    records.push_back(std::make_shared<const storage::ChangeRecord>(std::move(record)));
    ++expected;
    if (bytes >= max_bytes) break;
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "read of change log"));
  if (records.empty()) return trimmed();
  return records;
}

absl::StatusOr<uint64_t> Store::FirstRevisionYoungerThan(uint64_t from, int64_t cutoff_micros) {
  // Bounded per pass so one trim never holds the trimmer for long; the next
  // pass continues.
  constexpr int kMaxScan = 100000;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_cf_));
  uint64_t revision = from;
  int scanned = 0;
  for (it->Seek(key_format::LogKey(from)); it->Valid() && scanned < kMaxScan;
       it->Next(), ++scanned) {
    absl::StatusOr<storage::ChangeRecord> record =
        DecodeChangeRecord(it->key().ToStringView(), it->value().ToStringView());
    if (!record.ok() || record->commit_unix_micros() >= cutoff_micros) break;
    revision = record->revision() + 1;
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan of change log"));
  return revision;
}

absl::StatusOr<uint64_t> Store::TrimHistory() {
  absl::MutexLock lock(&trim_mu_);
  const uint64_t oldest = OldestRevision();
  const uint64_t last = CurrentRevision();
  uint64_t target = oldest;
  if (options_.history_revisions > 0 && last > options_.history_revisions) {
    target = std::max(target, last - options_.history_revisions + 1);
  }
  if (options_.history_age.count() > 0) {
    const int64_t cutoff =
        std::chrono::duration_cast<std::chrono::microseconds>(
            (std::chrono::system_clock::now() - options_.history_age).time_since_epoch())
            .count();
    ASSIGN_OR_RETURN(uint64_t young, FirstRevisionYoungerThan(target, cutoff));
    target = std::max(target, young);
  }
  target = std::min(target, last + 1);
  if (target <= oldest) return oldest;

  rocksdb::WriteBatch batch;
  batch.DeleteRange(log_cf_, key_format::LogKey(oldest), key_format::LogKey(target));
  std::string value;
  key_format::AppendFixed64(target, &value);
  batch.Put(data_cf_, key_format::kCompactedRevisionKey, value);
  RETURN_IF_ERROR(FromRocksStatus(db_->Write(rocksdb::WriteOptions(), &batch), "trim of history"));
  // Readers check the oldest revision before reading, so publish it first.
  oldest_revision_.store(target, std::memory_order_release);
  change_cache_.DropBefore(target);
  return target;
}

// ---------------------------------------------------------------------------
// Backups

absl::StatusOr<BackupInfo> Store::Backup(const std::string& backup_dir, uint32_t keep) {
  {
    absl::MutexLock lock(&backup_mu_);
    if (backup_running_) {
      return absl::AbortedError(
          "another backup is running on this server; retry once it has finished");
    }
    backup_running_ = true;
  }
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<BackupInfo> backup =
      BackupDatabase(db_.get(), BackupStagingDir(options_.data_dir), backup_dir, keep);
  {
    absl::MutexLock lock(&backup_mu_);
    backup_running_ = false;
  }
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  if (!backup.ok()) {
    LogEvent(spdlog::level::err, "backup_failed",
             {{"dir", backup_dir},
              {"millis", std::to_string(millis)},
              {"error", std::string(backup.status().message())}});
    return backup.status();
  }
  LogEvent(spdlog::level::info, "backup_created",
           {{"dir", backup_dir},
            {"backup_id", std::to_string(backup->backup_id)},
            {"revision", std::to_string(backup->revision)},
            {"size_bytes", std::to_string(backup->size_bytes)},
            {"file_count", std::to_string(backup->file_count)},
            {"millis", std::to_string(millis)}});
  return backup;
}

void Store::TrimLoop() {
  absl::MutexLock lock(&trimmer_mu_);
  while (!stop_trimmer_) {
    trimmer_mu_.AwaitWithTimeout(absl::Condition(&stop_trimmer_),
                                 absl::Milliseconds(options_.trim_interval.count()));
    if (stop_trimmer_) break;
    trimmer_mu_.Unlock();
    absl::StatusOr<uint64_t> trimmed = TrimHistory();
    trimmer_mu_.Lock();
    if (!trimmed.ok()) {
      LogEvent(spdlog::level::err, "history_trim_failed",
               {{"error", std::string(trimmed.status().message())}});
    }
  }
}

}  // namespace wasikv
