// The adapter's canonical-ABI layer (wasikv/adapter/core_abi.h) as a hostile
// guest sees it: any sequence of imports, called with any arguments, over
// any memory contents, with a cabi_realloc that may hand back any address,
// trap, or grow memory (moving it, as a runtime may). Guest memory is a heap
// block of exactly its size, so ASan reports any host read or write outside
// it, and each growth frees the old block, so a host that kept a pointer
// across a realloc reads freed memory. The store behind the adapter is a
// MemoryClient that fails calls when the input says so.
//
// Checked besides memory safety: a guest never holds more handles than
// max_handles, and everything is freed with the guest (LeakSanitizer).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/memory_client.h"
#include "wasikv/adapter/core_abi.h"
#include "wasikv/adapter/host.h"

namespace wasikv::adapter {
namespace {

// Memory never grows past this (a real guest's can reach 4 GiB; the checks
// do not depend on the size, and small blocks keep each run fast).
constexpr uint32_t kMaxMemoryBytes = 1 << 20;

class FuzzMemory final : public GuestMemory {
 public:
  FuzzMemory(FuzzedDataProvider& input, uint32_t size) : input_(input) {
    Replace(size);
    const std::vector<uint8_t> contents = input_.ConsumeBytes<uint8_t>(size);
    if (!contents.empty()) std::memcpy(bytes_.get(), contents.data(), contents.size());
    next_ = input_.ConsumeIntegralInRange<uint32_t>(0, size);
  }

  std::span<uint8_t> Bytes() override { return {bytes_.get(), size_}; }

  absl::StatusOr<uint32_t> Realloc(uint32_t, uint32_t, uint32_t align, uint32_t new_size) override {
    if (align == 0) align = 1;
    // Mostly an honest bump allocator (0, also once the input runs out), so
    // results get lowered; sometimes a guest whose realloc misbehaves.
    switch (input_.ConsumeIntegralInRange<int>(0, 7)) {
      case 4:
        return GuestTrap("the guest's cabi_realloc trapped");
      case 5:
        return input_.ConsumeIntegral<uint32_t>();
      case 6:
        return Honest(align, new_size).value_or(0) + 1;  // misaligned for align > 1
      case 7:
        return size_ - std::min(size_, new_size / 2);  // runs past the end
      default:
        if (std::optional<uint32_t> ptr = Honest(align, new_size)) return *ptr;
        return GuestTrap("the guest's cabi_realloc is out of memory");
    }
  }

 private:
  std::optional<uint32_t> Honest(uint32_t align, uint32_t new_size) {
    const uint64_t ptr = (uint64_t{next_} + align - 1) / align * align;
    const uint64_t end = ptr + new_size;
    if (end > kMaxMemoryBytes) return std::nullopt;
    if (end > size_) Replace(static_cast<uint32_t>(end));
    next_ = static_cast<uint32_t>(end);
    return static_cast<uint32_t>(ptr);
  }

  // A new block of exactly `size` bytes holding the old contents; the old
  // block is freed.
  void Replace(uint32_t size) {
    auto bytes = std::make_unique<uint8_t[]>(size);
    if (size_ > 0) std::memcpy(bytes.get(), bytes_.get(), std::min(size, size_));
    bytes_ = std::move(bytes);
    size_ = size;
  }

