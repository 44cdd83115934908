// The gRPC implementation of wasikv::Client.
#include <future>

#include "client_core.h"
#include "unary_call.h"
#include "wasikv/client.h"
#include "watch_subscription.h"

namespace wasikv {
namespace {

using client_internal::ClientCore;
using client_internal::UnaryCall;

constexpr bool kIdempotent = true;
constexpr bool kNotIdempotent = false;

template <typename Result, typename Start>
absl::StatusOr<Result> Blocking(Start start) {
  std::promise<absl::StatusOr<Result>> promise;
  std::future<absl::StatusOr<Result>> future = promise.get_future();
  start([&promise](absl::StatusOr<Result> result) { promise.set_value(std::move(result)); });
  return future.get();
}

std::optional<VersionedValue> MaybeValue(bool found, std::string* value, uint64_t version) {
  if (!found) return std::nullopt;
  return VersionedValue{std::move(*value), version};
}

BackupInfo ToBackupInfo(const v1::BackupInfo& b) {
  return BackupInfo{b.backup_id(), b.revision(), b.size_bytes(), b.file_count(),
                    b.create_unix_seconds()};
}

class GrpcClient final : public Client {
 public:
  explicit GrpcClient(const ClientOptions& options)
      : core_(std::make_unique<ClientCore>(options)) {}

  // ----- asynchronous forms

  void GetAsync(std::string_view bucket, std::string_view key, Callback<GetResult> done,
                const CallOptions& call) override {
    v1::GetRequest request;
    request.set_bucket(std::string(bucket));
    request.set_key(std::string(key));
    Run<GetResult, v1::GetRequest, v1::GetResponse>(
        std::move(request), kIdempotent, call,
        [kv = core_->kv()](auto* c, auto* q, auto* r, auto f) {
          kv->async()->Get(c, q, r, std::move(f));
        },
        [](v1::GetResponse& r) -> absl::StatusOr<GetResult> {
          return GetResult{MaybeValue(r.found(), r.mutable_value(), r.version()), r.revision()};
        },
        std::move(done));
  }

  void SetAsync(std::string_view bucket, std::string_view key, std::string_view value,
                Callback<SetResult> done, const CallOptions& call) override {
    v1::SetRequest request;
    request.set_bucket(std::string(bucket));
    request.set_key(std::string(key));
    request.set_value(std::string(value));
    Run<SetResult, v1::SetRequest, v1::SetResponse>(
        std::move(request), kIdempotent, call,
        [kv = core_->kv()](auto* c, auto* q, auto* r, auto f) {
          kv->async()->Set(c, q, r, std::move(f));
        },
        [](v1::SetResponse& r) -> absl::StatusOr<SetResult> {
          return SetResult{r.revision(), r.created()};
        },
        std::move(done));
  }

  void DeleteAsync(std::string_view bucket, std::string_view key, Callback<DeleteResult> done,
                   const CallOptions& call) override {
    v1::DeleteRequest request;
    request.set_bucket(std::string(bucket));
    request.set_key(std::string(key));
    Run<DeleteResult, v1::DeleteRequest, v1::DeleteResponse>(
        std::move(request), kIdempotent, call,
        [kv = core_->kv()](auto* c, auto* q, auto* r, auto f) {
          kv->async()->Delete(c, q, r, std::move(f));
        },
        [](v1::DeleteResponse& r) -> absl::StatusOr<DeleteResult> {
          return DeleteResult{r.deleted(), r.revision()};
        },
        std::move(done));
  }

  void ExistsAsync(std::string_view bucket, std::string_view key, Callback<ExistsResult> done,
                   const CallOptions& call) override {
    v1::ExistsRequest request;
    request.set_bucket(std::string(bucket));
    request.set_key(std::string(key));
    Run<ExistsResult, v1::ExistsRequest, v1::ExistsResponse>(
        std::move(request), kIdempotent, call,
        [kv = core_->kv()](auto* c, auto* q, auto* r, auto f) {
          kv->async()->Exists(c, q, r, std::move(f));
        },
        [](v1::ExistsResponse& r) -> absl::StatusOr<ExistsResult> {
          return ExistsResult{r.exists(), r.version(), r.revision()};
        },
        std::move(done));
  }

