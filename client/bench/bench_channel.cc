#include "client/bench/bench_channel.h"

#include <chrono>

namespace wasikv::bench {

absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectBenchChannel(const std::string& endpoint,
                                                                   const std::string& server) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    return absl::UnavailableError("--endpoint: cannot connect to " + server + " at " + endpoint +
                                  " within 10 s");
  }
  return channel;
}

}  // namespace wasikv::bench
