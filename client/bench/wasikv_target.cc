// wasikv through its generated gRPC stubs and the callback API: the least a
// client can spend per call, so the numbers are the server's.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "client/bench/bench_channel.h"
#include "client/bench/target.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "wasikv/v1/kv.grpc.pb.h"

namespace wasikv::bench {
namespace {

constexpr auto kCallDeadline = std::chrono::seconds(30);

std::string DescribeStatus(const grpc::Status& status) {
  return DescribeGrpcStatus(status.error_code(), status.error_message());
}

class WasikvTarget;

class WasikvCaller : public Caller {
 public:
  WasikvCaller(WasikvTarget* target, v1::KV::Stub* stub, grpc::health::v1::Health::Stub* health,
               uint64_t seed);
  void Start(Op op, const std::vector<uint64_t>& keys, Done done) override;

 private:
  void NewContext();
  void SetValue(std::string* value);

  WasikvTarget* const target_;
  v1::KV::Stub* const stub_;
  grpc::health::v1::Health::Stub* const health_;
  const std::string value_;
  std::unique_ptr<grpc::ClientContext> context_;
  v1::GetRequest get_;
  v1::GetResponse got_;
  v1::SetRequest set_;
  v1::SetResponse set_reply_;
  v1::IncrementRequest incr_;
  v1::IncrementResponse incr_reply_;
  v1::CompareAndSwapRequest cas_;
  v1::CompareAndSwapResponse cas_reply_;
  v1::GetManyRequest get_many_;
  v1::GetManyResponse got_many_;
  v1::SetManyRequest set_many_;
  v1::SetManyResponse set_many_reply_;
  grpc::health::v1::HealthCheckRequest ping_;
  grpc::health::v1::HealthCheckResponse pong_;
  std::vector<uint64_t> written_;  // the keys of the setmany in flight
};

class WasikvTarget : public Target {
 public:
  WasikvTarget(const TargetOptions& options, uint64_t keys) : options_(options), versions_(keys) {}

  std::string name() const override { return "wasikv"; }
  bool Supports(Op) const override { return true; }

  absl::Status Connect() override {
    for (int i = 0; i < options_.connections; ++i) {
      absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
          ConnectBenchChannel(options_.endpoint, "wasikvd");
      if (!channel.ok()) return channel.status();
      stubs_.push_back(v1::KV::NewStub(*channel));
      health_stubs_.push_back(grpc::health::v1::Health::NewStub(*channel));
      channels_.push_back(*std::move(channel));
    }
    // One call proves the bucket and the token are usable before timing.
    grpc::ClientContext context;
    Prepare(&context);
    v1::OpenBucketRequest request;
    request.set_bucket(options_.bucket);
    v1::OpenBucketResponse response;
    const grpc::Status status =
        v1::Buckets::NewStub(channels_[0])->OpenBucket(&context, request, &response);
    if (!status.ok()) return absl::UnavailableError("OpenBucket: " + DescribeStatus(status));
    return absl::OkStatus();
  }

  std::unique_ptr<Caller> NewCaller(int slot) override {
    const size_t connection = static_cast<size_t>(slot) % stubs_.size();
    return std::make_unique<WasikvCaller>(this, stubs_[connection].get(),
                                          health_stubs_[connection].get(),
                                          static_cast<uint64_t>(slot) * 7919 + 1);
  }

  // Deadline and token of every call.
  void Prepare(grpc::ClientContext* context) const {
    context->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    if (!options_.token.empty()) context->AddMetadata("authorization", "Bearer " + options_.token);
  }

  const TargetOptions& options() const { return options_; }
  // The last version written or seen of each key (set, setmany and cas
  // record it), what cas expects: shared by every caller, so a conflict
  // means another caller wrote the key in between.
  std::atomic<uint64_t>& version(uint64_t key) { return versions_[key % versions_.size()]; }

