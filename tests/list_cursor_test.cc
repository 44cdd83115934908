// Unit tests of the ListKeys cursor encoding (server/rpc/list_cursor.h).
#include "server/rpc/list_cursor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wasikv {
namespace {

TEST(ListCursor, DecodesTheKeyItEncoded) {
  const std::vector<std::string> keys = {"k", "user/42", std::string(4096, 'k'),
                                         std::string("\0\xff", 2)};
  for (const std::string& key : keys) {
    absl::StatusOr<std::string> decoded =
        DecodeListCursor("cursor", EncodeListCursor("", key), "", 4096);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, key);
  }
}

// Found by tests/fuzz/list_cursor_fuzzer: the length check counted base64
// characters, which round up, so a cursor naming a key one or two bytes
// over the limit got through.
TEST(ListCursor, RefusesTheCursorOfAKeyLongerThanTheLimit) {
  for (size_t limit : {1, 2, 3, 4096}) {
    for (size_t extra : {1, 2}) {
      absl::StatusOr<std::string> decoded = DecodeListCursor(
          "cursor", EncodeListCursor("", std::string(limit + extra, 'k')), "", limit);
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
          << "limit " << limit << ", key of " << limit + extra;
      EXPECT_EQ(decoded.status().message().substr(0, 25), "cursor: malformed cursor ");
    }
  }
}

TEST(ListCursor, RefusesACursorOfAnotherPrefix) {
  absl::StatusOr<std::string> decoded =
      DecodeListCursor("cursor", EncodeListCursor("team/", "team/7"), "user/", 4096);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
}

// A cursor continues only the listing it came from, even where its key
// falls under the other prefix too.
TEST(ListCursor, IsBoundToTheExactPrefixItWasIssuedFor) {
  const std::string cursor = EncodeListCursor("cur-a", "cur-a7");
  EXPECT_EQ(*DecodeListCursor("cursor", cursor, "cur-a", 4096), "cur-a7");
  for (const char* other : {"", "cur-", "cur-a7", "z"}) {
    absl::StatusOr<std::string> decoded = DecodeListCursor("cursor", cursor, other, 4096);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << other;
    EXPECT_NE(decoded.status().message().find("prefix"), std::string::npos) << other;
  }
}

}  // namespace
}  // namespace wasikv
