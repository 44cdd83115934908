// Proves every wasikvd RPC is reachable through server reflection alone, the
// way grpcurl reaches it: the client links no wasikv .proto. It lists the
// services, fetches their FileDescriptorProtos, builds a DescriptorPool from
// them, turns JSON into request bytes with DynamicMessage, calls through the
// GenericStub, and turns the reply bytes back into JSON.
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"

namespace wasikv::testing {
namespace {

namespace rpb = grpc::reflection::v1alpha;
using google::protobuf::DescriptorPool;
using google::protobuf::DynamicMessageFactory;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kDeadline = std::chrono::seconds(10);

absl::Status ToAbsl(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// A client that knows the server only through reflection (v1alpha). Not
// thread-safe. Descriptors it returns are owned by it and live as long as it.
class ReflectionClient {
 public:
  explicit ReflectionClient(const std::shared_ptr<grpc::Channel>& channel)
      : reflection_(rpb::ServerReflection::NewStub(channel)), generic_(channel) {}

  // The full names of the services the server offers.
  absl::StatusOr<std::vector<std::string>> ListServices() {
    rpb::ServerReflectionRequest request;
    request.set_list_services("");
    absl::StatusOr<rpb::ServerReflectionResponse> response = Ask(request);
    if (!response.ok()) return response.status();
    if (!response->has_list_services_response()) {
      return absl::InternalError("list_services: reply of another kind");
    }
    std::vector<std::string> names;
    for (const rpb::ServiceResponse& service : response->list_services_response().service()) {
      names.push_back(service.name());
    }
    return names;
  }

  // The descriptor of `service` (a full name such as "wasikv.v1.KV"), built
  // from the files the server sends for it and everything they import.
  absl::StatusOr<const ServiceDescriptor*> Describe(const std::string& service) {
    if (const ServiceDescriptor* known = pool_.FindServiceByName(service)) return known;
    rpb::ServerReflectionRequest request;
    request.set_file_containing_symbol(service);
    std::map<std::string, FileDescriptorProto> received;
    if (absl::Status s = Fetch(request, received); !s.ok()) return s;
    std::vector<std::string> names;
    for (const auto& [name, file] : received) names.push_back(name);
    for (const std::string& name : names) {
      if (absl::Status s = AddFile(name, received); !s.ok()) return s;
    }
    const ServiceDescriptor* descriptor = pool_.FindServiceByName(service);
    if (descriptor == nullptr) {
      return absl::NotFoundError("the files sent for " + service + " do not define it");
    }
    return descriptor;
  }

  // Calls `method` ("package.Service/Method") with a request given as JSON;
  // returns the reply as JSON, or the call's status if it fails.
  absl::StatusOr<std::string> CallJson(const std::string& method, const std::string& json) {
    const size_t slash = method.find('/');
    if (slash == std::string::npos) {
      return absl::InvalidArgumentError("method: expected Service/Method, got " + method);
    }
    absl::StatusOr<const ServiceDescriptor*> service = Describe(method.substr(0, slash));
    if (!service.ok()) return service.status();
    const MethodDescriptor* descriptor = (*service)->FindMethodByName(method.substr(slash + 1));
    if (descriptor == nullptr) return absl::NotFoundError("no method " + method);

    std::unique_ptr<Message> request(factory_.GetPrototype(descriptor->input_type())->New());
    if (auto parsed = google::protobuf::util::JsonStringToMessage(json, request.get());
        !parsed.ok()) {
      return absl::InvalidArgumentError("request JSON: " + parsed.ToString());
    }
    grpc::Slice request_slice(request->SerializeAsString());
    grpc::ByteBuffer request_bytes(&request_slice, 1);
    grpc::ByteBuffer reply_bytes;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kDeadline);
    std::promise<grpc::Status> done;
    generic_.UnaryCall(&context, "/" + (*service)->full_name() + "/" + descriptor->name(),
                       grpc::StubOptions(), &request_bytes, &reply_bytes,
                       [&done](grpc::Status status) { done.set_value(std::move(status)); });
    // The deadline bounds this wait: the callback always runs.
    if (grpc::Status status = done.get_future().get(); !status.ok()) return ToAbsl(status);

    std::vector<grpc::Slice> slices;
    if (grpc::Status status = reply_bytes.Dump(&slices); !status.ok()) return ToAbsl(status);
    std::string wire;
    for (const grpc::Slice& slice : slices) {
      wire.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    std::unique_ptr<Message> reply(factory_.GetPrototype(descriptor->output_type())->New());
    if (!reply->ParseFromString(wire)) {
      return absl::InternalError("reply of " + method + " does not parse");
    }
    std::string reply_json;
    if (auto printed = google::protobuf::util::MessageToJsonString(*reply, &reply_json);
        !printed.ok()) {
      return absl::InternalError("reply JSON: " + printed.ToString());
    }
    return reply_json;
  }

 private:
  // One request on its own ServerReflectionInfo stream; an error_response
  // becomes the returned status.
  absl::StatusOr<rpb::ServerReflectionResponse> Ask(const rpb::ServerReflectionRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kDeadline);
    auto stream = reflection_->ServerReflectionInfo(&context);
    rpb::ServerReflectionResponse response;
    const bool sent = stream->Write(request) && stream->WritesDone();
    const bool got = sent && stream->Read(&response);
    if (grpc::Status status = stream->Finish(); !status.ok()) return ToAbsl(status);
    if (!got) return absl::UnavailableError("reflection stream ended without a reply");
    if (response.has_error_response()) {
      return absl::Status(static_cast<absl::StatusCode>(response.error_response().error_code()),
                          response.error_response().error_message());
    }
    return response;
  }

  // Sends a file request and adds each FileDescriptorProto of the reply to
  // `received`, by file name.
  absl::Status Fetch(const rpb::ServerReflectionRequest& request,
                     std::map<std::string, FileDescriptorProto>& received) {
    absl::StatusOr<rpb::ServerReflectionResponse> response = Ask(request);
    if (!response.ok()) return response.status();
    if (!response->has_file_descriptor_response()) {
      return absl::InternalError("file request: reply of another kind");
    }
    for (const std::string& bytes : response->file_descriptor_response().file_descriptor_proto()) {
      FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) return absl::InternalError("bad FileDescriptorProto");
      std::string name = file.name();
      received.emplace(std::move(name), std::move(file));
    }
    return absl::OkStatus();
  }

