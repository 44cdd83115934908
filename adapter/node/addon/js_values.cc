#include "js_values.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace wasikv::adapter::node {

JsCall::JsCall(napi_env env, napi_callback_info info) : env_(env) {
  size_t argc = kMaxArgs;
  if (!NapiOk(env, napi_get_cb_info(env, info, &argc, args_.data(), &self_, nullptr))) return;
  // N-API fills the slots past the given arguments with undefined.
  ok_ = true;
}

bool NapiOk(napi_env env, napi_status status) {
  if (status == napi_ok) return true;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    const napi_extended_error_info* info = nullptr;
    napi_get_last_error_info(env, &info);
    const char* message = info != nullptr && info->error_message != nullptr ? info->error_message
                                                                            : "N-API call failed";
    napi_throw_error(env, nullptr, message);
  }
  return false;
}

napi_value ThrowTypeError(napi_env env, std::string_view message) {
  napi_throw_type_error(env, nullptr, std::string(message).c_str());
  return nullptr;
}

napi_value ThrowRangeError(napi_env env, std::string_view message) {
  napi_throw_range_error(env, nullptr, std::string(message).c_str());
  return nullptr;
}

namespace {

napi_valuetype TypeOf(napi_env env, napi_value value) {
  napi_valuetype type = napi_undefined;
  napi_typeof(env, value, &type);
  return type;
}

template <typename T>
std::optional<T> TypeMismatch(napi_env env, std::string_view what, std::string_view expected) {
  ThrowTypeError(env, std::string(what) + " must be " + std::string(expected));
  return std::nullopt;
}

}  // namespace

bool IsNullish(napi_env env, napi_value value) {
  const napi_valuetype type = TypeOf(env, value);
  return type == napi_undefined || type == napi_null;
}

std::optional<std::string> ReadString(napi_env env, napi_value value, std::string_view what) {
  if (TypeOf(env, value) != napi_string) return TypeMismatch<std::string>(env, what, "a string");
  size_t length = 0;
  if (!NapiOk(env, napi_get_value_string_utf8(env, value, nullptr, 0, &length))) {
    return std::nullopt;
  }
  // N-API always writes a terminating NUL, so the buffer needs one more byte.
  std::string text(length + 1, '\0');
  if (!NapiOk(env, napi_get_value_string_utf8(env, value, text.data(), text.size(), &length))) {
    return std::nullopt;
  }
  text.resize(length);
  return text;
}

std::optional<std::string> ReadBytes(napi_env env, napi_value value, std::string_view what) {
  bool is_typed_array = false;
  napi_is_typedarray(env, value, &is_typed_array);
  if (!is_typed_array) return TypeMismatch<std::string>(env, what, "a Uint8Array");
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  if (!NapiOk(env, napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr))) {
    return std::nullopt;
  }
  if (type != napi_uint8_array) return TypeMismatch<std::string>(env, what, "a Uint8Array");
  return length == 0 ? std::string() : std::string(static_cast<const char*>(data), length);
}

std::optional<uint32_t> ReadU32(napi_env env, napi_value value, std::string_view what) {
  double number = 0;
  if (TypeOf(env, value) != napi_number ||
      !NapiOk(env, napi_get_value_double(env, value, &number))) {
    return TypeMismatch<uint32_t>(env, what, "a number");
  }
  if (!(number >= 0 && number <= std::numeric_limits<uint32_t>::max()) ||
      std::trunc(number) != number) {
    ThrowRangeError(env, std::string(what) + " must be an integer from 0 to 4294967295");
    return std::nullopt;
  }
  return static_cast<uint32_t>(number);
}

std::optional<int64_t> ReadBigInt64(napi_env env, napi_value value, std::string_view what) {
  if (TypeOf(env, value) != napi_bigint) return TypeMismatch<int64_t>(env, what, "a BigInt");
  int64_t result = 0;
  bool lossless = false;
  if (!NapiOk(env, napi_get_value_bigint_int64(env, value, &result, &lossless))) {
    return std::nullopt;
  }
  if (!lossless) {
    ThrowRangeError(env, std::string(what) + " must fit in a signed 64-bit integer");
    return std::nullopt;
  }
  return result;
}

std::optional<uint64_t> ReadBigUint64(napi_env env, napi_value value, std::string_view what) {
  if (TypeOf(env, value) != napi_bigint) return TypeMismatch<uint64_t>(env, what, "a BigInt");
  uint64_t result = 0;
  bool lossless = false;
  if (!NapiOk(env, napi_get_value_bigint_uint64(env, value, &result, &lossless))) {
    return std::nullopt;
  }
  if (!lossless) {
    ThrowRangeError(env, std::string(what) + " must fit in an unsigned 64-bit integer");
    return std::nullopt;
  }
  return result;
}

namespace {

// The length of a JS array, or nullopt with a TypeError.
std::optional<uint32_t> ArrayLength(napi_env env, napi_value value, std::string_view what) {
  bool is_array = false;
  napi_is_array(env, value, &is_array);
  if (!is_array) return TypeMismatch<uint32_t>(env, what, "an array");
  uint32_t length = 0;
  if (!NapiOk(env, napi_get_array_length(env, value, &length))) return std::nullopt;
  return length;
}

napi_value Element(napi_env env, napi_value array, uint32_t index) {
  napi_value element = nullptr;
  if (!NapiOk(env, napi_get_element(env, array, index, &element))) return nullptr;
  return element;
}

std::string Indexed(std::string_view what, uint32_t index) {
  return std::string(what) + "[" + std::to_string(index) + "]";
}

}  // namespace

