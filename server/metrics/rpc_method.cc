#include "server/metrics/rpc_method.h"

namespace wasikv {
namespace {

std::string TypeLabel(RpcType type) { return type == RpcType::kUnary ? "unary" : "server_stream"; }

}  // namespace

RpcMethod::RpcMethod(std::string_view service, std::string_view method, RpcType type,
                     prometheus::Family<prometheus::Counter>* started,
                     prometheus::Family<prometheus::Counter>* handled,
                     prometheus::Family<prometheus::Histogram>* latency,
                     prometheus::Gauge* in_flight)
    : method_(method),
      started_(started->Add({{"grpc_type", TypeLabel(type)},
                             {"grpc_service", std::string(service)},
                             {"grpc_method", method_}})),
      // From 100 µs (a cached read) to 10 s (a backup or a long scan).
      latency_(latency->Add({{"grpc_type", TypeLabel(type)},
                             {"grpc_service", std::string(service)},
                             {"grpc_method", method_}},
                            prometheus::Histogram::BucketBoundaries{
                                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      in_flight_(in_flight) {
  for (size_t code = 0; code < kCodes; ++code) {
    handled_[code] = &handled->Add(
        {{"grpc_type", TypeLabel(type)},
         {"grpc_service", std::string(service)},
         {"grpc_method", method_},
         {"grpc_code", std::string(GrpcCodeLabel(static_cast<absl::StatusCode>(code)))}});
  }
}

void RpcMethod::Started() {
  started_.Increment();
  in_flight_->Increment();
}

void RpcMethod::Handled(absl::StatusCode code, std::chrono::steady_clock::duration elapsed) {
  in_flight_->Decrement();
  const size_t index = static_cast<size_t>(code);
  handled_[index < kCodes ? index : static_cast<size_t>(absl::StatusCode::kUnknown)]->Increment();
  latency_.Observe(std::chrono::duration<double>(elapsed).count());
}

std::string_view GrpcCodeLabel(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "OK";
    case absl::StatusCode::kCancelled:
      return "Canceled";
    case absl::StatusCode::kUnknown:
      return "Unknown";
    case absl::StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case absl::StatusCode::kDeadlineExceeded:
      return "DeadlineExceeded";
    case absl::StatusCode::kNotFound:
      return "NotFound";
    case absl::StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case absl::StatusCode::kPermissionDenied:
      return "PermissionDenied";
    case absl::StatusCode::kResourceExhausted:
      return "ResourceExhausted";
    case absl::StatusCode::kFailedPrecondition:
      return "FailedPrecondition";
    case absl::StatusCode::kAborted:
      return "Aborted";
    case absl::StatusCode::kOutOfRange:
      return "OutOfRange";
    case absl::StatusCode::kUnimplemented:
      return "Unimplemented";
    case absl::StatusCode::kInternal:
      return "Internal";
    case absl::StatusCode::kUnavailable:
      return "Unavailable";
    case absl::StatusCode::kDataLoss:
      return "DataLoss";
    case absl::StatusCode::kUnauthenticated:
      return "Unauthenticated";
    default:
      return "Unknown";
  }
}

}  // namespace wasikv