  // Builds file `name` into the pool after its imports, asking the server by
  // file name for any import it has not sent yet.
  absl::Status AddFile(const std::string& name,
                       std::map<std::string, FileDescriptorProto>& received) {
    if (pool_.FindFileByName(name) != nullptr) return absl::OkStatus();
    if (!received.contains(name)) {
      rpb::ServerReflectionRequest request;
      request.set_file_by_filename(name);
      if (absl::Status s = Fetch(request, received); !s.ok()) return s;
      if (!received.contains(name)) return absl::NotFoundError("server did not send " + name);
    }
    const FileDescriptorProto file = received.at(name);  // a copy: imports may grow the map
    for (const std::string& import : file.dependency()) {
      if (absl::Status s = AddFile(import, received); !s.ok()) return s;
    }
    if (pool_.BuildFile(file) == nullptr) return absl::InternalError("cannot build " + name);
    return absl::OkStatus();
  }

  std::unique_ptr<rpb::ServerReflection::Stub> reflection_;
  grpc::GenericStub generic_;
  DescriptorPool pool_;
  DynamicMessageFactory factory_{&pool_};
};

// Calls `method` and fails the test unless it succeeds; returns the reply
// JSON ("" after a failure, which no assertion on content accepts).
std::string MustCall(ReflectionClient& client, const std::string& method, const std::string& json) {
  absl::StatusOr<std::string> reply = client.CallJson(method, json);
  EXPECT_TRUE(reply.ok()) << method << " " << json << ": " << reply.status();
  return reply.ok() ? *reply : "";
}

std::vector<std::string> MethodNames(const ServiceDescriptor& service) {
  std::vector<std::string> names;
  for (int i = 0; i < service.method_count(); ++i) names.push_back(service.method(i)->name());
  return names;
}

TEST(Reflection, ListsEveryService) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  ReflectionClient client((*server)->NewChannel());

  absl::StatusOr<std::vector<std::string>> services = client.ListServices();
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, ::testing::UnorderedElementsAre(
                             "wasikv.v1.KV", "wasikv.v1.Buckets", "wasikv.v1.Watch",
                             "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"));
}

