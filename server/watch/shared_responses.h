// SharedResponses keeps the Watch responses built most recently, serialised,
// so that streams watching the same thing from the same revision send the
// same bytes instead of each building, serialising and freeing its own copy.
//
// A thousand watchers of one bucket are woken by the same commit at the same
// revision: the first builds the response, the rest find it here and hand
// gRPC a reference to its slices (grpc::ByteBuffer copies share them). Any
// response that covers consecutive revisions from a stream's position is a
// correct next response for it; streams take one only while it reaches the
// newest commit, so sharing never splits what a stream would send at once.
//
// Memory: at most max_entries responses and max_bytes of them; the oldest
// goes first. Streams that already took one keep its slices alive until
// sent.
//
// Thread safety: all methods may be called from any thread.
#ifndef WASIKV_SERVER_WATCH_SHARED_RESPONSES_H_
#define WASIKV_SERVER_WATCH_SHARED_RESPONSES_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/byte_buffer.h"

namespace wasikv {

class SharedResponses {
 public:
  // A serialised WatchResponse with the events of revisions
  // [from, last_revision] that match one target.
  struct Response {
    uint64_t last_revision = 0;
    size_t events = 0;  // 0: nothing in those revisions matched
    grpc::ByteBuffer bytes;
  };

  SharedResponses(size_t max_entries, size_t max_bytes)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}
  SharedResponses(const SharedResponses&) = delete;
  SharedResponses& operator=(const SharedResponses&) = delete;

  // The response for streams of `target` (WatchStream's canonical form of
  // what it watches) at position `from`, if one was built.
  std::optional<Response> Find(const std::string& target, uint64_t from) const;
  // Offers a response just built for `target` at `from`.
  void Add(const std::string& target, uint64_t from, const Response& response);

 private:
  struct Entry {
    std::string target;
    uint64_t from = 0;
    Response response;
  };

  const size_t max_entries_;
  const size_t max_bytes_;
  mutable absl::Mutex mu_;
  std::deque<Entry> entries_ ABSL_GUARDED_BY(mu_);  // newest last
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_WATCH_SHARED_RESPONSES_H_
