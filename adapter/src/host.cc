#include "wasikv/adapter/host.h"

#include <algorithm>
#include <utility>

#include "absl/strings/cord.h"
#include "fmt/format.h"
#include "wasikv/internal/status_text.h"

namespace wasikv::adapter {
namespace {

// Marks a status as "trap the guest" without stealing a status code that a
// server error could also carry.
constexpr char kTrapPayloadUrl[] = "type.wasikv.dev/adapter.GuestTrap";

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

absl::StatusOr<std::shared_ptr<Host>> Host::Create(const ClientOptions& client_options,
                                                   HostOptions options) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(client_options);
  if (!client.ok()) return client.status();
  return std::make_shared<Host>(std::shared_ptr<Client>(std::move(*client)), std::move(options));
}

Host::Host(std::shared_ptr<Client> client, HostOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

absl::StatusOr<std::string> Host::ResolveBucket(std::string_view identifier) const {
  if (identifier.empty()) return options_.default_bucket;
  std::string name(identifier);
  if (name == options_.default_bucket) return name;
  if (Contains(options_.denied_buckets, name) ||
      (!options_.allowed_buckets.empty() && !Contains(options_.allowed_buckets, name))) {
    return absl::PermissionDeniedError(
        fmt::format("this host does not let its guests open bucket '{}'", name));
  }
  return name;
}

KeyValueError ToKeyValueError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return {KeyValueError::Kind::kNoSuchStore, std::string(status.message())};
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return {KeyValueError::Kind::kAccessDenied, std::string(status.message())};
    default:
      return {KeyValueError::Kind::kOther,
              fmt::format("{}: {}", absl::StatusCodeToString(status.code()), MessageOf(status))};
  }
}

absl::Status GuestTrap(std::string_view message) {
  absl::Status status(absl::StatusCode::kAborted, std::string(message));
  status.SetPayload(kTrapPayloadUrl, absl::Cord("trap"));
  return status;
}

bool IsGuestTrap(const absl::Status& status) {
  return status.GetPayload(kTrapPayloadUrl).has_value();
}

}  // namespace wasikv::adapter
