// Unit tests of request validation (server/rpc/request_limits.h) beyond what
// server_test's BadInputTest sends through the real server.
#include "server/rpc/request_limits.h"

#include <gtest/gtest.h>

namespace wasikv {
namespace {

// Found by tests/fuzz/request_limits_fuzzer: with --max-list-limit below
// the default page (1000), a request without a limit got a page of 1000.
TEST(RequestLimits, DefaultPageIsNeverLargerThanMaxListLimit) {
  RequestLimits limits;
  limits.max_list_limit = 10;
  size_t effective = 0;
  ASSERT_TRUE(limits.CheckListLimit("limit", 0, &effective).ok());
  EXPECT_EQ(effective, 10u);

  limits.max_list_limit = 5000;
  ASSERT_TRUE(limits.CheckListLimit("limit", 0, &effective).ok());
  EXPECT_EQ(effective, limits.default_list_limit);
  ASSERT_TRUE(limits.CheckListLimit("limit", 7, &effective).ok());
  EXPECT_EQ(effective, 7u);
}

}  // namespace
}  // namespace wasikv
