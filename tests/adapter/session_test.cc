// The adapter's runtime-neutral core against a real wasikvd: what each
// wasi:keyvalue function means, the policy, the handle tables and the error
// mapping, with no WebAssembly in the way.
#include "wasikv/adapter/session.h"

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapter/test_server.h"
#include "wasikv/adapter/host.h"
#include "wasikv/client.h"

namespace wasikv::adapter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer({}); }

  void StartServer(const std::vector<std::string>& server_args) {
    absl::Status started = server_.Start(server_args);
    ASSERT_TRUE(started.ok()) << started;
    client_ = server_.client;
  }

  std::shared_ptr<Host> MakeHost(HostOptions options = {}) {
    return std::make_shared<Host>(client_, std::move(options));
  }

  testing::TestServer server_;
  std::shared_ptr<Client> client_;
};

TEST_F(SessionTest, OpenEmptyIdentifierOpensTheHostsDefaultBucket) {
  HostOptions options;
  options.default_bucket = "tenant-a";
  Session session(MakeHost(options));
  absl::StatusOr<Handle> bucket = session.Open("");
  ASSERT_TRUE(bucket.ok()) << bucket.status();
  ASSERT_TRUE(session.Set(*bucket, "k", "v").ok());
  absl::StatusOr<GetResult> direct = client_->Get("tenant-a", "k");
  ASSERT_TRUE(direct.ok());
  ASSERT_TRUE(direct->value.has_value());
  EXPECT_EQ(direct->value->value, "v");
}

TEST_F(SessionTest, PolicyRefusalIsAccessDeniedAndUnknownBucketIsNoSuchStore) {
  HostOptions options;
  options.allowed_buckets = {"open-me"};
  options.denied_buckets = {"never"};
  Session session(MakeHost(options));
  EXPECT_TRUE(session.Open("open-me").ok());
  EXPECT_TRUE(session.Open("").ok()) << "the default bucket is always allowed";
  for (const char* refused : {"other", "never"}) {
    absl::StatusOr<Handle> denied = session.Open(refused);
    ASSERT_FALSE(denied.ok());
    EXPECT_EQ(ToKeyValueError(denied.status()).kind, KeyValueError::Kind::kAccessDenied);
    EXPECT_THAT(Message(denied.status()), HasSubstr(refused));
  }
  Session open_session(MakeHost());
  absl::StatusOr<Handle> bad_name = open_session.Open("bad name!");
  ASSERT_FALSE(bad_name.ok());
  KeyValueError error = ToKeyValueError(bad_name.status());
  EXPECT_EQ(error.kind, KeyValueError::Kind::kOther);
  EXPECT_THAT(error.message, HasSubstr("bucket"));
}

// The server's own rules, not only the host's list: a guest opening a bucket
// its host's token may not read gets access-denied (Spin's conformance check).
TEST_F(SessionTest, ServerRefusingTheHostsTokenIsAccessDenied) {
  testing::TestServer guarded;
  const std::string auth_file = guarded.dir.path() + "/auth";
  {
    // The SHA-256 of "host-token" (printf %s host-token | sha256sum).
    std::ofstream(auth_file)
        << "host sha256:ea5ac2eb186bca34e2e6ba462c609ebc992b23924d693ab43a94508cb977f18f "
           "readwrite:tenant-*\n";
  }
  ASSERT_TRUE(guarded.Start({"--auth-file=" + auth_file}).ok());
  ClientOptions options;
  options.endpoint = guarded.process->address();
  options.bearer_token = "host-token";
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  ASSERT_TRUE(client.ok());
  HostOptions host_options;
  host_options.default_bucket = "tenant-a";
  Session session(std::make_shared<Host>(std::move(*client), host_options));
  absl::StatusOr<Handle> allowed = session.Open("tenant-b");
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_TRUE(session.Set(*allowed, "k", "v").ok());
  absl::StatusOr<Handle> denied = session.Open("payroll");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(ToKeyValueError(denied.status()).kind, KeyValueError::Kind::kAccessDenied);
  EXPECT_THAT(Message(denied.status()), HasSubstr("payroll"));
  // A host with no token at all is refused the same way.
  Session anonymous(std::make_shared<Host>(guarded.client, HostOptions{}));
  absl::StatusOr<Handle> stranger = anonymous.Open("tenant-b");
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(ToKeyValueError(stranger.status()).kind, KeyValueError::Kind::kAccessDenied);
}

