#include "wasikv/adapter/watch_delivery.h"

#include <optional>
#include <utility>

#include "fmt/format.h"
#include "wasikv/internal/status_macros.h"
#include "wasikv/internal/status_text.h"

namespace wasikv::adapter {

struct WatchDelivery::State {
  GuestInstance* guest = nullptr;
  WatchHandlers handlers;
  std::unique_ptr<WatchFeed> feed;

  absl::Status DeliverOne(const FeedEvent& change);
};

// Lowers the event as the handler's parameters and calls it.
absl::Status WatchDelivery::State::DeliverOne(const FeedEvent& change) {
  const bool is_set = change.event.type == WatchEvent::Type::kSet;
  ASSIGN_OR_RETURN(
      std::vector<int64_t> args,
      guest->core().LowerWatchEvent(
          change.bucket, change.event.key,
          is_set ? std::optional<std::string>(change.event.value) : std::nullopt, handlers.seed));
  return guest->Invoke(is_set ? handlers.on_set : handlers.on_delete, args).status();
}

absl::StatusOr<std::unique_ptr<WatchDelivery>> WatchDelivery::Create(GuestInstance& guest,
                                                                     WatchDeliveryOptions options) {
  std::optional<WatchHandlers> handlers =
      FindWatchHandlers([&guest](std::string_view name) { return guest.HasExport(name); });
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
