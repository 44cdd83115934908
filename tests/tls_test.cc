// TLS and mutual TLS on wasikvd's gRPC port, over real gRPC to the real
// binary, with certificates the test makes with the openssl command (a CA, a
// server and a client certificate, and per test an expired certificate or
// one of another CA). The client side is the wasikv client library.
//
// Also, in process: ServerTls reloading (installed, unchanged, bad files
// kept out) and the verified client certificate in a call's auth context.
//
// No test sleeps to synchronise: a rotation is awaited by polling new
// connections until a deadline.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "server/tls/server_tls.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "tests/test_pki.h"
#include "wasikv/client.h"

namespace wasikv {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunWasikvd;
using testing::ServerProcess;
using testing::TempDir;
using testing::TestPki;

// Bounds every wait for something that must happen.
constexpr auto kWait = std::chrono::seconds(30);

#define ASSERT_OK(expr)                   \
  do {                                    \
    const absl::Status status_ = (expr);  \
    ASSERT_TRUE(status_.ok()) << status_; \
  } while (false)
#define EXPECT_OK(expr)                   \
  do {                                    \
    const absl::Status status_ = (expr);  \
    EXPECT_TRUE(status_.ok()) << status_; \
  } while (false)

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(testing::OpenSslPath().empty()) << "the tests need the openssl command";
    ASSERT_OK(pki_.MakeCa("ca", "wasikv test CA"));
    ASSERT_OK(pki_.MakeLeaf("server", {.ca = "ca", .common_name = "wasikvd", .serial = 1}));
    ASSERT_OK(pki_.MakeLeaf("client", {.ca = "ca",
                                       .common_name = "test-client",
                                       .san = "DNS:client.example,URI:spiffe://wasikv/test-client",
                                       .serial = 2}));
  }

  // wasikvd serving server.pem/server.key, and `flags`.
  std::unique_ptr<ServerProcess> StartServer(std::vector<std::string> flags = {},
                                             const std::string& log_path = "") {
    flags.insert(flags.begin(),
                 {"--tls-cert-file", pki_.Cert("server"), "--tls-key-file", pki_.Key("server")});
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(dir_.Join("data"), flags, log_path);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    testing::KillOnCrash((*server)->pid());
    return *std::move(server);
  }

  // A client that trusts `ca` and, if given, presents `client`'s certificate.
  // One attempt per call: a refused handshake fails at once.
  ClientOptions Options(const ServerProcess& server, const std::string& ca,
                        const std::string& client = "") {
    ClientOptions options;
    options.endpoint = server.address();
    options.tls.use_tls = true;
    options.tls.root_certs_pem = TestPki::Read(pki_.Cert(ca));
    if (!client.empty()) {
      options.tls.client_cert_chain_pem = TestPki::Read(pki_.Cert(client));
      options.tls.client_private_key_pem = TestPki::Read(pki_.Key(client));
    }
    options.retry.max_attempts = 1;
    options.default_deadline = std::chrono::seconds(10);
    return options;
  }

  TempDir dir_;
  TestPki pki_{dir_.path()};
};

// A Set and a Get of it through `client`.
absl::Status RoundTrip(Client& client) {
  absl::StatusOr<SetResult> set = client.Set("default", "tls", "over tls");
  if (!set.ok()) return set.status();
  absl::StatusOr<GetResult> got = client.Get("default", "tls");
  if (!got.ok()) return got.status();
  if (!got->value || got->value->value != "over tls") {
    return absl::InternalError("Get did not read what Set wrote");
  }
  return absl::OkStatus();
}

// RoundTrip on a new client (so a new connection) made with `options`.
absl::Status RoundTrip(const ClientOptions& options) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  if (!client.ok()) return client.status();
  return RoundTrip(**client);
}

// Polls new connections with `options` until a RoundTrip works or kWait passed.
absl::Status RoundTripWithin(const ClientOptions& options) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  absl::Status status;
  while (!(status = RoundTrip(options)).ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return status;
}

