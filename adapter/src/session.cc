#include "wasikv/adapter/session.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

#include "fmt/format.h"
#include "wasikv/internal/status_macros.h"
#include "wasikv/internal/status_text.h"

namespace wasikv::adapter {
namespace {

// The server's batch limits (kv.proto): guests may pass more, and batch
// calls are not atomic in any generation of wasi:keyvalue, so the adapter
// splits them.
constexpr size_t kMaxBatchEntries = 1024;
constexpr size_t kMaxBatchBytes = 8 << 20;
constexpr uint32_t kMaxListPage = 10000;
// CompareAndSwapDecimal retries a lost race on the version this many times.
constexpr int kMaxCasAttempts = 64;

// Keys can be 4 KiB; messages quote at most this much of one.
std::string Quote(std::string_view key) {
  constexpr size_t kMaxQuoted = 64;
  if (key.size() <= kMaxQuoted) return fmt::format("'{}'", key);
  return fmt::format("'{}...' ({} bytes)", key.substr(0, kMaxQuoted), key.size());
}

// Keeps the code (it decides the wasi error case) and says what failed.
absl::Status Annotate(const absl::Status& status, std::string_view what) {
  return absl::Status(status.code(), fmt::format("{}: {}", what, MessageOf(status)));
}

template <typename T>
absl::StatusOr<T> Annotate(absl::StatusOr<T> result, std::string_view what) {
  if (result.ok()) return result;
  return Annotate(result.status(), what);
}

// Parses a u64 counter written as decimal ASCII, the project's encoding, in
// the one form the server's Increment writes and accepts: no sign, no
// leading zeros ("0" itself aside).
std::optional<uint64_t> ParseDecimal(std::string_view text) {
  if (text.size() > 1 && text.front() == '0') return std::nullopt;
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

absl::Status UnknownHandle(std::string_view kind, Handle handle) {
  return GuestTrap(fmt::format(
      "{} handle {} is not open in this guest (never returned to it, or already dropped)", kind,
      handle));
}

absl::Status HandleBudget::Acquire(std::string_view kind) {
  if (in_use_ >= limit_) {
    return absl::ResourceExhaustedError(
        fmt::format("cannot open another {}: this guest already holds {} handles, the host's "
                    "limit (max_handles); drop some first",
                    kind, limit_));
  }
  ++in_use_;
  return absl::OkStatus();
}

Session::Session(std::shared_ptr<const Host> host)
    : host_(std::move(host)),
      budget_(host_->options().max_handles),
      buckets_("bucket", &budget_),
      cas_("cas", &budget_) {}

absl::StatusOr<Session::OpenBucket*> Session::Bucket(Handle bucket) { return buckets_.Get(bucket); }

absl::StatusOr<Handle> Session::Open(std::string_view identifier) {
  ASSIGN_OR_RETURN(std::string name, host_->ResolveBucket(identifier));
  const std::string what = fmt::format("open bucket {}", Quote(name));
  ASSIGN_OR_RETURN(BucketStatus status,
                   Annotate(host_->client().OpenBucket(name, host_->options().call), what));
  if (!status.usable) return absl::NotFoundError(fmt::format("{}: no such bucket", what));
  if (open_observer_) open_observer_(name, status.revision);
  return OpenResolved(std::move(name));
}

absl::StatusOr<Handle> Session::OpenResolved(std::string bucket_name) {
  return buckets_.Insert(OpenBucket{std::move(bucket_name), 0, {}});
}

absl::Status Session::DropBucket(Handle bucket) { return buckets_.Take(bucket).status(); }

absl::StatusOr<std::string> Session::BucketName(Handle bucket) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  return open->name;
}

absl::StatusOr<std::optional<VersionedValue>> Session::GetVersioned(Handle bucket,
                                                                    std::string_view key) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  ASSIGN_OR_RETURN(GetResult result,
                   Annotate(host_->client().Get(open->name, key, host_->options().call),
                            fmt::format("get {} in bucket '{}'", Quote(key), open->name)));
  return std::move(result.value);
}

absl::StatusOr<std::optional<std::string>> Session::Get(Handle bucket, std::string_view key) {
  ASSIGN_OR_RETURN(std::optional<VersionedValue> value, GetVersioned(bucket, key));
  if (!value) return std::nullopt;
  return std::move(value->value);
}

absl::Status Session::Set(Handle bucket, std::string_view key, std::string_view value) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  return Annotate(host_->client().Set(open->name, key, value, host_->options().call),
                  fmt::format("set {} in bucket '{}'", Quote(key), open->name))
      .status();
}

absl::StatusOr<bool> Session::Delete(Handle bucket, std::string_view key) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  ASSIGN_OR_RETURN(DeleteResult result,
                   Annotate(host_->client().Delete(open->name, key, host_->options().call),
                            fmt::format("delete {} in bucket '{}'", Quote(key), open->name)));
  return result.deleted;
}

