#include "server/watch/watch_stream.h"

#include <algorithm>

#include "grpcpp/impl/codegen/proto_utils.h"
#include "server/rpc/grpc_status.h"
#include "server/watch/watch_hub.h"

namespace wasikv {

WatchStream::WatchStream(WatchHub* hub, grpc::CallbackServerContext* context, RpcMethod* method,
                         std::chrono::steady_clock::time_point start, Target target,
                         uint64_t start_revision)
    : hub_(hub),
      context_(context),
      method_(method),
      start_(start),
      target_(std::move(target)),
      sharing_key_(SharingKey(target_)),
      position_(start_revision),
      next_revision_(start_revision),
      last_sent_(std::chrono::steady_clock::now()) {}

std::string WatchStream::SharingKey(const Target& target) {
  // Bucket names hold no '\0' (request_limits.h), so the key is unambiguous.
  std::string key = target.bucket;
  key += '\0';
  key += target.exact_key ? 'k' : 'p';
  key += static_cast<char>('0' + target.filter);
  key += target.prev_value ? 'v' : '-';
  key += target.exact_key ? target.key : target.prefix;
  return key;
}

grpc::ByteBuffer WatchStream::Serialize(const v1::WatchResponse& response) {
  grpc::ByteBuffer bytes;
  bool own_buffer = false;
  // Serialising a message wasikv built cannot fail.
  grpc::SerializationTraits<v1::WatchResponse>::Serialize(response, &bytes, &own_buffer)
      .IgnoreError();
  return bytes;
}

void WatchStream::Begin() {
  self_ = shared_from_this();
  if (absl::Status registered = hub_->Register(self_); !registered.ok()) {
    Complete(ToGrpcStatus(registered));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    v1::WatchResponse created;
    created.set_created(true);
    created.set_revision(next_revision_ - 1);
    response_ = Serialize(created);
    writing_ = true;
  }
  Send();
}

void WatchStream::Send() {
  {
    absl::MutexLock lock(&mu_);
    last_sent_ = std::chrono::steady_clock::now();
  }
  StartWrite(&response_);
}

void WatchStream::Wake(uint64_t skip_to) {
  {
    absl::MutexLock lock(&mu_);
    skip_to_ = std::max(skip_to_, skip_to);
    // A pump already queued or running will see the new changes.
    if (finished_ || wake_pending_) return;
    wake_pending_ = true;
  }
  hub_->Post([self = shared_from_this()] { self->Pump(); });
}

void WatchStream::MaybeSendProgress(std::chrono::steady_clock::time_point now, uint64_t skip_to) {
  if (target_.progress_interval.count() == 0) return;
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || progress_due_ || now - last_sent_ < target_.progress_interval) return;
    progress_due_ = true;
  }
  Wake(skip_to);
}

void WatchStream::Pump() {
  uint64_t from = 0;
  {
    absl::MutexLock lock(&mu_);
    wake_pending_ = false;
    if (finished_ || writing_ || pumping_ || end_status_) return;
    pumping_ = true;
    next_revision_ = std::max(next_revision_, skip_to_);
    position_.store(next_revision_, std::memory_order_relaxed);
    from = next_revision_;
  }
  // A response may take up to max_response_bytes: hold that much of the
  // hub's shared budget while building, then only what is sent. Without
  // budget, wait: the hub wakes this stream when some is released.
  const size_t budget = hub_->options().max_response_bytes;
  if (!hub_->Reserve(shared_from_this(), budget)) {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      pumping_ = false;
      finish = TakeFinishLocked();
    }
    FinishWith(finish);
    return;
  }

  // Another stream of this target at this position may have built the
  // response already; otherwise read and build it.
  std::optional<SharedResponses::Response> shared = hub_->responses().Find(sharing_key_, from);
  // Only one that reaches the newest commit: an older one would split what
  // this stream can send in one response into several.
  if (shared && shared->last_revision < hub_->store()->CurrentRevision()) shared.reset();
  absl::StatusOr<std::vector<SharedRecord>> records;
  if (!shared) records = hub_->store()->ReadChanges(from, hub_->options().max_response_bytes);
  std::optional<grpc::Status> finish;
  bool send = false;
  bool again = false;
  bool park = false;
  size_t unused_budget = budget;
  {
    absl::MutexLock lock(&mu_);
    pumping_ = false;
    if (shared) {
      // Sent below, as a response this stream builds is.
    } else if (!records.ok()) {
      if (records.status().code() == absl::StatusCode::kOutOfRange) {
        context_->AddTrailingMetadata("wasikv-oldest-revision",
                                      std::to_string(hub_->store()->OldestRevision()));
        EndLocked(grpc::Status(
            grpc::StatusCode::OUT_OF_RANGE,
            std::string(records.status().message()) +
                "; list the keys again and watch from the revision of that listing + 1"));
      } else {
        EndLocked(ToGrpcStatus(records.status()));
      }
    } else if (!end_status_ && !finished_) {
      if (records->empty()) {
        if (progress_due_) {
          progress_due_ = false;
          v1::WatchResponse progress;
          progress.set_progress(true);
          progress.set_revision(next_revision_ - 1);
          response_ = Serialize(progress);
          writing_ = send = true;
        } else {
          park = true;
        }
      } else {
        v1::WatchResponse built;
        for (const SharedRecord& record : *records) AddMatchingEvents(*record, &built);
        built.set_revision(records->back()->revision());
        shared.emplace();
        shared->last_revision = records->back()->revision();
        shared->events = built.events_size();
        if (shared->events > 0) shared->bytes = Serialize(built);
        hub_->responses().Add(sharing_key_, from, *shared);
      }
    }
    if (shared && !end_status_ && !finished_) {
      next_revision_ = shared->last_revision + 1;
      position_.store(next_revision_, std::memory_order_relaxed);
      if (shared->events > 0) {
        hub_->CountSent(shared->events);
        progress_due_ = false;  // this response reports progress too
        response_ = std::move(shared->bytes);
        writing_ = send = true;
      } else {
        again = true;  // nothing matched; keep reading (as a new task, to stay fair)
      }
    }
    if (send) {
      reserved_bytes_ = std::min(budget, response_.Length());
      unused_budget = budget - reserved_bytes_;
    }
    finish = TakeFinishLocked();
  }
  hub_->Release(unused_budget);
  if (send) Send();
  if (again) Wake();
  if (park && !hub_->Park(shared_from_this(), from)) Wake();
  FinishWith(finish);
}