  void ListKeysAsync(std::string_view bucket, const ListKeysOptions& list,
                     Callback<ListKeysPage> done, const CallOptions& call) override {
    v1::ListKeysRequest request;
    request.set_bucket(std::string(bucket));
    request.set_prefix(list.prefix);
    request.set_cursor(list.cursor);
    request.set_limit(list.limit);
    Run<ListKeysPage, v1::ListKeysRequest, v1::ListKeysResponse>(
        std::move(request), kIdempotent, call,
        [kv = core_->kv()](auto* c, auto* q, auto* r, auto f) {
          kv->async()->ListKeys(c, q, r, std::move(f));
        },
        [](v1::ListKeysResponse& r) -> absl::StatusOr<ListKeysPage> {
          ListKeysPage page;
          page.keys.assign(std::make_move_iterator(r.mutable_keys()->begin()),
                           std::make_move_iterator(r.mutable_keys()->end()));
          page.next_cursor = std::move(*r.mutable_next_cursor());
          page.revision = r.revision();
          return page;
        },
        std::move(done));
  }

  void IncrementAsync(std::string_view bucket, std::string_view key, int64_t delta,
                      Callback<IncrementResult> done, const CallOptions& call) override {
    v1::IncrementRequest request;
    request.set_bucket(std::string(bucket));
    request.set_key(std::string(key));
    request.set_delta(delta);
    Run<IncrementResult, v1::IncrementRequest, v1::IncrementResponse>(
        std::move(request), kNotIdempotent, call,
        [kv = core_->kv()](auto* c, auto* q, auto* r, auto f) {
          kv->async()->Increment(c, q, r, std::move(f));
        },
        [](v1::IncrementResponse& r) -> absl::StatusOr<IncrementResult> {
          return IncrementResult{r.value(), r.revision()};
        },
        std::move(done));
  }

  void CompareAndSwapAsync(std::string_view bucket, std::string_view key,
                           const CasExpectation& expected, std::string_view new_value,
                           Callback<CasResult> done, const CallOptions& call) override {
    v1::CompareAndSwapRequest request;
    request.set_bucket(std::string(bucket));
    request.set_key(std::string(key));
    switch (expected.kind) {
      case CasExpectation::Kind::kValue:
        request.set_expected_value(expected.value);
        break;
      case CasExpectation::Kind::kAbsent:
        request.set_expect_absent(true);
        break;
      case CasExpectation::Kind::kVersion:
        request.set_expected_version(expected.version);
        break;
    }
    request.set_new_value(std::string(new_value));
    Run<CasResult, v1::CompareAndSwapRequest, v1::CompareAndSwapResponse>(
        std::move(request), kNotIdempotent, call,
        [kv = core_->kv()](auto* c, auto* q, auto* r, auto f) {
          kv->async()->CompareAndSwap(c, q, r, std::move(f));
        },
        [](v1::CompareAndSwapResponse& r) -> absl::StatusOr<CasResult> {
          return CasResult{r.swapped(), r.revision(),
                           MaybeValue(r.found(), r.mutable_current_value(), r.current_version())};
        },
        std::move(done));
  }

