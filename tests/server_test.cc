// Integration tests: the real wasikvd binary, real gRPC on loopback, real
// RocksDB in a per-test directory.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/server_config.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "wasikv/v1/kv.grpc.pb.h"

namespace wasikv {
namespace {

using ::testing::HasSubstr;
using testing::ServerProcess;
using testing::TempDir;

constexpr auto kCallTimeout = std::chrono::seconds(20);

// A server in its own directory plus stubs for both services.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  void StartServer(const std::vector<std::string>& args = {}) {
    auto server = ServerProcess::Start(dir_.Join("data"), args);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = server_->NewChannel();
    kv_ = v1::KV::NewStub(channel_);
    buckets_ = v1::Buckets::NewStub(channel_);
  }

  void RestartServer(const std::vector<std::string>& args = {}) {
    kv_.reset();
    buckets_.reset();
    channel_.reset();
    ASSERT_EQ(server_->Stop(), 0);
    StartServer(args);
  }

  // Calls `method` on `stub` with a deadline; returns the status.
  template <typename Stub, typename Request, typename Response>
  grpc::Status Call(Stub* stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    return (stub->*method)(&context, request, response);
  }

  uint64_t Set(const std::string& bucket, const std::string& key, const std::string& value) {
    v1::SetRequest request;
    request.set_bucket(bucket);
    request.set_key(key);
    request.set_value(value);
    v1::SetResponse response;
    grpc::Status status = Call(kv_.get(), &v1::KV::Stub::Set, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.revision();
  }

  v1::GetResponse Get(const std::string& bucket, const std::string& key) {
    v1::GetRequest request;
    request.set_bucket(bucket);
    request.set_key(key);
    v1::GetResponse response;
    grpc::Status status = Call(kv_.get(), &v1::KV::Stub::Get, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status Increment(const std::string& key, int64_t delta, v1::IncrementResponse* response) {
    v1::IncrementRequest request;
    request.set_bucket("counters");
    request.set_key(key);
    request.set_delta(delta);
    return Call(kv_.get(), &v1::KV::Stub::Increment, request, response);
  }

  // Calls `method` ("/wasikv.v1.KV/Set") with `payload` as the request's
  // bytes on the wire, whatever they are.
  grpc::Status RawCall(const std::string& method, const std::string& payload,
                       grpc::ByteBuffer* reply = nullptr) {
    grpc::GenericStub stub(channel_);
    grpc::Slice slice(payload);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer ignored;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, reply ? reply : &ignored,
                   [&](grpc::Status status) { done.set_value(std::move(status)); });
    return done.get_future().get();
  }

  // The server still answers after whatever a test sent it.
  void ExpectServing() {
    Set("alive", "probe", "yes");
    EXPECT_EQ(Get("alive", "probe").value(), "yes");
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::KV::Stub> kv_;
  std::unique_ptr<v1::Buckets::Stub> buckets_;
};

TEST_F(ServerTest, SetGetOverwriteDeleteRoundTrip) {
  const uint64_t first = Set("b", "k", "v1");
  v1::GetResponse got = Get("b", "k");
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.value(), "v1");
  EXPECT_EQ(got.version(), first);
  EXPECT_GE(got.revision(), first);

  const uint64_t second = Set("b", "k", "v2");
  EXPECT_GT(second, first);
  EXPECT_EQ(Get("b", "k").value(), "v2");

  v1::DeleteRequest del;
  del.set_bucket("b");
  del.set_key("k");
  v1::DeleteResponse deleted;
  ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::Delete, del, &deleted).ok());
  EXPECT_TRUE(deleted.deleted());
  EXPECT_GT(deleted.revision(), second);
  EXPECT_FALSE(Get("b", "k").found());

  // Deleting a missing key succeeds, twice, and writes nothing.
  for (int i = 0; i < 2; ++i) {
    v1::DeleteResponse again;
    ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::Delete, del, &again).ok());
    EXPECT_FALSE(again.deleted());
    EXPECT_EQ(again.revision(), deleted.revision());
  }
}

TEST_F(ServerTest, MissingKeyIsDataNotError) {
  v1::GetResponse got = Get("b", "nothing-here");
  EXPECT_FALSE(got.found());
  EXPECT_TRUE(got.value().empty());

  v1::ExistsRequest request;
  request.set_bucket("b");
  request.set_key("nothing-here");
  v1::ExistsResponse exists;
  ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::Exists, request, &exists).ok());
  EXPECT_FALSE(exists.exists());

  const uint64_t revision = Set("b", "nothing-here", "");
  ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::Exists, request, &exists).ok());
  EXPECT_TRUE(exists.exists());
  EXPECT_EQ(exists.version(), revision);
}

