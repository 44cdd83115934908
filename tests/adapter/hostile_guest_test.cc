// A hostile guest against the canonical-ABI layer, on both runtimes: every
// bad pointer, length, handle and realloc traps that guest (or, for too many
// handles, gets an error), and then the host, its other guests and the server
// carry on. A neighbour instance's memory is compared byte for byte before
// and after, so a stray host write outside the hostile guest would show.
#include <ostream>
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

struct HostileCase {
  const char* export_name;
  const char* trap_says;  // a phrase the trap message must contain
};

// Each act and what the adapter's trap must say about it.
const HostileCase kTrappingActs[] = {
    {"oob_key_ptr", "outside the guest's"},
    {"overflow_len", "outside the guest's"},
    {"oob_ret_ptr", "return area"},
    {"misaligned_ret", "aligned"},
    {"bad_realloc", "realloc"},
    {"bad_realloc_oob", "realloc"},
    {"bad_realloc_edge", "realloc"},
    {"bad_realloc_misaligned", "realloc"},
    {"double_drop", "not open"},
    {"use_after_drop", "not open"},
    {"forged_handle", "not open"},
    {"invalid_utf8_key", "UTF-8"},
    {"huge_list", "outside the guest's"},
    {"list_elem_oob", "outside the guest's"},
};

struct Param {
  Runtime runtime;
  const char* guest;  // classic or cm32p2 mangling
};

// Names the case in gtest's output (and keeps gtest from printing the
// struct's padding bytes).
void PrintTo(const Param& param, std::ostream* out) {
  *out << RuntimeName(param.runtime) << " " << param.guest;
}

class HostileGuestTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    client_ = server_.client;
    adapter::HostOptions host_options;
    host_options.default_bucket = "hostile";
    host_options.max_handles = 2000;
    host_ = std::make_shared<adapter::Host>(client_, host_options);
  }

  std::unique_ptr<adapter::GuestInstance> Load() {
    absl::StatusOr<std::unique_ptr<adapter::GuestInstance>> guest =
        LoadGuest(GetParam().runtime, host_, GetParam().guest);
    EXPECT_TRUE(guest.ok()) << guest.status();
    return guest.ok() ? std::move(*guest) : nullptr;
  }

  TestServer server_;
  std::shared_ptr<Client> client_;
  std::shared_ptr<adapter::Host> host_;
};

TEST_P(HostileGuestTest, EveryActTrapsAndEverythingElseCarriesOn) {
  // The neighbour: a healthy instance whose memory must not change.
  std::unique_ptr<adapter::GuestInstance> neighbour = Load();
  ASSERT_NE(neighbour, nullptr);
  ASSERT_THAT(neighbour->Invoke("healthy").value(), ElementsAre(0));
  const std::vector<uint8_t> before(neighbour->memory().begin(), neighbour->memory().end());

  for (const HostileCase& act : kTrappingActs) {
    SCOPED_TRACE(act.export_name);
    std::unique_ptr<adapter::GuestInstance> hostile = Load();
    ASSERT_NE(hostile, nullptr);
    // The acts that need a key to read first write it through the guest.
    absl::StatusOr<std::vector<int64_t>> result = hostile->Invoke(act.export_name);
    ASSERT_FALSE(result.ok()) << "returned " << (result->empty() ? -1 : (*result)[0])
                              << " (the guest line after the act) instead of trapping";
    EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted) << result.status();
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(act.trap_says));
    // A trapped instance stays dead.
    EXPECT_FALSE(hostile->Invoke("healthy").ok());

    // A fresh instance, the server and the neighbour are all fine.
    std::unique_ptr<adapter::GuestInstance> fresh = Load();
    ASSERT_NE(fresh, nullptr);
    EXPECT_THAT(fresh->Invoke("healthy").value(), ElementsAre(0));
  }
  const std::vector<uint8_t> after(neighbour->memory().begin(), neighbour->memory().end());
  EXPECT_TRUE(before == after) << "the neighbour instance's memory changed";
  EXPECT_THAT(neighbour->Invoke("healthy").value(), ElementsAre(0));
  absl::StatusOr<GetResult> canary = client_->Get("hostile", "canary");
  ASSERT_TRUE(canary.ok()) << canary.status();
  EXPECT_EQ(canary->value->value, "alive");
}

TEST_P(HostileGuestTest, ThousandsOfHandlesHitTheLimitAsAnError) {
  std::unique_ptr<adapter::GuestInstance> guest = Load();
  ASSERT_NE(guest, nullptr);
  // The guest opens until refused, checks the refusal is an `other` error
  // naming the limit, drops everything and opens once more.
  EXPECT_THAT(guest->Invoke("many_handles").value(), ElementsAre(2000));
  EXPECT_EQ(guest->core().session().budget().in_use(), 0u);
  EXPECT_THAT(guest->Invoke("healthy").value(), ElementsAre(0));
}

INSTANTIATE_TEST_SUITE_P(Runtimes, HostileGuestTest,
                         ::testing::Values(Param{Runtime::kWabt, "hostile_guest"},
                                           Param{Runtime::kWabt, "hostile_guest_cm32p2"},
                                           Param{Runtime::kWasm2c, "hostile_guest"},
                                           Param{Runtime::kWasm2c, "hostile_guest_cm32p2"}),
                         [](const auto& test_param) {
                           return RuntimeName(test_param.param.runtime) +
                                  (std::string_view(test_param.param.guest).ends_with("cm32p2")
                                       ? "_cm32p2"
                                       : "_classic");
                         });

}  // namespace
}  // namespace wasikv::testing
