#include "client/cli/server_commands.h"

#include <string>

#include "client/cli/json_writer.h"
#include "wasikv/internal/status_macros.h"

namespace wasikv::cli {
namespace {

std::string_view HealthName(HealthStatus status) {
  switch (status) {
    case HealthStatus::kServing:
      return "SERVING";
    case HealthStatus::kNotServing:
      return "NOT_SERVING";
    case HealthStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
  }
  return "UNKNOWN";
}

CommandOutcome RunHealth(CommandContext& context) {
  if (!context.ExpectArgs(0, 1)) return ExitCode::kUsage;
  const std::string service = context.positional().empty() ? "" : context.positional()[0];
  ASSIGN_OR_RETURN(Client * client, context.client());
  ASSIGN_OR_RETURN(HealthStatus status, client->CheckHealth(service));
  if (context.json()) {
    JsonWriter json;
    json.BeginObject().Member("service", service).Member("status", HealthName(status)).EndObject();
    context.out().JsonLine(json);
  } else {
    context.out().Line(std::string(HealthName(status)));
  }
  return status == HealthStatus::kServing ? ExitCode::kOk : ExitCode::kNotFound;
}

}  // namespace

std::vector<Command> ServerCommands() {
  return {
      {.name = "health",
       .args = "[SERVICE]",
       .summary = "ask the server's grpc.health.v1 service; exit 0 only if SERVING",
       .details = "Asks grpc.health.v1.Health/Check about SERVICE (default: the server as a\n"
                  "whole; or wasikv.v1.KV, wasikv.v1.Buckets, wasikv.v1.Watch) and prints\n"
                  "SERVING, NOT_SERVING or SERVICE_UNKNOWN. Exits 0 only for SERVING, 1 for\n"
                  "the other two, 3 if the server cannot be reached: fit for container\n"
                  "health checks (HEALTHCHECK CMD wasikv health) and scripts.\n"
                  "--json prints {\"service\",\"status\"}.",
       .flags = {},
       .run = RunHealth},
  };
}

}  // namespace wasikv::cli