TEST(Reflection, DescribesEveryMethod) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  ReflectionClient client((*server)->NewChannel());

  absl::StatusOr<const ServiceDescriptor*> kv = client.Describe("wasikv.v1.KV");
  ASSERT_TRUE(kv.ok()) << kv.status();
  EXPECT_THAT(MethodNames(**kv),
              ::testing::ElementsAre("Get", "Set", "Delete", "Exists", "ListKeys", "Increment",
                                     "CompareAndSwap", "GetMany", "SetMany", "DeleteMany"));
  EXPECT_EQ((*kv)->FindMethodByName("Set")->input_type()->full_name(), "wasikv.v1.SetRequest");

  absl::StatusOr<const ServiceDescriptor*> buckets = client.Describe("wasikv.v1.Buckets");
  ASSERT_TRUE(buckets.ok()) << buckets.status();
  EXPECT_THAT(MethodNames(**buckets),
              ::testing::ElementsAre("OpenBucket", "CreateBucket", "DeleteBucket", "ListBuckets"));

  absl::StatusOr<const ServiceDescriptor*> watch = client.Describe("wasikv.v1.Watch");
  ASSERT_TRUE(watch.ok()) << watch.status();
  EXPECT_THAT(MethodNames(**watch), ::testing::ElementsAre("Watch"));
  EXPECT_TRUE((*watch)->FindMethodByName("Watch")->server_streaming());
}

