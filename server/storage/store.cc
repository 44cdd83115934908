#include "server/storage/store.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>
#include <unordered_map>

#include "absl/strings/cord.h"
#include "absl/synchronization/notification.h"
#include "fmt/format.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/common/str_cat.h"
#include "server/common/thread_name.h"
#include "server/storage/change_record.h"
#include "server/storage/key_format.h"
#include "server/storage/last_revision.h"
#include "server/storage/rocks_status.h"
#include "server/storage/rocksdb_options.h"

namespace wasikv {
namespace {

// The payload that marks a write refused for needing a blocking step first.
constexpr char kNeedsBlockingCall[] = "type.wasikv.dev/needs-blocking-call";

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
  store->pipeline_->AddListener(
      [raw](const CommittedRecords& records) { raw->change_cache_.Append(records); });
  store->pipeline_->Start();
  if (options.trim_interval.count() > 0) {
    store->trimmer_ = std::thread([raw] {
      SetCurrentThreadName("wasikv-trim");
      raw->TrimLoop();
    });
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
  // Everything submitted is written (or refused) before RocksDB closes.
  if (pipeline_ != nullptr) pipeline_->Stop();
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
  ASSIGN_OR_RETURN(uint64_t revision, pipeline_->Commit(&record));
  auto state = std::make_shared<BucketState>();
  state->create_revision = revision;
  absl::MutexLock lock(&buckets_mu_);
  // A deleted bucket's state may still be listed until its delete is done.
  buckets_.insert_or_assign(std::string(bucket), state);
  return state;
}

absl::Status Store::MissingBucket(std::string_view bucket) const {
  if (options_.auto_create_buckets) {
    absl::Status status(absl::StatusCode::kUnavailable, "the bucket must be created first");
    status.SetPayload(kNeedsBlockingCall, absl::Cord());
    return status;
  }
  return absl::NotFoundError(StrCat("bucket '", bucket,
                                    "' does not exist; this server serves only created buckets "
                                    "(--auto-create-buckets=false), create it with CreateBucket"));
}

bool Store::NeedsBlockingCall(const absl::Status& status) {
  return status.GetPayload(kNeedsBlockingCall).has_value();
}

absl::Status Store::BucketGone(std::string_view bucket) const { return MissingBucket(bucket); }

absl::StatusOr<std::shared_ptr<Store::BucketState>> Store::LookupBucket(std::string_view bucket,
                                                                        bool create) {
  if (std::shared_ptr<BucketState> state = FindState(bucket)) return state;
  if (!options_.auto_create_buckets) return MissingBucket(bucket);
  if (!create) return nullptr;
  absl::MutexLock create_lock(&create_mu_);
  if (std::shared_ptr<BucketState> state = FindState(bucket)) return state;
  return CommitBucketCreate(bucket);
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

// Decided alone in its group, so the snapshot it takes holds exactly the
// keys the delete removes; the caller counts them from it after the commit,
// while writes go on.
class Store::DeleteBucketWrite final : public CommitPipeline::Write {
 public:
  struct Outcome {
    absl::Status status;
    DeleteBucketResult result;
    const rocksdb::Snapshot* snapshot = nullptr;  // the caller releases it
  };

  DeleteBucketWrite(Store* store, std::shared_ptr<BucketState> state, std::string_view bucket,
                    Outcome* outcome, absl::Notification* done)
      : store_(store), state_(std::move(state)), bucket_(bucket), outcome_(outcome), done_(done) {}

  bool exclusive() const override { return true; }

  absl::Status Decide(CommitPipeline::View& view, storage::ChangeRecord* record) override {
    if (state_->deleted) {
      outcome_->result = {false, 0, view.current_revision()};
      return absl::OkStatus();
    }
    state_->deleted = true;
    outcome_->snapshot = view.TakeSnapshot();
    storage::Event* event = record->add_events();
    event->set_type(storage::Event::BUCKET_DELETE);
    event->set_bucket(std::string(bucket_));
    outcome_->result = {true, 0, view.next_revision()};
    return absl::OkStatus();
  }

  void Done(const absl::Status& status) override {
    outcome_->status = status;
    if (!status.ok() && outcome_->result.deleted) state_->deleted = false;
    if (status.ok() && outcome_->result.deleted) {
      absl::MutexLock lock(&store_->buckets_mu_);
      auto it = store_->buckets_.find(bucket_);
      if (it != store_->buckets_.end() && it->second == state_) store_->buckets_.erase(it);
    }
    done_->Notify();
  }

 private:
  Store* const store_;
  const std::shared_ptr<BucketState> state_;
  const std::string_view bucket_;
  Outcome* const outcome_;
  absl::Notification* const done_;
};

absl::StatusOr<Store::DeleteBucketResult> Store::DeleteBucket(std::string_view bucket) {
  std::shared_ptr<BucketState> state = FindState(bucket);
  if (state == nullptr) return DeleteBucketResult{false, 0, CurrentRevision()};

  DeleteBucketWrite::Outcome outcome;
  absl::Notification done;
  pipeline_->Submit(
      std::make_unique<DeleteBucketWrite>(this, std::move(state), bucket, &outcome, &done));
  done.WaitForNotification();
  absl::Status status = outcome.status;
  if (outcome.snapshot != nullptr) {
    if (status.ok()) {
      const std::string prefix = key_format::DataPrefix(bucket);
      const std::string limit = key_format::PrefixSuccessor(prefix);
      rocksdb::Slice upper(limit);
      rocksdb::ReadOptions read_options;
      read_options.snapshot = outcome.snapshot;
      read_options.iterate_upper_bound = &upper;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, data_cf_));
      for (it->Seek(prefix); it->Valid(); it->Next()) ++outcome.result.deleted_keys;
      status = FromRocksStatus(it->status(), "count of the deleted bucket's keys");
    }
    db_->ReleaseSnapshot(outcome.snapshot);
  }
  if (!status.ok()) return status;
  return outcome.result;
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
  // The batched form: lookups sorted and sharing index and filter reads,
  // values pinned where they lie instead of copied out.
  std::vector<rocksdb::PinnableSlice> values(slices.size());
  std::vector<rocksdb::Status> statuses(slices.size());
  rocksdb::ReadOptions read_options;
  if (memory_only) read_options.read_tier = rocksdb::kBlockCacheTier;
  db_->MultiGet(read_options, data_cf_, slices.size(), slices.data(), values.data(),
                statuses.data());
  // Incomplete: some key's block is not in memory; the whole read goes to
  // the disk path, so all values still come from one view.
  if (memory_only) {
    for (const rocksdb::Status& s : statuses) {
      if (s.IsIncomplete()) return false;
    }
  }