TEST_F(ServerTest, ListKeysPagesThroughPrefixExactlyOnce) {
  for (int i = 0; i < 25; ++i) Set("b", "user/" + std::to_string(100 + i), "x");
  Set("b", "other", "x");
  Set("bb", "user/999", "x");  // another bucket whose name extends "b"

  std::vector<std::string> seen;
  v1::ListKeysRequest request;
  request.set_bucket("b");
  request.set_prefix("user/");
  request.set_limit(10);
  int pages = 0;
  do {
    v1::ListKeysResponse page;
    ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::ListKeys, request, &page).ok());
    seen.insert(seen.end(), page.keys().begin(), page.keys().end());
    // Writes between pages must not duplicate or drop keys that stay.
    Set("b", "user/1" + std::to_string(pages) + "5-new", "x");
    request.set_cursor(page.next_cursor());
    ++pages;
  } while (!request.cursor().empty() && pages < 100);

  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a key was listed twice";
  for (int i = 0; i < 25; ++i) EXPECT_TRUE(unique.contains("user/" + std::to_string(100 + i)));
  EXPECT_FALSE(unique.contains("other"));
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST_F(ServerTest, IncrementIsDecimalTextAndRefusesBadValues) {
  v1::IncrementResponse response;
  ASSERT_TRUE(Increment("c", 10, &response).ok());
  EXPECT_EQ(response.value(), 10);
  ASSERT_TRUE(Increment("c", -15, &response).ok());
  EXPECT_EQ(response.value(), -5);
  EXPECT_EQ(Get("counters", "c").value(), "-5");

  Set("counters", "text", "abc");
  grpc::Status status = Increment("text", 1, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("not a decimal integer"));
  EXPECT_EQ(Get("counters", "text").value(), "abc");

  Set("counters", "max", "9223372036854775807");
  status = Increment("max", 1, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(Get("counters", "max").value(), "9223372036854775807");

  Set("counters", "u64", "18446744073709551615");
  EXPECT_EQ(Increment("u64", 1, &response).error_code(), grpc::StatusCode::OUT_OF_RANGE);
}

TEST_F(ServerTest, CompareAndSwapByValueAbsenceAndVersion) {
  v1::CompareAndSwapRequest request;
  request.set_bucket("b");
  request.set_key("k");
  request.set_expect_absent(true);
  request.set_new_value("one");
  v1::CompareAndSwapResponse response;
  ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::CompareAndSwap, request, &response).ok());
  EXPECT_TRUE(response.swapped());
  const uint64_t version = response.revision();

  // Absent again fails and reports what is there.
  ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::CompareAndSwap, request, &response).ok());
  EXPECT_FALSE(response.swapped());
  EXPECT_TRUE(response.found());
  EXPECT_EQ(response.current_value(), "one");
  EXPECT_EQ(response.current_version(), version);

  request.set_expected_value("one");
  request.set_new_value("two");
  ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::CompareAndSwap, request, &response).ok());
  EXPECT_TRUE(response.swapped());

  request.set_expected_version(version);  // stale now
  request.set_new_value("three");
  ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::CompareAndSwap, request, &response).ok());
  EXPECT_FALSE(response.swapped());
  EXPECT_EQ(response.current_value(), "two");

  request.set_expected_version(response.current_version());
  ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::CompareAndSwap, request, &response).ok());
  EXPECT_TRUE(response.swapped());
  EXPECT_EQ(Get("b", "k").value(), "three");
}

TEST_F(ServerTest, BatchesApplyAtOneRevision) {
  v1::SetManyRequest set_many;
  set_many.set_bucket("b");
  for (const char* key : {"a1", "b1", "c1"}) {
    v1::KeyValue* entry = set_many.add_entries();
    entry->set_key(key);
    entry->set_value(std::string("v-") + key);
  }
  v1::SetManyResponse set_response;
  ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::SetMany, set_many, &set_response).ok());

  v1::DeleteManyRequest delete_many;
  delete_many.set_bucket("b");
  delete_many.add_keys("a1");
  delete_many.add_keys("c1");
  delete_many.add_keys("never-existed");
  v1::DeleteManyResponse delete_response;
  ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::DeleteMany, delete_many, &delete_response).ok());
  EXPECT_EQ(delete_response.deleted(), 2u);

  v1::GetManyRequest get_many;
  get_many.set_bucket("b");
  for (const char* key : {"a1", "b1", "c1"}) get_many.add_keys(key);
  v1::GetManyResponse got;
  ASSERT_TRUE(Call(kv_.get(), &v1::KV::Stub::GetMany, get_many, &got).ok());
  ASSERT_EQ(got.entries_size(), 3);
  EXPECT_FALSE(got.entries(0).found());
  EXPECT_TRUE(got.entries(1).found());
  EXPECT_EQ(got.entries(1).key(), "b1");
  EXPECT_EQ(got.entries(1).value(), "v-b1");
  EXPECT_EQ(got.entries(1).version(), set_response.revision());
  EXPECT_FALSE(got.entries(2).found());
  EXPECT_EQ(got.revision(), delete_response.revision());
}

