// How the CLI turns stored bytes into text and back. Values are opaque bytes
// (a NUL, a newline or invalid UTF-8 are all legal), but JSON needs valid
// UTF-8 and line formats need one record per line, so every textual output
// goes through one of these encodings.
#ifndef WASIKV_CLIENT_CLI_BYTE_ENCODING_H_
#define WASIKV_CLIENT_CLI_BYTE_ENCODING_H_

#include <string>
#include <string_view>

namespace wasikv::cli {

// True if `bytes` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing past U+10FFFF).
bool IsValidUtf8(std::string_view bytes);
// `bytes` with each byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string ReplaceInvalidUtf8(std::string_view bytes);

// Standard base64 (RFC 4648, with padding), as jq's @base64d reads it.
std::string Base64Encode(std::string_view bytes);

// The line escape used by the raw line formats (ls, mget, watch): backslash,
// tab, newline and carriage return become \\ \t \n \r; other control bytes,
// DEL and bytes that are not part of valid UTF-8 become \xHH. Valid UTF-8
// text passes unchanged. With `escape_space`, a space becomes \x20 too, for
// fields that a space separates.
std::string EscapeLine(std::string_view bytes, bool escape_space = false);
// The inverse, for mset's stdin lines: \\ \t \n \r \xHH are decoded; any other
// backslash is kept as it is.
std::string UnescapeLine(std::string_view text);

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_BYTE_ENCODING_H_
