// A full disk, end to end: the real wasikvd keeps its data on a small tmpfs of
// its own (disk_full_test.sh mounts it in a private mount namespace and names
// it in WASIKV_DISK_FULL_DIR), which the test fills with a file it can
// delete. Writes must then fail with RESOURCE_EXHAUSTED saying the disk is
// full, reads keep working and the writes-stopped gauge says so; once the
// filler is gone writes succeed again without a restart, and after a restart
// every acknowledged write is there and no refused one is.
//
// The one poll (writes coming back) says why where it is.
#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "wasikv/client.h"

namespace wasikv {
namespace {

using ::testing::HasSubstr;
using testing::ServerProcess;

// tmpfs's f_type (linux/magic.h).
constexpr int64_t kTmpfsMagic = 0x01021994;
// The disk is never bigger than this: the test must not fill a real disk.
constexpr uint64_t kMaxDiskBytes = 1ull << 30;
// Values large enough to fill the WAL's preallocated space in a few hundred
// writes.
constexpr size_t kValueBytes = 256 << 10;
constexpr int kMaxWritesUntilFull = 2000;
// RocksDB retries its recovery every 5 s once the space it needs is free.
constexpr auto kRecoveryWait = std::chrono::seconds(60);

std::string Message(const absl::Status& status) { return std::string(status.message()); }

std::string RandomValue(std::mt19937_64& random, size_t bytes) {
  std::string value(bytes, '\0');
  for (char& c : value) c = static_cast<char>('a' + random() % 26);
  return value;
}

// Writes `path` until the disk has no byte left; false if that failed for
// another reason.
bool FillDisk(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const std::string chunk(1 << 20, 'f');
  bool full = false;
  // Megabytes first, then pages, so not even a page is left free.
  for (size_t size : {chunk.size(), size_t{4096}, size_t{1}}) {
    for (;;) {
      const ssize_t n = write(fd, chunk.data(), size);
      if (n < 0 && errno == ENOSPC) {
        full = true;
        break;
      }
      if (n <= 0) break;
    }
  }
  fsync(fd);
  close(fd);
  return full;
}

// GET http://`admin_address`/metrics with curl.
std::string ScrapeMetrics(const std::string& admin_address) {
  return testing::RunCommand({WASIKV_CURL, "-sf", "http://" + admin_address + "/metrics"}).output;
}

bool HasMetricLine(const std::string& metrics, const std::string& line) {
  return metrics.find("\n" + line + "\n") != std::string::npos;
}

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("WASIKV_DISK_FULL_DIR");
    if (dir == nullptr) GTEST_SKIP() << "run through disk_full_test.sh, which mounts its disk";
    struct statfs disk = {};
    ASSERT_EQ(statfs(dir, &disk), 0) << dir;
    ASSERT_EQ(disk.f_type, kTmpfsMagic) << dir << " is not a tmpfs; refusing to fill it";
    ASSERT_LE(static_cast<uint64_t>(disk.f_blocks) * disk.f_bsize, kMaxDiskBytes)
        << dir << " is too big to fill";
    // Each test its own directory on the disk, removed with what it holds.
    std::string pattern = std::string(dir) + "/test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    testing::KillOnCrash(0);
    client_.reset();
    server_.reset();
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  std::string data_dir() const { return dir_ + "/data"; }
  std::string filler() const { return dir_ + "/filler"; }

