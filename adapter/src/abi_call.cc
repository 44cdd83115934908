#include "abi_call.h"

#include <cstring>

#include "fmt/format.h"
#include "wasikv/internal/status_macros.h"

namespace wasikv::adapter {
namespace {

// Arguments are copied out of the guest; this bounds what one call can make
// the host copy (a list of a million strings all pointing at the same
// megabyte would otherwise cost a terabyte).
constexpr uint64_t kMaxLiftedBytes = 64 << 20;

bool IsUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    uint32_t code;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF.
    static constexpr uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[extra] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

uint32_t LoadLe32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // wasm memory is little-endian, as is every host we build for
  return v;
}

}  // namespace

absl::Status AbiCall::CheckRange(uint64_t ptr, uint64_t size, std::string_view what) {
  const uint64_t memory_size = memory_.Bytes().size();
  if (ptr > memory_size || size > memory_size - ptr) {
    return GuestTrap(fmt::format("{} (address {}, {} bytes) is outside the guest's {}-byte memory",
                                 what, ptr, size, memory_size));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AbiCall::ReadBytes(GuestSlice slice, std::string_view what) {
  RETURN_IF_ERROR(CheckRange(slice.ptr, slice.len, what));
  lifted_ += slice.len;
  if (lifted_ > kMaxLiftedBytes) {
    return absl::ResourceExhaustedError(fmt::format(
        "the arguments of this call pass the adapter's limit of {} bytes", kMaxLiftedBytes));
  }
  std::span<uint8_t> bytes = memory_.Bytes();
  return std::string(reinterpret_cast<const char*>(bytes.data()) + slice.ptr, slice.len);
}

absl::StatusOr<std::string> AbiCall::ReadString(GuestSlice slice, std::string_view what) {
  ASSIGN_OR_RETURN(std::string text, ReadBytes(slice, what));
  if (!IsUtf8(text)) return GuestTrap(fmt::format("{} is not valid UTF-8", what));
  return text;
}

absl::StatusOr<std::string> AbiCall::ReadElements(GuestSlice list, uint32_t element_size,
                                                  uint32_t align, std::string_view what) {
  if (list.ptr % align != 0) {
    return GuestTrap(fmt::format("{} at address {} is not {}-byte aligned", what, list.ptr, align));
  }
  const uint64_t size = uint64_t{list.len} * element_size;
  RETURN_IF_ERROR(CheckRange(list.ptr, size, what));
  return ReadBytes({list.ptr, static_cast<uint32_t>(size)}, what);
}

absl::StatusOr<std::vector<std::string>> AbiCall::ReadStringList(GuestSlice list,
                                                                 std::string_view what) {
  ASSIGN_OR_RETURN(std::string elements, ReadElements(list, 8, 4, what));
  std::vector<std::string> strings;
  strings.reserve(list.len);
  for (uint32_t i = 0; i < list.len; ++i) {
    GuestSlice item{LoadLe32(&elements[i * 8]), LoadLe32(&elements[i * 8 + 4])};
    ASSIGN_OR_RETURN(std::string s, ReadString(item, fmt::format("{}[{}]", what, i)));
    strings.push_back(std::move(s));
  }
  return strings;
}

absl::Status AbiCall::CheckArea(uint32_t ptr, uint32_t size, uint32_t align,
                                std::string_view what) {
  if (ptr % align != 0) {
    return GuestTrap(fmt::format("{} at address {} is not {}-byte aligned", what, ptr, align));
  }
  return CheckRange(ptr, size, what);
}

void AbiCall::Store8(uint32_t area, uint32_t offset, uint8_t value) {
  memory_.Bytes()[area + offset] = value;
}

void AbiCall::Store32(uint32_t area, uint32_t offset, uint32_t value) {
  std::memcpy(memory_.Bytes().data() + area + offset, &value, sizeof value);
}

void AbiCall::Store64(uint32_t area, uint32_t offset, uint64_t value) {
  std::memcpy(memory_.Bytes().data() + area + offset, &value, sizeof value);
}

absl::Status AbiCall::Reserve(uint64_t bytes, std::string_view what) {
  if (allocated_ + bytes > allocation_limit_) {
    return absl::ResourceExhaustedError(fmt::format(
        "{} is {} bytes, over the host's limit of {} bytes per call (max_call_allocation_bytes)",
        what, bytes, allocation_limit_));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> AbiCall::Allocate(uint32_t size, uint32_t align) {
  if (size == 0) return align;
  RETURN_IF_ERROR(Reserve(size, "a result"));
  ASSIGN_OR_RETURN(uint32_t ptr, memory_.Realloc(0, 0, align, size));
  if (ptr % align != 0) {
    return GuestTrap(
        fmt::format("the guest's realloc returned address {} for a {}-byte aligned "
                    "allocation",
                    ptr, align));
  }
  RETURN_IF_ERROR(CheckRange(ptr, size, "the block the guest's realloc returned"));
  allocated_ += size;
  return ptr;
}

void AbiCall::CopyOut(uint32_t ptr, std::string_view bytes) {
  if (!bytes.empty()) std::memcpy(memory_.Bytes().data() + ptr, bytes.data(), bytes.size());
}

absl::StatusOr<GuestSlice> AbiCall::LowerBytes(std::string_view bytes) {
  ASSIGN_OR_RETURN(uint32_t ptr, Allocate(static_cast<uint32_t>(bytes.size()), 1));
  CopyOut(ptr, bytes);
  return GuestSlice{ptr, static_cast<uint32_t>(bytes.size())};
}

absl::StatusOr<GuestSlice> AbiCall::LowerStringList(std::span<const std::string> strings) {
  uint64_t total = uint64_t{strings.size()} * 8;
  for (const std::string& s : strings) total += s.size();
  RETURN_IF_ERROR(Reserve(total, "the key list"));
  ASSIGN_OR_RETURN(uint32_t list, Allocate(static_cast<uint32_t>(strings.size() * 8), 4));
  for (size_t i = 0; i < strings.size(); ++i) {
    ASSIGN_OR_RETURN(GuestSlice item, LowerBytes(strings[i]));
    Store32(list, i * 8, item.ptr);
    Store32(list, i * 8 + 4, item.len);
  }
  return GuestSlice{list, static_cast<uint32_t>(strings.size())};
}

}  // namespace wasikv::adapter
