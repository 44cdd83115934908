// The part of WabtGuest that touches wabt, behind an interface with no wabt
// types. wabt 1.0.32's interpreter headers are not valid C++20 (GCC 12
// rejects their `FreeList<Ref>::~FreeList<Ref>()`), so wabt_engine.cc
// compiles as C++17 and this header must stay C++17 too: no std::span, no
// wasikv headers that need C++20.
#ifndef WASIKV_ADAPTER_WABT_WABT_ENGINE_H_
#define WASIKV_ADAPTER_WABT_WABT_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wasikv::adapter::wabt_internal {

// Value types are spelled one letter each: i i32, I i64, f f32, F f64,
// v v128, r funcref, e externref.
struct ExternDesc {
  std::string module;  // imports only
  std::string name;
  std::string kind;  // "func", "table", "memory", "global" or "tag"
  std::string params;
  std::string results;
};

struct EngineLimits {
  uint64_t max_memory_bytes = 0;
  uint32_t max_function_locals = 0;
};

// Runs the guest's function imports. `args` and `results` hold the import's
// values as 64-bit patterns (i32 zero-extended). A non-OK status traps the
// guest with the status message.
class ImportHandler {
 public:
  virtual ~ImportHandler() = default;
  virtual absl::Status CallImport(size_t import, const uint64_t* args, uint64_t* results) = 0;
};

// One wabt store with one module and, once instantiated, its instance.
// Not thread-safe. Calls into the guest run on a fresh wabt thread, except
// Realloc during an import call, which runs on the caller's thread as wabt
// allows (so the guest's call depth limit covers it).
class WabtEngine {
 public:
  // Parses and validates (INVALID_ARGUMENT with wabt's messages), then
  // applies `limits` (FAILED_PRECONDITION).
  static absl::StatusOr<std::unique_ptr<WabtEngine>> Parse(const uint8_t* bytes, size_t size,
                                                           const EngineLimits& limits);
  ~WabtEngine();
  WabtEngine(const WabtEngine&) = delete;
  WabtEngine& operator=(const WabtEngine&) = delete;

  const std::vector<ExternDesc>& imports() const;
  const std::vector<ExternDesc>& exports() const;

  // Links every import to `handler` (all must be functions; the caller has
  // checked their types) and instantiates. ABORTED "trap: ..." if a data or
  // element segment does not fit or the start function traps.
  absl::Status Instantiate(ImportHandler* handler);

  // Binds the memory export `name`; false if there is none of that name.
  bool BindMemory(std::string_view name);
  // Binds the function export `name` as cabi_realloc; the caller checked
  // that it is one of type (i32, i32, i32, i32) -> i32.
  void BindRealloc(std::string_view name);
  bool has_realloc() const;
  // The bound memory now; null and 0 without one.
  uint8_t* memory_data();
  size_t memory_size();
  // FAILED_PRECONDITION without a bound realloc; ABORTED "cabi_realloc
  // trapped: ..." if it traps, which also makes the current import call trap.
  absl::StatusOr<uint32_t> Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                   uint32_t new_size);

  // Calls the function export `name` with 64-bit patterns of its parameter
  // types; ABORTED "trap: ..." on a trap. The caller checked arity and types.
  absl::StatusOr<std::vector<uint64_t>> Call(std::string_view name,
                                             const std::vector<uint64_t>& args);

 private:
  struct Impl;
  explicit WabtEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wasikv::adapter::wabt_internal

#endif  // WASIKV_ADAPTER_WABT_WABT_ENGINE_H_
