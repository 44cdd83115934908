// The one conversion from absl::Status to what a JS host function throws,
// in the shape jco's generated bindings expect of an import that returns
// result<_, error>: an object with an own `payload` property holding the
// error variant, which jco lowers into the guest as the `err` case.
#ifndef WASIKV_ADAPTER_NODE_ADDON_KEY_VALUE_ERROR_H_
#define WASIKV_ADAPTER_NODE_ADDON_KEY_VALUE_ERROR_H_

#include <node_api.h>

#include "absl/status/status.h"

namespace wasikv::adapter::node {

// Throws `status` into JS and returns nullptr.
//
// A guest trap (IsGuestTrap: a handle the guest does not hold) throws a
// plain Error with code 'ERR_WASIKV_TRAP' and no `payload`: jco rethrows
// such an error out of the component call, which traps the guest.
//
// Anything else throws an Error whose `payload` is the wasi:keyvalue error
// variant of ToKeyValueError, spelled as jco spells variants:
//   { tag: 'no-such-store' }, { tag: 'access-denied' },
//   { tag: 'other', val: 'NOT_FOUND: ...' }
// and whose `code` is the absl status code name ('PERMISSION_DENIED').
// jco reads `payload` before it looks at whether the value is an Error
// (getErrorPayload in its generated code), so the Error's stack trace
// comes for free and the guest sees only the variant.
napi_value ThrowStatus(napi_env env, const absl::Status& status);

}  // namespace wasikv::adapter::node

#endif  // WASIKV_ADAPTER_NODE_ADDON_KEY_VALUE_ERROR_H_
