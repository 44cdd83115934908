#include "server/rpc/backup_path.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "server/common/status_macros.h"
#include "server/common/str_cat.h"

namespace wasikv {
namespace {

namespace fs = std::filesystem;

// The absolute form of `path` with existing symbolic links and "." / ".."
// resolved, without a trailing separator.
absl::StatusOr<fs::path> Resolve(const fs::path& path) {
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) {
    return absl::InternalError(StrCat("cannot resolve '", path.string(), "': ", ec.message()));
  }
  if (resolved.has_relative_path() && resolved.filename().empty()) {
    resolved = resolved.parent_path();
  }
  return resolved;
}

bool IsInside(const fs::path& path, const fs::path& root) {
  return std::mismatch(root.begin(), root.end(), path.begin(), path.end()).first == root.end();
}

}  // namespace

absl::StatusOr<std::string> ResolveBackupDir(std::string_view field, std::string_view root,
                                             std::string_view requested) {
  if (root.empty()) {
    return absl::FailedPreconditionError(
        "backups are off on this server: start wasikvd with --backup-dir=DIR "
        "(WASIKV_BACKUP_DIR) to allow backups under DIR");
  }
  if (requested.size() > kMaxBackupDirBytes) {
    return absl::InvalidArgumentError(StrCat(field, ": ", requested.size(),
                                             " bytes, longer than the limit of ",
                                             kMaxBackupDirBytes, " bytes"));
  }
  if (requested.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(StrCat(field, ": contains a NUL byte"));
  }
  ASSIGN_OR_RETURN(const fs::path resolved_root, Resolve(fs::path(root)));
  const fs::path path(requested);
  if (path.is_relative()) {
    for (const fs::path& component : path) {
      if (component == "..") {
        return absl::InvalidArgumentError(
            StrCat(field, ": '", requested,
                   "' has a '..' component; name a directory inside the backup root"));
      }
    }
  }
  ASSIGN_OR_RETURN(const fs::path target,
                   Resolve(path.is_absolute() ? path : resolved_root / path));
  if (!IsInside(target, resolved_root)) {
    return absl::InvalidArgumentError(
        StrCat(field, ": '", requested, "' is outside the backup root '", resolved_root.string(),
               "' (--backup-dir); give a path inside it, or a "
               "relative one"));
  }
  return target.string();
}

}  // namespace wasikv
