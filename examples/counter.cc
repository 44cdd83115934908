// counter: adds to a counter kept in wasikv and prints its new value.
//
//   counter [--endpoint HOST:PORT] [--bucket BUCKET] [KEY [DELTA]]
//
// Run it from many processes at once: Increment is atomic on the server, so
// no update is lost (unlike Get, add, Set).
#include <cstdint>
#include <iostream>
#include <string>

#include "example_args.h"
#include "wasikv/client.h"

constexpr char kUsage[] =
    "usage: counter [--endpoint HOST:PORT] [--bucket BUCKET] [KEY [DELTA]]\n"
    "Adds DELTA (default 1) to the counter KEY (default \"visits\") and prints it.\n";

int main(int argc, char** argv) {
  auto args = wasikv_examples::ParseArgs(argc, argv, kUsage);
  if (!args || args->positional.size() > 2) return 2;
  const std::string key = args->positional.size() > 0 ? args->positional[0] : "visits";
  const auto delta = wasikv_examples::ParseNumber<int64_t>(
      args->positional.size() > 1 ? args->positional[1] : "1");
  if (!delta) {
    std::cerr << "counter: DELTA must be an integer\n" << kUsage;
    return 2;
  }

  wasikv::ClientOptions options;
  options.endpoint = args->endpoint;
  // Create does not connect: an unreachable server shows up as UNAVAILABLE
  // on the first call.
  auto client = wasikv::Client::Create(options);
  if (!client.ok()) {
    std::cerr << "counter: " << client.status() << "\n";
    return 1;
  }

  // A Bucket handle is the same calls without repeating the bucket name. The
  // bucket is created by the first write (unless the server runs with
  // --auto-create-buckets=false).
  wasikv::Bucket bucket = (*client)->bucket(args->Flag("bucket", "examples"));

  // A missing key counts as 0. The value is stored as decimal text, so Get
  // (or grpcurl) shows "42"; a key holding anything else is
  // FAILED_PRECONDITION. Increment is never retried by the client: after an
  // UNAVAILABLE or DEADLINE_EXCEEDED the increment may or may not have
  // happened, and only reading the counter tells.
  auto result = bucket.Increment(key, *delta);
  if (!result.ok()) {
    std::cerr << "counter: Increment " << key << ": " << result.status() << "\n";
    return 1;
  }
  std::cout << key << " = " << result->value << " (revision " << result->revision << ")\n";
  return 0;
}
