// Watch delivery to core-wasm guests on wabt and wasm2c: the host watches the
// buckets a guest opens and calls its exported on-set / on-delete (0.2.0-draft
// watcher, draft2 in the cm32p2 mangling, and seed 001's handle-watch) for
// every change, in order, on the guest's thread, with nothing lost when the
// guest falls behind.
#include "wasikv/adapter/watch_delivery.h"

#include <ostream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapter/guest_loader.h"
#include "tests/adapter/test_server.h"
#include "tests/adapter/watch_sequence.h"
#include "wasikv/adapter/host.h"

namespace wasikv::testing {
namespace {

using ::testing::ElementsAre;

struct Param {
  Runtime runtime;
  const char* guest;
  const char* start;  // the export that opens bucket "watched"
};

void PrintTo(const Param& param, std::ostream* out) {
  *out << RuntimeName(param.runtime) << " " << param.guest;
}

// Delivers until `count` events reached the guest (each Deliver waits up to
// 10 s for the next one).
size_t DeliverUntil(adapter::WatchDelivery& delivery, size_t count) {
  size_t delivered = 0;
  while (delivered < count) {
    absl::StatusOr<size_t> step = delivery.Deliver(std::chrono::seconds(10), count - delivered);
    EXPECT_TRUE(step.ok()) << step.status();
    if (!step.ok() || *step == 0) break;
    delivered += *step;
  }
  return delivered;
}

class WatchDeliveryTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    adapter::HostOptions options;
    options.default_bucket = "watched";
    host_ = std::make_shared<adapter::Host>(server_.client, options);
    absl::StatusOr<std::unique_ptr<adapter::GuestInstance>> guest =
        LoadGuest(GetParam().runtime, host_, GetParam().guest);
    ASSERT_TRUE(guest.ok()) << guest.status();
    guest_ = std::move(*guest);
  }

  TestServer server_;
  std::shared_ptr<adapter::Host> host_;
  std::unique_ptr<adapter::GuestInstance> guest_;
};

TEST_P(WatchDeliveryTest, EveryChangeToAnOpenedBucketReachesTheHandlersInOrder) {
  absl::StatusOr<std::unique_ptr<adapter::WatchDelivery>> delivery =
      adapter::WatchDelivery::Create(*guest_);
  ASSERT_TRUE(delivery.ok()) << delivery.status();
  ASSERT_THAT(guest_->Invoke(GetParam().start).value(), ElementsAre(0));
  EXPECT_THAT((*delivery)->watched(), ElementsAre("watched"));

  WriteSequence(*server_.client);
  EXPECT_EQ(DeliverUntil(**delivery, kWatchSequenceEvents), kWatchSequenceEvents);
  EXPECT_THAT(guest_->Invoke("check_watch").value(), ElementsAre(0))
      << "the guest's log differs from the writes (guests/watch_log.h)";
  // Nothing more, and the handlers dropped every handle they were given.
  EXPECT_EQ((*delivery)->Deliver(std::chrono::milliseconds(200)).value(), 0u);
  EXPECT_EQ(guest_->core().session().budget().in_use(), 0u);
}

TEST_P(WatchDeliveryTest, ConfiguredBucketsAreWatchedWithoutAnOpen) {
  adapter::WatchDeliveryOptions options;
  options.buckets = {"watched"};
  options.watch_opened_buckets = false;
  auto delivery = adapter::WatchDelivery::Create(*guest_, options).value();
  WriteSequence(*server_.client);
  EXPECT_EQ(DeliverUntil(*delivery, kWatchSequenceEvents), kWatchSequenceEvents);
  EXPECT_THAT(guest_->Invoke("check_watch").value(), ElementsAre(0));
}

TEST_P(WatchDeliveryTest, AGuestThatFallsBehindLosesNothing) {
  adapter::WatchDeliveryOptions options;
  options.max_queued_events = 4;  // the host pauses and resumes the stream
  auto delivery = adapter::WatchDelivery::Create(*guest_, options).value();
  ASSERT_THAT(guest_->Invoke(GetParam().start).value(), ElementsAre(0));
  constexpr int kWrites = 60;
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_TRUE(server_.client->Set("watched", "k" + std::to_string(i), "v").ok());
  }
  EXPECT_EQ(DeliverUntil(*delivery, kWrites), static_cast<size_t>(kWrites));
  EXPECT_EQ(delivery->Deliver(std::chrono::milliseconds(200)).value(), 0u) << "no duplicates";
  EXPECT_THAT(guest_->Invoke("event_count").value(), ElementsAre(kWrites));
}

INSTANTIATE_TEST_SUITE_P(
    Runtimes, WatchDeliveryTest,
    ::testing::Values(Param{Runtime::kWabt, "watch_guest", "start"},
                      Param{Runtime::kWasm2c, "watch_guest", "start"},
                      Param{Runtime::kWabt, "watch_guest_draft2_cm32p2", "start"},
                      Param{Runtime::kWasm2c, "watch_guest_draft2_cm32p2", "start"},
                      Param{Runtime::kWabt, "seed_guest", "start_watch"},
                      Param{Runtime::kWasm2c, "seed_guest", "start_watch"}),
    [](const auto& test_param) {
      return RuntimeName(test_param.param.runtime) + "_" + test_param.param.guest;
    });

TEST(WatchDeliveryInterop, AGuestOnOneRuntimeWatchesAnotherGuestsWrites) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto host = std::make_shared<adapter::Host>(server.client, adapter::HostOptions{});
  auto watcher = LoadGuest(Runtime::kWabt, host, "watch_guest").value();
  auto writer = LoadGuest(Runtime::kWasm2c, host, "watch_guest").value();
  auto delivery = adapter::WatchDelivery::Create(*watcher).value();
  ASSERT_THAT(watcher->Invoke("start").value(), ElementsAre(0));
  ASSERT_THAT(writer->Invoke("write_sequence").value(), ElementsAre(0));
  EXPECT_EQ(DeliverUntil(*delivery, kWatchSequenceEvents), kWatchSequenceEvents);
  EXPECT_THAT(watcher->Invoke("check_watch").value(), ElementsAre(0));
  // And a plain client sees the writer's result.
  absl::StatusOr<GetResult> w2 = server.client->Get("watched", "w2");
  ASSERT_TRUE(w2.ok() && w2->value.has_value());
  EXPECT_EQ(w2->value->value, "v2b");
}

TEST(WatchDeliveryErrors, AGuestWithoutHandlersIsRefused) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto host = std::make_shared<adapter::Host>(server.client, adapter::HostOptions{});
  auto guest = LoadGuest(Runtime::kWabt, host, "draft_guest").value();
  absl::StatusOr<std::unique_ptr<adapter::WatchDelivery>> delivery =
      adapter::WatchDelivery::Create(*guest);
  EXPECT_EQ(delivery.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace wasikv::testing
