// Redis through hiredis' asynchronous API on one Boost.Asio thread, as
// redis-benchmark drives it from one event loop: the callers of a connection
// pipeline their commands on it.
#include <sys/socket.h>

#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "boost/asio/post.hpp"
#include "client/bench/target.h"
#include "hiredis/async.h"
#include "hiredis/hiredis.h"

namespace wasikv::bench {
namespace {

// A command sent and not yet answered.
struct Pending {
  Op op;
  Done done;
};

// One connection. Everything here runs on the target's io thread, as
// hiredis' async context is not thread-safe.
class RedisConnection {
 public:
  explicit RedisConnection(boost::asio::io_context& io) : socket_(io) {}
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Starts connecting; errors show in the first reply.
  absl::Status Open(const std::string& host, int port) {
    context_ = redisAsyncConnect(host.c_str(), port);
    if (context_ == nullptr)
      return absl::ResourceExhaustedError("redisAsyncConnect: out of memory");
    if (context_->err != 0) {
      const std::string error = context_->errstr;
      redisAsyncFree(context_);
      context_ = nullptr;
      return absl::UnavailableError(error);
    }
    context_->ev.data = this;
    context_->ev.addRead = [](void* self) { static_cast<RedisConnection*>(self)->WantRead(true); };
    context_->ev.delRead = [](void* self) { static_cast<RedisConnection*>(self)->WantRead(false); };
    context_->ev.addWrite = [](void* self) {
      static_cast<RedisConnection*>(self)->WantWrite(true);
    };
    context_->ev.delWrite = [](void* self) {
      static_cast<RedisConnection*>(self)->WantWrite(false);
    };
    context_->ev.cleanup = [](void* self) { static_cast<RedisConnection*>(self)->Detach(); };
    socket_.assign(context_->c.fd);
    return absl::OkStatus();
  }

  // Sends argv; `pending->done` runs with the reply.
  void Send(const std::vector<std::string>& argv, std::unique_ptr<Pending> pending) {
    if (context_ == nullptr)
      return pending->done(Outcome::Error("redis connection lost: " + lost_));
    std::vector<const char*> pointers;
    std::vector<size_t> lengths;
    for (const std::string& arg : argv) {
      pointers.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    // hiredis copies the command into its output buffer here.
    Pending* raw = pending.release();
    if (redisAsyncCommandArgv(context_, &RedisConnection::OnReply, raw,
                              static_cast<int>(argv.size()), pointers.data(),
                              lengths.data()) != REDIS_OK) {
      std::unique_ptr<Pending> failed(raw);
      failed->done(Outcome::Error("redis command not sent: connection closing"));
    }
  }

  void Close() {
    if (context_ != nullptr) redisAsyncFree(context_);  // replies NULL to the pending, then Detach
  }

 private:
  static void OnReply(redisAsyncContext* context, void* reply_pointer, void* pending_pointer) {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(pending_pointer));
    const auto* reply = static_cast<const redisReply*>(reply_pointer);
    if (reply == nullptr) {
      return pending->done(Outcome::Error(std::string("redis connection lost: ") +
                                          (context->errstr[0] ? context->errstr : "closed")));
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      return pending->done(Outcome::Error("redis: " + std::string(reply->str, reply->len)));
    }
    if (pending->op == Op::kGet && reply->type == REDIS_REPLY_NIL) {
      return pending->done({Outcome::Kind::kMiss, {}});
    }
    if (pending->op == Op::kGetMany) {
      for (size_t i = 0; i < reply->elements; ++i) {
        if (reply->element[i]->type == REDIS_REPLY_NIL)
          return pending->done({Outcome::Kind::kMiss, {}});
      }
    }
    pending->done(Outcome::Ok());
  }

  void WantRead(bool want) {
    want_read_ = want;
    if (want) WaitRead();
  }
  void WantWrite(bool want) {
    want_write_ = want;
    if (want) WaitWrite();
  }

  void WaitRead() {
    if (read_waiting_ || context_ == nullptr) return;
    read_waiting_ = true;
    socket_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                       [this](const boost::system::error_code& error) {
                         read_waiting_ = false;
                         if (error || context_ == nullptr || !want_read_) return;
                         redisAsyncHandleRead(context_);  // may free the context (Detach)
                         if (context_ != nullptr && want_read_) WaitRead();
                       });
  }
  void WaitWrite() {
    if (write_waiting_ || context_ == nullptr) return;
    write_waiting_ = true;
    socket_.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                       [this](const boost::system::error_code& error) {
                         write_waiting_ = false;
                         if (error || context_ == nullptr || !want_write_) return;
                         redisAsyncHandleWrite(context_);
                         if (context_ != nullptr && want_write_) WaitWrite();
                       });
  }

