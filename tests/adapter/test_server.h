// What every adapter test starts from: a wasikvd of its own (its own data
// directory, port 0) and a client connected to it.
#ifndef WASIKV_TESTS_ADAPTER_TEST_SERVER_H_
#define WASIKV_TESTS_ADAPTER_TEST_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "wasikv/client.h"

namespace wasikv::testing {

struct TestServer {
  // Starts wasikvd with `server_args` (see ServerProcess::Start) and connects.
  absl::Status Start(const std::vector<std::string>& server_args = {}) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> started =
        ServerProcess::Start(dir.path(), server_args);
    if (!started.ok()) return started.status();
    process = std::move(*started);
    ClientOptions options;
    options.endpoint = process->address();
    absl::StatusOr<std::unique_ptr<Client>> connected = Client::Create(options);
    if (!connected.ok()) return connected.status();
    client = std::move(*connected);
    return absl::OkStatus();
  }

  TempDir dir;
  std::unique_ptr<ServerProcess> process;
  std::shared_ptr<Client> client;
};

}  // namespace wasikv::testing

#endif  // WASIKV_TESTS_ADAPTER_TEST_SERVER_H_
