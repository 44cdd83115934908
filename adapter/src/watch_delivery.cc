#include "wasikv/adapter/watch_delivery.h"

#include <deque>
#include <utility>

#include "abi_call.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"
#include "seed_state.h"
#include "wasikv/internal/status_macros.h"
#include "wasikv/internal/status_text.h"
#include "wasikv/watch.h"

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
  // One bucket's subscription. `paused` and `resume_revision` are shared
  // with the subscription's callback thread (under State::mu).
  struct Stream {
    std::unique_ptr<WatchSubscription> subscription;
    bool paused = false;
    uint64_t resume_revision = 0;  // the first revision not queued, once paused
    bool closing = false;          // its end is ours, not news
  };
  struct Queued {
    std::string bucket;
    WatchEvent event;
  };

  GuestInstance* guest = nullptr;
  Handlers handlers;
  WatchDeliveryOptions options;

  mutable absl::Mutex mu;
  std::deque<Queued> queue ABSL_GUARDED_BY(mu);
  absl::Status ended ABSL_GUARDED_BY(mu);  // the first subscription that ended on its own
  // Owned by the guest's thread; the Stream objects' flags are under mu.
  absl::flat_hash_map<std::string, std::shared_ptr<Stream>> streams;

  absl::Status Subscribe(const std::string& bucket, const std::shared_ptr<Stream>& stream,
                         uint64_t start_revision);
  void OnBatch(const std::string& bucket, Stream& stream, const WatchBatch& batch);
  void Resume();
  absl::Status DeliverOne(const Queued& queued);
};

absl::Status WatchDelivery::State::Subscribe(const std::string& bucket,
                                             const std::shared_ptr<Stream>& stream,
                                             uint64_t start_revision) {
  WatchOptions watch;
  watch.bucket = bucket;
  watch.start_revision = start_revision;
  WatchHandler handler;
  std::weak_ptr<Stream> weak = stream;
  handler.on_batch = [this, bucket, weak](const WatchBatch& batch) {
    if (std::shared_ptr<Stream> live = weak.lock()) OnBatch(bucket, *live, batch);
  };
  handler.on_end = [this, bucket, weak](const absl::Status& status) {
    std::shared_ptr<Stream> live = weak.lock();
    absl::MutexLock lock(&mu);
    if (live == nullptr || live->closing || !ended.ok()) return;
    ended = absl::Status(status.code(),
                         fmt::format("watch of bucket '{}' ended: {}", bucket, MessageOf(status)));
  };
  ASSIGN_OR_RETURN(stream->subscription,
                   guest->core().session().host().client().Watch(watch, std::move(handler)));
  return absl::OkStatus();
}

void WatchDelivery::State::OnBatch(const std::string& bucket, Stream& stream,
                                   const WatchBatch& batch) {
  absl::MutexLock lock(&mu);
  if (stream.paused || batch.events.empty()) return;
  if (queue.size() + batch.events.size() > options.max_queued_events && !queue.empty()) {
    // Keep whole batches (one commit each); read this one again later.
    stream.paused = true;
    stream.resume_revision = batch.events.front().revision;
    return;
  }
  for (const WatchEvent& event : batch.events) {
    // wasi:keyvalue has no event for a deleted bucket; its keys' deletes
    // are not sent one by one either, so the guest learns of it by reading.
    if (event.type == WatchEvent::Type::kBucketDeleted) continue;
    queue.push_back({bucket, event});
  }
}

void WatchDelivery::State::Resume() {
  for (auto& [bucket, stream] : streams) {
    uint64_t resume_revision = 0;
    {
      absl::MutexLock lock(&mu);
      if (!stream->paused || queue.size() > options.max_queued_events / 2) continue;
      resume_revision = stream->resume_revision;
      stream->closing = true;
    }
    // Destroying the old subscription waits for its callbacks; then a new
    // one replays from the first event the old one dropped.
    stream->subscription.reset();
    auto fresh = std::make_shared<Stream>();
    absl::Status status = Subscribe(bucket, fresh, resume_revision);
    if (!status.ok()) {
      absl::MutexLock lock(&mu);
      if (ended.ok()) ended = status;
      continue;
    }
    stream = std::move(fresh);
  }
}

