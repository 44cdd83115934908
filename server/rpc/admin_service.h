// AdminService serves wasikv.v1.Admin: online backups (docs/backup.md).
//
// Backup and ListBackups resolve the request's directory inside the
// --backup-dir root (backup_path.h) and run on the CallRunner's workers,
// since a backup takes seconds to minutes of disk work. A backup that has
// started finishes even if its caller goes away. Status codes are documented
// in proto/wasikv/v1/admin.proto.
//
// Thread safety: gRPC calls the methods concurrently; the store runs one
// backup at a time. Borrows the store and runner, which must outlive the
// gRPC server.
#ifndef WASIKV_SERVER_RPC_ADMIN_SERVICE_H_
#define WASIKV_SERVER_RPC_ADMIN_SERVICE_H_

#include <memory>
#include <string>
#include <utility>

#include "server/metrics/server_metrics.h"
#include "server/rpc/call_runner.h"
#include "server/rpc/decoding_service.h"
#include "server/storage/store.h"
#include "wasikv/v1/admin.grpc.pb.h"

namespace wasikv {

class AdminService final {
 public:
  // `backup_root`: the --backup-dir root; empty refuses every call.
  AdminService(Store* store, CallRunner* runner, std::string backup_root, ServerMetrics* metrics,
               const Authorizer* authorizer)
      : store_(store),
        runner_(runner),
        backup_root_(std::move(backup_root)),
        service_(metrics, authorizer),
        backup_method_(
            service_.ServeUnary("Backup", Access::kAdmin, runner, this, &AdminService::Backup)),
        list_backups_method_(service_.ServeUnary("ListBackups", Access::kAdmin, runner, this,
                                                 &AdminService::ListBackups)) {}
  AdminService(const AdminService&) = delete;
  AdminService& operator=(const AdminService&) = delete;

  // What grpc::ServerBuilder::RegisterService takes.
  grpc::Service* service() { return &service_; }

 private:
  // One handler per RPC; each owns its decoded request.
  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* context,
                                   std::unique_ptr<const v1::BackupRequest> request,
                                   v1::BackupResponse* response);
  grpc::ServerUnaryReactor* ListBackups(grpc::CallbackServerContext* context,
                                        std::unique_ptr<const v1::ListBackupsRequest> request,
                                        v1::ListBackupsResponse* response);

  Store* const store_;
  CallRunner* const runner_;
  const std::string backup_root_;
  DecodingService<v1::Admin> service_;
  RpcMethod* const backup_method_;
  RpcMethod* const list_backups_method_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_ADMIN_SERVICE_H_
