// SIGTERM under concurrent writers, against the real wasikvd, cycle after
// cycle on the same data directory. The contract (kv.proto, README):
//   - a call refused or cut off by shutdown is UNAVAILABLE, with a message
//     saying the server is shutting down, never CANCELLED: UNAVAILABLE is what
//     tells a client it may retry elsewhere;
//   - a write answered UNAVAILABLE was not applied, and one answered OK was,
//     at the version it was told;
//   - shutdown ends once in-flight calls are done: idle connections, a watch
//     stream and the health service do not hold it to --shutdown-timeout.
// The kill moments are random (WASIKV_SHUTDOWN_SEED reproduces a run);
// everything else waits on the calls and the process.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "wasikv/v1/kv.grpc.pb.h"
#include "wasikv/v1/watch.grpc.pb.h"

namespace wasikv {
namespace {

using ::testing::HasSubstr;
using testing::ServerProcess;
using testing::TempDir;

constexpr int kCycles = 10;
constexpr int kWriters = 6;
constexpr char kBucket[] = "stop";
// Long, so that a shutdown that waits for it is unmistakable; the stop must
// take a small part of it.
constexpr auto kShutdownTimeout = std::chrono::seconds(60);
constexpr auto kStopWithin = std::chrono::seconds(15);
constexpr auto kCallDeadline = std::chrono::seconds(10);

std::chrono::system_clock::time_point CallDeadline() {
  return std::chrono::system_clock::now() + kCallDeadline;
}

std::shared_ptr<grpc::Channel> OwnChannel(const std::string& address, int id) {
  grpc::ChannelArguments args;
  args.SetInt("wasikv.shutdown_test_channel", id);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// One write's key, value and what the server answered.
struct Write {
  std::string key;
  std::string value;
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message;
  uint64_t version = 0;
};

// Writes unique keys with Set (and some with SetMany) until a call fails
// with UNAVAILABLE after `stopping` is set; records every outcome.
void WriteUntilRefused(const std::string& address, int writer, int cycle,
                       const std::atomic<bool>& stopping, std::vector<Write>* writes) {
  auto kv = v1::KV::NewStub(OwnChannel(address, writer));
  for (int i = 0;; ++i) {
    const std::string key =
        "c" + std::to_string(cycle) + "-w" + std::to_string(writer) + "-" + std::to_string(i);
    grpc::ClientContext context;
    context.set_deadline(CallDeadline());
    Write write;
    write.key = key;
    write.value = std::to_string(i);
    grpc::Status status;
    if (i % 4 == 3) {
      v1::SetManyRequest request;
      request.set_bucket(kBucket);
      auto* entry = request.add_entries();
      entry->set_key(key);
      entry->set_value(write.value);
      v1::SetManyResponse response;
      status = kv->SetMany(&context, request, &response);
      write.version = response.revision();
    } else {
      v1::SetRequest request;
      request.set_bucket(kBucket);
      request.set_key(key);
      request.set_value(write.value);
      v1::SetResponse response;
      status = kv->Set(&context, request, &response);
      write.version = response.revision();
    }
    write.code = status.error_code();
    write.message = status.error_message();
    writes->push_back(write);
    if (!status.ok() && (stopping.load() || write.code != grpc::StatusCode::UNAVAILABLE)) return;
  }
}

uint64_t Seed() {
  if (const char* seed = std::getenv("WASIKV_SHUTDOWN_SEED"))
    return std::strtoull(seed, nullptr, 10);
  return std::random_device()();
}

TEST(ShutdownTest, InFlightCallsAreOkOrUnavailableAndTheStopIsPrompt) {
  const uint64_t seed = Seed();
  std::printf("WASIKV_SHUTDOWN_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> run_millis(20, 400);

  TempDir dir;
  const std::string data_dir = dir.path() + "/data";
  const std::vector<std::string> flags = {
      "--sync-writes=true", "--shutdown-timeout=" + std::to_string(kShutdownTimeout.count()) + "s"};
  std::vector<Write> all_writes;
  int refused_by_shutdown = 0;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    auto started = ServerProcess::Start(data_dir, flags);
    ASSERT_TRUE(started.ok()) << started.status();
    std::unique_ptr<ServerProcess> server = *std::move(started);
    testing::KillOnCrash(server->pid());

    // What must not hold the stop: a connected channel with no call, an open
    // watch stream and a health watch (what a Kubernetes probe or a load
    // balancer keeps open).
    auto idle = OwnChannel(server->address(), 100);
    ASSERT_TRUE(idle->WaitForConnected(CallDeadline()));
    auto watch_channel = OwnChannel(server->address(), 101);
    grpc::ClientContext watch_context;
    v1::WatchRequest watch_request;
    watch_request.set_bucket(kBucket);
    auto watch = v1::Watch::NewStub(watch_channel)->Watch(&watch_context, watch_request);
    grpc::ClientContext health_context;
    grpc::health::v1::HealthCheckRequest health_request;
    auto health =
        grpc::health::v1::Health::NewStub(watch_channel)->Watch(&health_context, health_request);
    grpc::health::v1::HealthCheckResponse serving;
    ASSERT_TRUE(health->Read(&serving));
    ASSERT_EQ(serving.status(), grpc::health::v1::HealthCheckResponse::SERVING);
    // Both streams are read to their end, as a well-behaved watcher does.
    grpc::Status watch_end;
    std::thread watch_reader([&] {
      v1::WatchResponse event;
      while (watch->Read(&event)) {
      }
      watch_end = watch->Finish();
    });
    grpc::Status health_end;
    grpc::health::v1::HealthCheckResponse last_health;
    std::thread health_reader([&] {
      while (health->Read(&last_health)) {
      }
      health_end = health->Finish();
    });

    std::atomic<bool> stopping{false};
    std::vector<std::vector<Write>> writes(kWriters);
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back(WriteUntilRefused, server->address(), w, cycle, std::cref(stopping),
                           &writes[w]);
    }
    // The random moment of the stop is the point of the test.
    std::this_thread::sleep_for(std::chrono::milliseconds(run_millis(random)));
    stopping = true;
    const auto stop_began = std::chrono::steady_clock::now();
    const std::optional<int> exit_code = server->StopWith(SIGTERM, kStopWithin);
    const auto stop_took = std::chrono::steady_clock::now() - stop_began;
    for (auto& t : writers) t.join();
    ASSERT_TRUE(exit_code.has_value())
        << "SIGTERM did not stop the server within " << kStopWithin.count() << " s";
    EXPECT_EQ(*exit_code, 0);
    std::printf("cycle %d: stopped in %.0f ms\n", cycle,
                std::chrono::duration<double, std::milli>(stop_took).count());
    watch_reader.join();
    health_reader.join();
    EXPECT_EQ(watch_end.error_code(), grpc::StatusCode::UNAVAILABLE) << watch_end.error_message();
    EXPECT_THAT(watch_end.error_message(), HasSubstr("shutting down"));
    EXPECT_EQ(last_health.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    EXPECT_EQ(health_end.error_code(), grpc::StatusCode::UNAVAILABLE) << health_end.error_message();

    for (const auto& per_writer : writes) {
      for (const Write& write : per_writer) {
        if (write.code == grpc::StatusCode::OK) {
          EXPECT_GT(write.version, 0u) << write.key;
        } else {
          EXPECT_EQ(write.code, grpc::StatusCode::UNAVAILABLE)
              << write.key << ": " << write.message;
          ++refused_by_shutdown;
        }
        all_writes.push_back(write);
      }
    }
  }
  EXPECT_GT(refused_by_shutdown, 0) << "no write met the shutdown";

  // Every OK write is there at its version; every UNAVAILABLE one is not.
  auto started = ServerProcess::Start(data_dir, flags);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  auto kv = v1::KV::NewStub(server->NewChannel());
  int acknowledged = 0;
  for (const Write& write : all_writes) {
    grpc::ClientContext context;
    context.set_deadline(CallDeadline());
    v1::GetRequest request;
    request.set_bucket(kBucket);
    request.set_key(write.key);
    v1::GetResponse response;
    ASSERT_TRUE(kv->Get(&context, request, &response).ok());
    if (write.code == grpc::StatusCode::OK) {
      ++acknowledged;
      EXPECT_TRUE(response.found()) << write.key << " was acknowledged and is lost";
      EXPECT_EQ(response.version(), write.version) << write.key;
      EXPECT_EQ(response.value(), write.value) << write.key;
    } else {
      EXPECT_FALSE(response.found()) << write.key << " was answered " << write.code << " ("
                                     << write.message << ") and yet applied";
    }
  }
  std::printf("%d writes acknowledged, %d refused by shutdown, over %d stops\n", acknowledged,
              refused_by_shutdown, kCycles);
  EXPECT_EQ(server->Stop(), 0);
}

// The refusal says why, so a client log explains the retry.
TEST(ShutdownTest, RefusalMessageSaysTheServerIsShuttingDown) {
  TempDir dir;
  auto started = ServerProcess::Start(dir.path() + "/data", {"--sync-writes=true"});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  std::atomic<bool> stopping{false};
  std::vector<Write> writes;
  std::thread writer(WriteUntilRefused, server->address(), 0, 0, std::cref(stopping), &writes);
  // Wait for the writer to be writing: its first acknowledged write.
  auto kv = v1::KV::NewStub(server->NewChannel());
  for (;;) {
    grpc::ClientContext context;
    context.set_deadline(CallDeadline());
    v1::GetRequest request;
    request.set_bucket(kBucket);
    request.set_key("c0-w0-0");
    v1::GetResponse response;
    ASSERT_TRUE(kv->Get(&context, request, &response).ok());
    if (response.found()) break;
  }
  stopping = true;
  ASSERT_EQ(server->StopWith(SIGTERM, kStopWithin), 0);
  writer.join();
  ASSERT_FALSE(writes.empty());
  const Write& last = writes.back();
  EXPECT_EQ(last.code, grpc::StatusCode::UNAVAILABLE) << last.message;
  EXPECT_THAT(last.message, HasSubstr("shutting down"));
}

}  // namespace
}  // namespace wasikv
