// The C++ client library against the real wasikvd.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "wasikv/client.h"

namespace wasikv {
namespace {

using testing::ServerProcess;
using testing::TempDir;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = ServerProcess::Start(dir_.Join("data"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ClientOptions options;
    options.endpoint = server_->address();
    auto client = Client::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, SetGetThroughBucketHandle) {
  Bucket users = client_->bucket("users");
  auto set = users.Set("alice", "hello");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->created);
  auto got = users.Get("alice");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->value.has_value());
  EXPECT_EQ(got->value->value, "hello");
  EXPECT_EQ(got->value->version, set->revision);
  auto missing = users.Get("bob");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->value.has_value());
}

TEST_F(ClientTest, WatchPullsEvents) {
  Bucket b = client_->bucket("b");
  // Start right after the current revision, so the write below is seen
  // however fast it lands.
  auto current = b.Get("k");
  ASSERT_TRUE(current.ok());
  auto subscription = b.Watch({.start_revision = current->revision + 1});
  ASSERT_TRUE(subscription.ok()) << subscription.status();
  ASSERT_TRUE(b.Set("k", "v").ok());
  std::vector<std::string> keys;
  for (int i = 0; i < 100 && keys.empty(); ++i) {
    auto next = (*subscription)->Next(std::chrono::milliseconds(100));
    ASSERT_TRUE(next.ok()) << next.status();
    if (*next) {
      for (const auto& e : (*next)->events) keys.push_back(e.key);
    }
  }
  EXPECT_THAT(keys, ::testing::ElementsAre("k"));
}

}  // namespace
}  // namespace wasikv
