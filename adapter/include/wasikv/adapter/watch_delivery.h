// Watch delivery for core-wasm guests: the host keeps a wasikv Watch on each
// bucket the guest opens (and on any configured), and calls the guest's
// exported handlers for each change, in order, on the guest's own thread.
//
// The handlers a guest can export, in either mangling:
//   wasi:keyvalue/watcher@0.2.0-draft#on-set / #on-delete   (and @0.2.0-draft2)
//   cm32p2|wasi:keyvalue/watcher@0.2.0-draft|on-set / |on-delete
//   wasi:keyvalue/handle-watch#on-set / #on-delete           (seed 001)
// on-set gets (bucket, key, value): a new bucket handle the handler owns and
// must drop, the key and value lowered into guest memory through its realloc
// (seed 001: an incoming-value handle, also the handler's to drop).
// on-delete gets (bucket, key).
#ifndef WASIKV_ADAPTER_WATCH_DELIVERY_H_
#define WASIKV_ADAPTER_WATCH_DELIVERY_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "wasikv/adapter/guest_instance.h"
#include "wasikv/adapter/watch_feed.h"

namespace wasikv::adapter {

// Which buckets are watched and how many events may wait (see WatchFeed).
using WatchDeliveryOptions = WatchFeedOptions;

// Borrows the guest, which must outlive it; a WatchFeed on the guest's
// session supplies the events. Deliver runs on the guest's thread. Not
// thread-safe.
class WatchDelivery {
 public:
  // FAILED_PRECONDITION if the guest exports no on-set / on-delete pair.
  static absl::StatusOr<std::unique_ptr<WatchDelivery>> Create(GuestInstance& guest,
                                                               WatchDeliveryOptions options = {});
  ~WatchDelivery();
  WatchDelivery(const WatchDelivery&) = delete;
  WatchDelivery& operator=(const WatchDelivery&) = delete;

  // Watches `bucket` from `start_revision` (0: from now) unless it already is.
  absl::Status Watch(const std::string& bucket, uint64_t start_revision = 0);

  // Calls the guest's handlers for the queued events, oldest first, waiting
  // up to `wait` for the first one and delivering at most `max_events`.
  // Returns how many it delivered. ABORTED if a handler trapped (the guest
  // is then dead), or the error that ended a subscription (for example
  // OUT_OF_RANGE when the history it needed was trimmed).
  absl::StatusOr<size_t> Deliver(std::chrono::milliseconds wait,
                                 size_t max_events = static_cast<size_t>(-1));

  // Buckets watched now.
  std::vector<std::string> watched() const;

 private:
  struct State;
  explicit WatchDelivery(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace wasikv::adapter

#endif  // WASIKV_ADAPTER_WATCH_DELIVERY_H_
