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

#include <string>
#include <utility>

#include "server/metrics/server_metrics.h"
#include "server/rpc/call_runner.h"
#include "server/storage/store.h"
#include "wasikv/v1/admin.grpc.pb.h"

namespace wasikv {

class AdminService final : public v1::Admin::CallbackService {
 public:
  // `backup_root`: the --backup-dir root; empty refuses every call.
  AdminService(Store* store, CallRunner* runner, std::string backup_root, ServerMetrics* metrics)
      : store_(store),
        runner_(runner),
        backup_root_(std::move(backup_root)),
        backup_method_(metrics->AddMethod("wasikv.v1.Admin", "Backup", RpcType::kUnary)),
        list_backups_method_(
            metrics->AddMethod("wasikv.v1.Admin", "ListBackups", RpcType::kUnary)) {}

  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* context,
                                   const v1::BackupRequest* request,
                                   v1::BackupResponse* response) override;
  grpc::ServerUnaryReactor* ListBackups(grpc::CallbackServerContext* context,
                                        const v1::ListBackupsRequest* request,
                                        v1::ListBackupsResponse* response) override;

 private:
  Store* const store_;
  CallRunner* const runner_;
  const std::string backup_root_;
  RpcMethod* const backup_method_;
  RpcMethod* const list_backups_method_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_ADMIN_SERVICE_H_
