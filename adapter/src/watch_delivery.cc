#include "wasikv/adapter/watch_delivery.h"

#include <optional>
#include <utility>

#include "abi_call.h"
#include "fmt/format.h"
#include "seed_state.h"
#include "wasikv/internal/status_macros.h"
#include "wasikv/internal/status_text.h"

namespace wasikv::adapter {
namespace {

// The export pair a guest handles events with, and how it takes a value.
struct Handlers {
  std::string on_set;
  std::string on_delete;
  bool seed = false;  // on-set takes an incoming-value handle, not bytes
};

std::optional<Handlers> FindHandlers(const GuestInstance& guest) {
  std::vector<Handlers> candidates;
  for (const char* version : {"0.2.0-draft", "0.2.0-draft2"}) {
    const std::string iface = fmt::format("wasi:keyvalue/watcher@{}", version);
    candidates.push_back({iface + "#on-set", iface + "#on-delete", false});
    candidates.push_back(
        {fmt::format("cm32p2|{}|on-set", iface), fmt::format("cm32p2|{}|on-delete", iface), false});
  }
  candidates.push_back(
      {"wasi:keyvalue/handle-watch#on-set", "wasi:keyvalue/handle-watch#on-delete", true});
  for (Handlers& handlers : candidates) {
    if (guest.HasExport(handlers.on_set) && guest.HasExport(handlers.on_delete)) {
      return std::move(handlers);
    }
  }
  return std::nullopt;
}

}  // namespace

struct WatchDelivery::State {
  GuestInstance* guest = nullptr;
  Handlers handlers;
  std::unique_ptr<WatchFeed> feed;

  absl::Status DeliverOne(const FeedEvent& change);
};

// Lowers the event as the handler's parameters and calls it.
absl::Status WatchDelivery::State::DeliverOne(const FeedEvent& change) {
  Session& session = guest->core().session();
  AbiCall call(guest->core().memory(), session.host().options().max_call_allocation_bytes);
  const bool is_set = change.event.type == WatchEvent::Type::kSet;
  ASSIGN_OR_RETURN(Handle bucket, session.OpenResolved(change.bucket));
  ASSIGN_OR_RETURN(GuestSlice key, call.LowerBytes(change.event.key));
  std::vector<int64_t> args = {bucket, key.ptr, key.len};
  if (is_set && handlers.seed) {
    ASSIGN_OR_RETURN(Handle value, guest->core().seed().incoming.Insert({change.event.value}));
    args.push_back(value);
  } else if (is_set) {
    ASSIGN_OR_RETURN(GuestSlice value, call.LowerBytes(change.event.value));
    args.push_back(value.ptr);
    args.push_back(value.len);
  }
  return guest->Invoke(is_set ? handlers.on_set : handlers.on_delete, args).status();
}

absl::StatusOr<std::unique_ptr<WatchDelivery>> WatchDelivery::Create(GuestInstance& guest,
                                                                     WatchDeliveryOptions options) {
  std::optional<Handlers> handlers = FindHandlers(guest);
  if (!handlers) {
    return absl::FailedPreconditionError(
        "the guest exports no watch handlers (wasi:keyvalue/watcher on-set and on-delete, "
        "or seed 001's handle-watch)");
  }
  auto state = std::make_unique<State>();
  state->guest = &guest;
  state->handlers = std::move(*handlers);
  ASSIGN_OR_RETURN(state->feed, WatchFeed::Create(guest.core().session(), std::move(options)));
  return std::unique_ptr<WatchDelivery>(new WatchDelivery(std::move(state)));
}

WatchDelivery::WatchDelivery(std::unique_ptr<State> state) : state_(std::move(state)) {}

WatchDelivery::~WatchDelivery() = default;

absl::Status WatchDelivery::Watch(const std::string& bucket, uint64_t start_revision) {
  return state_->feed->Watch(bucket, start_revision);
}

absl::StatusOr<size_t> WatchDelivery::Deliver(std::chrono::milliseconds wait, size_t max_events) {
  ASSIGN_OR_RETURN(std::vector<FeedEvent> changes, state_->feed->Take(wait, max_events));
  for (const FeedEvent& change : changes) {
    absl::Status status = state_->DeliverOne(change);
    if (status.ok()) continue;
    if (status.code() == absl::StatusCode::kAborted || IsGuestTrap(status)) {
      return absl::AbortedError(fmt::format("watch handler for '{}' in bucket '{}': {}",
                                            change.event.key, change.bucket, MessageOf(status)));
    }
    return status;
  }
  return changes.size();
}

std::vector<std::string> WatchDelivery::watched() const { return state_->feed->watched(); }

}  // namespace wasikv::adapter
