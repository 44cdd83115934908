#include "wasikv/adapter/watch_feed.h"

#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"
#include "wasikv/internal/status_macros.h"
#include "wasikv/internal/status_text.h"

namespace wasikv::adapter {

struct WatchFeed::State {
  // One bucket's subscription. Its flags are shared with the
  // subscription's callback thread (under State::mu).
  struct Stream {
    std::unique_ptr<WatchSubscription> subscription;
    bool paused = false;
    uint64_t resume_revision = 0;  // the first revision not queued, once paused
    bool closing = false;          // its end is ours, not news
  };

  Session* session = nullptr;
  WatchFeedOptions options;
  std::function<void()> on_ready;

  mutable absl::Mutex mu;
  std::deque<FeedEvent> queue ABSL_GUARDED_BY(mu);
  absl::Status ended ABSL_GUARDED_BY(mu);  // the first subscription that ended on its own
  // Owned by the guest's thread; the Stream objects' flags are under mu.
  absl::flat_hash_map<std::string, std::shared_ptr<Stream>> streams;

  absl::Status Subscribe(const std::string& bucket, const std::shared_ptr<Stream>& stream,
                         uint64_t start_revision);
  void OnBatch(const std::string& bucket, Stream& stream, const WatchBatch& batch);
  void End(absl::Status status);
  void Resume();
  void CloseAll();
};

absl::Status WatchFeed::State::Subscribe(const std::string& bucket,
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
    {
      absl::MutexLock lock(&mu);
      if (live == nullptr || live->closing) return;
    }
    End(absl::Status(status.code(),
                     fmt::format("watch of bucket '{}' ended: {}", bucket, MessageOf(status))));
  };
  ASSIGN_OR_RETURN(stream->subscription, session->host().client().Watch(watch, std::move(handler)));
  return absl::OkStatus();
}

void WatchFeed::State::OnBatch(const std::string& bucket, Stream& stream, const WatchBatch& batch) {
  bool became_ready = false;
  {
    absl::MutexLock lock(&mu);
    if (stream.paused || batch.events.empty()) return;
    if (queue.size() + batch.events.size() > options.max_queued_events && !queue.empty()) {
      // Keep whole batches (one commit each); read this one again later.
      stream.paused = true;
      stream.resume_revision = batch.events.front().revision;
      return;
    }
    became_ready = queue.empty();
    for (const WatchEvent& event : batch.events) {
      // wasi:keyvalue has no event for a deleted bucket (nor are its keys'
      // deletes sent one by one): the guest learns of it by reading.
      if (event.type == WatchEvent::Type::kBucketDeleted) continue;
      queue.push_back({bucket, event});
    }
    became_ready = became_ready && !queue.empty();
  }
  if (became_ready && on_ready) on_ready();
}

void WatchFeed::State::End(absl::Status status) {
  {
    absl::MutexLock lock(&mu);
    if (!ended.ok()) return;
    ended = std::move(status);
  }
  if (on_ready) on_ready();
}

void WatchFeed::State::Resume() {
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
      End(status);
      continue;
    }
    stream = std::move(fresh);
  }
}

void WatchFeed::State::CloseAll() {
  for (auto& [bucket, stream] : streams) {
    {
      absl::MutexLock lock(&mu);
      stream->closing = true;
    }
    stream->subscription.reset();
  }
}

absl::StatusOr<std::unique_ptr<WatchFeed>> WatchFeed::Create(Session& session,
                                                             WatchFeedOptions options,
                                                             std::function<void()> on_ready) {
  auto state = std::make_unique<State>();
  state->session = &session;
  state->options = std::move(options);
  state->on_ready = std::move(on_ready);
  std::unique_ptr<WatchFeed> feed(new WatchFeed(std::move(state)));
  for (const std::string& bucket : feed->state_->options.buckets) {
    RETURN_IF_ERROR(feed->Watch(bucket));
  }
  if (feed->state_->options.watch_opened_buckets) {
    WatchFeed* self = feed.get();
    session.set_open_observer([self](const std::string& bucket, uint64_t revision) {
      // A failure must not fail the guest's open; Take reports it.
      absl::Status status = self->Watch(bucket, revision + 1);
      if (!status.ok()) self->state_->End(std::move(status));
    });
  }
  return feed;
}

WatchFeed::WatchFeed(std::unique_ptr<State> state) : state_(std::move(state)) {}

WatchFeed::~WatchFeed() {
  if (state_->options.watch_opened_buckets) state_->session->set_open_observer(nullptr);
  state_->CloseAll();
}

absl::Status WatchFeed::Watch(const std::string& bucket, uint64_t start_revision) {
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

absl::StatusOr<std::vector<FeedEvent>> WatchFeed::Take(std::chrono::milliseconds wait,
                                                       size_t max_events) {
  State& state = *state_;
  std::vector<FeedEvent> events;
  {
    absl::MutexLock lock(&state.mu);
    auto ready = [&state]() ABSL_SHARED_LOCKS_REQUIRED(state.mu) {
      return !state.queue.empty() || !state.ended.ok();
    };
    state.mu.AwaitWithTimeout(absl::Condition(&ready), absl::FromChrono(wait));
    if (state.queue.empty() && !state.ended.ok()) return state.ended;
    while (!state.queue.empty() && events.size() < max_events) {
      events.push_back(std::move(state.queue.front()));
      state.queue.pop_front();
    }
  }
  state.Resume();
  return events;
}

std::vector<std::string> WatchFeed::watched() const {
  std::vector<std::string> names;
  for (const auto& [bucket, stream] : state_->streams) names.push_back(bucket);
  return names;
}

}  // namespace wasikv::adapter
