// Change log entries (server/storage/change_record.h) from any bytes:
// DecodeChangeRecord never crashes, accepts only a record of the revision
// its key names, and what it accepts encodes and decodes back unchanged.
//
// Input: byte 0 is the key's length n (the key is a LogKey when n is 8),
// then n bytes of key; the rest is the stored value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/storage/change_record.h"
#include "server/storage/key_format.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string_view key = rest.substr(0, data[0]);
  rest.remove_prefix(key.size());

  const absl::StatusOr<wasikv::storage::ChangeRecord> record =
      wasikv::DecodeChangeRecord(key, rest);
  if (!record.ok()) {
    FUZZ_CHECK(record.status().code() == absl::StatusCode::kDataLoss);
    return 0;
  }
  FUZZ_CHECK(wasikv::key_format::DecodeLogKey(key) == record->revision());
  const std::string encoded = record->SerializeAsString();
  const absl::StatusOr<wasikv::storage::ChangeRecord> again =
      wasikv::DecodeChangeRecord(key, encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->SerializeAsString() == encoded);
  FUZZ_CHECK(again->events_size() == record->events_size());
  return 0;
}