  void GetManyAsync(std::string_view bucket, std::span<const std::string> keys,
                    Callback<GetManyResult> done, const CallOptions& call) override {
    v1::GetManyRequest request;
    request.set_bucket(std::string(bucket));
    for (const std::string& key : keys) request.add_keys(key);
    Run<GetManyResult, v1::GetManyRequest, v1::GetManyResponse>(
        std::move(request), kIdempotent, call,
        [kv = core_->kv()](auto* c, auto* q, auto* r, auto f) {
          kv->async()->GetMany(c, q, r, std::move(f));
        },
        [](v1::GetManyResponse& r) -> absl::StatusOr<GetManyResult> {
          GetManyResult result;
          result.revision = r.revision();
          result.entries.reserve(r.entries_size());
          for (v1::GetManyResponse::Entry& e : *r.mutable_entries()) {
            result.entries.push_back(
                GetManyEntry{std::move(*e.mutable_key()),
                             MaybeValue(e.found(), e.mutable_value(), e.version())});
          }
          return result;
        },
        std::move(done));
  }

  void SetManyAsync(std::string_view bucket, std::span<const KeyValue> entries,
                    Callback<uint64_t> done, const CallOptions& call) override {
    v1::SetManyRequest request;
    request.set_bucket(std::string(bucket));
    for (const KeyValue& kv : entries) {
      v1::KeyValue* entry = request.add_entries();
      entry->set_key(kv.key);
      entry->set_value(kv.value);
    }
    Run<uint64_t, v1::SetManyRequest, v1::SetManyResponse>(
        std::move(request), kIdempotent, call,
        [kv = core_->kv()](auto* c, auto* q, auto* r, auto f) {
          kv->async()->SetMany(c, q, r, std::move(f));
        },
        [](v1::SetManyResponse& r) -> absl::StatusOr<uint64_t> { return r.revision(); },
        std::move(done));
  }

  void DeleteManyAsync(std::string_view bucket, std::span<const std::string> keys,
                       Callback<DeleteManyResult> done, const CallOptions& call) override {
    v1::DeleteManyRequest request;
    request.set_bucket(std::string(bucket));
    for (const std::string& key : keys) request.add_keys(key);
    Run<DeleteManyResult, v1::DeleteManyRequest, v1::DeleteManyResponse>(
        std::move(request), kIdempotent, call,
        [kv = core_->kv()](auto* c, auto* q, auto* r, auto f) {
          kv->async()->DeleteMany(c, q, r, std::move(f));
        },
        [](v1::DeleteManyResponse& r) -> absl::StatusOr<DeleteManyResult> {
          return DeleteManyResult{r.deleted(), r.revision()};
        },
        std::move(done));
  }

  void OpenBucketAsync(std::string_view bucket, Callback<BucketStatus> done,
                       const CallOptions& call) override {
    v1::OpenBucketRequest request;
    request.set_bucket(std::string(bucket));
    Run<BucketStatus, v1::OpenBucketRequest, v1::OpenBucketResponse>(
        std::move(request), kIdempotent, call,
        [buckets = core_->buckets()](auto* c, auto* q, auto* r, auto f) {
          buckets->async()->OpenBucket(c, q, r, std::move(f));
        },
        [](v1::OpenBucketResponse& r) -> absl::StatusOr<BucketStatus> {
          return BucketStatus{r.exists(), r.usable(), r.create_revision(), r.revision()};
        },
        std::move(done));
  }

  void CreateBucketAsync(std::string_view bucket, Callback<uint64_t> done,
                         const CallOptions& call) override {
    v1::CreateBucketRequest request;
    request.set_bucket(std::string(bucket));
    // A retry after a lost reply would fail with ALREADY_EXISTS: not retried.
    Run<uint64_t, v1::CreateBucketRequest, v1::CreateBucketResponse>(
        std::move(request), kNotIdempotent, call,
        [buckets = core_->buckets()](auto* c, auto* q, auto* r, auto f) {
          buckets->async()->CreateBucket(c, q, r, std::move(f));
        },
        [](v1::CreateBucketResponse& r) -> absl::StatusOr<uint64_t> { return r.revision(); },
        std::move(done));
  }

