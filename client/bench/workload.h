// What wasikv-bench sends: the operation mix and the key distribution, parsed
// from its flags. Pure functions of their arguments, so they are unit-tested
// without a server.
#ifndef WASIKV_CLIENT_BENCH_WORKLOAD_H_
#define WASIKV_CLIENT_BENCH_WORKLOAD_H_

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace wasikv::bench {

// kPing is the floor: the cheapest call the server answers (wasikv:
// grpc.health.v1.Health/Check, Redis: PING), with no key and no storage.
enum class Op { kGet, kSet, kIncr, kCas, kGetMany, kSetMany, kPing };
inline constexpr std::array<Op, 7> kAllOps = {Op::kGet,     Op::kSet,     Op::kIncr, Op::kCas,
                                              Op::kGetMany, Op::kSetMany, Op::kPing};
std::string_view OpName(Op op);
bool OpReads(Op op);

// "get=90,set=10": weights, any positive integers. Each call draws its op
// with probability weight / sum.
class OpMix {
 public:
  static absl::StatusOr<OpMix> Parse(std::string_view text);

  Op Draw(std::mt19937_64& random) const;
  // The ops with a weight, in kAllOps order.
  std::vector<Op> ops() const;
  bool Reads() const;
  std::string ToString() const;

 private:
  std::array<uint32_t, kAllOps.size()> weights_{};
  uint64_t total_ = 0;
};

// Draws key indexes in [0, count): uniform, or zipfian with exponent theta
// (YCSB's generator, after Gray et al., "Quickly generating billion-record
// synthetic databases"): index 0 is the hottest. Zipfian indexes are then
// scattered over the key space by a fixed permutation (FNV hash), so hot
// keys are not neighbours in RocksDB, as in YCSB's scrambled zipfian.
class KeyChooser {
 public:
  // "uniform", "zipfian" (theta 0.99) or "zipfian:THETA" (0 < THETA < 1).
  static absl::StatusOr<KeyChooser> Parse(std::string_view text, uint64_t count);

  uint64_t Draw(std::mt19937_64& random) const;
  uint64_t count() const { return count_; }
  std::string ToString() const;

 private:
  uint64_t count_ = 1;
  bool zipfian_ = false;
  double theta_ = 0;
  double zeta_n_ = 0;
  double alpha_ = 0;
  double eta_ = 0;
};

// "100", "4k", "1m" (powers of 1024).
absl::StatusOr<uint64_t> ParseBenchCount(std::string_view text);

// The key of index `i`: "k" and 10 digits, so keys sort by index.
std::string KeyName(uint64_t i);

}  // namespace wasikv::bench

#endif  // WASIKV_CLIENT_BENCH_WORKLOAD_H_
