// rpc_floor_server: the empty RPC, grpc.health.v1.Health/Check answering
// SERVING, served on gRPC's callback API or on its async completion-queue
// API, so that the cost of an RPC that does nothing (the floor under every
// wasikvd call) can be compared between the two.
//
// wasikvd serves on the callback API. Whether the async completion-queue API
// would lower the floor is measured by running this server once per API and
// pointing wasikv-bench's ping op (Health/Check with service "") at it:
//
//   rpc_floor_server --api cq &            # prints "listening on 127.0.0.1:PORT"
//   wasikv-bench --endpoint 127.0.0.1:PORT --ops ping --concurrency 16
//       --duration 5s --server-pid $!      # calls/s and server CPU per call
//
// With --api cq, --threads completion queues are each drained by a thread of
// ours, each queue keeping kCallsArmedPerQueue Check calls requested. With
// --api callback the handler runs on gRPC's own threads (in gRPC 1.51 its
// executor and poller threads), which this program does not size: --threads
// applies to cq only and is ignored for callback.
//
// wasikv-bench opens its bucket (wasikv.v1.Buckets/OpenBucket) once before
// timing, so that is answered too, on the same API, with "usable".
//
// --self-check opens a bucket and makes 200 Check calls to a server of its
// own, and exits 0 if every one answered SERVING: the build's test that both
// variants still work. This program prints no measurements itself.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_context.h"
#include "tests/bench/bench_flags.h"
#include "wasikv/v1/kv.grpc.pb.h"

