// Request validation (server/rpc/request_limits.h) under any limits an
// operator can set (the bounds server_config.cc enforces) and any field
// values: each check accepts exactly what its contract says, a refusal is
// INVALID_ARGUMENT naming the field, a page is never larger than
// --max-list-limit, and the transport's receive limit fits every valid
// request and gRPC's int.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "server/rpc/request_limits.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using wasikv::RequestLimits;

// A limit in [min, max], often a small one so the edges are reached.
size_t Limit(FuzzedDataProvider& input, size_t min, size_t max) {
  return input.ConsumeBool() ? input.ConsumeIntegralInRange<size_t>(min, std::min<size_t>(max, 64))
                             : input.ConsumeIntegralInRange<size_t>(min, max);
}

// A refusal names its field first.
bool Refuses(const absl::Status& status, std::string_view field) {
  return status.code() == absl::StatusCode::kInvalidArgument &&
         wasikv::fuzz::MessageOf(status).starts_with(std::string(field) + ": ");
}

bool IsBucketName(std::string_view name) {
  if (name.empty() || name.size() > RequestLimits::kMaxBucketBytes) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  // server_config.cc's flag bounds; default_list_limit is not a flag.
  RequestLimits limits;
  limits.max_key_bytes = Limit(input, 1, 64 << 10);
  limits.max_value_bytes = Limit(input, 1, 64 << 20);
  limits.max_batch_entries = Limit(input, 1, 1 << 20);
  limits.max_batch_bytes = Limit(input, 1, size_t{1} << 30);
  limits.max_list_limit = Limit(input, 1, 1 << 20);

  const std::string bucket = input.ConsumeRandomLengthString(80);
  const absl::Status bucket_status = limits.CheckBucket("bucket", bucket);
  FUZZ_CHECK(bucket_status.ok() == IsBucketName(bucket));
  FUZZ_CHECK(bucket_status.ok() || Refuses(bucket_status, "bucket"));

  const std::string key = input.ConsumeRandomLengthString(200);
  const absl::Status key_status = limits.CheckKey("entries[7].key", key);
  FUZZ_CHECK(key_status.ok() == (!key.empty() && key.size() <= limits.max_key_bytes));
  FUZZ_CHECK(key_status.ok() || Refuses(key_status, "entries[7].key"));

  const absl::Status prefix_status = limits.CheckPrefix("prefix", key);
  FUZZ_CHECK(prefix_status.ok() == (key.size() <= limits.max_key_bytes));
  FUZZ_CHECK(prefix_status.ok() || Refuses(prefix_status, "prefix"));

  // Up to one byte past the largest value limit, allocated once.
  static const std::string* const kValues = new std::string((64 << 20) + 1, 'v');
  const size_t value_size = Limit(input, 0, kValues->size());
  const absl::Status value_status =
      limits.CheckValue("value", std::string_view(*kValues).substr(0, value_size));
  FUZZ_CHECK(value_status.ok() == (value_size <= limits.max_value_bytes));
  FUZZ_CHECK(value_status.ok() || Refuses(value_status, "value"));

  const size_t entries = Limit(input, 0, 2 << 20);
  const absl::Status entries_status = limits.CheckBatchSize("keys", entries);
  FUZZ_CHECK(entries_status.ok() == (entries >= 1 && entries <= limits.max_batch_entries));
  FUZZ_CHECK(entries_status.ok() || Refuses(entries_status, "keys"));

  const size_t bytes = input.ConsumeIntegral<size_t>();
  const absl::Status bytes_status = limits.CheckBatchBytes("entries", bytes);
  FUZZ_CHECK(bytes_status.ok() == (bytes <= limits.max_batch_bytes));
  FUZZ_CHECK(bytes_status.ok() || Refuses(bytes_status, "entries"));

  const size_t requested = Limit(input, 0, 2 << 20);
  size_t effective = 0;
  const absl::Status list_status = limits.CheckListLimit("limit", requested, &effective);
  FUZZ_CHECK(list_status.ok() == (requested <= limits.max_list_limit));
  if (list_status.ok()) {
    FUZZ_CHECK(effective >= 1 && effective <= limits.max_list_limit);
    FUZZ_CHECK(requested == 0 || effective == requested);
  } else {
    FUZZ_CHECK(Refuses(list_status, "limit"));
  }

  const size_t max_request = limits.MaxRequestBytes();
  FUZZ_CHECK(max_request <= static_cast<size_t>(std::numeric_limits<int>::max()));
  FUZZ_CHECK(max_request >= limits.max_key_bytes + 2 * limits.max_value_bytes);
  FUZZ_CHECK(max_request >= limits.max_batch_bytes);
  return 0;
}