TEST_F(SessionTest, StrictServerMakesAMissingBucketNoSuchStore) {
  testing::TestServer strict;
  ASSERT_TRUE(strict.Start({"--auto-create-buckets=false"}).ok());
  std::shared_ptr<Client> client = strict.client;
  ASSERT_TRUE(client->CreateBucket("exists").ok());
  Session session(std::make_shared<Host>(client, HostOptions{}));
  EXPECT_TRUE(session.Open("exists").ok());
  absl::StatusOr<Handle> missing = session.Open("missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(ToKeyValueError(missing.status()).kind, KeyValueError::Kind::kNoSuchStore);
}

TEST_F(SessionTest, HandlesAreNeverReusedAndStaleOnesTrap) {
  Session session(MakeHost());
  Handle first = session.Open("b").value();
  ASSERT_TRUE(session.DropBucket(first).ok());
  Handle second = session.Open("b").value();
  EXPECT_NE(first, second);
  absl::Status stale = session.Set(first, "k", "v");
  EXPECT_TRUE(IsGuestTrap(stale)) << stale;
  EXPECT_THAT(Message(stale), HasSubstr("bucket handle"));
  absl::Status twice = session.DropBucket(first);
  EXPECT_TRUE(IsGuestTrap(twice)) << twice;
  EXPECT_TRUE(IsGuestTrap(session.Set(0, "k", "v")));
}

TEST_F(SessionTest, HandleLimitIsAnErrorNotATrapAndFreesOnDrop) {
  HostOptions options;
  options.max_handles = 5;
  Session session(MakeHost(options));
  std::vector<Handle> handles;
  for (int i = 0; i < 5; ++i) handles.push_back(session.Open("b").value());
  absl::StatusOr<Handle> sixth = session.Open("b");
  ASSERT_FALSE(sixth.ok());
  EXPECT_FALSE(IsGuestTrap(sixth.status()));
  EXPECT_THAT(Message(sixth.status()), HasSubstr("limit"));
  // cas handles count against the same budget.
  EXPECT_FALSE(session.NewCas(handles[0], "k").ok());
  ASSERT_TRUE(session.DropBucket(handles.back()).ok());
  EXPECT_TRUE(session.Open("b").ok());
}

TEST_F(SessionTest, StoreCallsRoundTrip) {
  Session session(MakeHost());
  Handle bucket = session.Open("rt").value();
  EXPECT_THAT(session.Get(bucket, "k").value(), std::nullopt);
  EXPECT_FALSE(session.Exists(bucket, "k").value());
  ASSERT_TRUE(session.Set(bucket, "k", std::string("\0\1binary", 8)).ok());
  EXPECT_THAT(session.Get(bucket, "k").value(), Optional(std::string("\0\1binary", 8)));
  EXPECT_TRUE(session.Exists(bucket, "k").value());
  EXPECT_TRUE(session.Delete(bucket, "k").value());
  EXPECT_FALSE(session.Delete(bucket, "k").value()) << "a missing key deletes fine";
  absl::StatusOr<std::optional<std::string>> long_key = session.Get(bucket, std::string(5000, 'k'));
  ASSERT_FALSE(long_key.ok());
  EXPECT_EQ(long_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(long_key.status()), HasSubstr("4096"));
}

TEST_F(SessionTest, DraftOffsetCursorsPageAndAnyOffsetIsMeaningful) {
  HostOptions options;
  options.list_keys_page_size = 4;
  Session session(MakeHost(options));
  Handle bucket = session.Open("paging").value();
  std::vector<std::string> all;
  for (int i = 0; i < 10; ++i) {
    all.push_back("k" + std::to_string(i));
    ASSERT_TRUE(session.Set(bucket, all.back(), "v").ok());
  }
  std::vector<std::string> seen;
  std::optional<uint64_t> cursor;
  int pages = 0;
  do {
    Session::OffsetKeyPage page = session.ListKeysFrom(bucket, cursor).value();
    seen.insert(seen.end(), page.keys.begin(), page.keys.end());
    cursor = page.cursor;
    ++pages;
  } while (cursor);
  EXPECT_EQ(seen, all);
  EXPECT_EQ(pages, 3);
  // An invented cursor skips that many keys, as wasmtime's does.
  EXPECT_THAT(session.ListKeysFrom(bucket, 7).value().keys, ElementsAre("k7", "k8", "k9"));
  EXPECT_THAT(session.ListKeysFrom(bucket, 10).value().keys, IsEmpty());
  EXPECT_THAT(session.ListKeysFrom(bucket, 1000).value().keys, IsEmpty());
}

TEST_F(SessionTest, Draft2CursorsAreServerTokens) {
  HostOptions options;
  options.list_keys_page_size = 3;
  Session session(MakeHost(options));
  Handle bucket = session.Open("paging2").value();
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(session.Set(bucket, "k" + std::to_string(i), "v").ok());
  std::vector<std::string> seen;
  std::optional<std::string> cursor;
  do {
    Session::KeyPage page = session.ListKeys(bucket, cursor).value();
    seen.insert(seen.end(), page.keys.begin(), page.keys.end());
    cursor = page.cursor;
  } while (cursor);
  EXPECT_EQ(seen.size(), 7u);
  absl::StatusOr<Session::KeyPage> forged = session.ListKeys(bucket, std::string("garbage"));
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(ToKeyValueError(forged.status()).kind, KeyValueError::Kind::kOther);
}

TEST_F(SessionTest, IncrementIsDecimalAndNeverWraps) {
  Session session(MakeHost());
  Handle bucket = session.Open("counters").value();
  EXPECT_EQ(session.Increment(bucket, "n", 10).value(), 10);
  EXPECT_EQ(session.Increment(bucket, "n", 5).value(), 15);
  EXPECT_THAT(session.Get(bucket, "n").value(), Optional(std::string("15")));
  ASSERT_TRUE(session.Set(bucket, "max", "9223372036854775807").ok());
  EXPECT_FALSE(session.Increment(bucket, "max", 1).ok());
  ASSERT_TRUE(session.Set(bucket, "text", "abc").ok());
  absl::StatusOr<int64_t> text = session.Increment(bucket, "text", 1);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(ToKeyValueError(text.status()).kind, KeyValueError::Kind::kOther);
}

TEST_F(SessionTest, CasSwapsOnTheVersionCurrentSawAndALostRaceGivesAFreshCas) {
  Session session(MakeHost());
  Handle bucket = session.Open("cas").value();
  ASSERT_TRUE(session.Set(bucket, "k", "one").ok());
  Handle cas = session.NewCas(bucket, "k").value();
  EXPECT_THAT(session.CasCurrent(cas).value(), Optional(std::string("one")));
  Session::SwapOutcome won = session.Swap(cas, "two").value();
  EXPECT_TRUE(won.swapped);
  EXPECT_TRUE(IsGuestTrap(session.CasCurrent(cas).status())) << "swap consumed the cas";

  Handle racing = session.NewCas(bucket, "k").value();
  EXPECT_THAT(session.CasCurrent(racing).value(), Optional(std::string("two")));
  ASSERT_TRUE(client_->Set("cas", "k", "someone else").ok());
  Session::SwapOutcome lost = session.Swap(racing, "three").value();
  EXPECT_FALSE(lost.swapped);
  ASSERT_NE(lost.fresh_cas, 0u);
  EXPECT_THAT(session.CasCurrent(lost.fresh_cas).value(), Optional(std::string("someone else")));
  EXPECT_TRUE(session.Swap(lost.fresh_cas, "four").value().swapped);
  EXPECT_THAT(session.Get(bucket, "k").value(), Optional(std::string("four")));

  // A cas on a missing key expects it still missing.
  Handle absent = session.NewCas(bucket, "new").value();
  EXPECT_THAT(session.CasCurrent(absent).value(), std::nullopt);
  EXPECT_TRUE(session.Swap(absent, "created").value().swapped);
  Handle late = session.NewCas(bucket, "new2").value();
  ASSERT_TRUE(client_->Set("cas", "new2", "first").ok());
  EXPECT_FALSE(session.Swap(late, "second").value().swapped);
}

TEST_F(SessionTest, CompareAndSwapDecimalComparesNumbers) {
  Session session(MakeHost());
  Handle bucket = session.Open("seedcas").value();
  EXPECT_FALSE(session.CompareAndSwapDecimal(bucket, "n", 0, 1).ok()) << "missing key";
  ASSERT_TRUE(session.Set(bucket, "n", "10").ok());
  EXPECT_TRUE(session.CompareAndSwapDecimal(bucket, "n", 10, 42).value());
  EXPECT_FALSE(session.CompareAndSwapDecimal(bucket, "n", 10, 43).value());
  EXPECT_THAT(session.Get(bucket, "n").value(), Optional(std::string("42")));
  ASSERT_TRUE(session.Set(bucket, "n", "-1").ok());
  EXPECT_FALSE(session.CompareAndSwapDecimal(bucket, "n", 0, 1).ok()) << "not a u64";
}

TEST_F(SessionTest, BatchesLargerThanTheServerLimitAreSplit) {
  Session session(MakeHost());
  Handle bucket = session.Open("big-batch").value();
  std::vector<KeyValue> entries;
  std::vector<std::string> keys;
  for (int i = 0; i < 2500; ++i) {
    keys.push_back("key-" + std::to_string(i));
    entries.push_back({keys.back(), "value-" + std::to_string(i)});
  }
  ASSERT_TRUE(session.SetMany(bucket, entries).ok());
  keys.push_back("missing");
  std::vector<std::optional<std::string>> values = session.GetMany(bucket, keys).value();
  ASSERT_EQ(values.size(), keys.size());
  EXPECT_THAT(values[0], Optional(std::string("value-0")));
  EXPECT_THAT(values[2499], Optional(std::string("value-2499")));
  EXPECT_EQ(values[2500], std::nullopt);
  ASSERT_TRUE(session.DeleteMany(bucket, keys).ok());
  EXPECT_THAT(session.ListKeys(bucket, std::nullopt).value().keys, IsEmpty());
}

TEST_F(SessionTest, AllKeysStopsAtTheByteLimit) {
  Session session(MakeHost());
  Handle bucket = session.Open("allkeys").value();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(session.Set(bucket, "k" + std::to_string(i), "v").ok());
  EXPECT_EQ(session.AllKeys(bucket, 1 << 20).value().size(), 30u);
  absl::StatusOr<std::vector<std::string>> capped = session.AllKeys(bucket, 100);
  ASSERT_FALSE(capped.ok());
  EXPECT_THAT(Message(capped.status()), HasSubstr("limit"));
}

TEST_F(SessionTest, ServerDownIsAnOtherErrorThatSaysWhatFailed) {
  HostOptions options;
  options.call.deadline = std::chrono::milliseconds(500);
  options.call.no_retry = true;
  Session session(MakeHost(options));
  Handle bucket = session.Open("gone").value();
  ASSERT_TRUE(server_.process->Stop().has_value());
  absl::StatusOr<std::optional<std::string>> result = session.Get(bucket, "k");
  ASSERT_FALSE(result.ok());
  KeyValueError error = ToKeyValueError(result.status());
  EXPECT_EQ(error.kind, KeyValueError::Kind::kOther);
  EXPECT_THAT(error.message, HasSubstr("get 'k' in bucket 'gone'"));
}

}  // namespace
}  // namespace wasikv::adapter
