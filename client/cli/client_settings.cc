#include "client/cli/client_settings.h"

#include <cstdlib>
#include <optional>
#include <string>

namespace wasikv::cli {
namespace {

// The flag's value if given, else the environment variable's if set and not
// empty.
std::optional<std::string> FlagOrEnvironment(const ParsedArgs& args, std::string_view flag,
                                             const char* variable) {
  if (std::optional<std::string> value = args.Value(flag)) return value;
  const char* from_environment = std::getenv(variable);
  if (from_environment != nullptr && *from_environment != '\0') return from_environment;
  return std::nullopt;
}

}  // namespace

absl::StatusOr<ClientOptions> ResolveClientOptions(const ParsedArgs& args) {
  ClientOptions options;
  if (std::optional<std::string> endpoint =
          FlagOrEnvironment(args, "endpoint", "WASIKV_ENDPOINT")) {
    if (endpoint->empty()) return absl::InvalidArgumentError("--endpoint must not be empty");
    options.endpoint = *endpoint;
  }
  if (std::optional<std::string> token = FlagOrEnvironment(args, "token", "WASIKV_TOKEN")) {
    options.bearer_token = *token;
  }
  if (std::optional<std::string> timeout = args.Value("timeout")) {
    std::optional<std::chrono::milliseconds> parsed = ParseDuration(*timeout);
    if (!parsed) {
      return absl::InvalidArgumentError("--timeout: '" + *timeout +
                                        "' is not a duration such as 500ms, 5s or 1m");
    }
    options.default_deadline = *parsed;
  }
  return options;
}

}  // namespace wasikv::cli
