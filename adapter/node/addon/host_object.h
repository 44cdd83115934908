// The addon's JS class `Host`: one wasikv client connection and the policy
// its guests run under (wasikv::adapter::Host), shared by the Sessions made
// from it.
//
//   new Host({ endpoint, token, tls, defaultBucket, allowedBuckets, deniedBuckets,
//              maxHandles, maxCallAllocationBytes, timeoutMs, listKeysPageSize })
//
// tls, for a wasikvd with TLS: { ca, cert, key, serverName }, each optional;
// ca, cert and key are PEM text (not paths): the CA that verifies the server
// (left out: the system's CAs), and a client certificate and its key for
// mutual TLS; serverName the name to check in the server's certificate if
// not the endpoint's host. Absent or null: plaintext.
//
// Every option may be left out (the defaults are HostOptions' and
// ClientOptions'); a mistyped or out-of-range one throws a TypeError or
// RangeError naming it. The connection is lazy: constructing never waits for
// the server. A Host is used on the JS thread that made it; the C++ Host
// under it is thread-safe and lives until the last Session made from it is
// collected.
#ifndef WASIKV_ADAPTER_NODE_ADDON_HOST_OBJECT_H_
#define WASIKV_ADAPTER_NODE_ADDON_HOST_OBJECT_H_

#include <node_api.h>

#include <memory>
#include <string_view>

#include "wasikv/adapter/host.h"

namespace wasikv::adapter::node {

class HostObject {
 public:
  // Adds the class to `exports` as `Host`.
  static bool Define(napi_env env, napi_value exports);
  // The Host behind a JS value, or nullptr with a TypeError naming `what`
  // pending if the value is not one.
  static HostObject* Unwrap(napi_env env, napi_value value, std::string_view what);

  explicit HostObject(std::shared_ptr<Host> host) : host_(std::move(host)) {}
  HostObject(const HostObject&) = delete;
  HostObject& operator=(const HostObject&) = delete;

  const std::shared_ptr<Host>& host() const { return host_; }

 private:
  static napi_value New(napi_env env, napi_callback_info info);

  std::shared_ptr<Host> host_;
};

}  // namespace wasikv::adapter::node

#endif  // WASIKV_ADAPTER_NODE_ADDON_HOST_OBJECT_H_
