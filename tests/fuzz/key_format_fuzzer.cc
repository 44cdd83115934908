// The storage layout (server/storage/key_format.h) from any bytes, as
// RocksDB hands keys and values back: the decoders read only their input
// and reject what they cannot decode, and every encoding decodes back to
// what was encoded, in the byte order RocksDB's comparator sorts by.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/storage/key_format.h"
#include "tests/fuzz/fuzz_check.h"

namespace kf = wasikv::key_format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Decoding stored bytes.
  if (const std::optional<uint64_t> revision = kf::DecodeLogKey(in)) {
    FUZZ_CHECK(kf::LogKey(*revision) == in);
  } else {
    FUZZ_CHECK(in.size() != 8);
  }
  if (const std::optional<uint64_t> fixed = kf::DecodeFixed64(in)) {
    std::string encoded;
    kf::AppendFixed64(*fixed, &encoded);
    FUZZ_CHECK(in.starts_with(encoded));
  } else {
    FUZZ_CHECK(in.size() < 8);
  }
  if (const std::optional<kf::StoredValue> value = kf::DecodeValue(in)) {
    FUZZ_CHECK(value->value.data() == in.data() + 8);
    FUZZ_CHECK(kf::EncodeValue(value->version, value->value) == in);
  } else {
    FUZZ_CHECK(in.size() < 8);
  }
  if (in.starts_with(kf::kBucketRecordPrefix)) {
    FUZZ_CHECK(kf::BucketRecordKey(kf::BucketNameFromRecordKey(in)) == in);
  }

  // Encoding: the input as <bucket> NUL <key> (bucket names hold no NUL).
  const size_t nul = in.find('\0');
  const std::string_view bucket = in.substr(0, nul);
  const std::string_view key = nul == std::string_view::npos ? "" : in.substr(nul + 1);
  if (!bucket.empty()) {
    const std::string prefix = kf::DataPrefix(bucket);
    const std::string data_key = kf::DataKey(bucket, key);
    FUZZ_CHECK(data_key.starts_with(prefix) && data_key.substr(prefix.size()) == key);
    // No key of a longer bucket name shares this bucket's prefix.
    FUZZ_CHECK(!kf::DataKey(std::string(bucket) + "x", key).starts_with(prefix));
    // Scans stop at the successor: every key of the bucket sorts before it.
    const std::string end = kf::PrefixSuccessor(prefix);
    FUZZ_CHECK(!end.empty() && prefix < end && data_key < end);
  }

  // The successor of any prefix: greater than everything starting with it.
  const std::string successor = kf::PrefixSuccessor(in);
  if (successor.empty()) {
    FUZZ_CHECK(in.find_first_not_of('\xff') == std::string_view::npos);
  } else {
    FUZZ_CHECK(!std::string_view(successor).starts_with(in));
    FUZZ_CHECK(std::string(in) + "\xff\xff\xff" < successor);
  }

  // Log keys sort as their revisions do.
  if (size >= 16) {
    const uint64_t a = *kf::DecodeFixed64(in);
    const uint64_t b = *kf::DecodeFixed64(in.substr(8));
    FUZZ_CHECK((kf::LogKey(a) < kf::LogKey(b)) == (a < b));
    FUZZ_CHECK(kf::DecodeLogKey(kf::LogKey(a)) == a);
  }
  return 0;
}
