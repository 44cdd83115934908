// Bearer-token authentication and per-bucket rights: the real wasikvd with an
// --auth-file, real gRPC on loopback.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "openssl/sha.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "wasikv/v1/admin.grpc.pb.h"
#include "wasikv/v1/kv.grpc.pb.h"
#include "wasikv/v1/watch.grpc.pb.h"

namespace wasikv {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ServerProcess;
using testing::TempDir;

constexpr auto kCallTimeout = std::chrono::seconds(20);

std::string Sha256Hex(const std::string& token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  std::string hex;
  for (unsigned char byte : digest) hex += fmt::format("{:02x}", byte);
  return hex;
}

void WriteFile(const std::string& path, const std::string& text) {
  // Written beside and renamed over, as Kubernetes swaps a Secret's files.
  const std::string temporary = path + ".new";
  std::ofstream(temporary) << text;
  std::filesystem::rename(temporary, path);
}

const std::string kReader = "reader-secret-token-1";
const std::string kWriter = "writer-secret-token-2";
const std::string kAdmin = "admin-secret-token-3";

std::string Rules(const std::string& reader_token) {
  return "# name credential rights\n"
         "reader sha256:" +
         Sha256Hex(reader_token) + " read:app-*\n" + "writer sha256:" + Sha256Hex(kWriter) +
         "  readwrite:app-*   read:shared\n" + "ops sha256:" + Sha256Hex(kAdmin) +
         " admin readwrite:*\n";
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_file_ = dir_.Join("auth");
    WriteFile(auth_file_, Rules(kReader));
    auto server = ServerProcess::Start(dir_.Join("data"), {"--auth-file=" + auth_file_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = server_->NewChannel();
    kv_ = v1::KV::NewStub(channel_);
    buckets_ = v1::Buckets::NewStub(channel_);
  }

  // A context carrying `token` (none if empty).
  static std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    return context;
  }

  grpc::Status Set(const std::string& token, const std::string& bucket, const std::string& key) {
    v1::SetRequest request;
    request.set_bucket(bucket);
    request.set_key(key);
    request.set_value("v");
    v1::SetResponse response;
    return kv_->Set(As(token).get(), request, &response);
  }

  grpc::Status Get(const std::string& token, const std::string& bucket) {
    v1::GetRequest request;
    request.set_bucket(bucket);
    request.set_key("k");
    v1::GetResponse response;
    return kv_->Get(As(token).get(), request, &response);
  }

  grpc::Status CreateBucket(const std::string& token, const std::string& bucket) {
    v1::CreateBucketRequest request;
    request.set_bucket(bucket);
    v1::CreateBucketResponse response;
    return buckets_->CreateBucket(As(token).get(), request, &response);
  }

  std::vector<std::string> ListBuckets(const std::string& token) {
    v1::ListBucketsResponse response;
    grpc::Status status = buckets_->ListBuckets(As(token).get(), {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> names;
    for (const auto& bucket : response.buckets()) names.push_back(bucket.name());
    return names;
  }

  TempDir dir_;
  std::string auth_file_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::KV::Stub> kv_;
  std::unique_ptr<v1::Buckets::Stub> buckets_;
};

TEST_F(AuthTest, NoOrWrongTokenIsUnauthenticatedAndNeverEchoed) {
  for (const std::string& token : {std::string(), std::string("not-a-known-token")}) {
    SCOPED_TRACE(token);
    grpc::Status status = Get(token, "app-1");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(status.error_message(), Not(HasSubstr("not-a-known-token")));
    EXPECT_EQ(Set(token, "app-1", "k").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  // Not a bearer scheme.
  auto context = As("");
  context->AddMetadata("authorization", "Basic dXNlcjpwYXNz");
  v1::GetRequest request;
  request.set_bucket("app-1");
  request.set_key("k");
  v1::GetResponse response;
  grpc::Status status = kv_->Get(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("Bearer"));
  // The scheme is case-insensitive.
  auto lower = As("");
  lower->AddMetadata("authorization", "bearer " + kReader);
  EXPECT_TRUE(kv_->Get(lower.get(), request, &response).ok());
}

TEST_F(AuthTest, HealthNeedsNoToken) {
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  ASSERT_TRUE(stub->Check(As("").get(), request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(AuthTest, RightsArePerBucketPatternAndNamedWhenMissing) {
  EXPECT_TRUE(Set(kWriter, "app-1", "k").ok());
  EXPECT_TRUE(Get(kReader, "app-1").ok());
  EXPECT_TRUE(Get(kWriter, "shared").ok());

  grpc::Status status = Set(kReader, "app-1", "k");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("'reader' may not write bucket 'app-1'"));
  EXPECT_THAT(status.error_message(), HasSubstr("read:app-*"));

  EXPECT_EQ(Get(kReader, "other").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Set(kWriter, "shared", "k").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Set(kWriter, "other", "k").error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // A refused write wrote nothing; the admin may read everything.
  v1::GetRequest request;
  request.set_bucket("other");
  request.set_key("k");
  v1::GetResponse response;
  ASSERT_TRUE(kv_->Get(As(kAdmin).get(), request, &response).ok());
  EXPECT_FALSE(response.found());
}

TEST_F(AuthTest, BucketAdministrationAndBackupNeedTheAdminRight) {
  grpc::Status status = CreateBucket(kWriter, "app-new");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("admin right"));
  EXPECT_TRUE(CreateBucket(kAdmin, "app-new").ok());

  v1::DeleteBucketRequest remove;
  remove.set_bucket("app-new");
  v1::DeleteBucketResponse removed;
  EXPECT_EQ(buckets_->DeleteBucket(As(kWriter).get(), remove, &removed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(buckets_->DeleteBucket(As(kAdmin).get(), remove, &removed).ok());

  auto admin = v1::Admin::NewStub(channel_);
  v1::ListBackupsRequest list;
  v1::ListBackupsResponse backups;
  EXPECT_EQ(admin->ListBackups(As(kWriter).get(), list, &backups).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Past the rights check, this server has no --backup-dir.
  EXPECT_NE(admin->ListBackups(As(kAdmin).get(), list, &backups).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AuthTest, ListBucketsShowsOnlyReadableBuckets) {
  for (const char* bucket : {"app-1", "app-2", "secret", "shared"}) {
    ASSERT_TRUE(CreateBucket(kAdmin, bucket).ok());
  }
  EXPECT_THAT(ListBuckets(kReader), ::testing::ElementsAre("app-1", "app-2"));
  EXPECT_THAT(ListBuckets(kWriter), ::testing::ElementsAre("app-1", "app-2", "shared"));
  EXPECT_THAT(ListBuckets(kAdmin), ::testing::ElementsAre("app-1", "app-2", "secret", "shared"));
}

TEST_F(AuthTest, WatchNeedsRead) {
  auto watch = v1::Watch::NewStub(channel_);
  v1::WatchRequest request;
  request.set_bucket("other");
  auto refused_context = As(kReader);
  auto refused = watch->Watch(refused_context.get(), request);
  v1::WatchResponse event;
  EXPECT_FALSE(refused->Read(&event));
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // A reader's watch sees the writer's change. It replays from revision 1,
  // so the Set is delivered however the stream's start races with it.
  request.set_bucket("app-1");
  request.set_start_revision(1);
  auto context = As(kReader);
  auto stream = watch->Watch(context.get(), request);
  ASSERT_TRUE(Set(kWriter, "app-1", "watched").ok());
  bool seen = false;
  while (!seen && stream->Read(&event)) {
    for (const auto& change : event.events()) seen = seen || change.key() == "watched";
  }
  EXPECT_TRUE(seen);
  context->TryCancel();
}

TEST_F(AuthTest, ChangedFileTakesEffectWithoutRestart) {
  const std::string rotated = "reader-rotated-token-4";
  ASSERT_EQ(Get(rotated, "app-1").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  WriteFile(auth_file_, Rules(rotated));
  // The file is checked every 2 s: poll, bounded.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!Get(rotated, "app-1").ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(Get(rotated, "app-1").ok());
  EXPECT_EQ(Get(kReader, "app-1").error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthTest, BrokenFileOnSighupKeepsTheRulesInForce) {
  WriteFile(auth_file_, "reader sha256:nothex read:app-*\n");
  ASSERT_EQ(kill(server_->pid(), SIGHUP), 0);
  // SIGHUP no longer ends the process, and the rules stay: calls keep
  // passing while the broken file is in place.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Get(kReader, "app-1").ok());
  EXPECT_EQ(server_->Stop(), 0);
}

TEST(AuthFile, BadFileStopsStartupNamingTheLineNeverTheCredential) {
  TempDir dir;
  const std::string path = dir.Join("auth");
  const struct {
    std::string text;
    std::string says;
  } cases[] = {
      {"app sha256:" + kReader + " read:x\n", "line 1: a token credential is sha256:"},
      {"# ok\napp sha256:" + Sha256Hex(kReader) + " reed:x\n", "line 2: unknown right 'reed:x'"},
      {"app " + kReader + " read:x\n", "line 1: the credential must be"},
      {"app sha256:" + Sha256Hex(kReader) + "\n", "line 1: expected a name, a credential"},
      {"app sha256:" + Sha256Hex(kReader) + " read:a/b\n", "bucket pattern 'a/b'"},
  };
  for (const auto& bad : cases) {
    SCOPED_TRACE(bad.says);
    WriteFile(path, bad.text);
    testing::CommandResult result =
        testing::RunWasikvd({"--data-dir=" + dir.Join("data"), "--listen=127.0.0.1:0",
                             "--admin-listen=off", "--auth-file=" + path});
    EXPECT_NE(result.exit_code, 0);
    EXPECT_THAT(result.output, HasSubstr(bad.says));
    EXPECT_THAT(result.output, HasSubstr(path));
    EXPECT_THAT(result.output, Not(HasSubstr(kReader)));
  }
  testing::CommandResult missing =
      testing::RunWasikvd({"--data-dir=" + dir.Join("data"), "--listen=127.0.0.1:0",
                           "--admin-listen=off", "--auth-file=" + dir.Join("absent")});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.output, HasSubstr("cannot be read"));
}

}  // namespace
}  // namespace wasikv