TEST_F(ServerTest, BucketsAutoCreateOnFirstWrite) {
  v1::OpenBucketRequest open;
  open.set_bucket("fresh");
  v1::OpenBucketResponse opened;
  ASSERT_TRUE(Call(buckets_.get(), &v1::Buckets::Stub::OpenBucket, open, &opened).ok());
  EXPECT_FALSE(opened.exists());
  EXPECT_TRUE(opened.usable());

  Set("fresh", "k", "v");
  ASSERT_TRUE(Call(buckets_.get(), &v1::Buckets::Stub::OpenBucket, open, &opened).ok());
  EXPECT_TRUE(opened.exists());
  EXPECT_GT(opened.create_revision(), 0u);

  v1::ListBucketsResponse list;
  ASSERT_TRUE(
      Call(buckets_.get(), &v1::Buckets::Stub::ListBuckets, v1::ListBucketsRequest(), &list).ok());
  ASSERT_EQ(list.buckets_size(), 1);
  EXPECT_EQ(list.buckets(0).name(), "fresh");

  v1::DeleteBucketRequest del;
  del.set_bucket("fresh");
  v1::DeleteBucketResponse deleted;
  ASSERT_TRUE(Call(buckets_.get(), &v1::Buckets::Stub::DeleteBucket, del, &deleted).ok());
  EXPECT_TRUE(deleted.deleted());
  EXPECT_EQ(deleted.deleted_keys(), 1u);
  EXPECT_FALSE(Get("fresh", "k").found());
}