TEST(Reflection, CallsEveryKvMethodFromJson) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  ReflectionClient client((*server)->NewChannel());

  // "aGVsbG8=" is base64 for "hello": bytes fields travel as base64 in JSON.
  EXPECT_THAT(
      MustCall(client, "wasikv.v1.KV/Set", R"({"bucket":"b","key":"greeting","value":"aGVsbG8="})"),
      AllOf(HasSubstr(R"("created":true)"), HasSubstr(R"("revision":")")));
  EXPECT_THAT(MustCall(client, "wasikv.v1.KV/Get", R"({"bucket":"b","key":"greeting"})"),
              AllOf(HasSubstr(R"("found":true)"), HasSubstr(R"("value":"aGVsbG8=")"),
                    HasSubstr(R"("version":")")));
  EXPECT_THAT(MustCall(client, "wasikv.v1.KV/Exists", R"({"bucket":"b","key":"greeting"})"),
              AllOf(HasSubstr(R"("exists":true)"), HasSubstr(R"("version":")")));

  // int64 is a string in JSON.
  const std::string increment = R"({"bucket":"b","key":"counter","delta":"5"})";
  EXPECT_THAT(MustCall(client, "wasikv.v1.KV/Increment", increment), HasSubstr(R"("value":"5")"));
  EXPECT_THAT(MustCall(client, "wasikv.v1.KV/Increment", increment), HasSubstr(R"("value":"10")"));

  // "b3du" is base64 for "own".
  const std::string claim = R"({"bucket":"b","key":"lock","expectAbsent":true,"newValue":"b3du"})";
  EXPECT_THAT(MustCall(client, "wasikv.v1.KV/CompareAndSwap", claim),
              HasSubstr(R"("swapped":true)"));
  EXPECT_THAT(MustCall(client, "wasikv.v1.KV/CompareAndSwap", claim),
              AllOf(Not(HasSubstr("swapped")), HasSubstr(R"("found":true)"),
                    HasSubstr(R"("currentValue":"b3du")")));

  // "MQ==" and "Mg==" are base64 for "1" and "2".
  EXPECT_THAT(MustCall(client, "wasikv.v1.KV/SetMany",
                       R"({"bucket":"b","entries":[{"key":"m1","value":"MQ=="},)"
                       R"({"key":"m2","value":"Mg=="}]})"),
              HasSubstr(R"("revision":")"));
  EXPECT_THAT(
      MustCall(client, "wasikv.v1.KV/GetMany", R"({"bucket":"b","keys":["m2","nope","m1"]})"),
      AllOf(HasSubstr(R"({"key":"m2","found":true,"value":"Mg==","version":")"),
            HasSubstr(R"({"key":"nope"})"),
            HasSubstr(R"({"key":"m1","found":true,"value":"MQ==","version":")")));

  EXPECT_THAT(MustCall(client, "wasikv.v1.KV/ListKeys", R"({"bucket":"b"})"),
              HasSubstr(R"("keys":["counter","greeting","lock","m1","m2"])"));
  EXPECT_THAT(MustCall(client, "wasikv.v1.KV/ListKeys", R"({"bucket":"b","prefix":"m","limit":1})"),
              AllOf(HasSubstr(R"("keys":["m1"])"), HasSubstr(R"("nextCursor":")")));

  EXPECT_THAT(MustCall(client, "wasikv.v1.KV/Delete", R"({"bucket":"b","key":"greeting"})"),
              HasSubstr(R"("deleted":true)"));
  EXPECT_THAT(MustCall(client, "wasikv.v1.KV/Get", R"({"bucket":"b","key":"greeting"})"),
              AllOf(Not(HasSubstr("found")), HasSubstr(R"("revision":")")));
  EXPECT_THAT(
      MustCall(client, "wasikv.v1.KV/DeleteMany", R"({"bucket":"b","keys":["m1","m2","nope"]})"),
      HasSubstr(R"("deleted":"2")"));
  EXPECT_THAT(MustCall(client, "wasikv.v1.KV/ListKeys", R"({"bucket":"b"})"),
              HasSubstr(R"("keys":["counter","lock"])"));
}

TEST(Reflection, CallsEveryBucketsMethodFromJson) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  ReflectionClient client((*server)->NewChannel());

  const std::string bucket = R"({"bucket":"reflected"})";
  EXPECT_THAT(MustCall(client, "wasikv.v1.Buckets/CreateBucket", bucket),
              HasSubstr(R"("revision":")"));
  absl::StatusOr<std::string> again = client.CallJson("wasikv.v1.Buckets/CreateBucket", bucket);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();

  EXPECT_THAT(MustCall(client, "wasikv.v1.Buckets/OpenBucket", bucket),
              AllOf(HasSubstr(R"("exists":true)"), HasSubstr(R"("usable":true)"),
                    HasSubstr(R"("createRevision":")")));
  EXPECT_THAT(MustCall(client, "wasikv.v1.Buckets/ListBuckets", "{}"),
              HasSubstr(R"("buckets":[{"name":"reflected","createRevision":")"));
  EXPECT_THAT(MustCall(client, "wasikv.v1.Buckets/DeleteBucket", bucket),
              HasSubstr(R"("deleted":true)"));
  // The server auto-creates buckets by default, so a missing one is usable.
  EXPECT_THAT(MustCall(client, "wasikv.v1.Buckets/OpenBucket", bucket),
              AllOf(Not(HasSubstr("exists")), HasSubstr(R"("usable":true)")));
  EXPECT_THAT(MustCall(client, "wasikv.v1.Buckets/ListBuckets", "{}"), Not(HasSubstr("reflected")));
}

TEST(Reflection, ChecksHealthFromJson) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  ReflectionClient client((*server)->NewChannel());

  // Described through reflection like the wasikv services (the server links
  // the health descriptors in), then called the generic JSON way.
  EXPECT_EQ(MustCall(client, "grpc.health.v1.Health/Check", "{}"), R"({"status":"SERVING"})");
}

// Probes (Kubernetes' grpc probe, grpcurl -d '{"service":...}') ask by
// service name: every wasikv service answers SERVING, an unknown name
// NOT_FOUND as the health protocol says.
TEST(Reflection, ChecksHealthByServiceName) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  ReflectionClient client((*server)->NewChannel());

  for (const char* service : {"wasikv.v1.KV", "wasikv.v1.Buckets", "wasikv.v1.Watch"}) {
    EXPECT_EQ(MustCall(client, "grpc.health.v1.Health/Check",
                       std::string(R"({"service":")") + service + R"("})"),
              R"({"status":"SERVING"})")
        << service;
  }
  absl::StatusOr<std::string> unknown =
      client.CallJson("grpc.health.v1.Health/Check", R"({"service":"no.such.Service"})");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
}

TEST(Reflection, RejectsEmptyKeyWithInvalidArgument) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  ReflectionClient client((*server)->NewChannel());

  absl::StatusOr<std::string> reply =
      client.CallJson("wasikv.v1.KV/Set", R"({"bucket":"b","key":"","value":"aGVsbG8="})");
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument) << reply.status();
  EXPECT_THAT(std::string(reply.status().message()), HasSubstr("key"));
}

}  // namespace
}  // namespace wasikv::testing
