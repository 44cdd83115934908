// Reading and making the JS values of the addon's API through N-API: one
// JS call's arguments, and conversions between JS values and the adapter's
// C++ types.
//
// Every Read* function either returns the value or throws a JS TypeError
// (or RangeError) naming `what` and returns nullopt; a method that gets
// nullopt returns nullptr at once, leaving the exception to JS. Make*
// functions return nullptr with an exception pending if N-API fails.
// All of it runs on the JS thread of `env` only.
#ifndef WASIKV_ADAPTER_NODE_ADDON_JS_VALUES_H_
#define WASIKV_ADAPTER_NODE_ADDON_JS_VALUES_H_

#include <node_api.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wasikv/types.h"

namespace wasikv::adapter::node {

// The receiver and up to kMaxArgs arguments of one call from JS; missing
// arguments read as undefined.
class JsCall {
 public:
  static constexpr size_t kMaxArgs = 4;

  JsCall(napi_env env, napi_callback_info info);

  napi_env env() const { return env_; }
  napi_value self() const { return self_; }
  // Argument `i`, or undefined past the ones given.
  napi_value arg(size_t i) const { return args_[i]; }
  // False (with a JS exception pending) if N-API could not read the call.
  bool ok() const { return ok_; }

 private:
  napi_env env_;
  napi_value self_ = nullptr;
  std::array<napi_value, kMaxArgs> args_{};
  bool ok_ = false;
};

// False, after throwing a JS Error describing N-API's last error unless an
// exception is already pending, when `status` is not napi_ok.
bool NapiOk(napi_env env, napi_status status);

// Throws a JS TypeError with `message`; returns nullptr for `return` chains.
napi_value ThrowTypeError(napi_env env, std::string_view message);
napi_value ThrowRangeError(napi_env env, std::string_view message);

bool IsNullish(napi_env env, napi_value value);

// A JS string as UTF-8 (lone surrogates become U+FFFD, as N-API converts).
std::optional<std::string> ReadString(napi_env env, napi_value value, std::string_view what);
// The bytes of a Uint8Array (a Buffer is one), copied.
std::optional<std::string> ReadBytes(napi_env env, napi_value value, std::string_view what);
// A handle: an integer number from 0 to 2^32-1.
std::optional<uint32_t> ReadU32(napi_env env, napi_value value, std::string_view what);
// A BigInt that fits in int64 / uint64 exactly.
std::optional<int64_t> ReadBigInt64(napi_env env, napi_value value, std::string_view what);
std::optional<uint64_t> ReadBigUint64(napi_env env, napi_value value, std::string_view what);
// An array of strings.
std::optional<std::vector<std::string>> ReadStringArray(napi_env env, napi_value value,
                                                        std::string_view what);
// An array of [key: string, value: Uint8Array] pairs.
std::optional<std::vector<KeyValue>> ReadEntries(napi_env env, napi_value value,
                                                 std::string_view what);

// Property `name` of `object`: `value` is nullptr when the property is
// absent or undefined; `ok` is false, with an exception pending, when
// reading it failed (a throwing getter).
struct Property {
  napi_value value = nullptr;
  bool ok = true;
};
Property GetProperty(napi_env env, napi_value object, const char* name);

napi_value Undefined(napi_env env);
napi_value MakeString(napi_env env, std::string_view text);
// A fresh Uint8Array holding a copy of `bytes`.
napi_value MakeBytes(napi_env env, std::string_view bytes);
napi_value MakeU32(napi_env env, uint32_t value);
napi_value MakeBool(napi_env env, bool value);
napi_value MakeBigInt64(napi_env env, int64_t value);
napi_value MakeBigUint64(napi_env env, uint64_t value);
napi_value MakeStringArray(napi_env env, const std::vector<std::string>& strings);
bool SetProperty(napi_env env, napi_value object, const char* name, napi_value value);

}  // namespace wasikv::adapter::node

#endif  // WASIKV_ADAPTER_NODE_ADDON_JS_VALUES_H_