  if (statuses[0].ok()) {
    result->revision = key_format::DecodeFixed64(values[0].ToStringView()).value_or(0);
  } else if (!statuses[0].IsNotFound()) {
    return FromRocksStatus(statuses[0], "read of revision");
  }
  ReportRead(result->revision);
  result->values.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const rocksdb::Status& s = statuses[i + 1];
    if (s.IsNotFound()) {
      result->values.emplace_back();
      continue;
    }
    RETURN_IF_ERROR(FromRocksStatus(s, "read"));
    std::optional<key_format::StoredValue> stored =
        key_format::DecodeValue(values[i + 1].ToStringView());
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

uint64_t Store::ReadFloor() const {
  return std::max(pipeline_->LastCommittedRevision(),
                  reported_revision_.load(std::memory_order_acquire));
}

void Store::ReportRead(uint64_t revision) {
  uint64_t reported = reported_revision_.load(std::memory_order_relaxed);
  while (reported < revision &&
         !reported_revision_.compare_exchange_weak(reported, revision, std::memory_order_release,
                                                   std::memory_order_relaxed)) {
  }
}

absl::StatusOr<bool> Store::ReadOne(std::string_view bucket, std::string_view key, bool memory_only,
                                    ReadResult* result) {
  RETURN_IF_ERROR(CheckReadable(bucket));
  // A key that exists needs no read of the revision key: its value held
  // from its version until at least the newest revision visible to the read,
  // which is no lower than the floor taken before it. So max(floor,
  // version) is a revision at which the answer held, and it never goes
  // below what an earlier read reported.
  const uint64_t floor = ReadFloor();
  rocksdb::ReadOptions read_options;
  if (memory_only) read_options.read_tier = rocksdb::kBlockCacheTier;
  rocksdb::PinnableSlice stored;
  const rocksdb::Status s =
      db_->Get(read_options, data_cf_, key_format::DataKey(bucket, key), &stored);
  if (memory_only && s.IsIncomplete()) return false;
  if (s.IsNotFound()) {
    // An absence names no version: read the revision key with it, in one
    // view, as GetMany does.
    const std::string keys[] = {std::string(key)};
    ManyReadResult many;
    ASSIGN_OR_RETURN(bool read, ReadMany(bucket, keys, memory_only, &many));
    if (read) *result = ReadResult{std::move(many.values[0]), many.revision};
    return read;
  }
  RETURN_IF_ERROR(FromRocksStatus(s, "read"));
  std::optional<key_format::StoredValue> decoded = key_format::DecodeValue(stored.ToStringView());
  if (!decoded) return CorruptValue(key);
  result->revision = std::max(floor, decoded->version);
  result->value = ToVersionedValue(*decoded);
  ReportRead(result->revision);
  return true;
}

absl::StatusOr<Store::ReadResult> Store::Get(std::string_view bucket, std::string_view key) {
  ReadResult result;
  RETURN_IF_ERROR(ReadOne(bucket, key, false, &result).status());
  return result;
}

absl::StatusOr<std::optional<Store::ReadResult>> Store::GetFromMemory(std::string_view bucket,
                                                                      std::string_view key) {
  ReadResult result;
  ASSIGN_OR_RETURN(bool read, ReadOne(bucket, key, true, &result));
  if (!read) return std::nullopt;
  return result;
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

// The latest value of one key as `view` sees it; a corrupt value names the
// key.
absl::Status ReadKey(CommitPipeline::View& view, std::string_view bucket, std::string_view key,
                     bool with_value, CommitPipeline::LatestValue* latest) {
  absl::Status status = view.Read(key_format::DataKey(bucket, key), with_value, latest);
  if (absl::IsDataLoss(status)) return CorruptValue(key);
  return status;
}

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

// A write decided by a function and reported to a callback.
template <typename Result, typename DecideFn>
class DecidedWrite final : public CommitPipeline::Write {
 public:
  DecidedWrite(DecideFn decide, Store::Callback<Result> done)
      : decide_(std::move(decide)), done_(std::move(done)) {}
  absl::Status Decide(CommitPipeline::View& view, storage::ChangeRecord* record) override {
    return decide_(view, record, &result_);
  }
  void Done(const absl::Status& status) override {
    if (status.ok()) {
      done_(std::move(result_));
    } else {
      done_(status);
    }
  }

 private:
  DecideFn decide_;
  Store::Callback<Result> done_;
  Result result_;
};

// Blocks until `start` (void(Store::Callback<Result>)) has its outcome.
template <typename Result, typename Start>
absl::StatusOr<Result> Wait(Start start) {
  absl::Notification done;
  absl::StatusOr<Result> outcome;
  start([&](absl::StatusOr<Result> result) {
    outcome = std::move(result);
    done.Notify();
  });
  done.WaitForNotification();
  return outcome;
}

}  // namespace

template <typename Result, typename DecideFn>
void Store::SubmitWrite(DecideFn decide, Callback<Result> done) {
  pipeline_->Submit(
      std::make_unique<DecidedWrite<Result, DecideFn>>(std::move(decide), std::move(done)));
}

template <typename Result, typename Submit>
absl::StatusOr<Result> Store::WriteCreatingBucket(std::string_view bucket, Submit submit) {
  for (;;) {
    ASSIGN_OR_RETURN(std::shared_ptr<BucketState> state, LookupBucket(bucket, /*create=*/true));
    absl::StatusOr<Result> outcome =
        Wait<Result>([&](Callback<Result> done) { submit(std::move(state), std::move(done)); });
    // Deleted between the lookup and the decision: look it up again, which
    // recreates it.
    if (!NeedsBlockingCall(outcome.status())) return outcome;
  }
}

template <typename Result, typename Submit>
void Store::WriteCreatingBucketAsync(std::string_view bucket, Submit submit,
                                     Callback<Result> done) {
  std::shared_ptr<BucketState> state = FindState(bucket);
  if (state == nullptr) {
    done(MissingBucket(bucket));
    return;
  }
  submit(std::move(state), std::move(done));
}

void Store::SubmitSet(std::shared_ptr<BucketState> state, std::string_view bucket,
                      std::string_view key, std::string_view value, Callback<WriteResult> done) {
  SubmitWrite<WriteResult>(
      [this, state = std::move(state), bucket, key, value](
          CommitPipeline::View& view, storage::ChangeRecord* record, WriteResult* result) {
        if (state->deleted) return BucketGone(bucket);
        CommitPipeline::LatestValue current;
        RETURN_IF_ERROR(ReadKey(view, bucket, key, /*with_value=*/false, &current));
        AddSet(record, bucket, key, value, current.version);
        *result = {view.next_revision(), current.version == 0};
        return absl::OkStatus();
      },
      std::move(done));
}

absl::StatusOr<Store::WriteResult> Store::Set(std::string_view bucket, std::string_view key,
                                              std::string_view value) {
  return WriteCreatingBucket<WriteResult>(
      bucket, [&](std::shared_ptr<BucketState> state, Callback<WriteResult> done) {
        SubmitSet(std::move(state), bucket, key, value, std::move(done));
      });
}

void Store::SetAsync(std::string_view bucket, std::string_view key, std::string_view value,
                     Callback<WriteResult> done) {
  WriteCreatingBucketAsync<WriteResult>(
      bucket,
      [&](std::shared_ptr<BucketState> state, Callback<WriteResult> submitted) {
        SubmitSet(std::move(state), bucket, key, value, std::move(submitted));
      },
      std::move(done));
}

void Store::DeleteAsync(std::string_view bucket, std::string_view key, Callback<WriteResult> done) {
  absl::StatusOr<std::shared_ptr<BucketState>> state = LookupBucket(bucket, /*create=*/false);
  if (!state.ok()) return done(state.status());
  if (*state == nullptr) return done(WriteResult{CurrentRevision(), false});
  SubmitWrite<WriteResult>(
      [state = *std::move(state), bucket, key](CommitPipeline::View& view,
                                               storage::ChangeRecord* record, WriteResult* result) {
        // A delete after its bucket's has nothing left to do, and must not
        // recreate the bucket.
        *result = {view.current_revision(), false};
        if (state->deleted) return absl::OkStatus();
        CommitPipeline::LatestValue current;
        RETURN_IF_ERROR(ReadKey(view, bucket, key, /*with_value=*/false, &current));
        if (current.version == 0) return absl::OkStatus();
        AddDelete(record, bucket, key, current.version);
        *result = {view.next_revision(), true};
        return absl::OkStatus();
      },
      std::move(done));
}

absl::StatusOr<Store::WriteResult> Store::Delete(std::string_view bucket, std::string_view key) {
  return Wait<WriteResult>(
      [&](Callback<WriteResult> done) { DeleteAsync(bucket, key, std::move(done)); });
}

void Store::SubmitIncrement(std::shared_ptr<BucketState> state, std::string_view bucket,
                            std::string_view key, int64_t delta, Callback<IncrementResult> done) {
  SubmitWrite<IncrementResult>(
      [this, state = std::move(state), bucket, key, delta](
          CommitPipeline::View& view, storage::ChangeRecord* record,
          IncrementResult* result) -> absl::Status {
        if (state->deleted) return BucketGone(bucket);
        CommitPipeline::LatestValue current;
        RETURN_IF_ERROR(ReadKey(view, bucket, key, /*with_value=*/true, &current));
        int64_t value = 0;
        if (current.version != 0) {
          ASSIGN_OR_RETURN(value, ParseCounter(current.value, key));
        }
        int64_t sum = 0;
        if (__builtin_add_overflow(value, delta, &sum)) {
          return absl::OutOfRangeError(StrCat("incrementing key ", QuoteKey(key), " (", value,
                                              ") by ", delta,
                                              " overflows the signed 64-bit range"));
        }
        AddSet(record, bucket, key, StrCat(sum), current.version);
        *result = {sum, view.next_revision()};
        return absl::OkStatus();
      },
      std::move(done));
}

absl::StatusOr<Store::IncrementResult> Store::Increment(std::string_view bucket,
                                                        std::string_view key, int64_t delta) {
  return WriteCreatingBucket<IncrementResult>(
      bucket, [&](std::shared_ptr<BucketState> state, Callback<IncrementResult> done) {
        SubmitIncrement(std::move(state), bucket, key, delta, std::move(done));
      });
}

void Store::IncrementAsync(std::string_view bucket, std::string_view key, int64_t delta,
                           Callback<IncrementResult> done) {
  WriteCreatingBucketAsync<IncrementResult>(
      bucket,
      [&](std::shared_ptr<BucketState> state, Callback<IncrementResult> submitted) {
        SubmitIncrement(std::move(state), bucket, key, delta, std::move(submitted));
      },
      std::move(done));
}

void Store::SubmitCompareAndSwap(std::shared_ptr<BucketState> state, std::string_view bucket,
                                 std::string_view key, const CasCondition& condition,
                                 std::string_view new_value, Callback<CasResult> done) {
  SubmitWrite<CasResult>(
      [this, state = std::move(state), bucket, key, condition, new_value](
          CommitPipeline::View& view, storage::ChangeRecord* record, CasResult* result) {
        if (state->deleted) return BucketGone(bucket);
        CommitPipeline::LatestValue current;
        // The value too: a failed swap returns it.
        RETURN_IF_ERROR(ReadKey(view, bucket, key, /*with_value=*/true, &current));
        const bool found = current.version != 0;
        bool matches = false;
        switch (condition.kind) {
          case CasCondition::Kind::kAbsent:
            matches = !found;
            break;
          case CasCondition::Kind::kValue:
            matches = found && current.value == condition.expected_value;
            break;
          case CasCondition::Kind::kVersion:
            matches = found && current.version == condition.expected_version;
            break;
        }
        if (!matches) {
          result->swapped = false;
          result->revision = view.current_revision();
          if (found) result->current = VersionedValue{std::move(current.value), current.version};
          return absl::OkStatus();
        }
        AddSet(record, bucket, key, new_value, current.version);
        result->swapped = true;
        result->revision = view.next_revision();
        return absl::OkStatus();
      },
      std::move(done));
}

absl::StatusOr<Store::CasResult> Store::CompareAndSwap(std::string_view bucket,
                                                       std::string_view key,
                                                       const CasCondition& condition,
                                                       std::string_view new_value) {
  return WriteCreatingBucket<CasResult>(
      bucket, [&](std::shared_ptr<BucketState> state, Callback<CasResult> done) {
        SubmitCompareAndSwap(std::move(state), bucket, key, condition, new_value, std::move(done));
      });
}

void Store::CompareAndSwapAsync(std::string_view bucket, std::string_view key,
                                const CasCondition& condition, std::string_view new_value,
                                Callback<CasResult> done) {
  WriteCreatingBucketAsync<CasResult>(
      bucket,
      [&](std::shared_ptr<BucketState> state, Callback<CasResult> submitted) {
        SubmitCompareAndSwap(std::move(state), bucket, key, condition, new_value,
                             std::move(submitted));
      },
      std::move(done));
}

void Store::SubmitSetMany(std::shared_ptr<BucketState> state, std::string_view bucket,
                          std::span<const std::pair<std::string, std::string>> pairs,
                          Callback<WriteResult> done) {
  SubmitWrite<WriteResult>(
      [this, state = std::move(state), bucket, pairs](
          CommitPipeline::View& view, storage::ChangeRecord* record, WriteResult* result) {
        if (state->deleted) return BucketGone(bucket);
        const std::vector<size_t> applied = LastOccurrences(
            pairs, [](const std::pair<std::string, std::string>& p) -> std::string_view {
              return p.first;
            });
        std::vector<std::string> data_keys;
        data_keys.reserve(applied.size());
        for (size_t index : applied) {
          data_keys.push_back(key_format::DataKey(bucket, pairs[index].first));
        }
        std::vector<uint64_t> versions;
        RETURN_IF_ERROR(view.ReadVersions(data_keys, &versions));
        for (size_t i = 0; i < applied.size(); ++i) {
          const auto& [key, value] = pairs[applied[i]];
          AddSet(record, bucket, key, value, versions[i]);
        }
        *result = {view.next_revision(), true};
        return absl::OkStatus();
      },
      std::move(done));
}

absl::StatusOr<Store::WriteResult> Store::SetMany(
    std::string_view bucket, std::span<const std::pair<std::string, std::string>> pairs) {
  if (pairs.empty()) return WriteResult{CurrentRevision(), false};
  return WriteCreatingBucket<WriteResult>(
      bucket, [&](std::shared_ptr<BucketState> state, Callback<WriteResult> done) {
        SubmitSetMany(std::move(state), bucket, pairs, std::move(done));
      });
}

void Store::SetManyAsync(std::string_view bucket,
                         std::span<const std::pair<std::string, std::string>> pairs,
                         Callback<WriteResult> done) {
  if (pairs.empty()) return done(WriteResult{CurrentRevision(), false});
  WriteCreatingBucketAsync<WriteResult>(
      bucket,
      [&](std::shared_ptr<BucketState> state, Callback<WriteResult> submitted) {
        SubmitSetMany(std::move(state), bucket, pairs, std::move(submitted));
      },
      std::move(done));
}

void Store::DeleteManyAsync(std::string_view bucket, std::span<const std::string> keys,
                            Callback<DeleteManyResult> done) {
  absl::StatusOr<std::shared_ptr<BucketState>> state = LookupBucket(bucket, /*create=*/false);
  if (!state.ok()) return done(state.status());
  if (*state == nullptr) return done(DeleteManyResult{0, CurrentRevision()});
  SubmitWrite<DeleteManyResult>(
      [state = *std::move(state), bucket, keys](
          CommitPipeline::View& view, storage::ChangeRecord* record, DeleteManyResult* result) {
        *result = {0, view.current_revision()};
        if (state->deleted) return absl::OkStatus();
        std::vector<std::string_view> distinct;
        std::vector<std::string> data_keys;
        for (size_t index :
             LastOccurrences(keys, [](const std::string& k) -> std::string_view { return k; })) {
          distinct.push_back(keys[index]);
          data_keys.push_back(key_format::DataKey(bucket, keys[index]));
        }
        std::vector<uint64_t> versions;
        RETURN_IF_ERROR(view.ReadVersions(data_keys, &versions));
        for (size_t i = 0; i < distinct.size(); ++i) {
          if (versions[i] != 0) AddDelete(record, bucket, distinct[i], versions[i]);
        }
        if (record->events().empty()) return absl::OkStatus();
        *result = {static_cast<uint64_t>(record->events_size()), view.next_revision()};
        return absl::OkStatus();
      },
      std::move(done));
}

absl::StatusOr<Store::DeleteManyResult> Store::DeleteMany(std::string_view bucket,
                                                          std::span<const std::string> keys) {
  return Wait<DeleteManyResult>(
      [&](Callback<DeleteManyResult> done) { DeleteManyAsync(bucket, keys, std::move(done)); });
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
