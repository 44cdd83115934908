// Real guests, C compiled to wasm32, run the checks that wasmtime's and
// Spin's keyvalue test programs make (../shared/spec/wasi-keyvalue.md), for
// 0.2.0-draft, 0.2.0-draft2 (both import manglings) and seed 001's world, on
// wabt's interpreter and on wasm2c, against a real wasikvd. A check returns 0
// or the guest source line of the first assertion that failed.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapter/guest_loader.h"
#include "tests/adapter/test_server.h"
#include "wasikv/adapter/host.h"
#include "wasikv/client.h"

namespace wasikv::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class GuestChecksTest : public ::testing::TestWithParam<Runtime> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    client_ = server_.client;
  }

  // The host the guests' checks assume: "forbidden" refused, pages of 10
  // keys, 64 KiB of results per call.
  std::shared_ptr<adapter::Host> MakeHost(std::string default_bucket = "default") {
    adapter::HostOptions options;
    options.default_bucket = std::move(default_bucket);
    options.denied_buckets = {"forbidden"};
    options.list_keys_page_size = 10;
    options.max_call_allocation_bytes = 64 << 10;
    return std::make_shared<adapter::Host>(client_, options);
  }

  // Runs `check` of `guest` in a fresh instance; the check's own result.
  int64_t RunCheck(std::string_view guest, std::string_view check,
                   std::shared_ptr<adapter::Host> host = nullptr) {
    if (!host) host = MakeHost();
    absl::StatusOr<std::unique_ptr<adapter::GuestInstance>> instance =
        LoadGuest(GetParam(), host, guest);
    EXPECT_TRUE(instance.ok()) << instance.status();
    if (!instance.ok()) return -1;
    absl::StatusOr<std::vector<int64_t>> result = (*instance)->Invoke(check);
    EXPECT_TRUE(result.ok()) << guest << "." << check << ": " << result.status();
    if (!result.ok() || result->size() != 1) return -1;
    return (*result)[0];
  }

  std::string Value(std::string_view bucket, std::string_view key) {
    absl::StatusOr<GetResult> result = client_->Get(bucket, key);
    if (!result.ok() || !result->value) return "<none>";
    return result->value->value;
  }

  TestServer server_;
  std::shared_ptr<Client> client_;
};

// The guest returns the failing line of its source; say where to look.
#define EXPECT_CHECK_PASSES(guest, check, ...)                                              \
  EXPECT_EQ(RunCheck(guest, check, ##__VA_ARGS__), 0)                                       \
      << "tests/adapter/guests/" << std::string_view(guest).substr(0, 6) << "... " << check \
      << " failed at the guest source line above (" << RuntimeName(GetParam()) << ")"

TEST_P(GuestChecksTest, DraftWasmtimeProgram) {
  // wasmtime's host presets atomics_key = 5 in the bucket open("") gives.
  ASSERT_TRUE(client_->Set("wasmtime", "atomics_key", "5").ok());
  EXPECT_CHECK_PASSES("draft_guest", "check_wasmtime", MakeHost("wasmtime"));
  // The guest's writes are in the shared store, for any other client.
  EXPECT_EQ(Value("wasmtime", "atomics_key"), "6");
  EXPECT_EQ(Value("wasmtime", "b1"), "v1");
  EXPECT_EQ(Value("wasmtime", "a1"), "<none>");
}

TEST_P(GuestChecksTest, DraftPaging) { EXPECT_CHECK_PASSES("draft_guest", "check_paging"); }

TEST_P(GuestChecksTest, DraftErrors) { EXPECT_CHECK_PASSES("draft_guest", "check_errors"); }

TEST_P(GuestChecksTest, DraftOversizeResultIsAnOtherError) {
  ASSERT_TRUE(client_->Set("default", "big", std::string(100 << 10, 'x')).ok());
  EXPECT_CHECK_PASSES("draft_guest", "check_oversize");
}

class Draft2ChecksTest : public GuestChecksTest {};

TEST_P(GuestChecksTest, Draft2SpinConformance) {
  for (const char* guest : {"draft2_guest", "draft2_guest_cm32p2"}) {
    SCOPED_TRACE(guest);
    ASSERT_TRUE(client_->DeleteBucket("default").ok());
    EXPECT_CHECK_PASSES(guest, "check_spin");
    EXPECT_EQ(Value("default", "bar"), "zeta");
    EXPECT_EQ(Value("default", "counter"), "15");
  }
}

TEST_P(GuestChecksTest, Draft2Paging) {
  for (const char* guest : {"draft2_guest", "draft2_guest_cm32p2"}) {
    SCOPED_TRACE(guest);
    ASSERT_TRUE(client_->DeleteBucket("paging").ok());
    EXPECT_CHECK_PASSES(guest, "check_paging");
  }
}

TEST_P(GuestChecksTest, Draft2OversizeResultIsAnOtherError) {
  ASSERT_TRUE(client_->Set("default", "big", std::string(100 << 10, 'x')).ok());
  for (const char* guest : {"draft2_guest", "draft2_guest_cm32p2"}) {
    SCOPED_TRACE(guest);
    EXPECT_CHECK_PASSES(guest, "check_oversize");
  }
}

TEST_P(GuestChecksTest, Draft2CasOnAMissingKey) {
  for (const char* guest : {"draft2_guest", "draft2_guest_cm32p2"}) {
    SCOPED_TRACE(guest);
    ASSERT_TRUE(client_->DeleteBucket("default").ok());
    EXPECT_CHECK_PASSES(guest, "check_cas_missing");
    EXPECT_EQ(Value("default", "fresh-key"), "1");
  }
}

TEST_P(GuestChecksTest, SeedWorld) {
  EXPECT_CHECK_PASSES("seed_guest", "check_seed");
  EXPECT_EQ(Value("seed", "n"), "42");
  EXPECT_EQ(Value("seed", "k2"), "parts");
}

TEST_P(GuestChecksTest, InstancesOfBothRuntimesShareOneStore) {
  // Two guests, one on each runtime, and this process's client: every write
  // is seen by the others, because they all use the server.
  ASSERT_TRUE(client_->Set("shared", "atomics_key", "5").ok());
  auto host = MakeHost("shared");
  auto wabt = LoadGuest(Runtime::kWabt, host, "draft_guest");
  auto wasm2c = LoadGuest(Runtime::kWasm2c, host, "draft2_guest");
  ASSERT_TRUE(wabt.ok()) << wabt.status();
  ASSERT_TRUE(wasm2c.ok()) << wasm2c.status();
  EXPECT_THAT((*wabt)->Invoke("check_wasmtime").value(), ElementsAre(0));
  // check_wasmtime left b1 = v1 behind; the draft2 guest's paging check
  // runs in its own bucket, so look through the client as a third party.
  EXPECT_EQ(Value("shared", "b1"), "v1");
  EXPECT_THAT((*wasm2c)->Invoke("check_cas_missing").value(), ElementsAre(0));
  EXPECT_EQ(Value("shared", "fresh-key"), "1");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, GuestChecksTest,
                         ::testing::Values(Runtime::kWabt, Runtime::kWasm2c),
                         [](const auto& test_param) { return RuntimeName(test_param.param); });

}  // namespace
}  // namespace wasikv::testing
