// Watch: the real wasikvd, real streams.
#include <thread>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "wasikv/v1/kv.grpc.pb.h"
#include "wasikv/v1/watch.grpc.pb.h"

namespace wasikv {
namespace {

using testing::ServerProcess;
using testing::TempDir;

TEST(Watch, DeliversLiveChangesInOrder) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.Join("data"));
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = (*server)->NewChannel();
  auto kv = v1::KV::NewStub(channel);
  auto watch = v1::Watch::NewStub(channel);

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::WatchRequest request;
  request.set_bucket("b");
  request.set_prefix("k");
  auto reader = watch->Watch(&context, request);
  v1::WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));
  ASSERT_TRUE(response.created());

  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext set_context;
    v1::SetRequest set;
    set.set_bucket("b");
    set.set_key("k" + std::to_string(i));
    set.set_value("v" + std::to_string(i));
    v1::SetResponse set_response;
    ASSERT_TRUE(kv->Set(&set_context, set, &set_response).ok());
  }
  std::vector<std::string> keys;
  uint64_t last = 0;
  while (keys.size() < 5 && reader->Read(&response)) {
    for (const auto& event : response.events()) {
      EXPECT_GT(event.revision(), last);
      last = event.revision();
      keys.push_back(event.key());
    }
  }
  EXPECT_THAT(keys, ::testing::ElementsAre("k0", "k1", "k2", "k3", "k4"));
  context.TryCancel();
  reader->Finish();
}

}  // namespace
}  // namespace wasikv