  void DeleteBucketAsync(std::string_view bucket, Callback<DeleteBucketResult> done,
                         const CallOptions& call) override {
    v1::DeleteBucketRequest request;
    request.set_bucket(std::string(bucket));
    Run<DeleteBucketResult, v1::DeleteBucketRequest, v1::DeleteBucketResponse>(
        std::move(request), kIdempotent, call,
        [buckets = core_->buckets()](auto* c, auto* q, auto* r, auto f) {
          buckets->async()->DeleteBucket(c, q, r, std::move(f));
        },
        [](v1::DeleteBucketResponse& r) -> absl::StatusOr<DeleteBucketResult> {
          return DeleteBucketResult{r.deleted(), r.deleted_keys(), r.revision()};
        },
        std::move(done));
  }

  void ListBucketsAsync(Callback<std::vector<BucketInfo>> done, const CallOptions& call) override {
    Run<std::vector<BucketInfo>, v1::ListBucketsRequest, v1::ListBucketsResponse>(
        v1::ListBucketsRequest(), kIdempotent, call,
        [buckets = core_->buckets()](auto* c, auto* q, auto* r, auto f) {
          buckets->async()->ListBuckets(c, q, r, std::move(f));
        },
        [](v1::ListBucketsResponse& r) -> absl::StatusOr<std::vector<BucketInfo>> {
          std::vector<BucketInfo> list;
          for (v1::BucketInfo& b : *r.mutable_buckets()) {
            list.push_back({std::move(*b.mutable_name()), b.create_revision()});
          }
          return list;
        },
        std::move(done));
  }

  void CheckHealthAsync(std::string_view service, Callback<HealthStatus> done,
                        const CallOptions& call) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(std::string(service));
    using Response = grpc::health::v1::HealthCheckResponse;
    Run<HealthStatus, grpc::health::v1::HealthCheckRequest, Response>(
        std::move(request), kIdempotent, call,
        [health = core_->health()](auto* c, auto* q, auto* r, auto f) {
          health->async()->Check(c, q, r, std::move(f));
        },
        [](Response& r) -> absl::StatusOr<HealthStatus> {
          switch (r.status()) {
            case Response::SERVING:
              return HealthStatus::kServing;
            case Response::SERVICE_UNKNOWN:
              return HealthStatus::kServiceUnknown;
            default:
              return HealthStatus::kNotServing;
          }
        },
        // The standard service answers NOT_FOUND for a name it does not know.
        [done = std::move(done)](absl::StatusOr<HealthStatus> result) {
          if (!result.ok() && result.status().code() == absl::StatusCode::kNotFound) {
            result = HealthStatus::kServiceUnknown;
          }
          done(std::move(result));
        });
  }

  void BackupAsync(const BackupOptions& backup, Callback<BackupResult> done,
                   const CallOptions& call) override {
    v1::BackupRequest request;
    request.set_dir(backup.dir);
    request.set_keep(backup.keep);
    CallOptions long_call = call;
    if (long_call.deadline.count() <= 0) long_call.deadline = kBackupDeadline;
    Run<BackupResult, v1::BackupRequest, v1::BackupResponse>(
        std::move(request), kNotIdempotent, long_call,
        [admin = core_->admin()](auto* c, auto* q, auto* r, auto f) {
          admin->async()->Backup(c, q, r, std::move(f));
        },
        [](v1::BackupResponse& r) -> absl::StatusOr<BackupResult> {
          return BackupResult{ToBackupInfo(r.backup()), std::move(*r.mutable_dir())};
        },
        std::move(done));
  }

  void ListBackupsAsync(std::string_view dir, Callback<BackupList> done,
                        const CallOptions& call) override {
    v1::ListBackupsRequest request;
    request.set_dir(std::string(dir));
    Run<BackupList, v1::ListBackupsRequest, v1::ListBackupsResponse>(
        std::move(request), kIdempotent, call,
        [admin = core_->admin()](auto* c, auto* q, auto* r, auto f) {
          admin->async()->ListBackups(c, q, r, std::move(f));
        },
        [](v1::ListBackupsResponse& r) -> absl::StatusOr<BackupList> {
          BackupList list;
          for (const v1::BackupInfo& b : r.backups()) list.backups.push_back(ToBackupInfo(b));
          list.dir = std::move(*r.mutable_dir());
          return list;
        },
        std::move(done));
  }