TEST_F(ServerTest, StrictModeServesOnlyCreatedBuckets) {
  RestartServer({"--auto-create-buckets=false"});
  v1::SetRequest set;
  set.set_bucket("strict");
  set.set_key("k");
  set.set_value("v");
  v1::SetResponse set_response;
  grpc::Status status = Call(kv_.get(), &v1::KV::Stub::Set, set, &set_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("strict"));

  v1::OpenBucketRequest open;
  open.set_bucket("strict");
  v1::OpenBucketResponse opened;
  EXPECT_EQ(Call(buckets_.get(), &v1::Buckets::Stub::OpenBucket, open, &opened).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::CreateBucketRequest create;
  create.set_bucket("strict");
  v1::CreateBucketResponse created;
  ASSERT_TRUE(Call(buckets_.get(), &v1::Buckets::Stub::CreateBucket, create, &created).ok());
  EXPECT_EQ(Call(buckets_.get(), &v1::Buckets::Stub::CreateBucket, create, &created).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(Call(kv_.get(), &v1::KV::Stub::Set, set, &set_response).ok());
}

class BadInputTest : public ServerTest {
 protected:
  grpc::Status SetRaw(std::string bucket, std::string key, std::string value) {
    v1::SetRequest request;
    request.set_bucket(std::move(bucket));
    request.set_key(std::move(key));
    request.set_value(std::move(value));
    v1::SetResponse response;
    return Call(kv_.get(), &v1::KV::Stub::Set, request, &response);
  }
  grpc::Status List(std::string prefix, std::string cursor, uint32_t limit,
                    v1::ListKeysResponse* response) {
    v1::ListKeysRequest request;
    request.set_bucket("b");
    request.set_prefix(std::move(prefix));
    request.set_cursor(std::move(cursor));
    request.set_limit(limit);
    return Call(kv_.get(), &v1::KV::Stub::ListKeys, request, response);
  }
  // A valid cursor of a listing of prefix "cur-a", replayed with `prefix`.
  grpc::Status CursorReplayedUnder(std::string prefix) {
    Set("b", "cur-a1", "x");
    Set("b", "cur-a2", "x");
    v1::ListKeysResponse page;
    EXPECT_TRUE(List("cur-a", "", 1, &page).ok());
    EXPECT_FALSE(page.next_cursor().empty());
    return List(std::move(prefix), page.next_cursor(), 0, &page);
  }
  grpc::Status SetMany(int entries, size_t value_bytes) {
    v1::SetManyRequest request;
    request.set_bucket("b");
    for (int i = 0; i < entries; ++i) {
      v1::KeyValue* entry = request.add_entries();
      entry->set_key("k" + std::to_string(i));
      entry->set_value(std::string(value_bytes, 'v'));
    }
    v1::SetManyResponse response;
    return Call(kv_.get(), &v1::KV::Stub::SetMany, request, &response);
  }
  grpc::Status Cas(const std::function<void(v1::CompareAndSwapRequest*)>& fill) {
    v1::CompareAndSwapRequest request;
    request.set_bucket("b");
    request.set_key("k");
    fill(&request);
    v1::CompareAndSwapResponse response;
    return Call(kv_.get(), &v1::KV::Stub::CompareAndSwap, request, &response);
  }

  // One bad request: the code it must get and the words its message must hold.
  struct BadInput {
    const char* name;
    std::function<grpc::Status()> call;
    grpc::StatusCode code;
    std::vector<std::string> message_has;
  };
};

TEST_F(BadInputTest, EveryBadInputIsRefusedNamingFieldAndLimit) {
  using Code = grpc::StatusCode;
  v1::ListKeysResponse page;
  const std::vector<BadInput> cases = {
      {"empty key", [&] { return SetRaw("b", "", "v"); }, Code::INVALID_ARGUMENT, {"key", "empty"}},
      {"long key",
       [&] { return SetRaw("b", std::string(4097, 'k'), "v"); },
       Code::INVALID_ARGUMENT,
       {"key", "4096", "--max-key-bytes"}},
      {"long value",
       [&] { return SetRaw("b", "k", std::string((1 << 20) + 1, 'v')); },
       Code::INVALID_ARGUMENT,
       {"value", "1048576", "--max-value-bytes"}},
      {"empty bucket",
       [&] { return SetRaw("", "k", "v"); },
       Code::INVALID_ARGUMENT,
       {"bucket", "empty"}},
      {"bucket charset",
       [&] { return SetRaw("no/slash", "k", "v"); },
       Code::INVALID_ARGUMENT,
       {"bucket", "[A-Za-z0-9._-]"}},
      {"long bucket",
       [&] { return SetRaw(std::string(65, 'b'), "k", "v"); },
       Code::INVALID_ARGUMENT,
       {"bucket", "64"}},
      {"malformed cursor",
       [&] { return List("", "!!not-a-cursor!!", 0, &page); },
       Code::INVALID_ARGUMENT,
       {"cursor", "malformed"}},
      {"cursor of another prefix",
       [&] { return CursorReplayedUnder("z"); },
       Code::INVALID_ARGUMENT,
       {"cursor", "prefix"}},
      // Its key lies under these too, but the cursor is of another listing.
      {"cursor under an empty prefix",
       [&] { return CursorReplayedUnder(""); },
       Code::INVALID_ARGUMENT,
       {"cursor", "prefix"}},
      {"cursor under a shorter prefix",
       [&] { return CursorReplayedUnder("cur-"); },
       Code::INVALID_ARGUMENT,
       {"cursor", "prefix"}},
      {"cursor under a longer prefix",
       [&] { return CursorReplayedUnder("cur-a1"); },
       Code::INVALID_ARGUMENT,
       {"cursor", "prefix"}},
      {"page too large",
       [&] { return List("", "", 10001, &page); },
       Code::INVALID_ARGUMENT,
       {"limit", "10000", "--max-list-limit"}},
      {"too many batch entries",
       [&] { return SetMany(1025, 1); },
       Code::INVALID_ARGUMENT,
       {"entries", "1024", "--max-batch-entries"}},
      {"empty batch", [&] { return SetMany(0, 1); }, Code::INVALID_ARGUMENT, {"entries"}},
      {"batch too many bytes",
       [&] { return SetMany(16, 1 << 20); },
       Code::INVALID_ARGUMENT,
       {"entries", "16777216", "--max-batch-bytes"}},
      {"cas without condition",
       [&] { return Cas([](v1::CompareAndSwapRequest*) {}); },
       Code::INVALID_ARGUMENT,
       {"expected"}},
      {"cas version zero",
       [&] { return Cas([](v1::CompareAndSwapRequest* r) { r->set_expected_version(0); }); },
       Code::INVALID_ARGUMENT,
       {"expected_version"}},
      {"message over transport limit",
       [&] { return SetRaw("b", "k", std::string(40 << 20, 'v')); },
       Code::RESOURCE_EXHAUSTED,
       {}},
  };
  for (const BadInput& bad : cases) {
    SCOPED_TRACE(bad.name);
    grpc::Status status = bad.call();
    EXPECT_EQ(status.error_code(), bad.code) << status.error_message();
    for (const std::string& word : bad.message_has) {
      EXPECT_THAT(status.error_message(), HasSubstr(word));
    }
    ExpectServing();
  }
  // Nothing a refused call sent was written.
  EXPECT_FALSE(Get("b", "k").found());
  EXPECT_FALSE(Get("b", "k0").found());
}

// Bytes off the network are untrusted: random payloads, truncated messages
// and strings that are not UTF-8 must get an error status, never a crash.
TEST_F(ServerTest, GarbageRequestsNeverCrashTheServer) {
  const std::vector<std::string> methods = {"/wasikv.v1.KV/Get",
                                            "/wasikv.v1.KV/Set",
                                            "/wasikv.v1.KV/Delete",
                                            "/wasikv.v1.KV/Exists",
                                            "/wasikv.v1.KV/ListKeys",
                                            "/wasikv.v1.KV/Increment",
                                            "/wasikv.v1.KV/CompareAndSwap",
                                            "/wasikv.v1.KV/GetMany",
                                            "/wasikv.v1.KV/SetMany",
                                            "/wasikv.v1.KV/DeleteMany",
                                            "/wasikv.v1.Buckets/OpenBucket",
                                            "/wasikv.v1.Buckets/CreateBucket",
                                            "/wasikv.v1.Buckets/DeleteBucket",
                                            "/wasikv.v1.Buckets/ListBuckets",
                                            "/wasikv.v1.Admin/Backup",
                                            "/wasikv.v1.Admin/ListBackups"};
  // A valid Set whose key is not UTF-8, as a hand-encoded message.
  const std::string bad_utf8_set = std::string(
      "\x0a\x01"
      "b"
      "\x12\x02"
      "\xff\xfe",
      7);
  std::mt19937 random(12345);
  int answered = 0;
  for (const std::string& method : methods) {
    for (int i = 0; i < 30; ++i) {
      std::string payload = i == 0 ? bad_utf8_set : std::string(random() % 64, '\0');
      for (char& c : payload) c = static_cast<char>(i == 0 ? c : random());
      grpc::Status status = RawCall(method, payload);
      // Any answer is fine but these: UNAVAILABLE would mean the server went
      // away, UNIMPLEMENTED would tell the client the method does not exist.
      EXPECT_NE(status.error_code(), grpc::StatusCode::UNAVAILABLE) << method;
      EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << method;
      EXPECT_NE(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << method;
      ++answered;
    }
  }
  EXPECT_EQ(answered, static_cast<int>(methods.size()) * 30);
  ExpectServing();
  // Whatever garbage was accepted did not poison later replies.
  v1::ListKeysRequest list;
  list.set_bucket("b");
  v1::ListKeysResponse keys;
  grpc::Status listed = Call(kv_.get(), &v1::KV::Stub::ListKeys, list, &keys);
  EXPECT_TRUE(listed.ok()) << listed.error_message();
}

// Hand-encoded protobuf, so a request can carry bytes no typed stub sends.
std::string Varint(uint64_t value) {
  std::string out;
  for (; value >= 0x80; value >>= 7) out.push_back(static_cast<char>(value | 0x80));
  out.push_back(static_cast<char>(value));
  return out;
}
std::string Field(int number, std::string_view bytes) {
  return Varint(static_cast<uint64_t>(number) << 3 | 2) + Varint(bytes.size()) + std::string(bytes);
}

// What a proto3 `string` may not hold: each is refused by protobuf's parser.
const std::vector<std::pair<std::string, std::string>>& NotUtf8() {
  static const auto* cases = new std::vector<std::pair<std::string, std::string>>{
      {"truncated sequence", "ab\xe2\x82"},  {"lone continuation byte", "\x80"},
      {"UTF-16 surrogate", "k\xed\xa0\x80"}, {"overlong form", "\xc0\xaf"},
      {"past U+10FFFF", "\xf4\x90\x80\x80"},
  };
  return *cases;
}

// gRPC's generated path answers these UNIMPLEMENTED with no message; the
// contract says INVALID_ARGUMENT naming the field, and nothing written.
TEST_F(ServerTest, NonUtf8StringsAreInvalidArgumentNamingTheField) {
  struct Case {
    std::string method;
    std::function<std::string(const std::string&)> request;  // of the bad string
    std::string field;
  };
  const std::vector<Case> cases = {
      {"/wasikv.v1.KV/Set",
       [](const std::string& bad) { return Field(1, "b") + Field(2, bad) + Field(3, "v"); }, "key"},
      {"/wasikv.v1.KV/Set",
       [](const std::string& bad) { return Field(1, bad) + Field(2, "k") + Field(3, "v"); },
       "bucket"},
      {"/wasikv.v1.KV/Get", [](const std::string& bad) { return Field(1, "b") + Field(2, bad); },
       "key"},
      {"/wasikv.v1.KV/ListKeys",
       [](const std::string& bad) { return Field(1, "b") + Field(2, bad); }, "prefix"},
      {"/wasikv.v1.KV/ListKeys",
       [](const std::string& bad) { return Field(1, "b") + Field(3, bad); }, "cursor"},
      {"/wasikv.v1.KV/SetMany",
       [](const std::string& bad) {
         return Field(1, "b") + Field(2, Field(1, "first") + Field(2, "v")) +
                Field(2, Field(1, bad) + Field(2, "v"));
       },
       "entries[1].key"},
      {"/wasikv.v1.KV/DeleteMany",
       [](const std::string& bad) { return Field(1, "b") + Field(2, "k") + Field(2, bad); },
       "keys[1]"},
      {"/wasikv.v1.Buckets/CreateBucket", [](const std::string& bad) { return Field(1, bad); },
       "bucket"},
  };
  for (const Case& c : cases) {
    for (const auto& [kind, bad] : NotUtf8()) {
      SCOPED_TRACE(c.method + " " + c.field + ", " + kind);
      grpc::Status status = RawCall(c.method, c.request(bad));
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_THAT(status.error_message(), ::testing::StartsWith(c.field + ": not valid UTF-8"));
    }
  }
  // The same bytes in a `bytes` field are a value like any other.
  EXPECT_TRUE(
      RawCall("/wasikv.v1.KV/Set", Field(1, "b") + Field(2, "k") + Field(3, "\xff\xfe")).ok());
  EXPECT_EQ(Get("b", "k").value(), "\xff\xfe");
  // Nothing a refused call carried was written.
  EXPECT_FALSE(Get("b", "first").found());
  v1::ListBucketsResponse buckets;
  ASSERT_TRUE(
      Call(buckets_.get(), &v1::Buckets::Stub::ListBuckets, v1::ListBucketsRequest(), &buckets)
          .ok());
  ASSERT_EQ(buckets.buckets_size(), 1);
  EXPECT_EQ(buckets.buckets(0).name(), "b");
  ExpectServing();
}

TEST_F(ServerTest, RequestsThatAreNotProtobufAreInvalidArgument) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // A length that runs past the end of the request.
      {Field(1, "b") + "\x12\x64" + "short", "key: length 100 runs past the end"},
      // A varint cut short, in a field the message does not declare.
      {Field(1, "b") + "\x20\xff", "field 4: truncated or malformed"},
      // Field number 0 does not exist.
      {std::string("\x02\x01x", 3), "request: not a valid wasikv.v1.SetRequest (field number 0"},
      // Wire type 7 does not exist.
      {"\x0f", "request: not a valid wasikv.v1.SetRequest (wire type 7 at byte 0)"},
      // An end-group tag with no group.
      {Field(1, "b") + "\x0c", "request: not a valid wasikv.v1.SetRequest (end of a group"},
  };
  for (const auto& [payload, message] : cases) {
    SCOPED_TRACE(message);
    grpc::Status status = RawCall("/wasikv.v1.KV/Set", payload);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr(message));
  }
  // A declared field sent with another wire type is an unknown field, as
  // protobuf has it, so the request parses and fails on the missing key.
  grpc::Status status = RawCall("/wasikv.v1.KV/Set", Field(1, "b") + "\x10\x05");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("key: "));
  EXPECT_THAT(status.error_message(), HasSubstr("empty"));
  ExpectServing();
}

