// The process-wide side of the wasi:keyvalue adapter: one client connection
// to wasikvd and the policy every guest instance of this process runs under.
#ifndef WASIKV_ADAPTER_HOST_H_
#define WASIKV_ADAPTER_HOST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "wasikv/client.h"
#include "wasikv/options.h"

namespace wasikv::adapter {

// What a host embedding the adapter decides for its guests.
struct HostOptions {
  // The bucket `open("")` opens; wasmtime's guests open "" and expect the
  // host to pick. It is always allowed, whatever the lists below say.
  std::string default_bucket = "default";
  // Buckets a guest may open; empty allows every bucket. Opening any other
  // bucket fails with access-denied, as Spin's `key_value_stores` does.
  std::vector<std::string> allowed_buckets;
  // Buckets a guest may never open (access-denied), checked first.
  std::vector<std::string> denied_buckets;
  // Open handles (buckets, cas, and the seed world's values, errors and
  // streams) one guest instance may hold. Past it, opening fails with an
  // error; it never traps.
  uint32_t max_handles = 10000;
  // Bytes the host may allocate in guest memory (through the guest's
  // realloc) for one call's results. A larger result is an `other` error
  // naming the limit, so a hostile or unlucky guest cannot make the host
  // grow its memory without bound.
  uint32_t max_call_allocation_bytes = 16 << 20;
  // Keys per list-keys page.
  uint32_t list_keys_page_size = 1000;
  // Deadline and retry settings of each server call a guest causes.
  CallOptions call;
};

// Shared by every guest instance of a process. Thread-safe: immutable after
// construction, and wasikv::Client is thread-safe.
class Host {
 public:
  // Connects a client with `client_options`; fails on bad options only (the
  // connection itself is lazy, like gRPC's).
  static absl::StatusOr<std::shared_ptr<Host>> Create(const ClientOptions& client_options,
                                                      HostOptions options);
  Host(std::shared_ptr<Client> client, HostOptions options);

  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  Client& client() const { return *client_; }
  const HostOptions& options() const { return options_; }

  // The bucket a guest means by `identifier`: "" is the default bucket.
  // PERMISSION_DENIED if the policy refuses it; the server checks the name.
  absl::StatusOr<std::string> ResolveBucket(std::string_view identifier) const;

 private:
  std::shared_ptr<Client> client_;
  HostOptions options_;
};

// wasi:keyvalue's `error` variant, the one conversion from absl::Status at
// the adapter's boundary: NOT_FOUND (unknown bucket) is no-such-store,
// PERMISSION_DENIED is access-denied, anything else is other(message).
struct KeyValueError {
  enum class Kind : uint8_t { kNoSuchStore = 0, kAccessDenied = 1, kOther = 2 };
  Kind kind = Kind::kOther;
  std::string message;
};
KeyValueError ToKeyValueError(const absl::Status& status);

// A status that means "trap the guest": it broke the calling contract (a
// handle it does not own, a pointer outside its memory, a string that is not
// UTF-8). Runtimes turn it into a trap; it is never shown to the guest as an
// error value.
absl::Status GuestTrap(std::string_view message);
bool IsGuestTrap(const absl::Status& status);

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_HOST_H_
