// decode_bench: what wasikv's own request decoding (server/rpc/request_decoder.h)
// costs next to the path gRPC's generated services take, in one process.
//
// gRPC's callback handler for a typed method builds the request in the call
// arena and parses it with SerializationTraits<Request>::Deserialize. wasikv
// registers its methods raw (DecodingService) so that a request that does
// not parse is INVALID_ARGUMENT naming the field: gRPC hands over the
// ByteBuffer (SerializationTraits<ByteBuffer>) and the handler allocates the
// request on the heap and calls DecodeRequest. Both paths are timed here on
// the same encoded requests, alternating in rounds so drift hits both, and
// reported as ns per request and as a ratio. It prints numbers and asserts
// nothing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "server/rpc/request_decoder.h"
#include "tests/bench/bench_flags.h"
#include "wasikv/v1/kv.pb.h"

namespace wasikv {
namespace {

constexpr char kUsage[] =
    "usage: decode_bench [--rounds N] [--iterations N]\n"
    "  --rounds N       alternating rounds of each path (default 9; the median is reported)\n"
    "  --iterations N   requests decoded per round (default 200000)\n";

grpc::ByteBuffer Encode(const google::protobuf::Message& message) {
  grpc::ByteBuffer buffer;
  bool own_buffer = false;
  if (!grpc::SerializationTraits<google::protobuf::Message>::Serialize(message, &buffer,
                                                                       &own_buffer)
           .ok()) {
    std::fprintf(stderr, "decode_bench: cannot serialise %s\n",
                 message.GetDescriptor()->full_name().c_str());
    std::exit(1);
  }
  return buffer;
}

// gRPC's generated path: the request constructed in place (as in the call
// arena) and parsed by protobuf's SerializationTraits.
template <typename Request>
bool DecodeAsGrpcDoes(const grpc::ByteBuffer& raw) {
  grpc::ByteBuffer buffer(raw);
  alignas(Request) unsigned char storage[sizeof(Request)];
  Request* request = new (storage) Request();
  const bool ok = grpc::SerializationTraits<Request>::Deserialize(&buffer, request).ok();
  const bool used = ok && request->ByteSizeLong() > 0;
  request->~Request();
  return used;
}

// wasikv's path: the raw buffer handed over, the request on the heap, and
// DecodeRequest.
template <typename Request>
bool DecodeAsWasikvDoes(const grpc::ByteBuffer& raw) {
  grpc::ByteBuffer buffer(raw);
  // gRPC moves the received buffer into the handler's ByteBuffer; Swap is
  // that move (SerializationTraits<ByteBuffer> would alias it here).
  grpc::ByteBuffer handed_over;
  handed_over.Swap(&buffer);
  auto request = std::make_unique<Request>();
  return DecodeRequest(handed_over, request.get()).ok() && request->ByteSizeLong() > 0;
}

template <typename Decode>
double NanosPerRequest(Decode decode, const grpc::ByteBuffer& raw, int iterations) {
  int decoded = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) decoded += decode(raw) ? 1 : 0;
  const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  if (decoded != iterations) {
    std::fprintf(stderr, "decode_bench: %d of %d requests did not decode\n", iterations - decoded,
                 iterations);
    std::exit(1);
  }
  return elapsed.count() / iterations;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

template <typename Request>
void Measure(const char* name, const Request& request, int rounds, int iterations) {
  const grpc::ByteBuffer raw = Encode(request);
  std::vector<double> grpc_ns;
  std::vector<double> wasikv_ns;
  for (int round = 0; round < rounds; ++round) {
    grpc_ns.push_back(NanosPerRequest(DecodeAsGrpcDoes<Request>, raw, iterations));
    wasikv_ns.push_back(NanosPerRequest(DecodeAsWasikvDoes<Request>, raw, iterations));
  }
  const double grpc_median = Median(grpc_ns);
  const double wasikv_median = Median(wasikv_ns);
  std::printf("| %s | %zu | %.0f | %.0f | %+.0f | %.2fx |\n", name, raw.Length(), grpc_median,
              wasikv_median, wasikv_median - grpc_median, wasikv_median / grpc_median);
}

int Main(int argc, char** argv) {
  int rounds = 9;
  int iterations = 200000;
  for (const bench::BenchFlag& flag : bench::SplitBenchFlags(argc, argv, "decode_bench", kUsage)) {
    const int value = std::atoi(flag.value.c_str());
    if (value <= 0) bench::ExitWithUsage("decode_bench", kUsage, flag.name + " must be > 0");
    if (flag.name == "--rounds") {
      rounds = value;
    } else if (flag.name == "--iterations") {
      iterations = value;
    } else {
      bench::ExitWithUsage("decode_bench", kUsage, "unknown flag " + flag.name);
    }
  }

  const std::string value(100, 'v');
  v1::GetRequest get;
  get.set_bucket("bench");
  get.set_key("k0000001234");
  v1::SetRequest set;
  set.set_bucket("bench");
  set.set_key("k0000001234");
  set.set_value(value);
  v1::GetManyRequest get_many;
  v1::SetManyRequest set_many;
  get_many.set_bucket("bench");
  set_many.set_bucket("bench");
  for (int i = 0; i < 100; ++i) {
    const std::string key = "k" + std::to_string(1000000 + i);
    get_many.add_keys(key);
    v1::KeyValue* entry = set_many.add_entries();
    entry->set_key(key);
    entry->set_value(value);
  }

  std::printf("decode_bench: median of %d alternating rounds of %d requests each\n\n", rounds,
              iterations);
  std::printf(
      "| request | bytes | gRPC's generated path, ns | wasikv's DecodeRequest, ns | difference, ns "
      "| ratio |\n|---|--:|--:|--:|--:|--:|\n");
  Measure("Get", get, rounds, iterations);
  Measure("Set, 100 B value", set, rounds, iterations);
  Measure("GetMany, 100 keys", get_many, rounds, iterations / 20);
  Measure("SetMany, 100 entries of 100 B", set_many, rounds, iterations / 20);
  return 0;
}

}  // namespace
}  // namespace wasikv

int main(int argc, char** argv) { return wasikv::Main(argc, argv); }
