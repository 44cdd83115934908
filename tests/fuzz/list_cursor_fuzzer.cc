// ListKeys cursors (server/rpc/list_cursor.h) as a client can send them: any
// bytes. DecodeListCursor never crashes, and a cursor it accepts names a key
// the listing could have returned (not empty, within the key limit, under
// the request's prefix); every cursor EncodeListCursor makes decodes back.
//
// Input: byte 0 picks the key limit (1..255, or 4096 for 0), byte 1 the
// prefix length n; then n bytes of prefix; the rest is the cursor.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/rpc/list_cursor.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t max_key_bytes = data[0] == 0 ? 4096 : data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::string_view prefix = rest.substr(0, data[1]);
  rest.remove_prefix(prefix.size());

  const absl::StatusOr<std::string> key =
      wasikv::DecodeListCursor("cursor", rest, prefix, max_key_bytes);
  if (key.ok()) {
    FUZZ_CHECK(!key->empty());
    FUZZ_CHECK(key->size() <= max_key_bytes);
    FUZZ_CHECK(std::string_view(*key).starts_with(prefix));
  } else {
    FUZZ_CHECK(key.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(wasikv::fuzz::MessageOf(key.status()).starts_with("cursor: "));
  }

  // The rest as a key the store returned: its cursor continues the listing.
  const std::string last_key = std::string(prefix) + std::string(rest);
  if (!last_key.empty() && last_key.size() <= max_key_bytes) {
    const absl::StatusOr<std::string> round_trip = wasikv::DecodeListCursor(
        "cursor", wasikv::EncodeListCursor(prefix, last_key), prefix, max_key_bytes);
    FUZZ_CHECK(round_trip.ok());
    FUZZ_CHECK(*round_trip == last_key);
  }
  return 0;
}