absl::StatusOr<bool> Session::Exists(Handle bucket, std::string_view key) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  ASSIGN_OR_RETURN(ExistsResult result,
                   Annotate(host_->client().Exists(open->name, key, host_->options().call),
                            fmt::format("exists {} in bucket '{}'", Quote(key), open->name)));
  return result.exists;
}

absl::StatusOr<Session::KeyPage> Session::ListKeys(Handle bucket,
                                                   std::optional<std::string_view> cursor) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  ListKeysOptions list;
  list.cursor = std::string(cursor.value_or(""));
  list.limit = host_->options().list_keys_page_size;
  ASSIGN_OR_RETURN(ListKeysPage page,
                   Annotate(host_->client().ListKeys(open->name, list, host_->options().call),
                            fmt::format("list keys in bucket '{}'", open->name)));
  KeyPage result{std::move(page.keys), std::nullopt};
  if (!page.next_cursor.empty()) result.cursor = std::move(page.next_cursor);
  return result;
}

absl::StatusOr<Session::OffsetKeyPage> Session::ListKeysFrom(Handle bucket,
                                                             std::optional<uint64_t> offset) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  const std::string what = fmt::format("list keys in bucket '{}'", open->name);
  const uint64_t start = offset.value_or(0);
  uint64_t position = 0;
  std::string token;
  if (start != 0 && start == open->resume_offset && !open->resume_token.empty()) {
    position = start;
    token = open->resume_token;
  }
  // Skips to `start` by listing, as a guest that invents a cursor expects;
  // cursors this function returned resume where the last page ended.
  while (position < start) {
    ListKeysOptions skip;
    skip.cursor = token;
    skip.limit = static_cast<uint32_t>(std::min<uint64_t>(kMaxListPage, start - position));
    ASSIGN_OR_RETURN(
        ListKeysPage page,
        Annotate(host_->client().ListKeys(open->name, skip, host_->options().call), what));
    position += page.keys.size();
    token = std::move(page.next_cursor);
    if (token.empty()) break;
  }
  OffsetKeyPage result;
  if (position < start || (start != 0 && token.empty())) return result;  // past the end
  ListKeysOptions list;
  list.cursor = token;
  list.limit = host_->options().list_keys_page_size;
  ASSIGN_OR_RETURN(
      ListKeysPage page,
      Annotate(host_->client().ListKeys(open->name, list, host_->options().call), what));
  result.keys = std::move(page.keys);
  if (!page.next_cursor.empty()) {
    result.cursor = start + result.keys.size();
    open->resume_offset = *result.cursor;
    open->resume_token = std::move(page.next_cursor);
  }
  return result;
}

absl::StatusOr<std::vector<std::string>> Session::AllKeys(Handle bucket, uint64_t max_bytes) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  const std::string what = fmt::format("list keys in bucket '{}'", open->name);
  std::vector<std::string> keys;
  uint64_t bytes = 0;
  ListKeysOptions list;
  list.limit = kMaxListPage;
  do {
    ASSIGN_OR_RETURN(
        ListKeysPage page,
        Annotate(host_->client().ListKeys(open->name, list, host_->options().call), what));
    for (std::string& key : page.keys) {
      bytes += key.size() + 8;  // the string and its list element
      if (bytes > max_bytes) {
        return absl::ResourceExhaustedError(
            fmt::format("{}: the keys pass the host's limit of {} bytes per call "
                        "(max_call_allocation_bytes)",
                        what, max_bytes));
      }
      keys.push_back(std::move(key));
    }
    list.cursor = std::move(page.next_cursor);
  } while (!list.cursor.empty());
  return keys;
}

absl::StatusOr<int64_t> Session::Increment(Handle bucket, std::string_view key, int64_t delta) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  ASSIGN_OR_RETURN(
      IncrementResult result,
      Annotate(host_->client().Increment(open->name, key, delta, host_->options().call),
               fmt::format("increment {} in bucket '{}' by {}", Quote(key), open->name, delta)));
  return result.value;
}

absl::StatusOr<uint64_t> Session::IncrementUnsigned(Handle bucket, std::string_view key,
                                                    uint64_t delta) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (delta > static_cast<uint64_t>(kMax)) {
    return absl::OutOfRangeError(fmt::format(
        "increment delta {} is past {}, the largest wasikv counters hold", delta, kMax));
  }
  ASSIGN_OR_RETURN(int64_t value, Increment(bucket, key, static_cast<int64_t>(delta)));
  if (value < 0) {
    return absl::OutOfRangeError(fmt::format(
        "counter {} is now {}, which an unsigned increment cannot return", Quote(key), value));
  }
  return static_cast<uint64_t>(value);
}

