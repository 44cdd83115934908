#include "server/watch_hub.h"

#include <set>

namespace wasikv {
namespace {

// How often the ticker looks for streams due a progress response; the
// smallest interval a request may ask for is 100 ms.
constexpr auto kTick = std::chrono::milliseconds(50);

}  // namespace

WatchHub::WatchHub(Store* store, const WatchHubOptions& options)
    : store_(store), options_(options), pool_(options.threads) {
  store_->pipeline().AddListener(
      [this](const std::vector<const storage::ChangeRecord*>& records) { OnCommit(records); });
  ticker_ = std::thread([this] { TickLoop(); });
}

WatchHub::~WatchHub() {
  Shutdown();
  if (ticker_.joinable()) ticker_.join();
  pool_.join();
}

bool WatchHub::Register(const std::shared_ptr<WatchStream>& stream) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return false;
  streams_.emplace(stream.get(), stream);
  return true;
}

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

void WatchHub::OnCommit(const std::vector<const storage::ChangeRecord*>& records) {
  std::set<std::string_view> buckets;
  for (const storage::ChangeRecord* record : records) {
    for (const storage::Event& event : record->events()) buckets.insert(event.bucket());
  }
  std::vector<std::shared_ptr<WatchStream>> woken;
  {
    absl::MutexLock lock(&mu_);
    for (std::string_view bucket : buckets) {
      auto it = parked_.find(bucket);
      if (it == parked_.end()) continue;
      for (auto& [raw, weak] : it->second) {
        if (auto stream = weak.lock()) woken.push_back(std::move(stream));
      }
      parked_.erase(it);
    }
  }
  for (auto& stream : woken) stream->Wake();
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

size_t WatchHub::stream_count() const {
  absl::MutexLock lock(&mu_);
  return streams_.size();
}

void WatchHub::TickLoop() {
  absl::MutexLock lock(&mu_);
  while (!shutting_down_) {
    mu_.AwaitWithTimeout(absl::Condition(&shutting_down_), absl::Milliseconds(kTick.count()));
    if (shutting_down_) break;
    std::vector<std::shared_ptr<WatchStream>> streams;
    streams.reserve(streams_.size());
    for (auto& [raw, weak] : streams_) {
      if (auto stream = weak.lock()) streams.push_back(std::move(stream));
    }
    mu_.Unlock();
    const auto now = std::chrono::steady_clock::now();
    for (auto& stream : streams) stream->MaybeSendProgress(now);
    streams.clear();
    mu_.Lock();
  }
}

}  // namespace wasikv