  // ----- blocking forms, on top of the asynchronous ones

  absl::StatusOr<GetResult> Get(std::string_view bucket, std::string_view key,
                                const CallOptions& call) override {
    return Blocking<GetResult>([&](auto done) { GetAsync(bucket, key, std::move(done), call); });
  }
  absl::StatusOr<SetResult> Set(std::string_view bucket, std::string_view key,
                                std::string_view value, const CallOptions& call) override {
    return Blocking<SetResult>(
        [&](auto done) { SetAsync(bucket, key, value, std::move(done), call); });
  }
  absl::StatusOr<DeleteResult> Delete(std::string_view bucket, std::string_view key,
                                      const CallOptions& call) override {
    return Blocking<DeleteResult>(
        [&](auto done) { DeleteAsync(bucket, key, std::move(done), call); });
  }
  absl::StatusOr<ExistsResult> Exists(std::string_view bucket, std::string_view key,
                                      const CallOptions& call) override {
    return Blocking<ExistsResult>(
        [&](auto done) { ExistsAsync(bucket, key, std::move(done), call); });
  }
  absl::StatusOr<ListKeysPage> ListKeys(std::string_view bucket, const ListKeysOptions& list,
                                        const CallOptions& call) override {
    return Blocking<ListKeysPage>(
        [&](auto done) { ListKeysAsync(bucket, list, std::move(done), call); });
  }
  absl::StatusOr<IncrementResult> Increment(std::string_view bucket, std::string_view key,
                                            int64_t delta, const CallOptions& call) override {
    return Blocking<IncrementResult>(
        [&](auto done) { IncrementAsync(bucket, key, delta, std::move(done), call); });
  }
  absl::StatusOr<CasResult> CompareAndSwap(std::string_view bucket, std::string_view key,
                                           const CasExpectation& expected,
                                           std::string_view new_value,
                                           const CallOptions& call) override {
    return Blocking<CasResult>([&](auto done) {
      CompareAndSwapAsync(bucket, key, expected, new_value, std::move(done), call);
    });
  }
  absl::StatusOr<GetManyResult> GetMany(std::string_view bucket, std::span<const std::string> keys,
                                        const CallOptions& call) override {
    return Blocking<GetManyResult>(
        [&](auto done) { GetManyAsync(bucket, keys, std::move(done), call); });
  }
  absl::StatusOr<uint64_t> SetMany(std::string_view bucket, std::span<const KeyValue> entries,
                                   const CallOptions& call) override {
    return Blocking<uint64_t>(
        [&](auto done) { SetManyAsync(bucket, entries, std::move(done), call); });
  }
  absl::StatusOr<DeleteManyResult> DeleteMany(std::string_view bucket,
                                              std::span<const std::string> keys,
                                              const CallOptions& call) override {
    return Blocking<DeleteManyResult>(
        [&](auto done) { DeleteManyAsync(bucket, keys, std::move(done), call); });
  }
  absl::StatusOr<BucketStatus> OpenBucket(std::string_view bucket,
                                          const CallOptions& call) override {
    return Blocking<BucketStatus>(
        [&](auto done) { OpenBucketAsync(bucket, std::move(done), call); });
  }
  absl::StatusOr<uint64_t> CreateBucket(std::string_view bucket, const CallOptions& call) override {
    return Blocking<uint64_t>([&](auto done) { CreateBucketAsync(bucket, std::move(done), call); });
  }
  absl::StatusOr<DeleteBucketResult> DeleteBucket(std::string_view bucket,
                                                  const CallOptions& call) override {
    return Blocking<DeleteBucketResult>(
        [&](auto done) { DeleteBucketAsync(bucket, std::move(done), call); });
  }
  absl::StatusOr<std::vector<BucketInfo>> ListBuckets(const CallOptions& call) override {
    return Blocking<std::vector<BucketInfo>>(
        [&](auto done) { ListBucketsAsync(std::move(done), call); });
  }

