#include "server/rpc/kv_service.h"

#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "server/common/status_macros.h"
#include "server/common/str_cat.h"
#include "server/rpc/list_cursor.h"

namespace wasikv {

KvService::KvService(Store* store, CallRunner* runner, const RequestLimits& limits,
                     ServerMetrics* metrics, const Authorizer* authorizer)
    : store_(store), runner_(runner), limits_(limits), service_(metrics, authorizer) {
  methods_[kGet] = service_.ServeUnary("Get", Access::kRead, runner, this, &KvService::Get);
  methods_[kSet] = service_.ServeUnary("Set", Access::kWrite, runner, this, &KvService::Set);
  methods_[kDelete] =
      service_.ServeUnary("Delete", Access::kWrite, runner, this, &KvService::Delete);
  methods_[kExists] =
      service_.ServeUnary("Exists", Access::kRead, runner, this, &KvService::Exists);
  methods_[kListKeys] =
      service_.ServeUnary("ListKeys", Access::kRead, runner, this, &KvService::ListKeys);
  methods_[kIncrement] =
      service_.ServeUnary("Increment", Access::kWrite, runner, this, &KvService::Increment);
  methods_[kCompareAndSwap] = service_.ServeUnary("CompareAndSwap", Access::kWrite, runner, this,
                                                  &KvService::CompareAndSwap);
  methods_[kGetMany] =
      service_.ServeUnary("GetMany", Access::kRead, runner, this, &KvService::GetMany);
  methods_[kSetMany] =
      service_.ServeUnary("SetMany", Access::kWrite, runner, this, &KvService::SetMany);
  methods_[kDeleteMany] =
      service_.ServeUnary("DeleteMany", Access::kWrite, runner, this, &KvService::DeleteMany);
}

template <typename Request>
absl::Status KvService::CheckBucketAndKey(const Request& request) const {
  RETURN_IF_ERROR(limits_.CheckBucket("bucket", request.bucket()));
  return limits_.CheckKey("key", request.key());
}

template <typename Request>
absl::Status KvService::CheckKeyList(const Request& request) const {
  RETURN_IF_ERROR(limits_.CheckBucket("bucket", request.bucket()));
  RETURN_IF_ERROR(limits_.CheckBatchSize("keys", request.keys_size()));
  size_t bytes = 0;
  for (int i = 0; i < request.keys_size(); ++i) {
    if (!limits_.KeyFits(request.keys(i))) {
      return limits_.CheckKey(StrCat("keys[", i, "]"), request.keys(i));
    }
    bytes += request.keys(i).size();
  }
  return limits_.CheckBatchBytes("keys", bytes);
}

namespace {

void FillGet(Store::ReadResult read, v1::GetResponse* response) {
  response->set_revision(read.revision);
  if (read.value) {
    response->set_found(true);
    response->set_value(std::move(read.value->value));
    response->set_version(read.value->version);
  }
}

}  // namespace

// Reads answer on gRPC's thread when RocksDB has what they need in memory
// (the common case), and go to a worker only to read the disk.
grpc::ServerUnaryReactor* KvService::Get(grpc::CallbackServerContext* context,
                                         std::unique_ptr<const v1::GetRequest> request,
                                         v1::GetResponse* response) {
  const v1::GetRequest* get = request.get();
  return runner_->RunHereOr(
      context, methods_[kGet],
      [this, get, response]() -> std::optional<absl::Status> {
        if (absl::Status checked = CheckBucketAndKey(*get); !checked.ok()) return checked;
        absl::StatusOr<std::optional<Store::ReadResult>> read =
            store_->GetFromMemory(get->bucket(), get->key());
        if (!read.ok()) return read.status();
        if (!*read) return std::nullopt;
        FillGet(**std::move(read), response);
        return absl::OkStatus();
      },
      [this, request = std::move(request), response]() -> absl::Status {
        ASSIGN_OR_RETURN(Store::ReadResult read, store_->Get(request->bucket(), request->key()));
        FillGet(std::move(read), response);
        return absl::OkStatus();
      });
}

namespace {

// A write's request and what was prepared from it, kept together until the
// call ends.
template <typename Request, typename Prepared>
struct WriteCall {
  std::unique_ptr<const Request> request;
  Prepared prepared;
};

// For writes that need nothing prepared.
struct NothingPrepared {};

}  // namespace

template <typename Result, typename Prepared, typename Request, typename Response, typename Prepare,
          typename WriteAsync, typename WriteBlocking, typename Fill>
grpc::ServerUnaryReactor* KvService::ServeWrite(grpc::CallbackServerContext* context, Method method,
                                                std::unique_ptr<const Request> request,
                                                Response* response, Prepare prepare,
                                                WriteAsync write_async,
                                                WriteBlocking write_blocking, Fill fill) {
  return runner_->Start(context, methods_[method], [&](CallRunner::PendingCall call) {
    auto write = std::make_unique<WriteCall<Request, Prepared>>();
    write->request = std::move(request);
    if (absl::Status checked = prepare(*write->request, &write->prepared); !checked.ok()) {
      return call.Finish(checked);
    }
    const WriteCall<Request, Prepared>& submitted = *write;
    write_async(*submitted.request, submitted.prepared,
                [call, write = std::move(write), response, write_blocking,
                 fill](absl::StatusOr<Result> result) mutable {
                  if (Store::NeedsBlockingCall(result.status())) {
                    call.ContinueOnWorker([write = std::move(write), response, write_blocking,
                                           fill]() -> absl::Status {
                      ASSIGN_OR_RETURN(Result blocking_result,
                                       write_blocking(*write->request, write->prepared));
                      return fill(std::move(blocking_result), response);
                    });
                    return;
                  }
                  if (!result.ok()) return call.Finish(result.status());
                  call.Finish(fill(*std::move(result), response));
                });
  });
}

grpc::ServerUnaryReactor* KvService::Set(grpc::CallbackServerContext* context,
                                         std::unique_ptr<const v1::SetRequest> request,
                                         v1::SetResponse* response) {
  return ServeWrite<Store::WriteResult, NothingPrepared>(
      context, kSet, std::move(request), response,
      [this](const v1::SetRequest& set, NothingPrepared*) {
        RETURN_IF_ERROR(CheckBucketAndKey(set));
        return limits_.CheckValue("value", set.value());
      },
      [this](const v1::SetRequest& set, const NothingPrepared&,
             Store::Callback<Store::WriteResult> done) {
        store_->SetAsync(set.bucket(), set.key(), set.value(), std::move(done));
      },
      [this](const v1::SetRequest& set, const NothingPrepared&) {
        return store_->Set(set.bucket(), set.key(), set.value());
      },
      [](Store::WriteResult write, v1::SetResponse* set) {
        set->set_revision(write.revision);
        set->set_created(write.changed);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* KvService::Delete(grpc::CallbackServerContext* context,
                                            std::unique_ptr<const v1::DeleteRequest> request,
                                            v1::DeleteResponse* response) {
  return ServeWrite<Store::WriteResult, NothingPrepared>(
      context, kDelete, std::move(request), response,
      [this](const v1::DeleteRequest& del, NothingPrepared*) { return CheckBucketAndKey(del); },
      [this](const v1::DeleteRequest& del, const NothingPrepared&,
             Store::Callback<Store::WriteResult> done) {
        store_->DeleteAsync(del.bucket(), del.key(), std::move(done));
      },
      [this](const v1::DeleteRequest& del, const NothingPrepared&) {
        return store_->Delete(del.bucket(), del.key());
      },
      [](Store::WriteResult write, v1::DeleteResponse* del) {
        del->set_revision(write.revision);
        del->set_deleted(write.changed);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* KvService::Exists(grpc::CallbackServerContext* context,
                                            std::unique_ptr<const v1::ExistsRequest> request,
                                            v1::ExistsResponse* response) {
  return runner_->Run(
      context, methods_[kExists], [this, request = std::move(request), response]() -> absl::Status {
        RETURN_IF_ERROR(CheckBucketAndKey(*request));
        ASSIGN_OR_RETURN(Store::ReadResult read, store_->Get(request->bucket(), request->key()));
        response->set_revision(read.revision);
        if (read.value) {
          response->set_exists(true);
          response->set_version(read.value->version);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* KvService::ListKeys(grpc::CallbackServerContext* context,
                                              std::unique_ptr<const v1::ListKeysRequest> request,
                                              v1::ListKeysResponse* response) {
  return runner_->Run(
      context, methods_[kListKeys],
      [this, request = std::move(request), response]() -> absl::Status {
        RETURN_IF_ERROR(limits_.CheckBucket("bucket", request->bucket()));
        RETURN_IF_ERROR(limits_.CheckPrefix("prefix", request->prefix()));
        size_t limit = 0;
        RETURN_IF_ERROR(limits_.CheckListLimit("limit", request->limit(), &limit));
        std::optional<std::string> start_after;
        if (!request->cursor().empty()) {
          ASSIGN_OR_RETURN(start_after, DecodeListCursor("cursor", request->cursor(),
                                                         request->prefix(), limits_.max_key_bytes));
        }
        ASSIGN_OR_RETURN(
            Store::ListResult list,
            store_->ListKeys(request->bucket(), request->prefix(), start_after, limit));
        response->set_revision(list.revision);
        if (list.more)
          response->set_next_cursor(EncodeListCursor(request->prefix(), list.keys.back()));
        for (std::string& key : list.keys) response->add_keys(std::move(key));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* KvService::Increment(grpc::CallbackServerContext* context,
                                               std::unique_ptr<const v1::IncrementRequest> request,
                                               v1::IncrementResponse* response) {
  return ServeWrite<Store::IncrementResult, NothingPrepared>(
      context, kIncrement, std::move(request), response,
      [this](const v1::IncrementRequest& increment, NothingPrepared*) {
        return CheckBucketAndKey(increment);
      },
      [this](const v1::IncrementRequest& increment, const NothingPrepared&,
             Store::Callback<Store::IncrementResult> done) {
        store_->IncrementAsync(increment.bucket(), increment.key(), increment.delta(),
                               std::move(done));
      },
      [this](const v1::IncrementRequest& increment, const NothingPrepared&) {
        return store_->Increment(increment.bucket(), increment.key(), increment.delta());
      },
      [](Store::IncrementResult result, v1::IncrementResponse* increment) {
        increment->set_value(result.value);
        increment->set_revision(result.revision);
        return absl::OkStatus();
      });
}

absl::Status KvService::PrepareCompareAndSwap(const v1::CompareAndSwapRequest& request,
                                              CasCondition* condition) const {
  RETURN_IF_ERROR(CheckBucketAndKey(request));
  RETURN_IF_ERROR(limits_.CheckValue("new_value", request.new_value()));
  switch (request.expected_case()) {
    case v1::CompareAndSwapRequest::kExpectedValue:
      RETURN_IF_ERROR(limits_.CheckValue("expected_value", request.expected_value()));
      condition->kind = CasCondition::Kind::kValue;
      condition->expected_value = request.expected_value();
      return absl::OkStatus();
    case v1::CompareAndSwapRequest::kExpectAbsent:
      if (!request.expect_absent()) {
        return absl::InvalidArgumentError(
            "expect_absent: must be true when set; to compare with a value use expected_value");
      }
      condition->kind = CasCondition::Kind::kAbsent;
      return absl::OkStatus();
    case v1::CompareAndSwapRequest::kExpectedVersion:
      if (request.expected_version() == 0) {
        return absl::InvalidArgumentError(
            "expected_version: must be > 0 (versions start at 1); to require a missing key use "
            "expect_absent");
      }
      condition->kind = CasCondition::Kind::kVersion;
      condition->expected_version = request.expected_version();
      return absl::OkStatus();
    case v1::CompareAndSwapRequest::EXPECTED_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "expected: one of expected_value, expect_absent or expected_version must be set");
}

grpc::ServerUnaryReactor* KvService::CompareAndSwap(
    grpc::CallbackServerContext* context, std::unique_ptr<const v1::CompareAndSwapRequest> request,
    v1::CompareAndSwapResponse* response) {
  return ServeWrite<Store::CasResult, CasCondition>(
      context, kCompareAndSwap, std::move(request), response,
      [this](const v1::CompareAndSwapRequest& cas, CasCondition* condition) {
        return PrepareCompareAndSwap(cas, condition);
      },
      [this](const v1::CompareAndSwapRequest& cas, const CasCondition& condition,
             Store::Callback<Store::CasResult> done) {
        store_->CompareAndSwapAsync(cas.bucket(), cas.key(), condition, cas.new_value(),
                                    std::move(done));
      },
      [this](const v1::CompareAndSwapRequest& cas, const CasCondition& condition) {
        return store_->CompareAndSwap(cas.bucket(), cas.key(), condition, cas.new_value());
      },
      [](Store::CasResult result, v1::CompareAndSwapResponse* cas) {
        cas->set_swapped(result.swapped);
        cas->set_revision(result.revision);
        if (result.current) {
          cas->set_found(true);
          cas->set_current_value(std::move(result.current->value));
          cas->set_current_version(result.current->version);
        }
        return absl::OkStatus();
      });
}

absl::Status KvService::FillGetMany(std::span<const std::string> keys, Store::ManyReadResult read,
                                    v1::GetManyResponse* response) const {
  size_t reply_bytes = 0;
  for (const auto& value : read.values) reply_bytes += value ? value->value.size() : 0;
  if (reply_bytes > limits_.max_batch_bytes) {
    return absl::ResourceExhaustedError(StrCat(
        "keys: the reply would carry ", reply_bytes, " bytes of values, more than the ",
        limits_.max_batch_bytes, " bytes a batch may (--max-batch-bytes); ask for fewer keys"));
  }
  response->set_revision(read.revision);
  for (size_t i = 0; i < keys.size(); ++i) {
    v1::GetManyResponse::Entry* entry = response->add_entries();
    entry->set_key(keys[i]);
    if (read.values[i]) {
      entry->set_found(true);
      entry->set_value(std::move(read.values[i]->value));
      entry->set_version(read.values[i]->version);
    }
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* KvService::GetMany(grpc::CallbackServerContext* context,
                                             std::unique_ptr<const v1::GetManyRequest> request,
                                             v1::GetManyResponse* response) {
  const v1::GetManyRequest* get = request.get();
  // Filled by the first attempt, reused by the worker if it needs one.
  auto keys = std::make_shared<std::vector<std::string>>();
  return runner_->RunHereOr(
      context, methods_[kGetMany],
      [this, get, keys, response]() -> std::optional<absl::Status> {
        if (absl::Status checked = CheckKeyList(*get); !checked.ok()) return checked;
        keys->assign(get->keys().begin(), get->keys().end());
        absl::StatusOr<std::optional<Store::ManyReadResult>> read =
            store_->GetManyFromMemory(get->bucket(), *keys);
        if (!read.ok()) return read.status();
        if (!*read) return std::nullopt;
        return FillGetMany(*keys, **std::move(read), response);
      },
      [this, request = std::move(request), keys, response]() -> absl::Status {
        ASSIGN_OR_RETURN(Store::ManyReadResult read, store_->GetMany(request->bucket(), *keys));
        return FillGetMany(*keys, std::move(read), response);
      });
}

grpc::ServerUnaryReactor* KvService::SetMany(grpc::CallbackServerContext* context,
                                             std::unique_ptr<const v1::SetManyRequest> request,
                                             v1::SetManyResponse* response) {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  return ServeWrite<Store::WriteResult, Pairs>(
      context, kSetMany, std::move(request), response,
      [this](const v1::SetManyRequest& set_many, Pairs* pairs) {
        RETURN_IF_ERROR(limits_.CheckBucket("bucket", set_many.bucket()));
        RETURN_IF_ERROR(limits_.CheckBatchSize("entries", set_many.entries_size()));
        size_t bytes = 0;
        pairs->reserve(set_many.entries_size());
        for (int i = 0; i < set_many.entries_size(); ++i) {
          const v1::KeyValue& entry = set_many.entries(i);
          if (!limits_.KeyFits(entry.key())) {
            return limits_.CheckKey(StrCat("entries[", i, "].key"), entry.key());
          }
          if (!limits_.ValueFits(entry.value())) {
            return limits_.CheckValue(StrCat("entries[", i, "].value"), entry.value());
          }
          bytes += entry.key().size() + entry.value().size();
          pairs->emplace_back(entry.key(), entry.value());
        }
        return limits_.CheckBatchBytes("entries", bytes);
      },
      [this](const v1::SetManyRequest& set_many, const Pairs& pairs,
             Store::Callback<Store::WriteResult> done) {
        store_->SetManyAsync(set_many.bucket(), pairs, std::move(done));
      },
      [this](const v1::SetManyRequest& set_many, const Pairs& pairs) {
        return store_->SetMany(set_many.bucket(), pairs);
      },
      [](Store::WriteResult write, v1::SetManyResponse* set_many) {
        set_many->set_revision(write.revision);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* KvService::DeleteMany(
    grpc::CallbackServerContext* context, std::unique_ptr<const v1::DeleteManyRequest> request,
    v1::DeleteManyResponse* response) {
  using Keys = std::vector<std::string>;
  return ServeWrite<Store::DeleteManyResult, Keys>(
      context, kDeleteMany, std::move(request), response,
      [this](const v1::DeleteManyRequest& delete_many, Keys* keys) {
        RETURN_IF_ERROR(CheckKeyList(delete_many));
        keys->assign(delete_many.keys().begin(), delete_many.keys().end());
        return absl::OkStatus();
      },
      [this](const v1::DeleteManyRequest& delete_many, const Keys& keys,
             Store::Callback<Store::DeleteManyResult> done) {
        store_->DeleteManyAsync(delete_many.bucket(), keys, std::move(done));
      },
      [this](const v1::DeleteManyRequest& delete_many, const Keys& keys) {
        return store_->DeleteMany(delete_many.bucket(), keys);
      },
      [](Store::DeleteManyResult result, v1::DeleteManyResponse* delete_many) {
        delete_many->set_deleted(result.deleted);
        delete_many->set_revision(result.revision);
        return absl::OkStatus();
      });
}

}  // namespace wasikv
