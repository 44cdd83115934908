// RequestLimits: the size and charset rules every request is checked against
// before it reaches the store, and the messages that name what was wrong.
//
// A failed check is INVALID_ARGUMENT with a message of the form
//   "<field>: <what is wrong> (limit <n>, set by --<flag>)"
// where <field> is the request field path ("entries[3].key"), so a person
// reading grpcurl output knows what to fix.
#ifndef WASIKV_SERVER_RPC_REQUEST_LIMITS_H_
#define WASIKV_SERVER_RPC_REQUEST_LIMITS_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"

namespace wasikv {

struct RequestLimits {
  // Bucket names are 1..max_bucket_bytes of [A-Za-z0-9._-]. Not
  // configurable: the charset keeps names safe in logs, paths and metrics.
  static constexpr size_t kMaxBucketBytes = 64;

  size_t max_key_bytes = 4096;
  size_t max_value_bytes = 1 << 20;
  size_t max_batch_entries = 1024;
  size_t max_batch_bytes = 16 << 20;
  size_t default_list_limit = 1000;
  size_t max_list_limit = 10000;

  absl::Status CheckBucket(std::string_view field, std::string_view bucket) const;
  absl::Status CheckKey(std::string_view field, std::string_view key) const;
  absl::Status CheckValue(std::string_view field, std::string_view value) const;
  // What CheckKey and CheckValue accept, without naming a field: a batch
  // formats an entry's field name only for the entry that fails.
  bool KeyFits(std::string_view key) const { return !key.empty() && key.size() <= max_key_bytes; }
  bool ValueFits(std::string_view value) const { return value.size() <= max_value_bytes; }
  // A key prefix may be empty; otherwise it is held to the key limit.
  absl::Status CheckPrefix(std::string_view field, std::string_view prefix) const;
  // 1..max_batch_entries entries.
  absl::Status CheckBatchSize(std::string_view field, size_t entries) const;
  // Sum of key and value bytes of a batch.
  absl::Status CheckBatchBytes(std::string_view field, size_t bytes) const;
  // A page size; 0 means default_list_limit, or max_list_limit if that is
  // smaller. Returns the effective limit via `effective`.
  absl::Status CheckListLimit(std::string_view field, size_t requested, size_t* effective) const;

  // The largest request message a client may legitimately send, for the
  // transport's receive limit.
  size_t MaxRequestBytes() const;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_REQUEST_LIMITS_H_