  void Start() {
    auto server = ServerProcess::Start(data_dir(), {"--sync-writes=true"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    testing::KillOnCrash(server_->pid());
    ClientOptions options;
    options.endpoint = server_->address();
    // One attempt per call: every outcome below is the server's answer.
    options.retry.max_attempts = 1;
    options.default_deadline = std::chrono::seconds(20);
    auto client = Client::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }
  void Stop() {
    client_.reset();
    ASSERT_EQ(server_->Stop(), 0);
    server_.reset();
  }

  // Sets a new key; records it as acknowledged or refused.
  absl::Status Write(const std::string& value) {
    const std::string key = "k" + std::to_string(next_key_++);
    auto set = client_->Set("disk", key, value);
    if (set.ok()) {
      acknowledged_[key] = VersionedValue{value, set->revision};
      return absl::OkStatus();
    }
    refused_.push_back(key);
    return set.status();
  }

  // Every acknowledged write reads back with its version; no refused one
  // is there.
  void ExpectAcknowledgedWritesOnly() {
    for (const auto& [key, expected] : acknowledged_) {
      auto got = client_->Get("disk", key);
      ASSERT_TRUE(got.ok()) << key << ": " << got.status();
      ASSERT_TRUE(got->value.has_value()) << "acknowledged write of " << key << " is lost";
      EXPECT_EQ(got->value->version, expected.version) << key;
      EXPECT_TRUE(got->value->value == expected.value) << key << " has another value";
    }
    for (const std::string& key : refused_) {
      auto got = client_->Get("disk", key);
      ASSERT_TRUE(got.ok()) << key << ": " << got.status();
      EXPECT_FALSE(got->value.has_value()) << "refused write of " << key << " was applied";
    }
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
  std::map<std::string, VersionedValue> acknowledged_;
  std::vector<std::string> refused_;
  int next_key_ = 0;
};

TEST_F(DiskFullTest, WritesFailClearlyReadsWorkAndWritesResumeOnceSpaceIsFreed) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::mt19937_64 random(11);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Write(RandomValue(random, 1000)).ok());

  std::system(("gdb -p " + std::to_string(server_->pid()) +
               " -batch -ex 'handle SIGPIPE nostop noprint' -ex continue -ex 'bt' > "
               "/tmp/crash_gdb.txt 2>&1 &")
                  .c_str());
  std::this_thread::sleep_for(std::chrono::seconds(3));
  ASSERT_TRUE(FillDisk(filler())) << "could not fill " << dir_;
  // The WAL has space preallocated, and the memtables take a while to need
  // a flush: writes go on for a while on a full disk, then fail.
  absl::Status refused;
  int writes_on_full_disk = 0;
  for (; writes_on_full_disk < kMaxWritesUntilFull; ++writes_on_full_disk) {
    refused = Write(RandomValue(random, kValueBytes));
    if (!refused.ok()) break;
  }
  ASSERT_FALSE(refused.ok()) << kMaxWritesUntilFull << " writes succeeded on a full disk";
  std::printf("writes acknowledged on the full disk before the first refusal: %d\n",
              writes_on_full_disk);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_THAT(Message(refused), HasSubstr("disk is full")) << refused;

  // Every kind of write is refused the same way.
  auto set = client_->Set("disk", "refused-set", "v");
  EXPECT_EQ(set.status().code(), absl::StatusCode::kResourceExhausted) << set.status();
  refused_.push_back("refused-set");
  auto incremented = client_->Increment("disk", "refused-counter", 1);
  EXPECT_EQ(incremented.status().code(), absl::StatusCode::kResourceExhausted)
      << incremented.status();
  refused_.push_back("refused-counter");
  const std::vector<KeyValue> batch = {{"refused-a", "a"}, {"refused-b", "b"}};
  auto batched = client_->SetMany("disk", batch);
  EXPECT_EQ(batched.status().code(), absl::StatusCode::kResourceExhausted) << batched.status();
  refused_.insert(refused_.end(), {"refused-a", "refused-b"});

  // Reads keep working.
  ASSERT_NO_FATAL_FAILURE(ExpectAcknowledgedWritesOnly());
  auto page = client_->ListKeys("disk", {});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->keys.size(), acknowledged_.size());
  EXPECT_TRUE(
      HasMetricLine(ScrapeMetrics(server_->admin_address()), "wasikv_rocksdb_writes_stopped 1"));

  // Space comes back: writes succeed again, without a restart. RocksDB's
  // recovery polls the free space every 5 s, so this polls too, bounded.
  ASSERT_EQ(std::remove(filler().c_str()), 0);
  const auto freed = std::chrono::steady_clock::now();
  absl::Status probe;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    probe = Write("after the disk was full");
  } while (!probe.ok() && std::chrono::steady_clock::now() - freed < kRecoveryWait);
  ASSERT_TRUE(probe.ok()) << "writes did not resume " << kRecoveryWait.count()
                          << " s after space was freed: " << probe;
  std::printf("writes resumed %lld ms after space was freed\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - freed)
                                         .count()));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Write(RandomValue(random, 1000)).ok());
  EXPECT_TRUE(
      HasMetricLine(ScrapeMetrics(server_->admin_address()), "wasikv_rocksdb_writes_stopped 0"));
  ASSERT_NO_FATAL_FAILURE(ExpectAcknowledgedWritesOnly());

  // And all of it survives a restart.
  ASSERT_NO_FATAL_FAILURE(Stop());
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(ExpectAcknowledgedWritesOnly());
}

// Stopping while writes are stopped: nothing to flush, but everything
// acknowledged is in the synced WAL, so a restart once there is space has it.
TEST_F(DiskFullTest, StopWhileTheDiskIsFullKeepsEveryAcknowledgedWrite) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::mt19937_64 random(12);
  ASSERT_TRUE(FillDisk(filler())) << "could not fill " << dir_;
  absl::Status refused;
  for (int i = 0; i < kMaxWritesUntilFull && refused.ok(); ++i) {
    refused = Write(RandomValue(random, kValueBytes));
  }
  ASSERT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;

  client_.reset();
  const std::optional<int> code = server_->Stop();
  server_.reset();
  std::printf("exit code of a stop on a full disk: %d\n", code.value_or(-1));
  EXPECT_EQ(code, 1) << "a stop on a full disk should fail cleanly";
  ASSERT_EQ(std::remove(filler().c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(ExpectAcknowledgedWritesOnly());
}

}  // namespace
}  // namespace wasikv