 private:
  const TargetOptions options_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::KV::Stub>> stubs_;
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health_stubs_;
  std::vector<std::atomic<uint64_t>> versions_;
};

WasikvCaller::WasikvCaller(WasikvTarget* target, v1::KV::Stub* stub,
                           grpc::health::v1::Health::Stub* health, uint64_t seed)
    : target_(target),
      stub_(stub),
      health_(health),
      value_(MakeValue(target->options().value_bytes, seed)) {
  const std::string& bucket = target->options().bucket;
  get_.set_bucket(bucket);
  set_.set_bucket(bucket);
  incr_.set_bucket(bucket);
  incr_.set_delta(1);
  cas_.set_bucket(bucket);
  get_many_.set_bucket(bucket);
  set_many_.set_bucket(bucket);
}

void WasikvCaller::NewContext() {
  // Replacing the previous call's context here is safe: that call is done.
  context_ = std::make_unique<grpc::ClientContext>();
  target_->Prepare(context_.get());
}

void WasikvCaller::SetValue(std::string* value) {
  *value = value_;
  if (stamp_values_) StampValue(value);
}

void WasikvCaller::Start(Op op, const std::vector<uint64_t>& keys, Done done) {
  NewContext();
  const auto failed = [](const grpc::Status& status) {
    return Outcome::Error(DescribeStatus(status));
  };
  switch (op) {
    case Op::kGet:
      get_.set_key(KeyName(keys[0]));
      stub_->async()->Get(context_.get(), &get_, &got_,
                          [this, done = std::move(done), failed](grpc::Status status) {
                            if (!status.ok()) return done(failed(status));
                            done(got_.found() ? Outcome::Ok() : Outcome{Outcome::Kind::kMiss, {}});
                          });
      return;
    case Op::kSet:
      set_.set_key(KeyName(keys[0]));
      SetValue(set_.mutable_value());
      stub_->async()->Set(
          context_.get(), &set_, &set_reply_,
          [this, key = keys[0], done = std::move(done), failed](grpc::Status status) {
            if (!status.ok()) return done(failed(status));
            target_->version(key).store(set_reply_.revision(), std::memory_order_relaxed);
            done(Outcome::Ok());
          });
      return;
    case Op::kIncr:
      incr_.set_key(CounterName(keys[0]));
      stub_->async()->Increment(context_.get(), &incr_, &incr_reply_,
                                [done = std::move(done), failed](grpc::Status status) {
                                  done(status.ok() ? Outcome::Ok() : failed(status));
                                });
      return;
    case Op::kCas: {
      const uint64_t key = keys[0];
      cas_.set_key(KeyName(key));
      const uint64_t expected = target_->version(key).load(std::memory_order_relaxed);
      if (expected == 0) {
        cas_.set_expect_absent(true);
      } else {
        cas_.set_expected_version(expected);
      }
      SetValue(cas_.mutable_new_value());
      stub_->async()->CompareAndSwap(
          context_.get(), &cas_, &cas_reply_,
          [this, key, done = std::move(done), failed](grpc::Status status) {
            if (!status.ok()) return done(failed(status));
            // The version now current, swapped or not: the next cas expects it.
            const uint64_t now = cas_reply_.swapped()
                                     ? cas_reply_.revision()
                                     : (cas_reply_.found() ? cas_reply_.current_version() : 0);
            target_->version(key).store(now, std::memory_order_relaxed);
            done(cas_reply_.swapped() ? Outcome::Ok() : Outcome{Outcome::Kind::kConflict, {}});
          });
      return;
    }
    case Op::kGetMany:
      get_many_.clear_keys();
      for (uint64_t key : keys) get_many_.add_keys(KeyName(key));
      stub_->async()->GetMany(context_.get(), &get_many_, &got_many_,
                              [this, done = std::move(done), failed](grpc::Status status) {
                                if (!status.ok()) return done(failed(status));
                                for (const auto& entry : got_many_.entries()) {
                                  if (!entry.found()) return done({Outcome::Kind::kMiss, {}});
                                }
                                done(Outcome::Ok());
                              });
      return;
    case Op::kSetMany:
      // Entries are reused: only keys and values change between calls.
      while (set_many_.entries_size() > static_cast<int>(keys.size())) {
        set_many_.mutable_entries()->RemoveLast();
      }
      while (set_many_.entries_size() < static_cast<int>(keys.size())) set_many_.add_entries();
      for (size_t i = 0; i < keys.size(); ++i) {
        v1::KeyValue* entry = set_many_.mutable_entries(static_cast<int>(i));
        entry->set_key(KeyName(keys[i]));
        SetValue(entry->mutable_value());
      }
      written_ = keys;
      stub_->async()->SetMany(context_.get(), &set_many_, &set_many_reply_,
                              [this, done = std::move(done), failed](grpc::Status status) {
                                if (!status.ok()) return done(failed(status));
                                // Every key of the batch has its revision as version.
                                for (uint64_t key : written_) {
                                  target_->version(key).store(set_many_reply_.revision(),
                                                              std::memory_order_relaxed);
                                }
                                done(Outcome::Ok());
                              });
      return;
    case Op::kPing:
      // The floor: no key, no storage, the same channel and call path.
      health_->async()->Check(context_.get(), &ping_, &pong_,
                              [done = std::move(done), failed](grpc::Status status) {
                                done(status.ok() ? Outcome::Ok() : failed(status));
                              });
      return;
  }
}

}  // namespace

std::unique_ptr<Target> NewWasikvTarget(const TargetOptions& options, uint64_t keys) {
  return std::make_unique<WasikvTarget>(options, keys);
}

}  // namespace wasikv::bench
