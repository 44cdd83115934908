#include "server/auth/auth_rules.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "openssl/sha.h"
#include "server/common/str_cat.h"

namespace wasikv {
namespace {

constexpr std::string_view kTokenPrefix = "sha256:";
constexpr std::string_view kCertPrefix = "cert:";

bool IsPrincipalName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
           c == '@';
  });
}

// Bucket characters plus `*`.
bool IsBucketPattern(std::string_view pattern) {
  return !pattern.empty() && std::all_of(pattern.begin(), pattern.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
           c == '*';
  });
}

// The whitespace-separated fields of a line.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    start = line.find_first_not_of(" \t\r", start);
    if (start == std::string_view::npos) return fields;
    const size_t end = std::min(line.find_first_of(" \t\r", start), line.size());
    fields.push_back(line.substr(start, end - start));
    start = end;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::Status LineError(std::string_view source, int line, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(source, " line ", line, ": ", what));
}

absl::Status ParseRight(std::string_view right, Principal* principal) {
  if (right == "admin") {
    principal->admin = true;
    return absl::OkStatus();
  }
  for (const auto& [prefix, write] : {std::pair<std::string_view, bool>{"read:", false},
                                      std::pair<std::string_view, bool>{"readwrite:", true}}) {
    if (right.substr(0, prefix.size()) != prefix) continue;
    std::string_view pattern = right.substr(prefix.size());
    if (!IsBucketPattern(pattern)) {
      return absl::InvalidArgumentError(
          StrCat("bucket pattern '", pattern, "' may hold only [A-Za-z0-9._-] and '*'"));
    }
    principal->buckets.push_back({std::string(pattern), write});
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      StrCat("unknown right '", right, "'; rights are read:PATTERN, readwrite:PATTERN and admin"));
}

}  // namespace

bool Principal::MayRead(std::string_view bucket) const {
  return std::any_of(buckets.begin(), buckets.end(), [&](const BucketRight& right) {
    return MatchesBucketPattern(right.pattern, bucket);
  });
}

bool Principal::MayWrite(std::string_view bucket) const {
  return std::any_of(buckets.begin(), buckets.end(), [&](const BucketRight& right) {
    return right.write && MatchesBucketPattern(right.pattern, bucket);
  });
}

bool MatchesBucketPattern(std::string_view pattern, std::string_view bucket) {
  // Greedy glob with backtracking to the last '*': linear for the short
  // patterns and names (<= 64 bytes) used here.
  size_t p = 0, b = 0, star = std::string_view::npos, resume = 0;
  while (b < bucket.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = b;
    } else if (p < pattern.size() && pattern[p] == bucket[b]) {
      ++p;
      ++b;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      b = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

TokenDigest DigestToken(std::string_view token) {
  TokenDigest digest;
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest.data());
  return digest;
}

absl::StatusOr<AuthRules> ParseAuthRules(std::string_view text, std::string_view source) {
  AuthRules rules;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t newline = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(std::min(newline + 1, text.size()));
    line = line.substr(0, line.find('#'));
    const std::vector<std::string_view> fields = Fields(line);
    if (fields.empty()) continue;
    if (fields.size() < 3) {
      return LineError(source, line_number, "expected a name, a credential and at least one right");
    }
    Principal principal;
    principal.name = std::string(fields[0]);
    if (!IsPrincipalName(principal.name)) {
      return LineError(source, line_number, "a name may hold only [A-Za-z0-9._@-]");
    }
    for (size_t i = 2; i < fields.size(); ++i) {
      if (absl::Status right = ParseRight(fields[i], &principal); !right.ok()) {
        return LineError(source, line_number, std::string(right.message()));
      }
    }
    const std::string_view credential = fields[1];
    if (credential.substr(0, kTokenPrefix.size()) == kTokenPrefix) {
      const std::string_view hex = credential.substr(kTokenPrefix.size());
      const bool is_hex = hex.size() == 64 && std::all_of(hex.begin(), hex.end(),
                                                          [](char c) { return HexValue(c) >= 0; });
      if (!is_hex) {
        // The value itself stays out of the message: it may be a pasted token.
        return LineError(source, line_number,
                         "a token credential is sha256: and 64 hex digits, the SHA-256 of the "
                         "token (printf %s \"$TOKEN\" | sha256sum)");
      }
      AuthRules::TokenEntry entry;
      for (size_t i = 0; i < entry.digest.size(); ++i) {
        entry.digest[i] =
            static_cast<uint8_t>(HexValue(hex[2 * i]) << 4 | HexValue(hex[2 * i + 1]));
      }
      entry.principal = std::move(principal);
      rules.tokens.push_back(std::move(entry));
    } else if (credential.substr(0, kCertPrefix.size()) == kCertPrefix &&
               credential.size() > kCertPrefix.size()) {
      rules.certs.push_back(
          {std::string(credential.substr(kCertPrefix.size())), std::move(principal)});
    } else {
      return LineError(source, line_number,
                       "the credential must be sha256:<hex digest of a token> or "
                       "cert:<client certificate name>");
    }
  }
  return rules;
}

}  // namespace wasikv
