#include "server/watch/shared_responses.h"

namespace wasikv {

std::optional<SharedResponses::Response> SharedResponses::Find(const std::string& target,
                                                               uint64_t from) const {
  absl::MutexLock lock(&mu_);
  // Newest first: it covers the most revisions.
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->from == from && it->target == target) return it->response;
  }
  return std::nullopt;
}

void SharedResponses::Add(const std::string& target, uint64_t from, const Response& response) {
  const size_t size = response.bytes.Length();
  if (size > max_bytes_ || max_entries_ == 0) return;
  absl::MutexLock lock(&mu_);
  while (!entries_.empty() && (entries_.size() >= max_entries_ || bytes_ + size > max_bytes_)) {
    bytes_ -= entries_.front().response.bytes.Length();
    entries_.pop_front();
  }
  entries_.push_back(Entry{target, from, response});
  bytes_ += size;
}

}  // namespace wasikv