absl::StatusOr<bool> Session::CompareAndSwapDecimal(Handle bucket, std::string_view key,
                                                    uint64_t expected, uint64_t desired) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  const std::string what =
      fmt::format("compare-and-swap {} in bucket '{}'", Quote(key), open->name);
  for (int attempt = 0; attempt < kMaxCasAttempts; ++attempt) {
    ASSIGN_OR_RETURN(std::optional<VersionedValue> current, GetVersioned(bucket, key));
    if (!current) return absl::FailedPreconditionError(fmt::format("{}: no such key", what));
    std::optional<uint64_t> number = ParseDecimal(current->value);
    if (!number) {
      return absl::FailedPreconditionError(
          fmt::format("{}: the value is not a decimal unsigned 64-bit counter", what));
    }
    if (*number != expected) return false;
    ASSIGN_OR_RETURN(CasResult result,
                     Annotate(host_->client().CompareAndSwap(
                                  open->name, key, CasExpectation::Version(current->version),
                                  std::to_string(desired), host_->options().call),
                              what));
    if (result.swapped) return true;
    // Someone wrote between the read and the swap; the comparison is on the
    // number, so read it again rather than report a spurious false.
  }
  return absl::AbortedError(
      fmt::format("{}: lost {} races in a row to other writers", what, kMaxCasAttempts));
}

absl::StatusOr<Handle> Session::NewCasOn(std::string bucket, std::string key) {
  return cas_.Insert(CasState{std::move(bucket), std::move(key), std::nullopt});
}

absl::StatusOr<Handle> Session::NewCas(Handle bucket, std::string_view key) {
  ASSIGN_OR_RETURN(std::optional<VersionedValue> seen, GetVersioned(bucket, key));
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  return cas_.Insert(CasState{open->name, std::string(key), std::move(seen)});
}

absl::StatusOr<std::optional<std::string>> Session::CasCurrent(Handle cas) {
  ASSIGN_OR_RETURN(CasState * state, cas_.Get(cas));
  ASSIGN_OR_RETURN(
      GetResult result,
      Annotate(host_->client().Get(state->bucket, state->key, host_->options().call),
               fmt::format("cas current {} in bucket '{}'", Quote(state->key), state->bucket)));
  state->seen = std::move(result.value);
  if (!state->seen) return std::nullopt;
  return state->seen->value;
}

absl::StatusOr<Session::SwapOutcome> Session::Swap(Handle cas, std::string_view value) {
  ASSIGN_OR_RETURN(CasState state, cas_.Take(cas));
  const CasExpectation expected =
      state.seen ? CasExpectation::Version(state.seen->version) : CasExpectation::Absent();
  ASSIGN_OR_RETURN(
      CasResult result,
      Annotate(host_->client().CompareAndSwap(state.bucket, state.key, expected, value,
                                              host_->options().call),
               fmt::format("cas swap {} in bucket '{}'", Quote(state.key), state.bucket)));
  if (result.swapped) return SwapOutcome{true, 0};
  // The fresh cas starts from the state the server reported, so the guest
  // can retry without a read.
  state.seen = std::move(result.current);
  ASSIGN_OR_RETURN(Handle fresh, cas_.Insert(std::move(state)));
  return SwapOutcome{false, fresh};
}

absl::Status Session::DropCas(Handle cas) { return cas_.Take(cas).status(); }

absl::StatusOr<std::vector<std::optional<std::string>>> Session::GetMany(
    Handle bucket, std::span<const std::string> keys) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  std::vector<std::optional<std::string>> values;
  values.reserve(keys.size());
  for (size_t begin = 0; begin < keys.size(); begin += kMaxBatchEntries) {
    auto chunk = keys.subspan(begin, std::min(kMaxBatchEntries, keys.size() - begin));
    ASSIGN_OR_RETURN(GetManyResult result,
                     Annotate(host_->client().GetMany(open->name, chunk, host_->options().call),
                              fmt::format("get-many in bucket '{}'", open->name)));
    for (GetManyEntry& entry : result.entries) {
      if (entry.value) {
        values.emplace_back(std::move(entry.value->value));
      } else {
        values.emplace_back(std::nullopt);
      }
    }
  }
  return values;
}

absl::Status Session::SetMany(Handle bucket, std::span<const KeyValue> entries) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  size_t begin = 0;
  while (begin < entries.size()) {
    size_t end = begin;
    size_t bytes = 0;
    while (end < entries.size() && end - begin < kMaxBatchEntries &&
           (end == begin ||
            bytes + entries[end].key.size() + entries[end].value.size() <= kMaxBatchBytes)) {
      bytes += entries[end].key.size() + entries[end].value.size();
      ++end;
    }
    RETURN_IF_ERROR(
        Annotate(host_->client().SetMany(open->name, entries.subspan(begin, end - begin),
                                         host_->options().call),
                 fmt::format("set-many in bucket '{}'", open->name))
            .status());
    begin = end;
  }
  return absl::OkStatus();
}

absl::Status Session::DeleteMany(Handle bucket, std::span<const std::string> keys) {
  ASSIGN_OR_RETURN(OpenBucket * open, Bucket(bucket));
  for (size_t begin = 0; begin < keys.size(); begin += kMaxBatchEntries) {
    auto chunk = keys.subspan(begin, std::min(kMaxBatchEntries, keys.size() - begin));
    RETURN_IF_ERROR(Annotate(host_->client().DeleteMany(open->name, chunk, host_->options().call),
                             fmt::format("delete-many in bucket '{}'", open->name))
                        .status());
  }
  return absl::OkStatus();
}

}  // namespace wasikv::adapter
