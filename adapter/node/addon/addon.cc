// wasikv_node.node: the wasi:keyvalue adapter's core (Host and Session) as a
// Node-API addon, so components transpiled by jco run their wasi:keyvalue
// imports against wasikvd. The classes are documented in host_object.h and
// session_object.h; lib/keyvalue_host.mjs turns them into jco's imports.
// CoreModuleGuest (core_guest_object.h) runs core modules on V8 instead.
#include <node_api.h>

#include "core_guest_object.h"
#include "host_object.h"
#include "session_object.h"

namespace {

napi_value Init(napi_env env, napi_value exports) {
  if (!wasikv::adapter::node::HostObject::Define(env, exports) ||
      !wasikv::adapter::node::SessionObject::Define(env, exports) ||
      !wasikv::adapter::node::CoreGuestObject::Define(env, exports)) {
    return nullptr;
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
