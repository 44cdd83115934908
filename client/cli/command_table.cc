#include "client/cli/command_table.h"

#include "client/cli/admin_commands.h"
#include "client/cli/batch_commands.h"
#include "client/cli/bucket_commands.h"
#include "client/cli/key_commands.h"
#include "client/cli/server_commands.h"
#include "client/cli/watch_command.h"

namespace wasikv::cli {
namespace {

constexpr FlagSpec kGlobalFlags[] = {
    {"endpoint", "HOST:PORT", "server address (else $WASIKV_ENDPOINT, else 127.0.0.1:50051)"},
    {"token", "T", "bearer token sent with every call (else $WASIKV_TOKEN)"},
    {"tls", "", "connect with TLS; the system's CAs verify the server"},
    {"tls-ca", "FILE", "PEM CA that verifies the server (implies --tls)"},
    {"tls-cert", "FILE", "PEM client certificate for mutual TLS, with --tls-key"},
    {"tls-key", "FILE", "PEM private key of --tls-cert"},
    {"tls-server-name", "NAME", "name to check in the server's certificate (default: the host)"},
    {"timeout", "DURATION", "deadline of each call: 500ms, 5s, 1m30s... (default 10s)"},
    {"json", "", "print JSON, one document per line"},
    {"help", "", "show help (-h; also 'wasikv help COMMAND')"},
    {"version", "", "print the version (without a command)"},
};

std::vector<Command> BuildCommands() {
  std::vector<Command> commands;
  const auto append = [&commands](std::vector<Command> group) {
    commands.insert(commands.end(), std::make_move_iterator(group.begin()),
                    std::make_move_iterator(group.end()));
  };
  append(KeyCommands());
  append(BatchCommands());
  commands.push_back(WatchCommand());
  append(BucketCommands());
  append(ServerCommands());
  append(AdminCommands());
  return commands;
}

}  // namespace

const std::vector<Command>& AllCommands() {
  static const std::vector<Command>* const commands = new std::vector<Command>(BuildCommands());
  return *commands;
}

const Command* FindCommand(std::string_view name) {
  for (const Command& command : AllCommands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

std::span<const FlagSpec> GlobalFlags() { return kGlobalFlags; }

}  // namespace wasikv::cli
