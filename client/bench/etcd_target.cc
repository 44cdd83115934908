// etcd through its v3 gRPC KV API (etcdserverpb.KV, generated from the protos
// Debian ships) and the same gRPC callback client as wasikv's target.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "client/bench/bench_channel.h"
#include "client/bench/target.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace wasikv::bench {
namespace {

namespace pb = etcdserverpb;

constexpr auto kCallDeadline = std::chrono::seconds(30);

Outcome Failed(const grpc::Status& status) {
  return Outcome::Error(DescribeGrpcStatus(status.error_code(), status.error_message()));
}

class EtcdTarget;

class EtcdCaller : public Caller {
 public:
  EtcdCaller(EtcdTarget* target, pb::KV::Stub* stub, std::string value)
      : target_(target), stub_(stub), value_(std::move(value)) {}
  void Start(Op op, const std::vector<uint64_t>& keys, Done done) override;

 private:
  void SetValue(std::string* value) {
    *value = value_;
    if (stamp_values_) StampValue(value);
  }

  EtcdTarget* const target_;
  pb::KV::Stub* const stub_;
  const std::string value_;
  std::unique_ptr<grpc::ClientContext> context_;
  pb::RangeRequest range_;
  pb::RangeResponse range_reply_;
  pb::PutRequest put_;
  pb::PutResponse put_reply_;
  pb::TxnRequest txn_;
  pb::TxnResponse txn_reply_;
  std::vector<uint64_t> written_;  // the keys of the setmany in flight
};

class EtcdTarget : public Target {
 public:
  EtcdTarget(const TargetOptions& options, uint64_t keys) : options_(options), revisions_(keys) {}

  std::string name() const override { return "etcd"; }
  // etcd has no increment, and no call as empty as a health check on its KV
  // port (its Status call reads the backend).
  bool Supports(Op op) const override { return op != Op::kIncr && op != Op::kPing; }

  absl::Status Connect() override {
    for (int i = 0; i < options_.connections; ++i) {
      absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
          ConnectBenchChannel(options_.endpoint, "etcd");
      if (!channel.ok()) return channel.status();
      stubs_.push_back(pb::KV::NewStub(*channel));
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::RangeRequest request;
    request.set_key("wasikv-bench");
    pb::RangeResponse response;
    const grpc::Status status = stubs_[0]->Range(&context, request, &response);
    if (!status.ok()) return absl::UnavailableError("etcd Range: " + Failed(status).error);
    return absl::OkStatus();
  }

  std::unique_ptr<Caller> NewCaller(int slot) override {
    return std::make_unique<EtcdCaller>(
        this, stubs_[static_cast<size_t>(slot) % stubs_.size()].get(),
        MakeValue(options_.value_bytes, static_cast<uint64_t>(slot) * 7919 + 1));
  }

  // The last mod_revision written or seen of each key, what cas compares
  // with.
  std::atomic<int64_t>& revision(uint64_t key) { return revisions_[key % revisions_.size()]; }

 private:
  const TargetOptions options_;
  std::vector<std::unique_ptr<pb::KV::Stub>> stubs_;
  std::vector<std::atomic<int64_t>> revisions_;
};

void EtcdCaller::Start(Op op, const std::vector<uint64_t>& keys, Done done) {
  context_ = std::make_unique<grpc::ClientContext>();
  context_->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  switch (op) {
    case Op::kGet:
      // Linearizable (etcd's default): a serializable read skips consensus.
      range_.set_key(KeyName(keys[0]));
      stub_->async()->Range(
          context_.get(), &range_, &range_reply_,
          [this, done = std::move(done)](grpc::Status status) {
            if (!status.ok()) return done(Failed(status));
            done(range_reply_.kvs_size() > 0 ? Outcome::Ok() : Outcome{Outcome::Kind::kMiss, {}});
          });
      return;
    case Op::kSet:
      put_.set_key(KeyName(keys[0]));
      SetValue(put_.mutable_value());
      stub_->async()->Put(context_.get(), &put_, &put_reply_,
                          [this, key = keys[0], done = std::move(done)](grpc::Status status) {
                            if (!status.ok()) return done(Failed(status));
                            target_->revision(key).store(put_reply_.header().revision(),
                                                         std::memory_order_relaxed);
                            done(Outcome::Ok());
                          });
      return;
    case Op::kCas: {
      // Put if mod_revision is still the one last seen, else read the
      // current one: one Txn, as etcd's own STM does.
      const uint64_t key = keys[0];
      txn_.Clear();
      pb::Compare* compare = txn_.add_compare();
      compare->set_key(KeyName(key));
      compare->set_result(pb::Compare::EQUAL);
      compare->set_target(pb::Compare::MOD);
      compare->set_mod_revision(target_->revision(key).load(std::memory_order_relaxed));
      pb::PutRequest* put = txn_.add_success()->mutable_request_put();
      put->set_key(KeyName(key));
      SetValue(put->mutable_value());
      txn_.add_failure()->mutable_request_range()->set_key(KeyName(key));
      stub_->async()->Txn(context_.get(), &txn_, &txn_reply_,
                          [this, key, done = std::move(done)](grpc::Status status) {
                            if (!status.ok()) return done(Failed(status));
                            if (txn_reply_.succeeded()) {
                              target_->revision(key).store(txn_reply_.header().revision(),
                                                           std::memory_order_relaxed);
                              return done(Outcome::Ok());
                            }
                            int64_t current = 0;
                            if (txn_reply_.responses_size() > 0 &&
                                txn_reply_.responses(0).response_range().kvs_size() > 0) {
                              current =
                                  txn_reply_.responses(0).response_range().kvs(0).mod_revision();
                            }
                            target_->revision(key).store(current, std::memory_order_relaxed);
                            done({Outcome::Kind::kConflict, {}});
                          });
      return;
    }
    case Op::kGetMany:
    case Op::kSetMany: {
      // One Txn of ranges or puts: etcd's only multi-key read or write.
      txn_.Clear();
      written_ = keys;
      for (uint64_t key : keys) {
        pb::RequestOp* request = txn_.add_success();
        if (op == Op::kGetMany) {
          request->mutable_request_range()->set_key(KeyName(key));
        } else {
          pb::PutRequest* put = request->mutable_request_put();
          put->set_key(KeyName(key));
          SetValue(put->mutable_value());
        }
      }
      stub_->async()->Txn(context_.get(), &txn_, &txn_reply_,
                          [this, op, done = std::move(done)](grpc::Status status) {
                            if (!status.ok()) return done(Failed(status));
                            if (op == Op::kSetMany) {
                              // Every put of the Txn has its revision as mod_revision.
                              for (uint64_t key : written_) {
                                target_->revision(key).store(txn_reply_.header().revision(),
                                                             std::memory_order_relaxed);
                              }
                              return done(Outcome::Ok());
                            }
                            for (const pb::ResponseOp& response : txn_reply_.responses()) {
                              if (response.response_range().kvs_size() == 0) {
                                return done({Outcome::Kind::kMiss, {}});
                              }
                            }
                            done(Outcome::Ok());
                          });
      return;
    }
    case Op::kIncr:
    case Op::kPing:
      return done(Outcome::Error("etcd has no such call"));
  }
}

}  // namespace

std::unique_ptr<Target> NewEtcdTarget(const TargetOptions& options, uint64_t keys) {
  return std::make_unique<EtcdTarget>(options, keys);
}

}  // namespace wasikv::bench
