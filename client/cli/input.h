// Input: what commands read from standard input. Values are read byte for
// byte (a NUL or invalid UTF-8 is kept); mset reads "key<TAB>value" lines.
#ifndef WASIKV_CLIENT_CLI_INPUT_H_
#define WASIKV_CLIENT_CLI_INPUT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "wasikv/types.h"

namespace wasikv::cli {

// All of standard input, unchanged. A trailing newline is kept: the value is
// exactly what was piped in (`printf` rather than `echo` to store none).
absl::StatusOr<std::string> ReadStandardInput();

// Parses mset input: one "key<TAB>value" per line, split at the first tab,
// both sides unescaped with UnescapeLine (so mget's raw output reads back
// unchanged). Empty lines are skipped. INVALID_ARGUMENT naming the line for a
// line without a tab.
absl::StatusOr<std::vector<KeyValue>> ParseKeyValueLines(std::string_view text);

}  // namespace wasikv::cli

#endif  // WASIKV_CLIENT_CLI_INPUT_H_
