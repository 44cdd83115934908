// SharedResponses: what a stream finds is exactly what was built for its
// target and position, and the cache stays within its bounds.
#include "server/watch/shared_responses.h"

#include <string>
#include <vector>

#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"

namespace wasikv {
namespace {

SharedResponses::Response ResponseOf(uint64_t last_revision, const std::string& bytes) {
  grpc::Slice slice(bytes);
  return {last_revision, 1, grpc::ByteBuffer(&slice, 1)};
}

std::string BytesOf(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

TEST(SharedResponses, FindsOnlyTheSameTargetAtTheSamePosition) {
  SharedResponses responses(8, 1 << 20);
  responses.Add("bucket-a", 10, ResponseOf(12, "a from 10"));
  responses.Add("bucket-b", 10, ResponseOf(12, "b from 10"));

  std::optional<SharedResponses::Response> found = responses.Find("bucket-a", 10);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->last_revision, 12u);
  EXPECT_EQ(BytesOf(found->bytes), "a from 10");
  EXPECT_FALSE(responses.Find("bucket-a", 11).has_value()) << "another position";
  EXPECT_FALSE(responses.Find("bucket-c", 10).has_value()) << "another target";
}

TEST(SharedResponses, NewestResponseForAPositionWins) {
  SharedResponses responses(8, 1 << 20);
  responses.Add("t", 5, ResponseOf(5, "to 5"));
  responses.Add("t", 5, ResponseOf(7, "to 7"));
  std::optional<SharedResponses::Response> found = responses.Find("t", 5);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->last_revision, 7u);
  EXPECT_EQ(BytesOf(found->bytes), "to 7");
}

TEST(SharedResponses, OldestGoesFirstPastTheEntryAndByteLimits) {
  SharedResponses by_count(2, 1 << 20);
  by_count.Add("t", 1, ResponseOf(1, "one"));
  by_count.Add("t", 2, ResponseOf(2, "two"));
  by_count.Add("t", 3, ResponseOf(3, "three"));
  EXPECT_FALSE(by_count.Find("t", 1).has_value());
  EXPECT_TRUE(by_count.Find("t", 2).has_value());
  EXPECT_TRUE(by_count.Find("t", 3).has_value());

  SharedResponses by_bytes(100, 10);
  by_bytes.Add("t", 1, ResponseOf(1, "123456"));
  by_bytes.Add("t", 2, ResponseOf(2, "123456"));  // 12 bytes together: the first goes
  EXPECT_FALSE(by_bytes.Find("t", 1).has_value());
  EXPECT_TRUE(by_bytes.Find("t", 2).has_value());
  by_bytes.Add("t", 3, ResponseOf(3, "12345678901"));  // larger than the limit: not kept
  EXPECT_FALSE(by_bytes.Find("t", 3).has_value());
  EXPECT_TRUE(by_bytes.Find("t", 2).has_value());
}

TEST(SharedResponses, AFoundResponseOutlivesItsEviction) {
  SharedResponses responses(1, 1 << 20);
  responses.Add("t", 1, ResponseOf(1, "kept by the stream"));
  std::optional<SharedResponses::Response> held = responses.Find("t", 1);
  responses.Add("t", 2, ResponseOf(2, "evicts it"));
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(BytesOf(held->bytes), "kept by the stream");
}

}  // namespace
}  // namespace wasikv
