// Unit tests of the on-disk key and value layout: the properties the store's
// scans and range deletes rely on.
#include "server/storage/key_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace wasikv::key_format {
namespace {

using namespace std::string_literals;

TEST(KeyFormat, DataKeysStartWithTheirOwnBucketsPrefixOnly) {
  // Bucket names that are prefixes of each other, or differ only in a last
  // byte, must not share key ranges.
  const std::vector<std::string> buckets = {"a", "ab", "a b", "b", "a\xff", "\xff"};
  const std::vector<std::string> keys = {"", "x", "b", "\0b"s, "\xff"};
  for (const std::string& owner : buckets) {
    for (const std::string& key : keys) {
      const std::string data_key = DataKey(owner, key);
      for (const std::string& bucket : buckets) {
        EXPECT_EQ(data_key.starts_with(DataPrefix(bucket)), bucket == owner)
            << "bucket '" << bucket << "', key of '" << owner << "'";
      }
    }
  }
}

TEST(KeyFormat, PrefixSuccessorBoundsEveryExtensionOfThePrefix) {
  EXPECT_EQ(PrefixSuccessor("abc"), "abd");
  EXPECT_EQ(PrefixSuccessor("a\xff"), "b");
  EXPECT_EQ(PrefixSuccessor("a\0"s), "a\x01");
  EXPECT_EQ(PrefixSuccessor("\xff\xff"), "");
  EXPECT_EQ(PrefixSuccessor(""), "");

  const std::string prefix = DataPrefix("bucket");
  const std::string limit = PrefixSuccessor(prefix);
  for (const std::string& key : {DataKey("bucket", ""), DataKey("bucket", "\xff\xff\xff")}) {
    EXPECT_LT(key, limit);
  }
  EXPECT_GE(DataKey("bucket0", ""), limit);
}

TEST(KeyFormat, LogKeysSortInRevisionOrderAndDecode) {
  const std::vector<uint64_t> revisions = {
      0, 1, 255, 256, 65535, 65536, uint64_t{1} << 32, std::numeric_limits<uint64_t>::max()};
  for (const uint64_t revision : revisions) {
    EXPECT_EQ(LogKey(revision).size(), 8u);
    EXPECT_EQ(DecodeLogKey(LogKey(revision)), revision);
  }
  for (size_t i = 1; i < revisions.size(); ++i) {
    EXPECT_LT(LogKey(revisions[i - 1]), LogKey(revisions[i])) << revisions[i];
  }
  EXPECT_EQ(DecodeLogKey("1234567"), std::nullopt);
  EXPECT_EQ(DecodeLogKey("123456789"), std::nullopt);
}

TEST(KeyFormat, Fixed64IsLittleEndian) {
  std::string out;
  AppendFixed64(0x0102030405060708, &out);
  EXPECT_EQ(out, "\x08\x07\x06\x05\x04\x03\x02\x01");
  EXPECT_EQ(DecodeFixed64(out), uint64_t{0x0102030405060708});
  EXPECT_EQ(DecodeFixed64("1234567"), std::nullopt);
}

TEST(KeyFormat, ValueDecodesToItsVersionAndBytes) {
  const std::string value = "v\0\xff"s;
  const std::string stored = EncodeValue(std::numeric_limits<uint64_t>::max() - 1, value);
  const std::optional<StoredValue> decoded = DecodeValue(stored);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->version, std::numeric_limits<uint64_t>::max() - 1);
  EXPECT_EQ(decoded->value, value);

  const std::optional<StoredValue> empty = DecodeValue(EncodeValue(7, ""));
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->version, 7u);
  EXPECT_EQ(empty->value, "");

  EXPECT_FALSE(DecodeValue("short").has_value());
}

TEST(KeyFormat, BucketRecordKeyRoundTrips) {
  const std::string key = BucketRecordKey("bucket");
  EXPECT_TRUE(key.starts_with(kBucketRecordPrefix));
  EXPECT_EQ(BucketNameFromRecordKey(key), "bucket");
}

}  // namespace
}  // namespace wasikv::key_format
