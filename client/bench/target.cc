#include "client/bench/target.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <random>

namespace wasikv::bench {
namespace {

constexpr size_t kStampBytes = 20;  // "T" and 19 digits

}  // namespace

std::string MakeValue(size_t bytes, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string value(bytes, 'a');
  for (char& c : value) c = static_cast<char>('a' + random() % 26);
  return value;
}

void StampValue(std::string* value) {
  if (value->size() < kStampBytes) value->resize(kStampBytes, 'a');
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
  char stamp[kStampBytes + 1];
  std::snprintf(stamp, sizeof(stamp), "T%019lld", static_cast<long long>(nanos));
  value->replace(0, kStampBytes, stamp, kStampBytes);
}

int64_t ValueStamp(std::string_view value) {
  if (value.size() < kStampBytes || value[0] != 'T') return -1;
  int64_t nanos = 0;
  const char* begin = value.data() + 1;
  const char* end = value.data() + kStampBytes;
  auto [ptr, ec] = std::from_chars(begin, end, nanos);
  return ec == std::errc() && ptr == end ? nanos : -1;
}

std::string DescribeGrpcStatus(int code, const std::string& message) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const std::string name = code >= 0 && code <= 16 ? kNames[code] : std::to_string(code);
  return message.empty() ? name : name + ": " + message;
}

std::string CounterName(uint64_t i) {
  char name[16];
  std::snprintf(name, sizeof(name), "n%010llu", static_cast<unsigned long long>(i));
  return name;
}

}  // namespace wasikv::bench
