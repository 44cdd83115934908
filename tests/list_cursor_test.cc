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
        DecodeListCursor("cursor", EncodeListCursor(key), "", 4096);
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
      absl::StatusOr<std::string> decoded =
          DecodeListCursor("cursor", EncodeListCursor(std::string(limit + extra, 'k')), "", limit);
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
          << "limit " << limit << ", key of " << limit + extra;
      EXPECT_EQ(decoded.status().message().substr(0, 25), "cursor: malformed cursor ");
    }
  }
}

TEST(ListCursor, RefusesACursorOfAnotherPrefix) {
  absl::StatusOr<std::string> decoded =
      DecodeListCursor("cursor", EncodeListCursor("team/7"), "user/", 4096);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wasikv
