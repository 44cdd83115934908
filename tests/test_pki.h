// TestPki: throwaway certificate authorities and certificates for a test,
// made with the `openssl` command in a directory the test owns (so tests run
// in parallel). Keys are P-256 and unencrypted. `name` is a file stem:
// MakeCa("ca") writes ca.pem and ca.key; MakeLeaf("server", ...) writes
// server.pem and server.key. Used by one thread; files stay until the
// directory goes.
#ifndef WASIKV_TESTS_TEST_PKI_H_
#define WASIKV_TESTS_TEST_PKI_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace wasikv::testing {

class TestPki {
 public:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}

  // A self-signed CA certificate valid for 30 days.
  absl::Status MakeCa(const std::string& name, const std::string& common_name);

  struct Leaf {
    std::string ca;  // the CA's name (as given to MakeCa)
    std::string common_name;
    // subjectAltName value, e.g. "IP:127.0.0.1,DNS:localhost".
    std::string san = "IP:127.0.0.1,DNS:localhost";
    long serial = 1;
    // Negative: expired (notAfter before now).
    int days = 30;
  };
  // A certificate signed by `leaf.ca`.
  absl::Status MakeLeaf(const std::string& name, const Leaf& leaf);

  // Paths of a name's files, and the PEM text of a file.
  std::string Cert(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string Key(const std::string& name) const { return dir_ + "/" + name + ".key"; }
  static std::string Read(const std::string& path);

  // Makes `to`'s files hold `from`'s, each replaced by a rename, as a
  // certificate rotation does.
  absl::Status Install(const std::string& from, const std::string& to) const;

 private:
  absl::Status OpenSsl(const std::vector<std::string>& args) const;

  std::string dir_;
};

// The path of the `openssl` command (from PATH), or "" if there is none.
std::string OpenSslPath();

}  // namespace wasikv::testing

#endif  // WASIKV_TESTS_TEST_PKI_H_
