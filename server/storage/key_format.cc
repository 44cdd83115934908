#include "server/storage/key_format.h"

namespace wasikv::key_format {

std::string DataPrefix(std::string_view bucket) {
  std::string out;
  out.reserve(bucket.size() + 2);
  out.push_back('d');
  out.append(bucket);
  out.push_back('\0');
  return out;
}

std::string DataKey(std::string_view bucket, std::string_view key) {
  std::string out = DataPrefix(bucket);
  out.append(key);
  return out;
}

std::string BucketRecordKey(std::string_view bucket) {
  std::string out(kBucketRecordPrefix);
  out.append(bucket);
  return out;
}

std::string_view BucketNameFromRecordKey(std::string_view record_key) {
  return record_key.substr(kBucketRecordPrefix.size());
}

std::string LogKey(uint64_t revision) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(revision & 0xff);
    revision >>= 8;
  }
  return out;
}

std::optional<uint64_t> DecodeLogKey(std::string_view log_key) {
  if (log_key.size() != 8) return std::nullopt;
  uint64_t revision = 0;
  for (char c : log_key) revision = (revision << 8) | static_cast<uint8_t>(c);
  return revision;
}

void AppendFixed64(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) {
    out->push_back(static_cast<char>(v & 0xff));
    v >>= 8;
  }
}

std::optional<uint64_t> DecodeFixed64(std::string_view in) {
  if (in.size() < 8) return std::nullopt;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string EncodeValue(uint64_t version, std::string_view value) {
  std::string out;
  out.reserve(8 + value.size());
  AppendFixed64(version, &out);
  out.append(value);
  return out;
}

std::optional<StoredValue> DecodeValue(std::string_view stored) {
  std::optional<uint64_t> version = DecodeFixed64(stored);
  if (!version) return std::nullopt;
  return StoredValue{*version, stored.substr(8)};
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto last = static_cast<uint8_t>(out.back());
    if (last != 0xff) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace wasikv::key_format