std::optional<std::vector<std::string>> ReadStringArray(napi_env env, napi_value value,
                                                        std::string_view what) {
  std::optional<uint32_t> length = ArrayLength(env, value, what);
  if (!length) return std::nullopt;
  std::vector<std::string> strings;
  strings.reserve(*length);
  for (uint32_t i = 0; i < *length; ++i) {
    napi_value element = Element(env, value, i);
    if (element == nullptr) return std::nullopt;
    std::optional<std::string> text = ReadString(env, element, Indexed(what, i));
    if (!text) return std::nullopt;
    strings.push_back(*std::move(text));
  }
  return strings;
}

std::optional<std::vector<KeyValue>> ReadEntries(napi_env env, napi_value value,
                                                 std::string_view what) {
  std::optional<uint32_t> length = ArrayLength(env, value, what);
  if (!length) return std::nullopt;
  std::vector<KeyValue> entries;
  entries.reserve(*length);
  for (uint32_t i = 0; i < *length; ++i) {
    const std::string name = Indexed(what, i);
    napi_value pair = Element(env, value, i);
    if (pair == nullptr) return std::nullopt;
    std::optional<uint32_t> pair_length = ArrayLength(env, pair, name);
    if (!pair_length) return std::nullopt;
    if (*pair_length != 2) {
      ThrowTypeError(env, name + " must be a [key, value] pair");
      return std::nullopt;
    }
    napi_value key = Element(env, pair, 0);
    napi_value bytes = key != nullptr ? Element(env, pair, 1) : nullptr;
    if (bytes == nullptr) return std::nullopt;
    std::optional<std::string> key_text = ReadString(env, key, name + "[0]");
    if (!key_text) return std::nullopt;
    std::optional<std::string> value_bytes = ReadBytes(env, bytes, name + "[1]");
    if (!value_bytes) return std::nullopt;
    entries.push_back({*std::move(key_text), *std::move(value_bytes)});
  }
  return entries;
}

Property GetProperty(napi_env env, napi_value object, const char* name) {
  Property property;
  napi_value value = nullptr;
  if (!NapiOk(env, napi_get_named_property(env, object, name, &value))) {
    property.ok = false;
    return property;
  }
  if (TypeOf(env, value) != napi_undefined) property.value = value;
  return property;
}

napi_value Undefined(napi_env env) {
  napi_value value = nullptr;
  napi_get_undefined(env, &value);
  return value;
}

napi_value MakeString(napi_env env, std::string_view text) {
  napi_value value = nullptr;
  if (!NapiOk(env, napi_create_string_utf8(env, text.data(), text.size(), &value))) return nullptr;
  return value;
}

napi_value MakeBytes(napi_env env, std::string_view bytes) {
  void* data = nullptr;
  napi_value buffer = nullptr;
  if (!NapiOk(env, napi_create_arraybuffer(env, bytes.size(), &data, &buffer))) return nullptr;
  if (!bytes.empty()) std::memcpy(data, bytes.data(), bytes.size());
  napi_value array = nullptr;
  if (!NapiOk(env,
              napi_create_typedarray(env, napi_uint8_array, bytes.size(), buffer, 0, &array))) {
    return nullptr;
  }
  return array;
}

napi_value MakeU32(napi_env env, uint32_t number) {
  napi_value value = nullptr;
  if (!NapiOk(env, napi_create_uint32(env, number, &value))) return nullptr;
  return value;
}

napi_value MakeBool(napi_env env, bool flag) {
  napi_value value = nullptr;
  if (!NapiOk(env, napi_get_boolean(env, flag, &value))) return nullptr;
  return value;
}

napi_value MakeBigInt64(napi_env env, int64_t number) {
  napi_value value = nullptr;
  if (!NapiOk(env, napi_create_bigint_int64(env, number, &value))) return nullptr;
  return value;
}

napi_value MakeBigUint64(napi_env env, uint64_t number) {
  napi_value value = nullptr;
  if (!NapiOk(env, napi_create_bigint_uint64(env, number, &value))) return nullptr;
  return value;
}

napi_value MakeStringArray(napi_env env, const std::vector<std::string>& strings) {
  napi_value array = nullptr;
  if (!NapiOk(env, napi_create_array_with_length(env, strings.size(), &array))) return nullptr;
  for (size_t i = 0; i < strings.size(); ++i) {
    napi_value text = MakeString(env, strings[i]);
    if (text == nullptr ||
        !NapiOk(env, napi_set_element(env, array, static_cast<uint32_t>(i), text))) {
      return nullptr;
    }
  }
  return array;
}

bool SetProperty(napi_env env, napi_value object, const char* name, napi_value value) {
  return value != nullptr && NapiOk(env, napi_set_named_property(env, object, name, value));
}

}  // namespace wasikv::adapter::node
