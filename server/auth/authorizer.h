// Authorizer: who is calling, and may they do what the call asks.
//
// With no --auth-file every caller may do everything, as suits a server on
// loopback. With one (auth_rules.h has the format) a caller is the principal
// of the first credential it presents that the file knows:
//   - `authorization: Bearer <token>` metadata, matched by the token's
//     SHA-256 against every token line in constant time;
//   - else a client certificate verified by TLS (only when the server
//     requires and verifies client certificates), matched by its subject
//     alternative names, then its common name, against the `cert:` lines.
// No credential, or one the file does not know, is UNAUTHENTICATED; a known
// caller without the right is PERMISSION_DENIED naming the principal, the
// right and the bucket. Tokens and their hashes never reach a log or an
// error message.
//
// The file is re-read when it changes (checked every reload_interval, which
// follows Kubernetes' symlink swap of a mounted Secret) or on Reload() (the
// daemon calls it on SIGHUP). A file that no longer parses keeps the rules
// in force and logs why.
//
// Thread safety: every method may be called from any thread.
#ifndef WASIKV_SERVER_AUTH_AUTHORIZER_H_
#define WASIKV_SERVER_AUTH_AUTHORIZER_H_

#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"
#include "server/auth/auth_rules.h"

namespace wasikv {

// What a call needs.
enum class Access {
  kRead,          // read the request's bucket
  kWrite,         // write the request's bucket
  kAdmin,         // the admin right
  kAnyPrincipal,  // any known caller (ListBuckets, which then filters)
};

class Authorizer {
 public:
  struct Options {
    // Empty: authentication is off and every caller may do everything.
    std::string auth_file;
    // Whether verified client certificates may name a principal: true only
    // when TLS requires and verifies them.
    bool trust_client_certificates = false;
    std::chrono::milliseconds reload_interval{2000};
  };

  // Reads the file; INVALID_ARGUMENT (or NOT_FOUND) naming it if it cannot.
  static absl::StatusOr<std::unique_ptr<Authorizer>> Create(Options options);
  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;
  ~Authorizer();

  bool enabled() const { return !options_.auth_file.empty(); }

  // The caller's principal: everyone's when authentication is off,
  // UNAUTHENTICATED when no credential the file knows came with the call.
  absl::StatusOr<std::shared_ptr<const Principal>> Authenticate(
      const grpc::ServerContextBase& context) const;

  // OK if `principal` may make a call needing `access` to `bucket` (ignored
  // for kAdmin and kAnyPrincipal), else PERMISSION_DENIED saying why.
  static absl::Status Check(const Principal& principal, Access access, std::string_view bucket);

  // Re-reads the file now. On error the rules in force stay.
  absl::Status Reload();

 private:
  explicit Authorizer(Options options);
  // Reloads whenever the file's identity or contents' stamp changes.
  void WatchFile();

  const Options options_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const AuthRules> rules_ ABSL_GUARDED_BY(mu_);
  // The file as last read: inode, size and change time.
  struct stat stamp_ ABSL_GUARDED_BY(mu_) {};
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watcher_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_AUTH_AUTHORIZER_H_