absl::Status WatchDelivery::State::DeliverOne(const Queued& queued) {
  Session& session = guest->core().session();
  AbiCall call(guest->core().memory(), session.host().options().max_call_allocation_bytes);
  const bool is_set = queued.event.type == WatchEvent::Type::kSet;
  ASSIGN_OR_RETURN(Handle bucket, session.OpenResolved(queued.bucket));
  ASSIGN_OR_RETURN(GuestSlice key, call.LowerBytes(queued.event.key));
  std::vector<int64_t> args = {bucket, key.ptr, key.len};
  if (is_set && handlers.seed) {
    ASSIGN_OR_RETURN(Handle value, guest->core().seed().incoming.Insert({queued.event.value}));
    args.push_back(value);
  } else if (is_set) {
    ASSIGN_OR_RETURN(GuestSlice value, call.LowerBytes(queued.event.value));
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
  state->options = std::move(options);
  std::unique_ptr<WatchDelivery> delivery(new WatchDelivery(std::move(state)));
  for (const std::string& bucket : delivery->state_->options.buckets) {
    RETURN_IF_ERROR(delivery->Watch(bucket));
  }
  if (delivery->state_->options.watch_opened_buckets) {
    WatchDelivery* self = delivery.get();
    guest.core().session().set_open_observer([self](const std::string& bucket, uint64_t revision) {
      // A failure here must not fail the guest's open; it surfaces
      // from the next Deliver.
      absl::Status status = self->Watch(bucket, revision + 1);
      if (!status.ok()) {
        absl::MutexLock lock(&self->state_->mu);
        if (self->state_->ended.ok()) self->state_->ended = status;
      }
    });
  }
  return delivery;
}

WatchDelivery::WatchDelivery(std::unique_ptr<State> state) : state_(std::move(state)) {}

WatchDelivery::~WatchDelivery() {
  state_->guest->core().session().set_open_observer(nullptr);
  for (auto& [bucket, stream] : state_->streams) {
    {
      absl::MutexLock lock(&state_->mu);
      stream->closing = true;
    }
    stream->subscription.reset();
  }
}

absl::Status WatchDelivery::Watch(const std::string& bucket, uint64_t start_revision) {
  if (state_->streams.contains(bucket)) return absl::OkStatus();
  auto stream = std::make_shared<State::Stream>();
  RETURN_IF_ERROR(state_->Subscribe(bucket, stream, start_revision));
  // A "from now" subscription counts from when the server accepted it.
  if (start_revision == 0) {
    RETURN_IF_ERROR(stream->subscription->WaitUntilStarted(std::chrono::seconds(30)));
  }
  state_->streams.emplace(bucket, std::move(stream));
  return absl::OkStatus();
}

absl::StatusOr<size_t> WatchDelivery::Deliver(std::chrono::milliseconds wait, size_t max_events) {
  State& state = *state_;
  size_t delivered = 0;
  {
    absl::MutexLock lock(&state.mu);
    auto ready = [&state]() ABSL_SHARED_LOCKS_REQUIRED(state.mu) {
      return !state.queue.empty() || !state.ended.ok();
    };
    state.mu.AwaitWithTimeout(absl::Condition(&ready), absl::FromChrono(wait));
  }
  while (delivered < max_events) {
    State::Queued next;
    {
      absl::MutexLock lock(&state.mu);
      if (state.queue.empty()) {
        if (!state.ended.ok()) return state.ended;
        break;
      }
      next = std::move(state.queue.front());
      state.queue.pop_front();
    }
    absl::Status status = state.DeliverOne(next);
    if (!status.ok()) {
      if (status.code() == absl::StatusCode::kAborted || IsGuestTrap(status)) {
        return absl::AbortedError(fmt::format("watch handler for '{}' in bucket '{}': {}",
                                              next.event.key, next.bucket, MessageOf(status)));
      }
      return status;
    }
    ++delivered;
  }
  state.Resume();
  return delivered;
}

std::vector<std::string> WatchDelivery::watched() const {
  std::vector<std::string> names;
  for (const auto& [bucket, stream] : state_->streams) names.push_back(bucket);
  return names;
}

}  // namespace wasikv::adapter
