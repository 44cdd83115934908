#include "server/watch/watch_hub.h"

#include <algorithm>

#include "server/common/str_cat.h"
#include "server/common/thread_name.h"

namespace wasikv {
namespace {

// How often the ticker looks for streams due a progress response; the
// smallest interval a request may ask for is 100 ms.
constexpr auto kTick = std::chrono::milliseconds(50);

// Enough for the positions a fan-out's streams are at in one burst of
// commits; older responses are rarely asked for again.
constexpr size_t kSharedResponses = 64;
constexpr size_t kSharedResponseBytes = 8 << 20;

}  // namespace

WatchHub::WatchHub(Store* store, const WatchHubOptions& options)
    : store_(store),
      options_(options),
      pool_(options.threads),
      responses_(kSharedResponses, kSharedResponseBytes) {
  store_->pipeline().AddListener([this](const CommittedRecords& records) { OnCommit(records); });
  ticker_ = std::thread([this] {
    SetCurrentThreadName("wasikv-watch");
    TickLoop();
  });
}

WatchHub::~WatchHub() {
  Shutdown();
  if (ticker_.joinable()) ticker_.join();
  pool_.join();
}

absl::Status WatchHub::Register(const std::shared_ptr<WatchStream>& stream) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return absl::UnavailableError("server shutting down");
  if (streams_.size() >= options_.max_streams) {
    return absl::ResourceExhaustedError(
        StrCat("server has ", streams_.size(), " watch streams open, the most it serves ",
               "(--max-watch-streams); close one or retry with backoff"));
  }
  streams_.emplace(stream.get(), stream);
  return absl::OkStatus();
}

bool WatchHub::WaitForStreamsToEnd(std::chrono::steady_clock::time_point deadline) {
  const auto left = deadline - std::chrono::steady_clock::now();
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&WatchHub::NoStreamsLeft, this),
                              absl::FromChrono(std::max(left, decltype(left){})));
}

bool WatchHub::NoStreamsLeft(WatchHub* hub) { return hub->streams_.empty(); }

void WatchHub::Unregister(WatchStream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
  auto bucket = parked_.find(stream->bucket());
  if (bucket != parked_.end()) {
    bucket->second.erase(stream);
    if (bucket->second.empty()) parked_.erase(bucket);
  }
}

bool WatchHub::Park(const std::shared_ptr<WatchStream>& stream, uint64_t next_revision) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return true;  // Shutdown ends it.
  // The pipeline publishes a revision before it calls OnCommit, which takes
  // mu_ after us: either this check sees the commit or OnCommit sees the
  // parked stream. No wake-up is lost.
  if (store_->CurrentRevision() >= next_revision) return false;
  parked_[stream->bucket()].emplace(stream.get(), stream);
  return true;
}

void WatchHub::OnCommit(const CommittedRecords& records) {
  // The first revision of this batch touching each bucket: a stream parked on
  // the bucket has seen nothing of it since it parked, so it skips to there.
  std::map<std::string_view, uint64_t> buckets;
  for (const SharedRecord& record : records) {
    for (const storage::Event& event : record->events()) {
      buckets.emplace(event.bucket(), record->revision());
    }
  }
  std::vector<std::pair<std::shared_ptr<WatchStream>, uint64_t>> woken;
  {
    absl::MutexLock lock(&mu_);
    if (!records.empty()) notified_revision_ = records.back()->revision();
    for (auto [bucket, first] : buckets) {
      auto it = parked_.find(bucket);
      if (it == parked_.end()) continue;
      for (auto& [raw, weak] : it->second) {
        if (auto stream = weak.lock()) woken.emplace_back(std::move(stream), first);
      }
      parked_.erase(it);
    }
  }
  for (auto& [stream, first] : woken) stream->Wake(first);
}

bool WatchHub::Reserve(const std::shared_ptr<WatchStream>& stream, size_t bytes) {
  absl::MutexLock lock(&budget_mu_);
  if (budget_used_ == 0 || budget_used_ + bytes <= options_.max_inflight_bytes) {
    budget_used_ += bytes;
    return true;
  }
  budget_waiters_.push_back(stream);
  return false;
}

void WatchHub::Release(size_t bytes) {
  if (bytes == 0) return;
  std::vector<std::weak_ptr<WatchStream>> waiters;
  {
    absl::MutexLock lock(&budget_mu_);
    budget_used_ -= bytes;
    waiters.swap(budget_waiters_);
  }
  // Each retries; those that still find no budget queue up again.
  for (auto& weak : waiters) {
    if (auto stream = weak.lock()) stream->Wake();
  }
}

void WatchHub::Shutdown() {
  std::vector<std::shared_ptr<WatchStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    for (auto& [raw, weak] : streams_) {
      if (auto stream = weak.lock()) streams.push_back(std::move(stream));
    }
    parked_.clear();
  }
  const uint64_t revision = store_->CurrentRevision();
  for (auto& stream : streams) {
    stream->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "server shutting down; resume the watch from the last revision "
                             "received + 1 (current revision " +
                                 std::to_string(revision) + ")"));
  }
}

WatchHub::Stats WatchHub::GetStats() {
  Stats stats;
  stats.events_sent = events_sent_.load(std::memory_order_relaxed);
  const uint64_t current = store_->CurrentRevision();
  absl::MutexLock lock(&mu_);
  stats.open_streams = streams_.size();
  // Streams stay registered until OnDone, which unregisters under mu_, so the
  // raw pointers are alive here.
  for (const auto& [raw, weak] : streams_) {
    auto parked = parked_.find(raw->bucket());
    if (parked != parked_.end() && parked->second.contains(raw)) continue;
    const uint64_t next = raw->next_revision();
    if (next <= current)
      stats.max_lag_revisions = std::max(stats.max_lag_revisions, current + 1 - next);
  }
  return stats;
}

void WatchHub::TickLoop() {
  absl::MutexLock lock(&mu_);
  while (!shutting_down_) {
    mu_.AwaitWithTimeout(absl::Condition(&shutting_down_), absl::Milliseconds(kTick.count()));
    if (shutting_down_) break;
    // A stream still parked has seen every notified revision not touch its
    // bucket.
    std::vector<std::pair<std::shared_ptr<WatchStream>, uint64_t>> streams;
    streams.reserve(streams_.size());
    for (auto& [raw, weak] : streams_) {
      auto stream = weak.lock();
      if (!stream) continue;
      auto parked = parked_.find(stream->bucket());
      const bool is_parked = parked != parked_.end() && parked->second.contains(raw);
      streams.emplace_back(std::move(stream), is_parked ? notified_revision_ + 1 : 0);
    }
    mu_.Unlock();
    const auto now = std::chrono::steady_clock::now();
    for (auto& [stream, skip_to] : streams) stream->MaybeSendProgress(now, skip_to);
    streams.clear();
    mu_.Lock();
  }
}

}  // namespace wasikv