// Watch is server-streaming: the refusal is the stream's only answer.
TEST_F(ServerTest, WatchWithNonUtf8PrefixIsInvalidArgument) {
  class OneRequestStream final
      : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    explicit OneRequestStream(const std::string& payload) : slice_(payload), request_(&slice_, 1) {}
    void Start() {
      StartWriteLast(&request_, grpc::WriteOptions());
      StartRead(&reply_);
      StartCall();
    }
    void OnReadDone(bool ok) override {
      if (ok) {
        ++messages_;
        StartRead(&reply_);
      }
    }
    void OnDone(const grpc::Status& status) override { done_.set_value(status); }
    grpc::Status Wait() { return done_.get_future().get(); }
    int messages() const { return messages_; }

   private:
    grpc::Slice slice_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer reply_;
    int messages_ = 0;
    std::promise<grpc::Status> done_;
  };
  grpc::GenericStub stub(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  OneRequestStream stream(Field(1, "b") + Field(3, "p\xc0\xaf"));
  stub.PrepareBidiStreamingCall(&context, "/wasikv.v1.Watch/Watch", grpc::StubOptions(), &stream);
  stream.Start();
  grpc::Status status = stream.Wait();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::StartsWith("prefix: not valid UTF-8"));
  EXPECT_EQ(stream.messages(), 0);
  ExpectServing();
}

