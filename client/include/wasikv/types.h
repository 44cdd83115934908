// Plain result types of wasikv::Client calls. Revisions and versions are the
// server's: a revision is global and strictly increasing; a value's version
// is the revision that wrote it.
#ifndef WASIKV_TYPES_H_
#define WASIKV_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wasikv {

struct VersionedValue {
  std::string value;
  uint64_t version = 0;
};

// Get: `value` is nullopt when the key does not exist (not an error).
struct GetResult {
  std::optional<VersionedValue> value;
  uint64_t revision = 0;  // the store revision the read saw
};

struct ExistsResult {
  bool exists = false;
  uint64_t version = 0;
  uint64_t revision = 0;
};

struct SetResult {
  uint64_t revision = 0;  // also the key's new version
  bool created = false;
};

struct DeleteResult {
  bool deleted = false;  // false: the key did not exist
  uint64_t revision = 0;
};

struct ListKeysOptions {
  std::string prefix;
  std::string cursor;  // next_cursor of the previous page; empty to start
  uint32_t limit = 0;  // 0: server default (1000)
};

struct ListKeysPage {
  std::vector<std::string> keys;
  std::string next_cursor;  // empty: no more pages
  uint64_t revision = 0;
};

struct IncrementResult {
  int64_t value = 0;
  uint64_t revision = 0;
};

// What CompareAndSwap compares against. Build with the static functions.
struct CasExpectation {
  enum class Kind { kValue, kAbsent, kVersion };
  Kind kind = Kind::kAbsent;
  std::string value;
  uint64_t version = 0;

  static CasExpectation Value(std::string expected) {
    return {Kind::kValue, std::move(expected), 0};
  }
  static CasExpectation Absent() { return {Kind::kAbsent, {}, 0}; }
  static CasExpectation Version(uint64_t expected) { return {Kind::kVersion, {}, expected}; }
};

struct CasResult {
  bool swapped = false;
  uint64_t revision = 0;
  // When not swapped: the key's current state (nullopt: it does not exist).
  std::optional<VersionedValue> current;
};

struct KeyValue {
  std::string key;
  std::string value;
};

struct GetManyEntry {
  std::string key;
  std::optional<VersionedValue> value;
};

struct GetManyResult {
  std::vector<GetManyEntry> entries;  // request order
  uint64_t revision = 0;              // the one snapshot all were read from
};

struct DeleteManyResult {
  uint64_t deleted = 0;
  uint64_t revision = 0;
};

struct BucketStatus {
  bool exists = false;
  bool usable = false;
  uint64_t create_revision = 0;
  uint64_t revision = 0;
};

// What grpc.health.v1.Health says of a service ("" is the server as a whole).
enum class HealthStatus {
  kServing,         // accepts calls
  kNotServing,      // up but refusing work (starting, draining, or unhealthy)
  kServiceUnknown,  // the server serves no service of that name
};

struct BucketInfo {
  std::string name;
  uint64_t create_revision = 0;
};

struct DeleteBucketResult {
  bool deleted = false;
  uint64_t deleted_keys = 0;
  uint64_t revision = 0;
};

}  // namespace wasikv

#endif  // WASIKV_TYPES_H_
