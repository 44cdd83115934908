// How wasikvd lays out its data in RocksDB. Everything that knows the byte
// layout of a stored key or value lives here, so the format can be read in
// one place.
//
// Column family "default":
//   'd' <bucket> '\0' <key>  -> fixed64 version (little endian) | value bytes
//   'b' <bucket>             -> BucketRecord (storage.proto)
//   'm' "revision"           -> fixed64 last committed revision
// Column family "log":
//   fixed64 revision (big endian, so byte order is revision order)
//                            -> ChangeRecord (storage.proto)
//
// Bucket names never contain '\0' (see request_limits.h), so every key of a
// bucket shares the prefix 'd' <bucket> '\0' and no other bucket's keys do.
#ifndef WASIKV_SERVER_STORAGE_KEY_FORMAT_H_
#define WASIKV_SERVER_STORAGE_KEY_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wasikv::key_format {

inline constexpr std::string_view kLogColumnFamily = "log";
inline constexpr std::string_view kBucketRecordPrefix = "b";
inline constexpr std::string_view kRevisionKey = "mrevision";
inline constexpr std::string_view kCompactedRevisionKey = "mcompacted";

// 'd' <bucket> '\0': the prefix shared by every key of `bucket`.
std::string DataPrefix(std::string_view bucket);
// DataPrefix(bucket) + key.
std::string DataKey(std::string_view bucket, std::string_view key);
// 'b' <bucket>.
std::string BucketRecordKey(std::string_view bucket);
// The bucket name of a BucketRecordKey.
std::string_view BucketNameFromRecordKey(std::string_view record_key);

std::string LogKey(uint64_t revision);
// nullopt if `log_key` is not 8 bytes.
std::optional<uint64_t> DecodeLogKey(std::string_view log_key);

void AppendFixed64(uint64_t v, std::string* out);
// nullopt if `in` is shorter than 8 bytes.
std::optional<uint64_t> DecodeFixed64(std::string_view in);

// A stored value: its version followed by the user's bytes.
std::string EncodeValue(uint64_t version, std::string_view value);

struct StoredValue {
  uint64_t version = 0;
  std::string_view value;  // Borrows from the decoded buffer.
};
// nullopt if `stored` is too short to hold a version (a corrupt record).
std::optional<StoredValue> DecodeValue(std::string_view stored);

// The smallest string greater than every string starting with `prefix`, or
// empty if there is none (prefix is all 0xff).
std::string PrefixSuccessor(std::string_view prefix);

}  // namespace wasikv::key_format

#endif  // WASIKV_SERVER_STORAGE_KEY_FORMAT_H_