bool WatchStream::Matches(const storage::Event& event) const {
  if (event.bucket() != target_.bucket) return false;
  switch (event.type()) {
    case storage::Event::SET:
      if (target_.filter == v1::WatchRequest::DELETES_ONLY) return false;
      break;
    case storage::Event::DELETE:
      if (target_.filter == v1::WatchRequest::SETS_ONLY) return false;
      break;
    case storage::Event::BUCKET_DELETE:
      return target_.filter != v1::WatchRequest::SETS_ONLY;
    default:
      return false;
  }
  if (target_.exact_key) return event.key() == target_.key;
  return event.key().compare(0, target_.prefix.size(), target_.prefix) == 0;
}

void WatchStream::AddMatchingEvents(const storage::ChangeRecord& record,
                                    v1::WatchResponse* response) {
  for (const storage::Event& event : record.events()) {
    if (!Matches(event)) continue;
    v1::WatchEvent* out = response->add_events();
    out->set_revision(record.revision());
    switch (event.type()) {
      case storage::Event::SET:
        out->set_type(v1::WatchEvent::SET);
        out->set_value(event.value());
        break;
      case storage::Event::DELETE:
        out->set_type(v1::WatchEvent::DELETE);
        break;
      default:
        out->set_type(v1::WatchEvent::BUCKET_DELETED);
        continue;
    }
    out->set_key(event.key());
    if (target_.prev_value) {
      out->set_prev_version(event.prev_version());
      if (event.prev_version() != 0) {
        if (std::optional<std::string> prev = PreviousValue(event.key(), event.prev_version())) {
          out->set_prev_found(true);
          out->set_prev_value(std::move(*prev));
        }
      }
    }
  }
}

std::optional<std::string> WatchStream::PreviousValue(const std::string& key, uint64_t version) {
  absl::StatusOr<std::vector<SharedRecord>> records = hub_->store()->ReadChanges(version, 1);
  if (!records.ok() || records->empty() || records->front()->revision() != version) {
    return std::nullopt;  // trimmed from history
  }
  for (const storage::Event& event : records->front()->events()) {
    if (event.type() == storage::Event::SET && event.bucket() == target_.bucket &&
        event.key() == key) {
      return event.value();
    }
  }
  return std::nullopt;
}

void WatchStream::OnWriteDone(bool ok) {
  std::optional<grpc::Status> finish;
  size_t released = 0;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    // Sent: free the events now rather than keep them until the next
    // response (an idle stream then holds no event memory at all).
    response_.Clear();
    released = reserved_bytes_;
    reserved_bytes_ = 0;
    // A failed write means the call is over (cancelled, or the peer left).
    if (!ok) EndLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream write failed"));
    finish = TakeFinishLocked();
  }
  hub_->Release(released);
  if (finish) {
    FinishWith(finish);
  } else {
    Wake();
  }
}

void WatchStream::End(const grpc::Status& status) {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    // A write in flight finishes first; a client that stopped reading is cut
    // off by the server's shutdown deadline (--shutdown-timeout).
    EndLocked(status);
    finish = TakeFinishLocked();
  }
  FinishWith(finish);
}

void WatchStream::OnCancel() {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    EndLocked(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
    finish = TakeFinishLocked();
  }
  FinishWith(finish);
}

void WatchStream::OnDone() {
  hub_->Unregister(this);
  self_.reset();  // may destroy this; nothing after
}

void WatchStream::EndLocked(const grpc::Status& status) {
  if (!end_status_) end_status_ = status;
}

std::optional<grpc::Status> WatchStream::TakeFinishLocked() {
  if (!end_status_ || finished_ || writing_ || pumping_) return std::nullopt;
  finished_ = true;
  return *end_status_;
}

void WatchStream::FinishWith(std::optional<grpc::Status> status) {
  if (status) Complete(*status);
}

void WatchStream::Complete(const grpc::Status& status) {
  method_->Handled(static_cast<absl::StatusCode>(status.error_code()),
                   std::chrono::steady_clock::now() - start_);
  Finish(status);
}

}  // namespace wasikv
