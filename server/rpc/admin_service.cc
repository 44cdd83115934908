#include "server/rpc/admin_service.h"

#include <vector>

#include "server/common/status_macros.h"
#include "server/rpc/backup_path.h"

namespace wasikv {
namespace {

void ToProto(const BackupInfo& backup, v1::BackupInfo* out) {
  out->set_backup_id(backup.backup_id);
  out->set_revision(backup.revision);
  out->set_size_bytes(backup.size_bytes);
  out->set_file_count(backup.file_count);
  out->set_create_unix_seconds(backup.create_unix_seconds);
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::Backup(grpc::CallbackServerContext* context,
                                               std::unique_ptr<const v1::BackupRequest> request,
                                               v1::BackupResponse* response) {
  return runner_->Run(
      context, backup_method_, [this, request = std::move(request), response]() -> absl::Status {
        ASSIGN_OR_RETURN(const std::string dir,
                         ResolveBackupDir("dir", backup_root_, request->dir()));
        ASSIGN_OR_RETURN(const BackupInfo backup, store_->Backup(dir, request->keep()));
        ToProto(backup, response->mutable_backup());
        response->set_dir(dir);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminService::ListBackups(
    grpc::CallbackServerContext* context, std::unique_ptr<const v1::ListBackupsRequest> request,
    v1::ListBackupsResponse* response) {
  return runner_->Run(context, list_backups_method_,
                      [this, request = std::move(request), response]() -> absl::Status {
                        ASSIGN_OR_RETURN(const std::string dir,
                                         ResolveBackupDir("dir", backup_root_, request->dir()));
                        ASSIGN_OR_RETURN(const std::vector<BackupInfo> backups,
                                         wasikv::ListBackups(dir));
                        for (const BackupInfo& backup : backups)
                          ToProto(backup, response->add_backups());
                        response->set_dir(dir);
                        return absl::OkStatus();
                      });
}

}  // namespace wasikv
