#include "server/rpc/list_cursor.h"

#include "absl/strings/escaping.h"
#include "server/common/str_cat.h"

namespace wasikv {
namespace {

constexpr char kCursorFormat = 0x01;

absl::Status Malformed(std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(
      StrCat(field, ": malformed cursor (", why,
             "); pass back next_cursor from the previous page unchanged, or empty to start"));
}

}  // namespace

std::string EncodeListCursor(std::string_view last_key) {
  std::string raw;
  raw.reserve(last_key.size() + 1);
  raw.push_back(kCursorFormat);
  raw.append(last_key);
  std::string out;
  absl::WebSafeBase64Escape(raw, &out);
  return out;
}

absl::StatusOr<std::string> DecodeListCursor(std::string_view field, std::string_view cursor,
                                             std::string_view prefix, size_t max_key_bytes) {
  // 4 base64 characters per 3 bytes, plus the format byte.
  if (cursor.size() > (max_key_bytes + 1 + 2) / 3 * 4) {
    return Malformed(field, "too long");
  }
  std::string raw;
  if (!absl::WebSafeBase64Unescape(std::string(cursor), &raw)) {
    return Malformed(field, "not base64url");
  }
  if (raw.size() < 2 || raw[0] != kCursorFormat) {
    return Malformed(field, "unknown format");
  }
  std::string last_key = raw.substr(1);
  // The length check above is in base64 characters, which round up: it
  // lets through a cursor of a key up to two bytes longer than a key can be.
  if (last_key.size() > max_key_bytes) return Malformed(field, "too long");
  if (last_key.compare(0, prefix.size(), prefix) != 0) {
    return absl::InvalidArgumentError(
        StrCat(field,
               ": cursor belongs to a listing with another prefix; "
               "a cursor is only valid with the prefix it was returned for"));
  }
  return last_key;
}

}  // namespace wasikv
