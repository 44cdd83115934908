// What wasikv-bench measures: a server it sends calls to (wasikv, Redis or
// etcd), behind one interface, so every server meets the same harness, key
// choice and timing.
#ifndef WASIKV_CLIENT_BENCH_TARGET_H_
#define WASIKV_CLIENT_BENCH_TARGET_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/bench/workload.h"

namespace wasikv::bench {

// How one call ended. A miss (a read that found nothing) and a conflict (a
// compare-and-swap whose condition no longer held) are answers, not errors.
struct Outcome {
  enum class Kind { kOk, kMiss, kConflict, kError };
  Kind kind = Kind::kOk;
  // For kError: the code and the server's message.
  std::string error;

  static Outcome Ok() { return {}; }
  static Outcome Error(std::string message) { return {Kind::kError, std::move(message)}; }
};

using Done = std::function<void(Outcome)>;

// Settings every target reads.
struct TargetOptions {
  std::string endpoint;      // host:port
  int connections = 1;       // connections (gRPC channels) opened to it
  size_t value_bytes = 100;  // bytes of each written value
  // wasikv only: the bucket and the bearer token (empty: none).
  std::string bucket = "bench";
  std::string token;
};

// One call slot's client: at most one call in flight, so it may keep its
// request and reply between calls. Start returns at once; `done` runs once,
// on any thread (the target's own, or inline on failure to send).
class Caller {
 public:
  virtual ~Caller() = default;
  // `keys` are key indexes (workload.h KeyName): one for get, set, incr and
  // cas; the batch for getmany and setmany.
  virtual void Start(Op op, const std::vector<uint64_t>& keys, Done done) = 0;
  // A value's first bytes, for write-to-delivery timing of watches: written
  // into each value this caller sets from now on (empty: none).
  void StampValues(bool stamp) { stamp_values_ = stamp; }

 protected:
  bool stamp_values_ = false;
};

// A server under test. Thread-safe after Connect: callers are made and used
// from any thread. Owns the connections; every Caller must be destroyed
// first.
class Target {
 public:
  virtual ~Target() = default;
  // "wasikv", "redis", "etcd".
  virtual std::string name() const = 0;
  // False for an op the server has no single call for (etcd has no
  // increment, Redis no compare-and-swap): wasikv-bench refuses such a mix
  // rather than emulate it and time something else.
  virtual bool Supports(Op op) const = 0;
  // Opens options.connections connections and checks the server answers.
  virtual absl::Status Connect() = 0;
  // A caller on connection `slot % connections`.
  virtual std::unique_ptr<Caller> NewCaller(int slot) = 0;
};

std::unique_ptr<Target> NewWasikvTarget(const TargetOptions& options, uint64_t keys);
// nullptr when wasikv-bench was built without hiredis / etcd's protos.
std::unique_ptr<Target> NewRedisTarget(const TargetOptions& options);
std::unique_ptr<Target> NewEtcdTarget(const TargetOptions& options, uint64_t keys);

// The bytes of a value: `bytes` pseudo-random letters from `seed`, so
// compression does not flatter any server.
std::string MakeValue(size_t bytes, uint64_t seed);
// With stamping on, a value starts with "T" and the steady clock in 19
// digits of nanoseconds; ValueStamp reads it back (-1 if not stamped).
void StampValue(std::string* value);
int64_t ValueStamp(std::string_view value);

// "UNAVAILABLE: <message>" for a gRPC status code and message.
std::string DescribeGrpcStatus(int code, const std::string& message);

// The counter that incr of key index `i` increments: its own key space, as
// the preloaded values are not integers.
std::string CounterName(uint64_t i);

}  // namespace wasikv::bench

#endif  // WASIKV_CLIENT_BENCH_TARGET_H_
