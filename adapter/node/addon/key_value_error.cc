#include "key_value_error.h"

#include <string>

#include "absl/status/status.h"
#include "js_values.h"
#include "wasikv/adapter/host.h"

namespace wasikv::adapter::node {
namespace {

const char* TagOf(KeyValueError::Kind kind) {
  switch (kind) {
    case KeyValueError::Kind::kNoSuchStore:
      return "no-such-store";
    case KeyValueError::Kind::kAccessDenied:
      return "access-denied";
    case KeyValueError::Kind::kOther:
      break;
  }
  return "other";
}

}  // namespace

napi_value ThrowStatus(napi_env env, const absl::Status& status) {
  const std::string message(status.message());
  if (IsGuestTrap(status)) {
    napi_throw_error(env, "ERR_WASIKV_TRAP", message.c_str());
    return nullptr;
  }
  const KeyValueError error = ToKeyValueError(status);
  napi_value code = MakeString(env, absl::StatusCodeToString(status.code()));
  napi_value text = MakeString(env, error.message);
  napi_value thrown = nullptr;
  napi_value payload = nullptr;
  if (code == nullptr || text == nullptr ||
      !NapiOk(env, napi_create_error(env, code, text, &thrown)) ||
      !NapiOk(env, napi_create_object(env, &payload)) ||
      !SetProperty(env, payload, "tag", MakeString(env, TagOf(error.kind)))) {
    return nullptr;
  }
  if (error.kind == KeyValueError::Kind::kOther && !SetProperty(env, payload, "val", text)) {
    return nullptr;
  }
  if (!SetProperty(env, thrown, "payload", payload)) return nullptr;
  napi_throw(env, thrown);
  return nullptr;
}

}  // namespace wasikv::adapter::node
