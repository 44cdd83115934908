#include "server/auth/authorizer.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "openssl/crypto.h"
#include "server/common/log.h"
#include "server/common/str_cat.h"
#include "server/common/thread_name.h"

namespace wasikv {
namespace {

constexpr std::string_view kBearer = "bearer ";

// The caller when authentication is off.
const Principal& Everyone() {
  static const Principal* everyone = new Principal{"anonymous", {{"*", true}}, true};
  return *everyone;
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

absl::StatusOr<std::pair<AuthRules, struct stat>> ReadRules(const std::string& path) {
  struct stat stamp {};
  std::ifstream in(path);
  if (!in || ::stat(path.c_str(), &stamp) != 0) {
    return absl::NotFoundError(StrCat("--auth-file ", path, ": cannot be read"));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<AuthRules> rules = ParseAuthRules(text.str(), StrCat("--auth-file ", path));
  if (!rules.ok()) return rules.status();
  return std::pair{std::move(*rules), stamp};
}

std::string DescribeRights(const Principal& principal) {
  std::string rights;
  for (const Principal::BucketRight& right : principal.buckets) {
    rights +=
        StrCat(rights.empty() ? "" : " ", right.write ? "readwrite:" : "read:", right.pattern);
  }
  if (principal.admin) rights += rights.empty() ? "admin" : " admin";
  return rights.empty() ? "none" : rights;
}

}  // namespace

Authorizer::Authorizer(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::Create(Options options) {
  std::unique_ptr<Authorizer> authorizer(new Authorizer(std::move(options)));
  if (!authorizer->enabled()) return authorizer;
  auto read = ReadRules(authorizer->options_.auth_file);
  if (!read.ok()) return read.status();
  {
    absl::MutexLock lock(&authorizer->mu_);
    authorizer->rules_ = std::make_shared<const AuthRules>(std::move(read->first));
    authorizer->stamp_ = read->second;
  }
  authorizer->watcher_ = std::thread([raw = authorizer.get()] {
    SetCurrentThreadName("wasikv-authfile");
    raw->WatchFile();
  });
  return authorizer;
}

Authorizer::~Authorizer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (watcher_.joinable()) watcher_.join();
}

void Authorizer::WatchFile() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                               absl::FromChrono(options_.reload_interval))) {
        return;
      }
      struct stat now {};
      if (::stat(options_.auth_file.c_str(), &now) != 0 || SameFile(now, stamp_)) continue;
    }
    (void)Reload();
  }
}

absl::Status Authorizer::Reload() {
  if (!enabled()) return absl::OkStatus();
  auto read = ReadRules(options_.auth_file);
  absl::MutexLock lock(&mu_);
  if (!read.ok()) {
    LogEvent(spdlog::level::err, "auth_reload_failed",
             {{"error", std::string(read.status().message())}, {"kept", "previous rules"}});
    // Not retried until the file changes again.
    ::stat(options_.auth_file.c_str(), &stamp_);
    return read.status();
  }
  rules_ = std::make_shared<const AuthRules>(std::move(read->first));
  stamp_ = read->second;
  LogEvent(spdlog::level::info, "auth_reloaded",
           {{"file", options_.auth_file},
            {"tokens", std::to_string(rules_->tokens.size())},
            {"certificates", std::to_string(rules_->certs.size())}});
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Principal>> Authorizer::Authenticate(
    const grpc::ServerContextBase& context) const {
  if (!enabled()) return std::shared_ptr<const Principal>(std::shared_ptr<void>(), &Everyone());
  std::shared_ptr<const AuthRules> rules;
  {
    absl::MutexLock lock(&mu_);
    rules = rules_;
  }
  const auto& metadata = context.client_metadata();
  if (auto header = metadata.find("authorization"); header != metadata.end()) {
    const std::string_view value(header->second.data(), header->second.size());
    // The scheme is case-insensitive (RFC 6750).
    std::string scheme(value.substr(0, kBearer.size()));
    absl::AsciiStrToLower(&scheme);
    if (value.size() <= kBearer.size() || scheme != kBearer) {
      return absl::UnauthenticatedError(
          "authorization: expected \"Bearer <token>\" (wasikv --token, or $WASIKV_TOKEN)");
    }
    const TokenDigest digest = DigestToken(value.substr(kBearer.size()));
    // Every entry is compared, each in constant time.
    const AuthRules::TokenEntry* match = nullptr;
    for (const AuthRules::TokenEntry& entry : rules->tokens) {
      const bool equal = CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
      if (equal && match == nullptr) match = &entry;
    }
    if (match == nullptr) {
      return absl::UnauthenticatedError(
          "authorization: the bearer token is not one this server's --auth-file knows");
    }
    return std::shared_ptr<const Principal>(rules, &match->principal);
  }
  if (options_.trust_client_certificates) {
    const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
    if (auth != nullptr && auth->IsPeerAuthenticated()) {
      for (const char* property : {"x509_subject_alternative_name", "x509_common_name"}) {
        for (const grpc::string_ref& name : auth->FindPropertyValues(property)) {
          const std::string_view subject(name.data(), name.size());
          for (const AuthRules::CertEntry& entry : rules->certs) {
            if (entry.subject == subject) {
              return std::shared_ptr<const Principal>(rules, &entry.principal);
            }
          }
        }
      }
      return absl::UnauthenticatedError(
          "the client certificate names no principal of this server's --auth-file, and the "
          "call carries no bearer token");
    }
  }
  return absl::UnauthenticatedError(
      "this server needs a credential: send \"authorization: Bearer <token>\" (wasikv --token, or "
      "$WASIKV_TOKEN)");
}

absl::Status Authorizer::Check(const Principal& who, Access access, std::string_view bucket) {
  bool allowed = true;
  std::string_view needs;
  switch (access) {
    case Access::kRead:
      allowed = who.MayRead(bucket);
      needs = "read";
      break;
    case Access::kWrite:
      allowed = who.MayWrite(bucket);
      needs = "write";
      break;
    case Access::kAdmin:
      allowed = who.admin;
      needs = "admin";
      break;
    case Access::kAnyPrincipal:
      break;
  }
  if (allowed) return absl::OkStatus();
  const std::string what = access == Access::kAdmin
                               ? std::string("use this admin call (it needs the admin right)")
                               : StrCat(needs, " bucket '", bucket, "'");
  return absl::PermissionDeniedError(StrCat("principal '", who.name, "' may not ", what,
                                            "; its rights are ", DescribeRights(who)));
}

}  // namespace wasikv