TEST_F(ServerTest, CounterTextHasOneCanonicalForm) {
  v1::IncrementResponse response;
  for (const std::string text : {"0", "7", "-7", "9223372036854775806", "-9223372036854775808"}) {
    SCOPED_TRACE(text);
    Set("counters", "c", text);
    ASSERT_TRUE(Increment("c", 1, &response).ok());
    EXPECT_EQ(std::to_string(response.value()), Get("counters", "c").value());
  }
  for (const std::string text : {"007", "-0", "+7", " 7", "7 ", "", "-", "0x10", "1e3", "٣"}) {
    SCOPED_TRACE("'" + text + "'");
    Set("counters", "c", text);
    grpc::Status status = Increment("c", 1, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(status.error_message(), HasSubstr("not a decimal integer in canonical form"));
    EXPECT_EQ(Get("counters", "c").value(), text);
  }
}

// A connection that carries no call is closed after --max-connection-idle,
// so idle sockets cannot pile up; the client reconnects on its next call.
TEST_F(ServerTest, IdleConnectionsAreClosed) {
  RestartServer({"--max-connection-idle=1s"});
  ASSERT_TRUE(channel_->WaitForConnected(std::chrono::system_clock::now() + kCallTimeout));
  ASSERT_EQ(channel_->GetState(false), GRPC_CHANNEL_READY);
  // The server's GOAWAY turns the channel IDLE; nothing else would.
  const auto deadline = std::chrono::system_clock::now() + kCallTimeout;
  grpc_connectivity_state state = GRPC_CHANNEL_READY;
  while (state == GRPC_CHANNEL_READY && channel_->WaitForStateChange(state, deadline)) {
    state = channel_->GetState(false);
  }
  EXPECT_EQ(state, GRPC_CHANNEL_IDLE);
  ExpectServing();
}

TEST_F(ServerTest, DataAndRevisionsSurviveRestart) {
  Set("b", "kept", "value");
  const uint64_t before = Set("b", "kept2", "value2");
  RestartServer();
  v1::GetResponse got = Get("b", "kept");
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.value(), "value");
  EXPECT_EQ(Get("b", "kept2").version(), before);
  EXPECT_GT(Set("b", "after", "x"), before);
}