TEST_F(TlsTest, ClientTrustingTheCaSetsAndGets) {
  std::unique_ptr<ServerProcess> server = StartServer();
  ASSERT_NE(server, nullptr);
  EXPECT_OK(RoundTrip(Options(*server, "ca")));
}

TEST_F(TlsTest, PlaintextClientFails) {
  std::unique_ptr<ServerProcess> server = StartServer();
  ASSERT_NE(server, nullptr);
  ClientOptions options = Options(*server, "ca");
  options.tls = {};
  EXPECT_EQ(RoundTrip(options).code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, ClientTrustingAnotherCaFails) {
  ASSERT_OK(pki_.MakeCa("other_ca", "another CA"));
  std::unique_ptr<ServerProcess> server = StartServer();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(RoundTrip(Options(*server, "other_ca")).code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, ExpiredServerCertificateFails) {
  ASSERT_OK(
      pki_.MakeLeaf("expired", {.ca = "ca", .common_name = "expired", .serial = 9, .days = -1}));
  ASSERT_OK(pki_.Install("expired", "server"));
  std::unique_ptr<ServerProcess> server = StartServer();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(RoundTrip(Options(*server, "ca")).code(), absl::StatusCode::kUnavailable);
}

// A certificate naming only kv.internal: the client checks that name when
// told to (server_name_override), and fails for the address it dialled.
TEST_F(TlsTest, ServerNameOverrideIsTheNameVerified) {
  ASSERT_OK(pki_.MakeLeaf(
      "named", {.ca = "ca", .common_name = "kv", .san = "DNS:kv.internal", .serial = 5}));
  ASSERT_OK(pki_.Install("named", "server"));
  std::unique_ptr<ServerProcess> server = StartServer();
  ASSERT_NE(server, nullptr);
  ClientOptions options = Options(*server, "ca");
  EXPECT_EQ(RoundTrip(options).code(), absl::StatusCode::kUnavailable);
  options.tls.server_name_override = "kv.internal";
  EXPECT_OK(RoundTrip(options));
}

TEST_F(TlsTest, RequireAndVerifyRefusesAClientWithoutCertificate) {
  // auto: require-and-verify, since a client CA is given.
  std::unique_ptr<ServerProcess> server = StartServer({"--tls-client-ca-file", pki_.Cert("ca")});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(RoundTrip(Options(*server, "ca")).code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, RequireAndVerifyRefusesACertificateOfAnotherCa) {
  ASSERT_OK(pki_.MakeCa("other_ca", "another CA"));
  ASSERT_OK(pki_.MakeLeaf("intruder", {.ca = "other_ca", .common_name = "intruder", .serial = 3}));
  std::unique_ptr<ServerProcess> server = StartServer(
      {"--tls-client-ca-file", pki_.Cert("ca"), "--tls-client-auth=require-and-verify"});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(RoundTrip(Options(*server, "ca", "intruder")).code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, RequireAndVerifyAcceptsTheCasClient) {
  std::unique_ptr<ServerProcess> server = StartServer(
      {"--tls-client-ca-file", pki_.Cert("ca"), "--tls-client-auth=require-and-verify"});
  ASSERT_NE(server, nullptr);
  EXPECT_OK(RoundTrip(Options(*server, "ca", "client")));
}

TEST_F(TlsTest, RequestAcceptsClientsWithAndWithoutCertificate) {
  std::unique_ptr<ServerProcess> server =
      StartServer({"--tls-client-ca-file", pki_.Cert("ca"), "--tls-client-auth=request"});
  ASSERT_NE(server, nullptr);
  EXPECT_OK(RoundTrip(Options(*server, "ca", "client")));
  EXPECT_OK(RoundTrip(Options(*server, "ca")));
}

// Rotation as cert-manager does it: the files are replaced while wasikvd
// runs. New connections get the new certificate (a client trusting only the
// new CA fails before and works after, one trusting only the old CA the
// other way round); an established connection keeps working.
TEST_F(TlsTest, RotatedFilesServeNewConnections) {
  ASSERT_OK(pki_.MakeCa("new_ca", "wasikv rotated CA"));
  ASSERT_OK(
      pki_.MakeLeaf("rotated", {.ca = "new_ca", .common_name = "wasikvd rotated", .serial = 77}));
  std::unique_ptr<ServerProcess> server = StartServer({"--tls-reload-interval=100ms"});
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<Client>> established = Client::Create(Options(*server, "ca"));
  ASSERT_TRUE(established.ok());
  ASSERT_OK(RoundTrip(**established));
  EXPECT_EQ(RoundTrip(Options(*server, "new_ca")).code(), absl::StatusCode::kUnavailable);

  ASSERT_OK(pki_.Install("rotated", "server"));
  EXPECT_OK(RoundTripWithin(Options(*server, "new_ca")));
  EXPECT_EQ(RoundTrip(Options(*server, "ca")).code(), absl::StatusCode::kUnavailable);
  EXPECT_OK(RoundTrip(**established));
}

TEST_F(TlsTest, SighupReloadsTheFiles) {
  ASSERT_OK(pki_.MakeCa("new_ca", "wasikv rotated CA"));
  ASSERT_OK(
      pki_.MakeLeaf("rotated", {.ca = "new_ca", .common_name = "wasikvd rotated", .serial = 78}));
  std::unique_ptr<ServerProcess> server = StartServer({"--tls-reload-interval=0s"});
  ASSERT_NE(server, nullptr);
  ASSERT_OK(pki_.Install("rotated", "server"));
  // Polling is off: nothing changes until the signal.
  EXPECT_EQ(RoundTrip(Options(*server, "new_ca")).code(), absl::StatusCode::kUnavailable);
  ASSERT_EQ(kill(server->pid(), SIGHUP), 0);
  EXPECT_OK(RoundTripWithin(Options(*server, "new_ca")));
}

// Count of lines of `path` holding `text`.
int LinesWith(const std::string& path, const std::string& text) {
  std::ifstream in(path);
  int count = 0;
  for (std::string line; std::getline(in, line);) count += line.find(text) != std::string::npos;
  return count;
}

TEST_F(TlsTest, BadNewFilesKeepTheOldCertificate) {
  ASSERT_OK(pki_.MakeCa("new_ca", "wasikv rotated CA"));
  ASSERT_OK(
      pki_.MakeLeaf("rotated", {.ca = "new_ca", .common_name = "wasikvd rotated", .serial = 79}));
  const std::string log = dir_.Join("wasikvd.log");
  std::unique_ptr<ServerProcess> server = StartServer({"--tls-reload-interval=0s"}, log);
  ASSERT_NE(server, nullptr);
  // Half a rotation: the new certificate with the old key.
  ASSERT_OK(pki_.Install("rotated", "half"));
  ASSERT_EQ(std::rename(pki_.Cert("half").c_str(), pki_.Cert("server").c_str()), 0);
  ASSERT_EQ(kill(server->pid(), SIGHUP), 0);
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (LinesWith(log, "tls_reload_failed") == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(LinesWith(log, "tls_reload_failed"), 1);
  EXPECT_EQ(LinesWith(log, "is not the key of the certificate"), 1);
  EXPECT_OK(RoundTrip(Options(*server, "ca")));
  EXPECT_EQ(RoundTrip(Options(*server, "new_ca")).code(), absl::StatusCode::kUnavailable);

  // The rest of the rotation arrives; the next reload takes it.
  ASSERT_OK(pki_.Install("rotated", "server"));
  ASSERT_EQ(kill(server->pid(), SIGHUP), 0);
  EXPECT_OK(RoundTripWithin(Options(*server, "new_ca")));
  EXPECT_EQ(LinesWith(log, "tls_reloaded"), 1);
}

// The client library refuses TLS options that would not do what they say.
TEST(TlsClientOptionsTest, PemFieldsRefuseAPath) {
  ClientOptions options;
  options.tls.use_tls = true;
  options.tls.root_certs_pem = "/etc/wasikv/ca.pem";
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(), HasSubstr("tls.root_certs_pem: not PEM"));
  EXPECT_THAT(client.status().message(), HasSubstr("not its path"));
}

TEST(TlsClientOptionsTest, CertificatesWithoutUseTlsAreRefused) {
  ClientOptions options;
  options.tls.root_certs_pem = "-----BEGIN CERTIFICATE-----\n";
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(), HasSubstr("use_tls is false"));
}

// Bad TLS configuration: one line saying what is wrong, and a non-zero exit
// before anything is served.
class TlsConfigTest : public TlsTest {
 protected:
  CommandResult Run(std::vector<std::string> flags) {
    flags.insert(flags.end(),
                 {"--listen=127.0.0.1:0", "--admin-listen=off", "--data-dir", dir_.Join("data")});
    return RunWasikvd(flags);
  }
};

int LineCount(const std::string& text) {
  int lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

TEST_F(TlsConfigTest, CertificateWithoutKey) {
  CommandResult result = Run({"--tls-cert-file", pki_.Cert("server")});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("--tls-cert-file needs --tls-key-file"));
  EXPECT_EQ(LineCount(result.output), 1) << result.output;
}

TEST_F(TlsConfigTest, ClientAuthWithoutClientCa) {
  CommandResult result = Run({"--tls-cert-file", pki_.Cert("server"), "--tls-key-file",
                              pki_.Key("server"), "--tls-client-auth=require-and-verify"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("needs --tls-client-ca-file"));
  EXPECT_EQ(LineCount(result.output), 1) << result.output;
}

TEST_F(TlsConfigTest, UnknownClientAuthMode) {
  CommandResult result = Run({"--tls-client-auth=maybe"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("--tls-client-auth: invalid value 'maybe'"));
}

TEST_F(TlsConfigTest, UnreadableFile) {
  const std::string missing = dir_.Join("missing.pem");
  CommandResult result = Run({"--tls-cert-file", missing, "--tls-key-file", pki_.Key("server")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.output, HasSubstr("--tls-cert-file " + missing + ": cannot read"));
  EXPECT_EQ(LineCount(result.output), 1) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("data"))) << "refused before opening the store";
}

TEST_F(TlsConfigTest, KeyOfAnotherCertificate) {
  CommandResult result =
      Run({"--tls-cert-file", pki_.Cert("server"), "--tls-key-file", pki_.Key("client")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.output, HasSubstr("is not the key of the certificate"));
  EXPECT_EQ(LineCount(result.output), 1) << result.output;
}

TEST_F(TlsConfigTest, FileWithoutCertificate) {
  CommandResult result =
      Run({"--tls-cert-file", pki_.Key("server"), "--tls-key-file", pki_.Key("server")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.output, HasSubstr("no PEM certificate"));
}

TEST_F(TlsConfigTest, ClientCaWithoutCertificate) {
  CommandResult result = Run({"--tls-client-ca-file", pki_.Cert("ca")});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("--tls-client-ca-file needs --tls-cert-file"));
}

// In process: ServerTls itself.
class ServerTlsTest : public TlsTest {
 protected:
  ServerTlsOptions Tls(bool client_ca) {
    ServerTlsOptions tls;
    tls.cert_file = pki_.Cert("server");
    tls.key_file = pki_.Key("server");
    if (client_ca) tls.client_ca_file = pki_.Cert("ca");
    tls.reload_interval = std::chrono::milliseconds(0);
    return tls;
  }
};

TEST_F(ServerTlsTest, ReloadInstallsChangedFilesOnly) {
  ASSERT_OK(pki_.MakeLeaf("rotated", {.ca = "ca", .common_name = "rotated", .serial = 0x4d}));
  absl::StatusOr<std::unique_ptr<ServerTls>> tls = ServerTls::Create(Tls(false));
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ((*tls)->Current().serial, "01");
  EXPECT_EQ((*tls)->Reload("test").value_or(ServerTls::ReloadResult::kInstalled),
            ServerTls::ReloadResult::kUnchanged);

  // The certificate without its key is refused; what serves stays.
  ASSERT_OK(pki_.Install("rotated", "half"));
  ASSERT_EQ(std::rename(pki_.Cert("half").c_str(), pki_.Cert("server").c_str()), 0);
  EXPECT_EQ((*tls)->Reload("test").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*tls)->Current().serial, "01");

  ASSERT_OK(pki_.Install("rotated", "server"));
  EXPECT_EQ((*tls)->Reload("test").value_or(ServerTls::ReloadResult::kUnchanged),
            ServerTls::ReloadResult::kInstalled);
  EXPECT_EQ((*tls)->Current().serial, "4D");
  EXPECT_THAT((*tls)->Current().subject, HasSubstr("CN=rotated"));
}

// Records the auth context of the last Check call.
class PeerRecordingHealth final : public grpc::health::v1::Health::CallbackService {
 public:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest*,
                                  grpc::health::v1::HealthCheckResponse* response) override {
    std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
    {
      std::lock_guard<std::mutex> lock(mu_);
      authenticated_ = auth->IsPeerAuthenticated();
      properties_.clear();
      for (const char* name : {"x509_common_name", "x509_subject_alternative_name"}) {
        for (const grpc::string_ref& value : auth->FindPropertyValues(name)) {
          properties_.push_back(std::string(name) + "=" + std::string(value.data(), value.size()));
        }
      }
    }
    response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  bool authenticated() {
    std::lock_guard<std::mutex> lock(mu_);
    return authenticated_;
  }
  std::vector<std::string> properties() {
    std::lock_guard<std::mutex> lock(mu_);
    return properties_;
  }

 private:
  std::mutex mu_;
  bool authenticated_ = false;
  std::vector<std::string> properties_;
};

// What the lead's principal mapping will read: the verified client
// certificate's CN and SANs in the call's auth context.
TEST_F(ServerTlsTest, AuthContextCarriesTheVerifiedClientCertificate) {
  ServerTlsOptions options = Tls(true);
  options.client_auth = ClientAuth::kRequest;
  absl::StatusOr<std::unique_ptr<ServerTls>> tls = ServerTls::Create(options);
  ASSERT_TRUE(tls.ok()) << tls.status();
  PeerRecordingHealth health;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", (*tls)->Credentials(), &port);
  builder.RegisterService(&health);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(port, 0);

  const auto check = [&](bool with_client_certificate) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = TestPki::Read(pki_.Cert("ca"));
    if (with_client_certificate) {
      ssl.pem_cert_chain = TestPki::Read(pki_.Cert("client"));
      ssl.pem_private_key = TestPki::Read(pki_.Key("client"));
    }
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::SslCredentials(ssl)));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kWait);
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&context, {}, &response);
  };

  ASSERT_TRUE(check(true).ok());
  EXPECT_TRUE(health.authenticated());
  EXPECT_THAT(health.properties(),
              ::testing::UnorderedElementsAre(
                  "x509_common_name=test-client", "x509_subject_alternative_name=client.example",
                  "x509_subject_alternative_name=spiffe://wasikv/test-client"));

  ASSERT_TRUE(check(false).ok());
  EXPECT_FALSE(health.authenticated());
  EXPECT_THAT(health.properties(), ::testing::IsEmpty());
  server->Shutdown();
}

}  // namespace
}  // namespace wasikv
