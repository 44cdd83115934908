// LatencyHistogram: the latency recorder both benchmarks share.
#ifndef WASIKV_CLIENT_BENCH_LATENCY_HISTOGRAM_H_
#define WASIKV_CLIENT_BENCH_LATENCY_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace wasikv::bench {

// Latencies in nanoseconds, log-linear buckets: exact below 64 ns, then 32
// buckets per power of two, so a reported quantile is within 1.6% of the
// true value. Not thread-safe: one per thread or per call slot, merged after.
class LatencyHistogram {
 public:
  void Record(int64_t nanos) {
    ++counts_[Index(static_cast<uint64_t>(std::max<int64_t>(nanos, 0)))];
    ++count_;
  }
  void Merge(const LatencyHistogram& other) {
    for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
  }
  uint64_t count() const { return count_; }
  // The latency at quantile `q` (0..1) in nanoseconds; 0 if empty.
  double Quantile(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(std::max(1.0, q * static_cast<double>(count_) + 0.5));
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return Midpoint(i);
    }
    return Midpoint(kBuckets - 1);
  }

 private:
  static constexpr int kSubBits = 5;
  static constexpr int kLinear = 2 << kSubBits;  // values below this get their own bucket
  static constexpr int kBuckets = kLinear + (64 - kSubBits - 1) * (1 << kSubBits);

  static int Index(uint64_t v) {
    if (v < static_cast<uint64_t>(kLinear)) return static_cast<int>(v);
    const int msb = std::bit_width(v) - 1;
    const int shift = msb - kSubBits;
    const int sub = static_cast<int>(v >> shift) - (1 << kSubBits);
    return kLinear + (msb - kSubBits - 1) * (1 << kSubBits) + sub;
  }
  static double Midpoint(int index) {
    if (index < kLinear) return index;
    const int msb = (index - kLinear) / (1 << kSubBits) + kSubBits + 1;
    const int sub = (index - kLinear) % (1 << kSubBits);
    const int shift = msb - kSubBits;
    const double lower = static_cast<double>(static_cast<uint64_t>((1 << kSubBits) + sub) << shift);
    return lower + static_cast<double>(uint64_t{1} << shift) / 2;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
};

}  // namespace wasikv::bench

#endif  // WASIKV_CLIENT_BENCH_LATENCY_HISTOGRAM_H_
