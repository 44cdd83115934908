// ListKeys cursors: opaque to clients, a versioned encoding of the last key
// returned, so the next page starts strictly after it. Pagination by key
// (not offset) is what makes a key that exists for the whole listing appear
// exactly once while other keys come and go.
//
// Format: base64url(0x02 || varint(prefix length) || last_key), no padding.
// A cursor only continues the listing it came from: the listing's prefix is
// the first `prefix length` bytes of its key (every listed key starts with
// it), so a request with any other prefix, shorter or longer, is refused.
// (Format 0x01, without the prefix length, is no longer accepted: it let a
// cursor continue under a shorter prefix.)
#ifndef WASIKV_SERVER_RPC_LIST_CURSOR_H_
#define WASIKV_SERVER_RPC_LIST_CURSOR_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace wasikv {

// The cursor after `last_key` in a listing of `prefix`, which `last_key`
// starts with.
std::string EncodeListCursor(std::string_view prefix, std::string_view last_key);

// The last key the cursor names. INVALID_ARGUMENT naming `field` if the
// cursor is malformed, longer than a key allows, or was issued for a prefix
// other than `prefix`.
absl::StatusOr<std::string> DecodeListCursor(std::string_view field, std::string_view cursor,
                                             std::string_view prefix, size_t max_key_bytes);

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_LIST_CURSOR_H_