TEST_F(ServerTest, SigintStopsAsCleanlyAsSigterm) {
  const uint64_t revision = Set("b", "k", "v");
  kv_.reset();
  buckets_.reset();
  channel_.reset();
  ASSERT_EQ(server_->StopWith(SIGINT), 0);
  StartServer();
  EXPECT_EQ(Get("b", "k").version(), revision);
}

TEST_F(ServerTest, ConcurrentIncrementsLoseNoUpdate) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> revisions(kThreads);
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = v1::KV::NewStub(server_->NewChannel());
      for (int i = 0; i < kPerThread; ++i) {
        v1::IncrementRequest request;
        request.set_bucket("counters");
        request.set_key("shared");
        request.set_delta(1);
        v1::IncrementResponse response;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
        if (!stub->Increment(&context, request, &response).ok()) ++failures;
        revisions[t].push_back(response.revision());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Get("counters", "shared").value(), std::to_string(kThreads * kPerThread));
  std::set<uint64_t> distinct;
  for (const auto& list : revisions) distinct.insert(list.begin(), list.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_F(ServerTest, ConcurrentCompareAndSwapsOnOneVersionHaveOneWinner) {
  const uint64_t version = Set("b", "lock", "free");
  constexpr int kThreads = 16;
  std::atomic<int> winners{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = v1::KV::NewStub(server_->NewChannel());
      v1::CompareAndSwapRequest request;
      request.set_bucket("b");
      request.set_key("lock");
      request.set_expected_version(version);
      request.set_new_value("owner-" + std::to_string(t));
      v1::CompareAndSwapResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
      if (!stub->CompareAndSwap(&context, request, &response).ok()) ++failures;
      if (response.swapped()) ++winners;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(winners.load(), 1);
  EXPECT_THAT(Get("b", "lock").value(), HasSubstr("owner-"));
}

TEST_F(ServerTest, GracefulShutdownKeepsEveryAcknowledgedWrite) {
  // Writers run while SIGTERM arrives; every write the server acknowledged
  // must be there after restart, and every call ends with a status.
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<std::vector<std::string>> acknowledged(kThreads);
  std::atomic<int> started{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = v1::KV::NewStub(server_->NewChannel());
      for (int i = 0; i < 100000; ++i) {
        v1::SetRequest request;
        request.set_bucket("b");
        request.set_key("t" + std::to_string(t) + "-" + std::to_string(i));
        request.set_value("v");
        v1::SetResponse response;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
        if (!stub->Set(&context, request, &response).ok()) break;
        acknowledged[t].push_back(request.key());
        if (i == 20) ++started;
      }
    });
  }
  while (started.load() < kThreads) std::this_thread::yield();
  ASSERT_EQ(server_->Stop(), 0);
  for (auto& thread : threads) thread.join();

  StartServer();
  for (const auto& keys : acknowledged) {
    ASSERT_GT(keys.size(), 20u);
    for (const std::string& key : keys) ASSERT_TRUE(Get("b", key).found()) << key;
  }
}

