#include "tests/test_pki.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "tests/server_process.h"

namespace wasikv::testing {
namespace {

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::InternalError("cannot write " + path);
  return absl::OkStatus();
}

}  // namespace

std::string OpenSslPath() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = dir + "/openssl";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

absl::Status TestPki::OpenSsl(const std::vector<std::string>& args) const {
  const std::string openssl = OpenSslPath();
  if (openssl.empty()) return absl::FailedPreconditionError("no openssl command on PATH");
  std::vector<std::string> command = {openssl};
  command.insert(command.end(), args.begin(), args.end());
  CommandResult result = RunCommand(command);
  if (result.exit_code != 0) {
    std::string line;
    for (const std::string& arg : command) line += " " + arg;
    return absl::InternalError("openssl failed (" + std::to_string(result.exit_code) + "):" + line +
                               "\n" + result.output);
  }
  return absl::OkStatus();
}

absl::Status TestPki::MakeCa(const std::string& name, const std::string& common_name) {
  return OpenSsl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-keyout", Key(name), "-out", Cert(name), "-days", "30", "-subj",
                  "/CN=" + common_name});
}

absl::Status TestPki::MakeLeaf(const std::string& name, const Leaf& leaf) {
  const std::string csr = dir_ + "/" + name + ".csr";
  const std::string extensions = dir_ + "/" + name + ".ext";
  if (absl::Status s =
          OpenSsl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                   "-keyout", Key(name), "-out", csr, "-subj", "/CN=" + leaf.common_name});
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteFile(extensions, "subjectAltName=" + leaf.san + "\n"); !s.ok()) {
    return s;
  }
  return OpenSsl({"x509", "-req", "-in", csr, "-CA", Cert(leaf.ca), "-CAkey", Key(leaf.ca),
                  "-set_serial", std::to_string(leaf.serial), "-days", std::to_string(leaf.days),
                  "-extfile", extensions, "-out", Cert(name)});
}

std::string TestPki::Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

absl::Status TestPki::Install(const std::string& from, const std::string& to) const {
  for (const auto& [source, target] :
       {std::pair{Cert(from), Cert(to)}, std::pair{Key(from), Key(to)}}) {
    const std::string staged = target + ".new";
    if (absl::Status s = WriteFile(staged, Read(source)); !s.ok()) return s;
    if (std::rename(staged.c_str(), target.c_str()) != 0) {
      return absl::InternalError("cannot rename " + staged + " to " + target);
    }
  }
  return absl::OkStatus();
}

}  // namespace wasikv::testing
