#include "client_core.h"

#include <algorithm>
#include <cmath>

#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace wasikv::client_internal {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

bool IsRetryable(absl::StatusCode code) {
  // UNAVAILABLE: the server is down, restarting or unreachable.
  // RESOURCE_EXHAUSTED: an overloaded server shed the call before running it
  // (a message too large is also RESOURCE_EXHAUSTED, and fails again quickly).
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kResourceExhausted;
}

namespace {

std::shared_ptr<grpc::ChannelCredentials> MakeCredentials(const TlsOptions& tls) {
  if (!tls.use_tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls.root_certs_pem;
  ssl.pem_cert_chain = tls.client_cert_chain_pem;
  ssl.pem_private_key = tls.client_private_key_pem;
  return grpc::SslCredentials(ssl);
}

}  // namespace

ClientCore::ClientCore(const ClientOptions& options)
    : options_(options), random_(std::random_device()()), timers_work_(timers_.get_executor()) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options.keepalive_time.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(options.keepalive_timeout.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  // The client retries by its own policy (never Increment or CAS); gRPC's
  // transparent retries would not know which calls are safe.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  if (!options.tls.server_name_override.empty()) {
    args.SetSslTargetNameOverride(options.tls.server_name_override);
  }
  channel_ = grpc::CreateCustomChannel(options.endpoint, MakeCredentials(options.tls), args);
  kv_ = v1::KV::NewStub(channel_);
  buckets_ = v1::Buckets::NewStub(channel_);
  watch_ = v1::Watch::NewStub(channel_);
  health_ = grpc::health::v1::Health::NewStub(channel_);
  timer_thread_ = std::thread([this] { timers_.run(); });
}

ClientCore::~ClientCore() {
  timers_work_.reset();
  timers_.stop();
  timer_thread_.join();
}

std::unique_ptr<grpc::ClientContext> ClientCore::NewContext(
    std::chrono::system_clock::time_point deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (deadline != std::chrono::system_clock::time_point::max()) context->set_deadline(deadline);
  if (!options_.bearer_token.empty()) {
    context->AddMetadata("authorization", "Bearer " + options_.bearer_token);
  }
  return context;
}

std::chrono::system_clock::time_point ClientCore::DeadlineFor(const CallOptions& call) const {
  const auto timeout = call.deadline.count() > 0 ? call.deadline : options_.default_deadline;
  return std::chrono::system_clock::now() + timeout;
}

std::chrono::milliseconds ClientCore::Backoff(int attempt) {
  const RetryPolicy& retry = options_.retry;
  const double grown = static_cast<double>(retry.initial_backoff.count()) *
                       std::pow(retry.backoff_multiplier, std::max(0, attempt - 1));
  const auto cap =
      static_cast<int64_t>(std::min(grown, static_cast<double>(retry.max_backoff.count())));
  std::lock_guard lock(random_mu_);
  // Jitter spreads clients that failed together (a server restart).
  return std::chrono::milliseconds(
      std::uniform_int_distribution<int64_t>(cap / 2, std::max<int64_t>(cap, 1))(random_));
}

void ClientCore::RunAfter(std::chrono::milliseconds delay, std::function<void()> task) {
  auto timer = std::make_shared<boost::asio::steady_timer>(timers_, delay);
  timer->async_wait([timer, task = std::move(task)](const boost::system::error_code& ec) {
    if (!ec) task();
  });
}

}  // namespace wasikv::client_internal
