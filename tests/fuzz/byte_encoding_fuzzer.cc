// The CLI's byte encodings (client/cli/byte_encoding.h) on any bytes a value
// can hold: the UTF-8 check agrees with an independent decoder, replacement
// and the line escape always give valid UTF-8 text, the escape leaves no
// byte that would break a line format and unescapes back to the bytes, and
// base64 decodes back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/escaping.h"
#include "client/cli/byte_encoding.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// UTF-8 by code points (RFC 3629): a second opinion written differently
// from byte_encoding.cc's table of lead and second bytes.
bool ReferenceIsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const int length = lead < 0x80           ? 1
                       : (lead >> 5) == 0x6  ? 2
                       : (lead >> 4) == 0xE  ? 3
                       : (lead >> 3) == 0x1E ? 4
                                             : 0;
    if (length == 0 || i + length > s.size()) return false;
    uint32_t code = length == 1 ? lead : lead & (0x7F >> length);
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = code << 6 | (next & 0x3F);
    }
    static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wasikv::cli;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  const bool valid = IsValidUtf8(bytes);
  FUZZ_CHECK(valid == ReferenceIsUtf8(bytes));

  const std::string replaced = ReplaceInvalidUtf8(bytes);
  FUZZ_CHECK(IsValidUtf8(replaced));
  FUZZ_CHECK(!valid || replaced == bytes);

  for (bool escape_space : {false, true}) {
    const std::string line = EscapeLine(bytes, escape_space);
    FUZZ_CHECK(IsValidUtf8(line));
    for (char c : line) {
      const auto byte = static_cast<unsigned char>(c);
      FUZZ_CHECK(byte >= 0x20 && byte != 0x7F);
      FUZZ_CHECK(!escape_space || byte != ' ');
    }
    FUZZ_CHECK(UnescapeLine(line) == bytes);
  }
  // Any text unescapes to at most as many bytes (mset reads what it is given).
  FUZZ_CHECK(UnescapeLine(bytes).size() <= bytes.size());

  const std::string base64 = Base64Encode(bytes);
  FUZZ_CHECK(base64.size() == (size + 2) / 3 * 4);
  std::string decoded;
  FUZZ_CHECK(absl::Base64Unescape(base64, &decoded));
  FUZZ_CHECK(decoded == bytes);
  return 0;
}
