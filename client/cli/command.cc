#include "client/cli/command.h"

#include <string>

#include "client/cli/input.h"

namespace wasikv::cli {

ExitCode ReportUsage(Output& out, const Command& command, std::string_view message) {
  const std::string name(command.name);
  out.Note(name + ": " + std::string(message));
  out.Note("usage: wasikv " + name + (command.args.empty() ? "" : " ") + std::string(command.args) +
           "  (see 'wasikv " + name + " --help')");
  return ExitCode::kUsage;
}

absl::StatusOr<Client*> CommandContext::client() {
  if (client_ == nullptr) {
    absl::StatusOr<std::unique_ptr<Client>> created = Client::Create(options_);
    if (!created.ok()) return created.status();
    client_ = std::move(*created);
  }
  return client_.get();
}

absl::StatusOr<std::string> CommandContext::ValueArgument(size_t index) const {
  const std::vector<std::string>& args = args_.positional();
  if (index < args.size() && args[index] != "-") return args[index];
  return ReadStandardInput();
}

ExitCode CommandContext::Usage(std::string_view message) {
  return ReportUsage(out_, command_, message);
}

bool CommandContext::ExpectArgs(size_t min, size_t max) {
  const size_t given = args_.positional().size();
  if (given >= min && given <= max) return true;
  Usage(given < min ? "missing arguments" : "too many arguments");
  return false;
}

}  // namespace wasikv::cli
