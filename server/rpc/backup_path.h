// Where an Admin backup call may read and write: inside the root the
// operator chose with --backup-dir, and nowhere else (CockroachDB's
// --external-io-dir model). The check is on the path as the file system
// resolves it, so neither ".." nor a symbolic link leads out of the root.
#ifndef WASIKV_SERVER_RPC_BACKUP_PATH_H_
#define WASIKV_SERVER_RPC_BACKUP_PATH_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace wasikv {

inline constexpr size_t kMaxBackupDirBytes = 4096;

// The absolute directory `requested` names: the root itself if empty, a
// path relative to the root (no ".." components), or an absolute path that
// lies inside the root. FAILED_PRECONDITION naming --backup-dir if `root` is
// empty (backups are off); INVALID_ARGUMENT naming `field` for any path
// outside the root, longer than kMaxBackupDirBytes or holding a NUL byte.
absl::StatusOr<std::string> ResolveBackupDir(std::string_view field, std::string_view root,
                                             std::string_view requested);

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_BACKUP_PATH_H_