TEST(ServerFlags, BadFlagsExitWithUsageError) {
  auto result = testing::RunWasikvd({"--max-key-bytes=abc"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("--max-key-bytes"));

  result = testing::RunWasikvd({"--handshake-timeout=50ms"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("--handshake-timeout: '50ms' is shorter than the minimum"));

  result = testing::RunWasikvd({"--no-such-flag"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("unknown flag --no-such-flag"));

  result = testing::RunWasikvd({"--help"});
  EXPECT_EQ(result.exit_code, 0);
  for (const char* flag :
       {"--listen", "--data-dir", "WASIKV_LISTEN", "WASIKV_DATA_DIR", "--backup-dir",
        "--restore-from", "--restore-backup-id", "WASIKV_BACKUP_DIR", "WASIKV_RESTORE_FROM"}) {
    EXPECT_THAT(result.output, HasSubstr(flag));
  }
}

// Secure by default: a non-loopback address needs TLS and --auth-file, or
// the operator's explicit --allow-insecure-remote. Refused before anything
// binds, so these tests never listen beyond loopback.
TEST(ServerFlags, NonLoopbackListenWithoutTlsAndAuthIsRefused) {
  TempDir dir;
  std::ofstream(dir.Join("auth")) << "";
  const struct {
    std::vector<std::string> args;
    std::vector<std::string> says;
  } cases[] = {
      {{"--listen=0.0.0.0:0"}, {"refusing to serve 0.0.0.0:0 without TLS", "and --auth-file"}},
      {{"--listen=[::]:0"}, {"refusing to serve [::]:0", "--allow-insecure-remote"}},
      {{"--listen=:0"}, {"refusing to serve :0"}},
      {{"--listen=10.1.2.3:0", "--auth-file=" + dir.Join("auth")},
       {"without TLS (--tls-cert-file, --tls-key-file):"}},
  };
  for (const auto& refused : cases) {
    SCOPED_TRACE(refused.args[0]);
    std::vector<std::string> args = {"--data-dir=" + dir.Join("data"), "--admin-listen=off"};
    args.insert(args.end(), refused.args.begin(), refused.args.end());
    testing::CommandResult result = testing::RunWasikvd(args);
    EXPECT_EQ(result.exit_code, 2);
    for (const std::string& words : refused.says) EXPECT_THAT(result.output, HasSubstr(words));
    EXPECT_FALSE(std::filesystem::exists(dir.Join("data"))) << "refused before opening the store";
  }
  // Loopback in its spellings needs neither.
  for (const char* loopback : {"127.0.0.1", "127.9.9.9", "[::1]", "localhost"}) {
    EXPECT_TRUE(IsLoopbackAddress(std::string(loopback) + ":50051")) << loopback;
  }
  EXPECT_TRUE(IsLoopbackAddress("unix:/run/wasikv.sock"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0:50051"));
  EXPECT_FALSE(IsLoopbackAddress("kv.example:50051"));
}

TEST(ServerFlags, EnvironmentSetsFlags) {
  TempDir dir;
  setenv("WASIKV_MAX_KEY_BYTES", "8", 1);
  auto server = ServerProcess::Start(dir.Join("data"));
  unsetenv("WASIKV_MAX_KEY_BYTES");
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::KV::NewStub((*server)->NewChannel());
  v1::SetRequest request;
  request.set_bucket("b");
  request.set_key("123456789");
  v1::SetResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub->Set(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("limit of 8 bytes"));
}

TEST(ServerFlags, SecondServerOnSameDataDirFailsClearly) {
  TempDir dir;
  auto first = ServerProcess::Start(dir.Join("data"));
  ASSERT_TRUE(first.ok());
  auto second = testing::RunWasikvd(
      {"--listen=127.0.0.1:0", "--admin-listen=off", "--data-dir", dir.Join("data")});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.output, HasSubstr("store_open_failed"));
}

}  // namespace
}  // namespace wasikv
