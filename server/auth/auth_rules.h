// AuthRules: who may call wasikvd and what each caller may do, as read from
// the --auth-file (docs/security.md).
//
// The file holds one credential per line, never a token itself:
//
//   # name      credential             rights...
//   app         sha256:<64 hex digits> readwrite:app-* read:shared
//   ops         sha256:<64 hex digits> admin read:*
//   worker-1    cert:worker-1.jobs.svc readwrite:jobs
//
// - name: the principal, as logs name it ([A-Za-z0-9._@-]+). Several lines
//   may share a name, e.g. an old and a new token while one is rotated.
// - credential: `sha256:` and the SHA-256 of a bearer token in hex (tokens
//   are random secrets, so a fast hash is the right one: there is nothing to
//   guess), or `cert:` and the name a verified client certificate carries in
//   its subject alternative names or common name.
// - rights: `read:PATTERN` (Get, Exists, ListKeys, GetMany, Watch,
//   OpenBucket), `readwrite:PATTERN` (those and every write), `admin`
//   (CreateBucket, DeleteBucket, Backup, ListBackups). A PATTERN is a bucket
//   name in which `*` matches any run of characters.
//
// Thread safety: immutable once parsed; share freely.
#ifndef WASIKV_SERVER_AUTH_AUTH_RULES_H_
#define WASIKV_SERVER_AUTH_AUTH_RULES_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace wasikv {

// What one credential lets its holder do.
struct Principal {
  struct BucketRight {
    std::string pattern;
    bool write = false;
  };

  std::string name;
  std::vector<BucketRight> buckets;
  bool admin = false;

  bool MayRead(std::string_view bucket) const;
  bool MayWrite(std::string_view bucket) const;
};

using TokenDigest = std::array<uint8_t, 32>;

struct AuthRules {
  struct TokenEntry {
    TokenDigest digest;
    Principal principal;
  };
  struct CertEntry {
    std::string subject;
    Principal principal;
  };

  std::vector<TokenEntry> tokens;
  std::vector<CertEntry> certs;
};

// Parses an auth file's text; `source` names it in errors. INVALID_ARGUMENT
// naming the line and what is wrong with it; a credential is never quoted.
absl::StatusOr<AuthRules> ParseAuthRules(std::string_view text, std::string_view source);

// The SHA-256 of a bearer token, as the file stores it.
TokenDigest DigestToken(std::string_view token);

// `*` matches any run of characters; everything else matches itself.
bool MatchesBucketPattern(std::string_view pattern, std::string_view bucket);

}  // namespace wasikv

#endif  // WASIKV_SERVER_AUTH_AUTH_RULES_H_
