#include "server/rpc/request_limits.h"

#include <algorithm>

#include "server/common/str_cat.h"

namespace wasikv {
namespace {

bool IsBucketChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

absl::Status TooLong(std::string_view field, size_t size, size_t limit, std::string_view flag) {
  return absl::InvalidArgumentError(
      StrCat(field, ": ", size, " bytes exceeds the limit of ", limit, " bytes (", flag, ")"));
}

}  // namespace

absl::Status RequestLimits::CheckBucket(std::string_view field, std::string_view bucket) const {
  if (bucket.empty()) {
    return absl::InvalidArgumentError(StrCat(field, ": must not be empty"));
  }
  if (bucket.size() > kMaxBucketBytes) {
    return absl::InvalidArgumentError(StrCat(
        field, ": ", bucket.size(), " bytes exceeds the limit of ", kMaxBucketBytes, " bytes"));
  }
  auto bad = std::find_if_not(bucket.begin(), bucket.end(), IsBucketChar);
  if (bad != bucket.end()) {
    return absl::InvalidArgumentError(
        StrCat(field, ": character at offset ", bad - bucket.begin(),
               " is not allowed; bucket names use only [A-Za-z0-9._-]"));
  }
  return absl::OkStatus();
}

absl::Status RequestLimits::CheckKey(std::string_view field, std::string_view key) const {
  if (KeyFits(key)) return absl::OkStatus();
  if (key.empty()) return absl::InvalidArgumentError(StrCat(field, ": must not be empty"));
  if (key.size() > max_key_bytes) {
    return TooLong(field, key.size(), max_key_bytes, "--max-key-bytes");
  }
  return absl::OkStatus();
}

absl::Status RequestLimits::CheckValue(std::string_view field, std::string_view value) const {
  if (!ValueFits(value)) {
    return TooLong(field, value.size(), max_value_bytes, "--max-value-bytes");
  }
  return absl::OkStatus();
}

absl::Status RequestLimits::CheckPrefix(std::string_view field, std::string_view prefix) const {
  if (prefix.size() > max_key_bytes) {
    return TooLong(field, prefix.size(), max_key_bytes, "--max-key-bytes");
  }
  return absl::OkStatus();
}

absl::Status RequestLimits::CheckBatchSize(std::string_view field, size_t entries) const {
  if (entries == 0) {
    return absl::InvalidArgumentError(StrCat(field, ": must hold at least one entry"));
  }
  if (entries > max_batch_entries) {
    return absl::InvalidArgumentError(StrCat(field, ": ", entries, " entries exceeds the limit of ",
                                             max_batch_entries, " entries (--max-batch-entries)"));
  }
  return absl::OkStatus();
}

absl::Status RequestLimits::CheckBatchBytes(std::string_view field, size_t bytes) const {
  if (bytes > max_batch_bytes) {
    return TooLong(field, bytes, max_batch_bytes, "--max-batch-bytes");
  }
  return absl::OkStatus();
}

absl::Status RequestLimits::CheckListLimit(std::string_view field, size_t requested,
                                           size_t* effective) const {
  if (requested > max_list_limit) {
    return absl::InvalidArgumentError(StrCat(field, ": ", requested, " exceeds the limit of ",
                                             max_list_limit, " keys per page (--max-list-limit)"));
  }
  // The default page is the smaller one when --max-list-limit is set below it.
  *effective = requested == 0 ? std::min(default_list_limit, max_list_limit) : requested;
  return absl::OkStatus();
}

size_t RequestLimits::MaxRequestBytes() const {
  // Framing of a batch: a few bytes of tags and lengths per entry.
  const size_t batch = max_batch_bytes + max_batch_entries * 16;
  const size_t single = max_key_bytes + 2 * max_value_bytes;  // CAS carries two values
  return std::max(batch, single) + 64 * 1024;
}

}  // namespace wasikv
