#include "host_object.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "js_values.h"
#include "wasikv/options.h"

namespace wasikv::adapter::node {
namespace {

// Distinguishes the addon's Host objects from any other wrapped object.
constexpr napi_type_tag kHostTag = {0x7761'7369'6b76'686fULL, 0x7374'0000'0000'0001ULL};

// Options read one by one: each setter reads `name` if present and reports
// a bad value as a TypeError or RangeError naming it.
class OptionReader {
 public:
  // `prefix` names the object in messages ("options.", "options.tls.").
  OptionReader(napi_env env, napi_value options, std::string prefix = "options.")
      : env_(env), options_(options), prefix_(std::move(prefix)) {}

  bool String(const char* name, std::string& out, bool allow_empty) {
    Property property = GetProperty(env_, options_, name);
    if (!property.ok) return false;
    if (property.value == nullptr) return true;
    std::optional<std::string> text = ReadString(env_, property.value, Name(name));
    if (!text) return false;
    if (text->empty() && !allow_empty) {
      ThrowRangeError(env_, Name(name) + " must not be empty");
      return false;
    }
    out = *std::move(text);
    return true;
  }

  bool Strings(const char* name, std::vector<std::string>& out) {
    Property property = GetProperty(env_, options_, name);
    if (!property.ok) return false;
    if (property.value == nullptr) return true;
    std::optional<std::vector<std::string>> strings =
        ReadStringArray(env_, property.value, Name(name));
    if (!strings) return false;
    out = *std::move(strings);
    return true;
  }

  // A PEM text option: it must hold `marker` (a file path is the usual
  // mistake).
  bool Pem(const char* name, std::string_view marker, std::string& out) {
    if (!String(name, out, false)) return false;
    if (!out.empty() && out.find(marker) == std::string::npos) {
      ThrowTypeError(env_, Name(name) + " must be PEM text (" + std::string(marker) +
                               "), not a file path: read the file first");
      return false;
    }
    return true;
  }

  // An integer option from `min` to `max`.
  bool Integer(const char* name, double min, double max, double& out) {
    Property property = GetProperty(env_, options_, name);
    if (!property.ok) return false;
    if (property.value == nullptr) return true;
    napi_valuetype type = napi_undefined;
    napi_typeof(env_, property.value, &type);
    double number = 0;
    if (type != napi_number ||
        !NapiOk(env_, napi_get_value_double(env_, property.value, &number))) {
      ThrowTypeError(env_, Name(name) + " must be a number");
      return false;
    }
    if (!(number >= min && number <= max) || std::trunc(number) != number) {
      ThrowRangeError(env_, Name(name) + " must be an integer from " +
                                std::to_string(static_cast<int64_t>(min)) + " to " +
                                std::to_string(static_cast<int64_t>(max)));
      return false;
    }
    out = number;
    return true;
  }

 private:
  std::string Name(const char* name) const { return prefix_ + name; }

