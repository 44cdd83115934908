// wasikv-bench's op mix, key choice and count syntax, without a server.
#include "client/bench/workload.h"

#include <map>
#include <random>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wasikv::bench {
namespace {

using ::testing::HasSubstr;

TEST(OpMix, DrawsEachOpByItsWeight) {
  absl::StatusOr<OpMix> mix = OpMix::Parse("get=90,set=10");
  ASSERT_TRUE(mix.ok()) << mix.status();
  EXPECT_EQ(mix->ToString(), "get=90,set=10");
  EXPECT_TRUE(mix->Reads());
  std::mt19937_64 random(7);
  std::map<Op, int> drawn;
  for (int i = 0; i < 100000; ++i) ++drawn[mix->Draw(random)];
  EXPECT_EQ(drawn.size(), 2u);
  // 90% within a few standard deviations (sigma ~ 95 here).
  EXPECT_NEAR(drawn[Op::kGet], 90000, 600);
  EXPECT_NEAR(drawn[Op::kSet], 10000, 600);
}

TEST(OpMix, BareNamesWeighOne) {
  absl::StatusOr<OpMix> mix = OpMix::Parse("incr,setmany");
  ASSERT_TRUE(mix.ok()) << mix.status();
  EXPECT_EQ(mix->ToString(), "incr=1,setmany=1");
  EXPECT_FALSE(mix->Reads());
}

TEST(OpMix, RefusesUnknownOpsAndBadWeightsNamingTheFlag) {
  for (const char* text : {"get=0", "get=x", "get=", "put=1", "", "get=90,,set=1", "get=2000000"}) {
    absl::StatusOr<OpMix> mix = OpMix::Parse(text);
    ASSERT_FALSE(mix.ok()) << text;
    EXPECT_EQ(mix.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(mix.status().message(), HasSubstr("--ops")) << text;
  }
}

TEST(KeyChooser, UniformCoversTheKeySpace) {
  absl::StatusOr<KeyChooser> keys = KeyChooser::Parse("uniform", 10);
  ASSERT_TRUE(keys.ok()) << keys.status();
  std::mt19937_64 random(1);
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t key = keys->Draw(random);
    ASSERT_LT(key, 10u);
    seen.insert(key);
  }
  EXPECT_EQ(seen.size(), 10u);
}

TEST(KeyChooser, ZipfianIsSkewedAndScattered) {
  absl::StatusOr<KeyChooser> keys = KeyChooser::Parse("zipfian", 10000);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->ToString(), "zipfian:0.99");
  std::mt19937_64 random(3);
  std::map<uint64_t, int> hits;
  const int draws = 200000;
  for (int i = 0; i < draws; ++i) {
    const uint64_t key = keys->Draw(random);
    ASSERT_LT(key, 10000u);
    ++hits[key];
  }
  std::vector<int> counts;
  for (const auto& [key, count] : hits) counts.push_back(count);
  std::sort(counts.rbegin(), counts.rend());
  // With theta 0.99 over 10k keys the hottest key takes about 10% of the
  // draws and the hottest 1% of keys about half; uniform would give 0.01%.
  EXPECT_GT(counts[0], draws / 20);
  int top_hundred = 0;
  for (int i = 0; i < 100 && i < static_cast<int>(counts.size()); ++i) top_hundred += counts[i];
  EXPECT_GT(top_hundred, draws / 3);
  // Hot keys are scattered, not the first indexes.
  uint64_t hottest = 0;
  for (const auto& [key, count] : hits) {
    if (count == counts[0]) hottest = key;
  }
  EXPECT_NE(hottest, 0u);
}

TEST(KeyChooser, RefusesBadDistributions) {
  for (const char* text : {"zipf", "zipfian:1", "zipfian:0", "zipfian:x", "zipfian0.5", "normal"}) {
    absl::StatusOr<KeyChooser> keys = KeyChooser::Parse(text, 100);
    ASSERT_FALSE(keys.ok()) << text;
    EXPECT_THAT(keys.status().message(), HasSubstr("--distribution")) << text;
  }
  EXPECT_THAT(KeyChooser::Parse("uniform", 0).status().message(), HasSubstr("--keys"));
  absl::StatusOr<KeyChooser> custom = KeyChooser::Parse("zipfian:0.5", 100);
  ASSERT_TRUE(custom.ok()) << custom.status();
  EXPECT_EQ(custom->ToString(), "zipfian:0.50");
}

TEST(ParseBenchCount, TakesBinarySuffixes) {
  EXPECT_EQ(*ParseBenchCount("100"), 100u);
  EXPECT_EQ(*ParseBenchCount("4k"), 4096u);
  EXPECT_EQ(*ParseBenchCount("1m"), 1048576u);
  for (const char* text : {"", "k", "-1", "1.5k", "10x", "99999999999999g"}) {
    EXPECT_FALSE(ParseBenchCount(text).ok()) << text;
  }
}

TEST(KeyName, SortsByIndex) {
  EXPECT_EQ(KeyName(0), "k0000000000");
  EXPECT_EQ(KeyName(42), "k0000000042");
  EXPECT_LT(KeyName(9), KeyName(10));
}

}  // namespace
}  // namespace wasikv::bench