  absl::StatusOr<HealthStatus> CheckHealth(std::string_view service,
                                           const CallOptions& call) override {
    return Blocking<HealthStatus>(
        [&](auto done) { CheckHealthAsync(service, std::move(done), call); });
  }

  absl::StatusOr<BackupResult> Backup(const BackupOptions& backup,
                                      const CallOptions& call) override {
    return Blocking<BackupResult>([&](auto done) { BackupAsync(backup, std::move(done), call); });
  }
  absl::StatusOr<BackupList> ListBackups(std::string_view dir, const CallOptions& call) override {
    return Blocking<BackupList>([&](auto done) { ListBackupsAsync(dir, std::move(done), call); });
  }

  absl::StatusOr<std::unique_ptr<WatchSubscription>> Watch(const WatchOptions& options,
                                                           WatchHandler handler) override {
    return client_internal::StartWatch(core_.get(), options, std::move(handler));
  }

 private:
  template <typename Result, typename Request, typename Response, typename Invoke, typename Convert>
  void Run(Request request, bool idempotent, const CallOptions& call, Invoke invoke,
           Convert convert, Callback<Result> done) {
    UnaryCall<Request, Response, Result>::Start(core_.get(), std::move(request), idempotent, call,
                                                std::move(invoke), std::move(convert),
                                                std::move(done));
  }

  std::unique_ptr<ClientCore> core_;
};

// A PEM field must hold PEM text; a file path there is the usual mistake.
absl::Status CheckPem(std::string_view field, const std::string& pem, std::string_view marker) {
  if (pem.empty() || pem.find(marker) != std::string::npos) return absl::OkStatus();
  return absl::InvalidArgumentError(std::string("tls.") + std::string(field) + ": not PEM (no " +
                                    std::string(marker) +
                                    "); it takes the file's contents, not its path");
}

absl::Status CheckTlsOptions(const TlsOptions& tls) {
  if (!tls.use_tls) {
    // Certificates given to a plaintext channel would be ignored: refuse
    // rather than silently send in the clear.
    if (!tls.root_certs_pem.empty() || !tls.client_cert_chain_pem.empty() ||
        !tls.client_private_key_pem.empty() || !tls.server_name_override.empty()) {
      return absl::InvalidArgumentError(
          "tls: certificates or a server name given, but use_tls is false");
    }
    return absl::OkStatus();
  }
  if (tls.client_cert_chain_pem.empty() != tls.client_private_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "tls: client_cert_chain_pem and client_private_key_pem go together");
  }
  if (absl::Status s =
          CheckPem("root_certs_pem", tls.root_certs_pem, "-----BEGIN CERTIFICATE-----");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckPem("client_cert_chain_pem", tls.client_cert_chain_pem,
                                "-----BEGIN CERTIFICATE-----");
      !s.ok()) {
    return s;
  }
  return CheckPem("client_private_key_pem", tls.client_private_key_pem, "PRIVATE KEY-----");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Create(const ClientOptions& options) {
  if (options.endpoint.empty()) {
    return absl::InvalidArgumentError("endpoint: must not be empty (e.g. 127.0.0.1:50051)");
  }
  if (options.default_deadline.count() <= 0) {
    return absl::InvalidArgumentError("default_deadline: must be positive");
  }
  if (absl::Status tls = CheckTlsOptions(options.tls); !tls.ok()) return tls;
  return std::unique_ptr<Client>(new GrpcClient(options));
}

}  // namespace wasikv
