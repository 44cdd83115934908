#include "client/bench/workload.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "absl/status/status.h"

namespace wasikv::bench {
namespace {

size_t IndexOf(Op op) { return static_cast<size_t>(op); }

std::vector<std::string_view> SplitOn(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool ParseUnsigned(std::string_view text, uint64_t* value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return ec == std::errc() && ptr == end && !text.empty();
}

// sum over i in [1, n] of 1 / i^theta.
double Zeta(uint64_t n, double theta) {
  double sum = 0;
  for (uint64_t i = 1; i <= n; ++i) sum += 1.0 / std::pow(static_cast<double>(i), theta);
  return sum;
}

// FNV-1a of the index's bytes: the fixed scatter of zipfian ranks.
uint64_t Fnv(uint64_t value) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (int i = 0; i < 8; ++i) {
    hash ^= (value >> (i * 8)) & 0xff;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

}  // namespace

std::string_view OpName(Op op) {
  switch (op) {
    case Op::kGet:
      return "get";
    case Op::kSet:
      return "set";
    case Op::kIncr:
      return "incr";
    case Op::kCas:
      return "cas";
    case Op::kGetMany:
      return "getmany";
    case Op::kSetMany:
      return "setmany";
    case Op::kPing:
      return "ping";
  }
  return "?";
}

bool OpReads(Op op) { return op == Op::kGet || op == Op::kGetMany; }

absl::StatusOr<OpMix> OpMix::Parse(std::string_view text) {
  OpMix mix;
  for (std::string_view part : SplitOn(text, ',')) {
    const size_t eq = part.find('=');
    const std::string_view name = part.substr(0, eq);
    uint64_t weight = 1;
    if (eq != std::string_view::npos &&
        (!ParseUnsigned(part.substr(eq + 1), &weight) || weight == 0 || weight > 1000000)) {
      return absl::InvalidArgumentError("--ops: '" + std::string(part) +
                                        "' needs a weight from 1 to 1000000 after '='");
    }
    bool known = false;
    for (Op op : kAllOps) {
      if (OpName(op) == name) {
        mix.weights_[IndexOf(op)] += static_cast<uint32_t>(weight);
        mix.total_ += weight;
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError("--ops: unknown operation '" + std::string(name) +
                                        "' (get, set, incr, cas, getmany, setmany, ping)");
    }
  }
  return mix;
}

Op OpMix::Draw(std::mt19937_64& random) const {
  uint64_t pick = std::uniform_int_distribution<uint64_t>(0, total_ - 1)(random);
  for (Op op : kAllOps) {
    if (pick < weights_[IndexOf(op)]) return op;
    pick -= weights_[IndexOf(op)];
  }
  return Op::kGet;
}

std::vector<Op> OpMix::ops() const {
  std::vector<Op> ops;
  for (Op op : kAllOps) {
    if (weights_[IndexOf(op)] > 0) ops.push_back(op);
  }
  return ops;
}

bool OpMix::Reads() const {
  for (Op op : ops()) {
    if (OpReads(op) || op == Op::kCas) return true;
  }
  return false;
}

std::string OpMix::ToString() const {
  std::string text;
  for (Op op : ops()) {
    if (!text.empty()) text += ",";
    text += std::string(OpName(op)) + "=" + std::to_string(weights_[IndexOf(op)]);
  }
  return text;
}

absl::StatusOr<KeyChooser> KeyChooser::Parse(std::string_view text, uint64_t count) {
  if (count == 0) return absl::InvalidArgumentError("--keys: must be at least 1");
  KeyChooser chooser;
  chooser.count_ = count;
  if (text == "uniform") return chooser;
  double theta = 0.99;
  if (text.rfind("zipfian", 0) != 0) {
    return absl::InvalidArgumentError("--distribution: '" + std::string(text) +
                                      "' is not uniform, zipfian or zipfian:THETA");
  }
  if (text.size() > 7) {
    if (text[7] != ':') {
      return absl::InvalidArgumentError("--distribution: expected zipfian:THETA, got '" +
                                        std::string(text) + "'");
    }
    const std::string number(text.substr(8));
    char* end = nullptr;
    theta = std::strtod(number.c_str(), &end);
    if (number.empty() || *end != '\0' || !(theta > 0 && theta < 1)) {
      return absl::InvalidArgumentError("--distribution: THETA must be in (0, 1), got '" + number +
                                        "'");
    }
  }
  chooser.zipfian_ = true;
  chooser.theta_ = theta;
  chooser.zeta_n_ = Zeta(count, theta);
  chooser.alpha_ = 1.0 / (1.0 - theta);
  const double zeta_2 = Zeta(2, theta);
  chooser.eta_ =
      (1 - std::pow(2.0 / static_cast<double>(count), 1 - theta)) / (1 - zeta_2 / chooser.zeta_n_);
  return chooser;
}

uint64_t KeyChooser::Draw(std::mt19937_64& random) const {
  if (!zipfian_) return std::uniform_int_distribution<uint64_t>(0, count_ - 1)(random);
  const double u = std::uniform_real_distribution<double>(0, 1)(random);
  const double uz = u * zeta_n_;
  uint64_t rank = 0;
  if (uz < 1) {
    rank = 0;
  } else if (uz < 1 + std::pow(0.5, theta_)) {
    rank = 1;
  } else {
    rank =
        static_cast<uint64_t>(static_cast<double>(count_) * std::pow(eta_ * u - eta_ + 1, alpha_));
  }
  return Fnv(std::min(rank, count_ - 1)) % count_;
}

std::string KeyChooser::ToString() const {
  if (!zipfian_) return "uniform";
  char text[32];
  std::snprintf(text, sizeof(text), "zipfian:%.2f", theta_);
  return text;
}

absl::StatusOr<uint64_t> ParseBenchCount(std::string_view text) {
  uint64_t scale = 1;
  std::string_view number = text;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
        scale = 1 << 10;
        break;
      case 'm':
        scale = 1 << 20;
        break;
      case 'g':
        scale = 1 << 30;
        break;
      default:
        break;
    }
    if (scale != 1) number = text.substr(0, text.size() - 1);
  }
  uint64_t value = 0;
  if (!ParseUnsigned(number, &value) || value > (uint64_t{1} << 40) / scale) {
    return absl::InvalidArgumentError("'" + std::string(text) +
                                      "' is not a count (e.g. 100, 4k, 1m)");
  }
  return value * scale;
}

std::string KeyName(uint64_t i) {
  char name[16];
  std::snprintf(name, sizeof(name), "k%010llu", static_cast<unsigned long long>(i));
  return name;
}

}  // namespace wasikv::bench