namespace wasikv {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr char kProgram[] = "rpc_floor_server";
constexpr char kUsage[] =
    "usage: rpc_floor_server --api callback|cq [--listen HOST:PORT] [--threads N] "
    "[--self-check]\n"
    "  --api callback|cq    serve Health/Check on gRPC's callback API or its async\n"
    "                       completion-queue API (required)\n"
    "  --listen HOST:PORT   where to listen (default 127.0.0.1:0: any free port); the\n"
    "                       port is printed as \"listening on 127.0.0.1:PORT\"\n"
    "  --threads N          cq only: completion queues, each drained by its own thread\n"
    "                       (default 2); callback runs on gRPC's threads\n"
    "  --self-check         make 200 calls to a server of its own and exit 0 if all\n"
    "                       answered SERVING\n"
    "Without --self-check it serves until SIGTERM or SIGINT.\n";

// Enough requested calls that a queue never runs out between re-arms at the
// concurrency wasikv-bench is run with.
constexpr int kCallsArmedPerQueue = 64;
constexpr int kSelfCheckCalls = 200;

enum class Api { kCallback, kCompletionQueue };

// The callback API: gRPC calls Check on its own threads and the reactor
// finishes the call inline.
class CallbackHealthService final : public Health::CallbackService {
 public:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const HealthCheckRequest* /*request*/,
                                  HealthCheckResponse* response) override {
    response->set_status(HealthCheckResponse::SERVING);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// wasikv-bench opens its bucket once before timing; any bucket is usable.
void AnswerOpenBucket(v1::OpenBucketResponse* response) {
  response->set_exists(true);
  response->set_usable(true);
}

class CallbackBucketsService final : public v1::Buckets::CallbackService {
 public:
  grpc::ServerUnaryReactor* OpenBucket(grpc::CallbackServerContext* context,
                                       const v1::OpenBucketRequest* /*request*/,
                                       v1::OpenBucketResponse* response) override {
    AnswerOpenBucket(response);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// What each completion-queue tag is: a call in progress, told of its events.
class QueuedCall {
 public:
  virtual ~QueuedCall() = default;
  // `ok` false means the request was cancelled by server shutdown (or the
  // answer was not sent): the call is over.
  virtual void Proceed(bool ok) = 0;
};

// The async API's methods served, each as the request it arms and the
// answer it gives.
struct CheckMethod {
  using Service = Health::AsyncService;
  using Request = HealthCheckRequest;
  using Response = HealthCheckResponse;
  static void Arm(Service* service, grpc::ServerContext* context, Request* request,
                  grpc::ServerAsyncResponseWriter<Response>* responder,
                  grpc::ServerCompletionQueue* queue, void* tag) {
    service->RequestCheck(context, request, responder, queue, queue, tag);
  }
  static void Answer(Response* response) { response->set_status(HealthCheckResponse::SERVING); }
};

struct OpenBucketMethod {
  using Service = v1::Buckets::AsyncService;
  using Request = v1::OpenBucketRequest;
  using Response = v1::OpenBucketResponse;
  static void Arm(Service* service, grpc::ServerContext* context, Request* request,
                  grpc::ServerAsyncResponseWriter<Response>* responder,
                  grpc::ServerCompletionQueue* queue, void* tag) {
    service->RequestOpenBucket(context, request, responder, queue, queue, tag);
  }
  static void Answer(Response* response) { AnswerOpenBucket(response); }
};

// The async API's classic state machine for one unary call: requested
// (CREATE), accepted and answered (PROCESS), then deleted once the answer
// is sent (FINISH). The object is its own completion-queue tag.
template <typename Method>
class UnaryCall final : public QueuedCall {
 public:
  using Service = typename Method::Service;

  UnaryCall(Service* service, grpc::ServerCompletionQueue* queue)
      : service_(service), queue_(queue), responder_(&context_) {
    Proceed(true);
  }

  void Proceed(bool ok) override {
    switch (state_) {
      case State::kCreate:
        state_ = State::kProcess;
        Method::Arm(service_, &context_, &request_, &responder_, queue_, this);
        return;
      case State::kProcess:
        if (!ok) break;
        // Keep the queue's number of requested calls constant. After server
        // shutdown has begun this request fails at once (ok false); the
        // queue is still open because it is shut down only after the server.
        new UnaryCall(service_, queue_);
        state_ = State::kFinish;
        Method::Answer(&response_);
        responder_.Finish(response_, grpc::Status::OK, this);
        return;
      case State::kFinish:
        break;
    }
    delete this;
  }

 private:
  enum class State { kCreate, kProcess, kFinish };

  Service* const service_;
  grpc::ServerCompletionQueue* const queue_;
  grpc::ServerContext context_;
  typename Method::Request request_;
  typename Method::Response response_;
  grpc::ServerAsyncResponseWriter<typename Method::Response> responder_;
  State state_ = State::kCreate;
};

// The server of either API, started on `listen`, and what it takes to shut
// it down cleanly.
//
// Besides Health/Check it answers wasikv.v1.Buckets/OpenBucket, which
// wasikv-bench calls once before timing, on the same API: on cq a callback
// method would bring gRPC's callback machinery into the measured server.
// The other Buckets methods are never called (on cq they would wait
// unanswered until their deadline).
class FloorServer {
 public:
  // Exits 1 if the server cannot start.
  FloorServer(Api api, const std::string& listen, int queue_threads) {
    grpc::EnableDefaultHealthCheckService(false);  // ours is the one registered
    grpc::ServerBuilder builder;
    builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port_);
    if (api == Api::kCallback) {
      builder.RegisterService(&callback_health_);
      builder.RegisterService(&callback_buckets_);
    } else {
      builder.RegisterService(&async_health_);
      builder.RegisterService(&async_buckets_);
      for (int i = 0; i < queue_threads; ++i) queues_.push_back(builder.AddCompletionQueue());
    }
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      std::fprintf(stderr, "%s: cannot listen on %s\n", kProgram, listen.c_str());
      std::exit(1);
    }
    for (const std::unique_ptr<grpc::ServerCompletionQueue>& queue : queues_) {
      grpc::ServerCompletionQueue* drained = queue.get();
      for (int i = 0; i < kCallsArmedPerQueue; ++i) {
        new UnaryCall<CheckMethod>(&async_health_, drained);
      }
      new UnaryCall<OpenBucketMethod>(&async_buckets_, drained);
      queue_threads_.emplace_back([drained] { Drain(drained); });
    }
  }

  FloorServer(const FloorServer&) = delete;
  FloorServer& operator=(const FloorServer&) = delete;

  // The server first, so every requested call comes back (ok false) and
  // every accepted one finishes while the queues are still drained; then
  // the queues, whose threads end when they are empty.
  ~FloorServer() {
    server_->Shutdown();
    for (const std::unique_ptr<grpc::ServerCompletionQueue>& queue : queues_) queue->Shutdown();
    for (std::thread& thread : queue_threads_) thread.join();
  }

  int port() const { return port_; }

 private:
  // Runs each event's call until the queue is shut down and empty, so that
  // every call has been deleted when it returns.
  static void Drain(grpc::ServerCompletionQueue* queue) {
    void* tag = nullptr;
    bool ok = false;
    while (queue->Next(&tag, &ok)) static_cast<QueuedCall*>(tag)->Proceed(ok);
  }

  int port_ = 0;
  CallbackHealthService callback_health_;
  CallbackBucketsService callback_buckets_;
  Health::AsyncService async_health_;
  v1::Buckets::AsyncService async_buckets_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::thread> queue_threads_;
};

int SelfCheck(Api api, int queue_threads) {
  FloorServer server(api, "127.0.0.1:0", queue_threads);
  const std::string target = "127.0.0.1:" + std::to_string(server.port());
  const std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  const auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(10); };

  // What wasikv-bench does first.
  grpc::ClientContext open_context;
  open_context.set_deadline(deadline());
  v1::OpenBucketRequest open_request;
  open_request.set_bucket("bench");
  v1::OpenBucketResponse open_response;
  const grpc::Status open_status =
      v1::Buckets::NewStub(channel)->OpenBucket(&open_context, open_request, &open_response);
  if (!open_status.ok() || !open_response.usable()) {
    std::fprintf(stderr, "%s: self-check OpenBucket: %s (code %d)\n", kProgram,
                 open_status.error_message().c_str(), static_cast<int>(open_status.error_code()));
    return 1;
  }

  const std::unique_ptr<Health::Stub> stub = Health::NewStub(channel);
  for (int i = 0; i < kSelfCheckCalls; ++i) {
    grpc::ClientContext context;
    context.set_deadline(deadline());
    HealthCheckRequest request;
    HealthCheckResponse response;
    const grpc::Status status = stub->Check(&context, request, &response);
    if (!status.ok() || response.status() != HealthCheckResponse::SERVING) {
      std::fprintf(stderr, "%s: self-check call %d: %s (code %d), health status %d\n", kProgram,
                   i + 1, status.error_message().c_str(), static_cast<int>(status.error_code()),
                   static_cast<int>(response.status()));
      return 1;
    }
  }
  std::printf("self-check ok: %d calls\n", kSelfCheckCalls);
  return 0;
}

int Main(int argc, char** argv) {
  bool have_api = false;
  Api api = Api::kCallback;
  std::string listen = "127.0.0.1:0";
  int queue_threads = 2;
  bool threads_given = false;
  bool self_check = false;
  // --self-check takes no value; split it off before SplitBenchFlags, which
  // expects one after every flag.
  std::vector<char*> valued_args;
  for (int i = 0; i < argc; ++i) {
    if (i > 0 && std::string(argv[i]) == "--self-check") {
      self_check = true;
    } else {
      valued_args.push_back(argv[i]);
    }
  }
  for (const bench::BenchFlag& flag : bench::SplitBenchFlags(
           static_cast<int>(valued_args.size()), valued_args.data(), kProgram, kUsage)) {
    if (flag.name == "--api") {
      if (flag.value == "callback") {
        api = Api::kCallback;
      } else if (flag.value == "cq") {
        api = Api::kCompletionQueue;
      } else {
        bench::ExitWithUsage(kProgram, kUsage, "--api must be callback or cq");
      }
      have_api = true;
    } else if (flag.name == "--listen") {
      listen = flag.value;
    } else if (flag.name == "--threads") {
      queue_threads = std::atoi(flag.value.c_str());
      if (queue_threads <= 0) bench::ExitWithUsage(kProgram, kUsage, "--threads must be > 0");
      threads_given = true;
    } else {
      bench::ExitWithUsage(kProgram, kUsage, "unknown flag " + flag.name);
    }
  }
  if (!have_api) bench::ExitWithUsage(kProgram, kUsage, "--api is required");
  if (api == Api::kCallback && threads_given) {
    std::fprintf(stderr, "%s: --threads is ignored with --api callback (gRPC owns its threads)\n",
                 kProgram);
  }

  if (self_check) return SelfCheck(api, queue_threads);

  // Blocked before any thread starts, so every thread inherits the mask and
  // the signals reach only the sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  FloorServer server(api, listen, queue_threads);
  std::printf("listening on 127.0.0.1:%d\n", server.port());
  std::fflush(stdout);
  int received = 0;
  sigwait(&stop_signals, &received);
  return 0;  // ~FloorServer shuts the server down
}

}  // namespace
}  // namespace wasikv

int main(int argc, char** argv) { return wasikv::Main(argc, argv); }