  napi_env env_;
  napi_value options_;
  std::string prefix_;
};

// options.tls: absent or null for plaintext; an object { ca, cert, key,
// serverName } (each optional, PEM text) for TLS, {} trusting the system's
// CAs.
bool ReadTls(napi_env env, napi_value options, TlsOptions& tls) {
  Property property = GetProperty(env, options, "tls");
  if (!property.ok) return false;
  if (property.value == nullptr || IsNullish(env, property.value)) return true;
  napi_valuetype type = napi_undefined;
  napi_typeof(env, property.value, &type);
  if (type != napi_object) {
    ThrowTypeError(env, "options.tls must be an object { ca, cert, key, serverName }");
    return false;
  }
  OptionReader read(env, property.value, "options.tls.");
  if (!read.Pem("ca", "-----BEGIN CERTIFICATE-----", tls.root_certs_pem) ||
      !read.Pem("cert", "-----BEGIN CERTIFICATE-----", tls.client_cert_chain_pem) ||
      !read.Pem("key", "PRIVATE KEY-----", tls.client_private_key_pem) ||
      !read.String("serverName", tls.server_name_override, false)) {
    return false;
  }
  if (tls.client_cert_chain_pem.empty() != tls.client_private_key_pem.empty()) {
    ThrowTypeError(env, "options.tls.cert and options.tls.key go together");
    return false;
  }
  tls.use_tls = true;
  return true;
}

}  // namespace

bool HostObject::Define(napi_env env, napi_value exports) {
  napi_value constructor = nullptr;
  return NapiOk(env, napi_define_class(env, "Host", NAPI_AUTO_LENGTH, &HostObject::New, nullptr, 0,
                                       nullptr, &constructor)) &&
         SetProperty(env, exports, "Host", constructor);
}

HostObject* HostObject::Unwrap(napi_env env, napi_value value, std::string_view what) {
  napi_valuetype type = napi_undefined;
  napi_typeof(env, value, &type);
  bool tagged = false;
  if (type == napi_object) napi_check_object_type_tag(env, value, &kHostTag, &tagged);
  void* wrapped = nullptr;
  if (!tagged || napi_unwrap(env, value, &wrapped) != napi_ok) {
    ThrowTypeError(env, std::string(what) + " must be a Host");
    return nullptr;
  }
  return static_cast<HostObject*>(wrapped);
}

napi_value HostObject::New(napi_env env, napi_callback_info info) {
  JsCall call(env, info);
  if (!call.ok()) return nullptr;
  napi_value target = nullptr;
  if (!NapiOk(env, napi_get_new_target(env, info, &target))) return nullptr;
  if (target == nullptr) return ThrowTypeError(env, "Host must be called with new");

  ClientOptions client;
  HostOptions options;
  napi_value js_options = call.arg(0);
  if (!IsNullish(env, js_options)) {
    napi_valuetype type = napi_undefined;
    napi_typeof(env, js_options, &type);
    if (type != napi_object) return ThrowTypeError(env, "options must be an object");
    OptionReader read(env, js_options);
    constexpr double kU32Max = std::numeric_limits<uint32_t>::max();
    double max_handles = options.max_handles;
    double max_call_allocation = options.max_call_allocation_bytes;
    double page_size = options.list_keys_page_size;
    double timeout_ms = 0;
    if (!read.String("endpoint", client.endpoint, false) ||
        !read.String("token", client.bearer_token, true) || !ReadTls(env, js_options, client.tls) ||
        !read.String("defaultBucket", options.default_bucket, false) ||
        !read.Strings("allowedBuckets", options.allowed_buckets) ||
        !read.Strings("deniedBuckets", options.denied_buckets) ||
        !read.Integer("maxHandles", 1, kU32Max, max_handles) ||
        !read.Integer("maxCallAllocationBytes", 1, kU32Max, max_call_allocation) ||
        !read.Integer("listKeysPageSize", 1, kU32Max, page_size) ||
        // A day at most, as wasikv-run's --timeout-ms: past that it is a typo.
        !read.Integer("timeoutMs", 0, 24 * 3600 * 1000, timeout_ms)) {
      return nullptr;
    }
    options.max_handles = static_cast<uint32_t>(max_handles);
    options.max_call_allocation_bytes = static_cast<uint32_t>(max_call_allocation);
    options.list_keys_page_size = static_cast<uint32_t>(page_size);
    // 0 keeps the client's default deadline.
    options.call.deadline = std::chrono::milliseconds(static_cast<int64_t>(timeout_ms));
  }

  absl::StatusOr<std::shared_ptr<Host>> host = Host::Create(client, std::move(options));
  if (!host.ok()) {
    napi_throw_error(env, "ERR_WASIKV_HOST", std::string(host.status().message()).c_str());
    return nullptr;
  }
  auto* object = new HostObject(*std::move(host));
  if (!NapiOk(env, napi_wrap(
                       env, call.self(), object,
                       [](napi_env, void* data, void*) { delete static_cast<HostObject*>(data); },
                       nullptr, nullptr))) {
    delete object;
    return nullptr;
  }
  if (!NapiOk(env, napi_type_tag_object(env, call.self(), &kHostTag))) return nullptr;
  return call.self();
}

}  // namespace wasikv::adapter::node
