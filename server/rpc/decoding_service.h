// DecodingService<Grpc> is the grpc::Service of the generated service `Grpc`
// (v1::KV, v1::Watch, ...), with every method served from request bytes that
// wasikv decodes itself (request_decoder.h). A request gRPC's generated path
// could not parse would be answered UNIMPLEMENTED with no message; here it
// is INVALID_ARGUMENT naming the field. Responses stay typed and gRPC
// serialises them as usual.
//
// Each method is bound with the Access it needs, checked by the Authorizer
// against the request's `bucket` field before the handler runs, so no
// handler can forget it: an unauthorised call never reaches a worker.
//
// The owner of the service (KvService, ...) binds each method to one of its
// member functions in its constructor, then hands service() to
// grpc::ServerBuilder::RegisterService. A method left unbound would abort
// when called, so bind them all.
//
// Thread safety: binding happens before the server starts; afterwards gRPC
// calls the handlers concurrently. Borrows the owner, runner and metrics,
// which must outlive the gRPC server.
#ifndef WASIKV_SERVER_RPC_DECODING_SERVICE_H_
#define WASIKV_SERVER_RPC_DECODING_SERVICE_H_

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "google/protobuf/descriptor.h"
#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/support/byte_buffer.h"
#include "server/auth/authorizer.h"
#include "server/metrics/server_metrics.h"
#include "server/rpc/call_runner.h"
#include "server/rpc/refused_stream.h"
#include "server/rpc/request_decoder.h"

namespace wasikv {

template <typename Grpc>
class DecodingService final : public Grpc::Service {
 public:
  DecodingService(ServerMetrics* metrics, const Authorizer* authorizer)
      : metrics_(metrics), authorizer_(authorizer) {}

  // Serves unary `method`, which needs `access`, with `owner->*handler`,
  // which owns the decoded request. A request that does not decode or is not
  // authorised is refused through `runner`. Returns the method's metrics,
  // for the handler's own calls.
  template <typename Owner, typename Request, typename Response>
  RpcMethod* ServeUnary(std::string_view method, Access access, CallRunner* runner, Owner* owner,
                        grpc::ServerUnaryReactor* (Owner::*handler)(grpc::CallbackServerContext*,
                                                                    std::unique_ptr<const Request>,
                                                                    Response*)) {
    RpcMethod* metric = metrics_->AddMethod(Grpc::service_full_name(), method, RpcType::kUnary);
    this->MarkMethodRawCallback(
        MethodIndex(method, Request::descriptor(), Response::descriptor(), false),
        new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, Response>(
            [=, this](grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw,
                      Response* response) {
              auto request = std::make_unique<Request>();
              const absl::Status admitted = Admit(*context, *raw, access, request.get());
              if (!admitted.ok()) return runner->Refuse(context, metric, admitted);
              return (owner->*handler)(context, std::move(request), response);
            }));
    return metric;
  }

  // Serves server-streaming `method`, which needs `access`, with
  // `owner->*handler`; the request lives only for the handler's call. A
  // handler that writes its responses serialised (Response is
  // grpc::ByteBuffer) names their message type as `Described`, for the
  // check against the .proto.
  template <typename Described = void, typename Owner, typename Request, typename Response>
  RpcMethod* ServeServerStreaming(std::string_view method, Access access, Owner* owner,
                                  grpc::ServerWriteReactor<Response>* (Owner::*handler)(
                                      grpc::CallbackServerContext*, const Request&)) {
    RpcMethod* metric =
        metrics_->AddMethod(Grpc::service_full_name(), method, RpcType::kServerStream);
    this->MarkMethodRawCallback(
        MethodIndex(
            method, Request::descriptor(),
            std::conditional_t<std::is_void_v<Described>, Response, Described>::descriptor(), true),
        new grpc::internal::CallbackServerStreamingHandler<grpc::ByteBuffer, Response>(
            [=, this](grpc::CallbackServerContext* context,
                      const grpc::ByteBuffer* raw) -> grpc::ServerWriteReactor<Response>* {
              Request request;
              const absl::Status admitted = Admit(*context, *raw, access, &request);
              if (!admitted.ok()) {
                metric->Started();
                return new RefusedStream<Response>(admitted, metric,
                                                   std::chrono::steady_clock::now());
              }
              return (owner->*handler)(context, request);
            }));
    return metric;
  }

 private:
  // Authenticates the caller (so a stranger's bytes are never parsed),
  // decodes the request, then checks the caller may make it.
  template <typename Request>
  absl::Status Admit(const grpc::CallbackServerContext& context, const grpc::ByteBuffer& raw,
                     Access access, Request* request) const {
    absl::StatusOr<std::shared_ptr<const Principal>> principal = authorizer_->Authenticate(context);
    if (!principal.ok()) return principal.status();
    if (absl::Status decoded = DecodeRequest(raw, request); !decoded.ok()) return decoded;
    std::string_view bucket;
    if constexpr (requires { request->bucket(); }) bucket = request->bucket();
    return Authorizer::Check(**principal, access, bucket);
  }

  // The method's index in the generated service, which numbers methods in
  // the .proto's order as the descriptor does. Aborts at start-up on a name
  // or type that does not match the .proto: a programming error.
  static int MethodIndex(std::string_view name, const google::protobuf::Descriptor* request,
                         const google::protobuf::Descriptor* response, bool server_streaming) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            Grpc::service_full_name());
    const google::protobuf::MethodDescriptor* method =
        service == nullptr ? nullptr : service->FindMethodByName(std::string(name));
    if (method == nullptr || method->input_type() != request || method->output_type() != response ||
        method->client_streaming() || method->server_streaming() != server_streaming) {
      std::fprintf(stderr, "wasikvd: %s/%.*s does not match its .proto definition\n",
                   Grpc::service_full_name(), static_cast<int>(name.size()), name.data());
      std::abort();
    }
    return method->index();
  }

  ServerMetrics* const metrics_;
  const Authorizer* const authorizer_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_DECODING_SERVICE_H_