  FuzzedDataProvider& input_;
  std::unique_ptr<uint8_t[]> bytes_;
  uint32_t size_ = 0;
  uint32_t next_ = 0;
};

// A core argument of type `type` ('i' i32, zero-extended; 'I' i64), biased
// towards values that mean something: handles, addresses inside memory,
// short lengths and the edges.
uint64_t Argument(FuzzedDataProvider& input, char type, uint32_t memory_size) {
  if (type == 'I') {
    switch (input.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        return input.ConsumeIntegralInRange<uint64_t>(0, 8);
      case 1:
        return std::numeric_limits<int64_t>::max();
      case 2:
        return std::numeric_limits<uint64_t>::max();
      default:
        return input.ConsumeIntegral<uint64_t>();
    }
  }
  switch (input.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      return input.ConsumeIntegralInRange<uint32_t>(0, 8);
    case 1:
      return input.ConsumeIntegralInRange<uint32_t>(0, memory_size) & ~uint32_t{3};
    case 2:
      return input.ConsumeIntegralInRange<uint32_t>(0, memory_size);
    case 3:
      return input.ConsumeIntegralInRange<uint32_t>(0, 64);
    case 4: {
      const uint32_t edges[] = {memory_size,     memory_size - 1, memory_size - 4,
                                memory_size - 8, 0x80000000u,     0xFFFFFFFFu};
      return input.PickValueInArray(edges);
    }
    default:
      return input.ConsumeIntegral<uint32_t>();
  }
}

// What the store answers when the input makes a call fail.
absl::Status Failure(FuzzedDataProvider& input) {
  switch (input.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      return absl::NotFoundError("no such bucket");
    case 1:
      return absl::PermissionDeniedError("denied");
    case 2:
      return absl::InvalidArgumentError("key: 5000 bytes exceeds the limit of 4096 bytes");
    case 3:
      return absl::ResourceExhaustedError("the server is overloaded");
    case 4: {
      // Longer than the adapter passes on, in multi-byte characters, so the
      // cut falls inside one.
      std::string message;
      const std::string piece = input.PickValueInArray({"\xC3\xA9", "\xE2\x82\xAC", "x"});
      while (message.size() < 1100) message += piece;
      return absl::UnavailableError(message);
    }
    default:
      return absl::DeadlineExceededError("deadline exceeded");
  }
}

void Run(FuzzedDataProvider& input) {
  HostOptions options;
  options.max_handles = input.ConsumeIntegralInRange<uint32_t>(1, 32);
  options.max_call_allocation_bytes =
      input.ConsumeBool() ? 16 << 20 : input.ConsumeIntegralInRange<uint32_t>(0, 4096);
  options.list_keys_page_size = input.ConsumeIntegralInRange<uint32_t>(1, 8);
  if (input.ConsumeBool()) options.denied_buckets = {"secret"};

  auto client = std::make_shared<fuzz::MemoryClient>();
  for (const char* bucket : {"default", "b", "secret"}) client->AddBucket(bucket);
  const int preset = input.ConsumeIntegralInRange<int>(0, 8);
  for (int i = 0; i < preset; ++i) {
    const std::string bucket = input.ConsumeBool() ? "default" : "b";
    const std::string key = input.ConsumeRandomLengthString(16);
    const std::string value = input.ConsumeBool() ? std::to_string(input.ConsumeIntegral<int8_t>())
                                                  : input.ConsumeRandomLengthString(64);
    (void)client->Set(bucket, key, value);
  }
  const uint8_t fault_rate = input.ConsumeIntegral<uint8_t>();
  client->set_fault([&input, fault_rate]() -> absl::Status {
    if (fault_rate < 16 || input.ConsumeIntegral<uint8_t>() >= fault_rate / 4) {
      return absl::OkStatus();
    }
    return Failure(input);
  });

  auto host = std::make_shared<Host>(client, options);
  FuzzMemory memory(input, input.ConsumeIntegralInRange<uint32_t>(0, 4096));
  CoreGuest guest(host, &memory);
  const std::span<const CoreImport> imports = AllImports();

  for (int i = 0; i < 24 && input.remaining_bytes() > 0; ++i) {
    if (input.ConsumeIntegralInRange<int>(0, 15) == 0) {
      std::optional<std::string> value;
      if (input.ConsumeBool()) value = input.ConsumeRandomLengthString(64);
      (void)guest.LowerWatchEvent(input.ConsumeBool() ? "default" : "b",
                                  input.ConsumeRandomLengthString(32), value, input.ConsumeBool());
    } else {
      const CoreImport& import =
          imports[input.ConsumeIntegralInRange<size_t>(0, imports.size() - 1)];
      std::vector<uint64_t> args;
      for (char type : import.params) {
        args.push_back(Argument(input, type, static_cast<uint32_t>(memory.Bytes().size())));
      }
      if (input.ConsumeIntegralInRange<int>(0, 31) == 0) args.push_back(0);  // wrong arity
      std::vector<uint64_t> results(import.results.size());
      (void)guest.Call(import, args, results);
    }
    FUZZ_CHECK(guest.session().budget().in_use() <= options.max_handles);
  }
}

}  // namespace
}  // namespace wasikv::adapter

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  wasikv::adapter::Run(input);
  return 0;
}
