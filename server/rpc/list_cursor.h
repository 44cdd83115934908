// ListKeys cursors: opaque to clients, a versioned encoding of the last key
// returned, so the next page starts strictly after it. Pagination by key
// (not offset) is what makes a key that exists for the whole listing appear
// exactly once while other keys come and go.
//
// Format: base64url(0x01 || last_key), no padding. A cursor only continues
// the listing it came from: its key must start with the request's prefix.
#ifndef WASIKV_SERVER_RPC_LIST_CURSOR_H_
#define WASIKV_SERVER_RPC_LIST_CURSOR_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace wasikv {

std::string EncodeListCursor(std::string_view last_key);

// The last key the cursor names. INVALID_ARGUMENT naming `field` if the
// cursor is malformed, longer than a key allows, or from another prefix.
absl::StatusOr<std::string> DecodeListCursor(std::string_view field, std::string_view cursor,
                                             std::string_view prefix, size_t max_key_bytes);

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_LIST_CURSOR_H_
