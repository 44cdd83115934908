// Uses the installed wasikv client against a running wasikvd: writes a key,
// reads it back, exits 0 only if both worked. Built by CMake through
// find_package(wasikv) and by hand through pkg-config (run_consumer_test.sh).
#include <iostream>
#include <string>

#include "wasikv/client.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " ENDPOINT VALUE\n";
    return 2;
  }
  wasikv::ClientOptions options;
  options.endpoint = argv[1];
  options.default_deadline = std::chrono::seconds(10);
  auto client = wasikv::Client::Create(options);
  if (!client.ok()) {
    std::cerr << "Create: " << client.status() << "\n";
    return 1;
  }
  wasikv::Bucket bucket = (*client)->bucket("consumer");
  const std::string value = argv[2];
  auto set = bucket.Set("key", value);
  if (!set.ok()) {
    std::cerr << "Set: " << set.status() << "\n";
    return 1;
  }
  auto got = bucket.Get("key");
  if (!got.ok()) {
    std::cerr << "Get: " << got.status() << "\n";
    return 1;
  }
  if (!got->value || got->value->value != value) {
    std::cerr << "Get returned something else than was set\n";
    return 1;
  }
  std::cout << "consumer: read back '" << value << "' at revision " << got->revision << "\n";
  return 0;
}