  // hiredis frees the context (and closes its socket) after this.
  void Detach() {
    if (context_ != nullptr && context_->errstr[0]) lost_ = context_->errstr;
    if (lost_.empty()) lost_ = "closed";
    context_ = nullptr;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
    socket_.release();
  }

  redisAsyncContext* context_ = nullptr;
  boost::asio::posix::stream_descriptor socket_;
  bool want_read_ = false;
  bool want_write_ = false;
  bool read_waiting_ = false;
  bool write_waiting_ = false;
  std::string lost_;
};

class RedisTarget;

class RedisCaller : public Caller {
 public:
  RedisCaller(RedisTarget* target, RedisConnection* connection, std::string value)
      : target_(target), connection_(connection), value_(std::move(value)) {}
  void Start(Op op, const std::vector<uint64_t>& keys, Done done) override;

 private:
  std::string Value() {
    std::string value = value_;
    if (stamp_values_) StampValue(&value);
    return value;
  }

  RedisTarget* const target_;
  RedisConnection* const connection_;
  const std::string value_;
};

class RedisTarget : public Target {
 public:
  explicit RedisTarget(const TargetOptions& options)
      : options_(options), work_(boost::asio::make_work_guard(io_)) {}

  ~RedisTarget() override {
    boost::asio::post(io_, [this] {
      for (auto& connection : connections_) connection->Close();
    });
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }

  std::string name() const override { return "redis"; }
  bool Supports(Op op) const override { return op != Op::kCas; }

  absl::Status Connect() override {
    const size_t colon = options_.endpoint.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError("--endpoint: '" + options_.endpoint + "' is not HOST:PORT");
    }
    const std::string host = options_.endpoint.substr(0, colon);
    const int port = std::atoi(options_.endpoint.c_str() + colon + 1);
    thread_ = std::thread([this] { io_.run(); });
    for (int i = 0; i < options_.connections; ++i) {
      connections_.push_back(std::make_unique<RedisConnection>(io_));
    }
    // Each connection answers a PING before timing starts.
    for (auto& connection : connections_) {
      std::promise<std::string> answered;
      boost::asio::post(io_, [&] {
        if (absl::Status opened = connection->Open(host, port); !opened.ok()) {
          return answered.set_value(std::string(opened.message()));
        }
        auto ping = std::make_unique<Pending>();
        ping->op = Op::kSet;
        ping->done = [&answered](Outcome outcome) { answered.set_value(outcome.error); };
        connection->Send({"PING"}, std::move(ping));
      });
      if (const std::string error = answered.get_future().get(); !error.empty()) {
        return absl::UnavailableError("--endpoint: Redis at " + options_.endpoint +
                                      " did not answer PING: " + error);
      }
    }
    return absl::OkStatus();
  }

  std::unique_ptr<Caller> NewCaller(int slot) override {
    return std::make_unique<RedisCaller>(
        this, connections_[static_cast<size_t>(slot) % connections_.size()].get(),
        MakeValue(options_.value_bytes, static_cast<uint64_t>(slot) * 7919 + 1));
  }

  boost::asio::io_context& io() { return io_; }

 private:
  const TargetOptions options_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::vector<std::unique_ptr<RedisConnection>> connections_;
};

void RedisCaller::Start(Op op, const std::vector<uint64_t>& keys, Done done) {
  std::vector<std::string> argv;
  switch (op) {
    case Op::kGet:
      argv = {"GET", KeyName(keys[0])};
      break;
    case Op::kSet:
      argv = {"SET", KeyName(keys[0]), Value()};
      break;
    case Op::kIncr:
      argv = {"INCR", CounterName(keys[0])};
      break;
    case Op::kGetMany:
      argv.push_back("MGET");
      for (uint64_t key : keys) argv.push_back(KeyName(key));
      break;
    case Op::kSetMany:
      argv.push_back("MSET");
      for (uint64_t key : keys) {
        argv.push_back(KeyName(key));
        argv.push_back(Value());
      }
      break;
    case Op::kPing:
      argv = {"PING"};
      break;
    case Op::kCas:
      return done(Outcome::Error("redis has no compare-and-swap command"));
  }
  auto pending = std::make_unique<Pending>();
  pending->op = op;
  pending->done = std::move(done);
  boost::asio::post(target_->io(), [connection = connection_, argv = std::move(argv),
                                    pending = std::move(pending)]() mutable {
    connection->Send(argv, std::move(pending));
  });
}

}  // namespace

std::unique_ptr<Target> NewRedisTarget(const TargetOptions& options) {
  return std::make_unique<RedisTarget>(options);
}

}  // namespace wasikv::bench
