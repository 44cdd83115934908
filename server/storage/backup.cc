#include "server/storage/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <memory>
#include <string_view>
#include <system_error>

#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/utilities/backup_engine.h"
#include "rocksdb/utilities/checkpoint.h"
#include "server/common/status_macros.h"
#include "server/common/str_cat.h"
#include "server/storage/last_revision.h"
#include "server/storage/rocks_status.h"
#include "server/storage/rocksdb_options.h"

namespace wasikv {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kRevisionMetadataPrefix = "wasikv-revision=";
// Written before a restore copies anything and removed once it is complete:
// its presence means the data directory holds part of a restore.
constexpr std::string_view kRestoreMarker = "RESTORE-IN-PROGRESS";
// The live database flushes its memtables into the checkpoint's table files
// (log_size_for_flush 0) rather than leave them in the write-ahead log copy:
// writes go on during the flush, and the backup then consists of table files
// the next backup shares instead of copying again (RocksDB checkpoints never
// block writers either way).
constexpr uint64_t kCheckpointLogSizeForFlush = 0;

std::string RevisionMetadata(uint64_t revision) {
  return StrCat(kRevisionMetadataPrefix, revision);
}

// The revision of a wasikv backup's metadata; 0 for any other metadata.
uint64_t RevisionFromMetadata(std::string_view metadata) {
  if (!metadata.starts_with(kRevisionMetadataPrefix)) return 0;
  metadata.remove_prefix(kRevisionMetadataPrefix.size());
  uint64_t revision = 0;
  auto [end, ec] = std::from_chars(metadata.data(), metadata.data() + metadata.size(), revision);
  return ec == std::errc() && end == metadata.data() + metadata.size() ? revision : 0;
}

BackupInfo ToBackupInfo(const rocksdb::BackupInfo& info) {
  return BackupInfo{info.backup_id, RevisionFromMetadata(info.app_metadata), info.size,
                    info.number_files, info.timestamp};
}

absl::Status FileSystemError(std::string_view what, const fs::path& path,
                             const std::error_code& ec) {
  return absl::InternalError(StrCat(what, " '", path.string(), "': ", ec.message()));
}

// Makes a created or removed directory entry durable.
absl::Status SyncDirectory(const fs::path& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    const std::error_code ec(errno, std::generic_category());
    if (fd >= 0) close(fd);
    return FileSystemError("cannot sync directory", dir, ec);
  }
  close(fd);
  return absl::OkStatus();
}

absl::Status WriteRestoreMarker(const fs::path& data_dir) {
  const fs::path marker = data_dir / kRestoreMarker;
  const int fd = open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || fsync(fd) != 0) {
    const std::error_code ec(errno, std::generic_category());
    if (fd >= 0) close(fd);
    return FileSystemError("cannot write restore marker", marker, ec);
  }
  close(fd);
  return SyncDirectory(data_dir);
}

// The checkpoint database opened for a backup; closed and destroyed on every
// path out of BackupDatabase.
class CheckpointDb {
 public:
  CheckpointDb(const CheckpointDb&) = delete;
  CheckpointDb& operator=(const CheckpointDb&) = delete;
  ~CheckpointDb() {
    for (rocksdb::ColumnFamilyHandle* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
    db_->Close().PermitUncheckedError();
  }

  static absl::StatusOr<std::unique_ptr<CheckpointDb>> Open(const std::string& dir) {
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    RETURN_IF_ERROR(
        FromRocksStatus(rocksdb::DB::Open(MakeCheckpointDBOptions(), dir,
                                          MakeCheckpointColumnFamilies(), &handles, &db),
                        "open of backup checkpoint"));
    return std::unique_ptr<CheckpointDb>(new CheckpointDb(db, std::move(handles)));
  }

  rocksdb::DB* db() const { return db_.get(); }
  absl::StatusOr<uint64_t> LastRevision() const {
    return ReadLastRevision(db_.get(), handles_[0], handles_[1]);
  }

 private:
  CheckpointDb(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : db_(db), handles_(std::move(handles)) {}

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// Removes the staging directory when the backup is over, however it ends.
class StagingCleanup {
 public:
  explicit StagingCleanup(std::string dir) : dir_(std::move(dir)) {}
  StagingCleanup(const StagingCleanup&) = delete;
  StagingCleanup& operator=(const StagingCleanup&) = delete;
  ~StagingCleanup() { RemoveBackupStaging(dir_).IgnoreError(); }

 private:
  std::string dir_;
};

absl::StatusOr<std::unique_ptr<rocksdb::BackupEngine>> OpenBackupEngine(
    const std::string& backup_dir) {
  rocksdb::BackupEngine* engine = nullptr;
  RETURN_IF_ERROR(FromRocksStatus(rocksdb::BackupEngine::Open(MakeBackupEngineOptions(backup_dir),
                                                              rocksdb::Env::Default(), &engine),
                                  StrCat("open of backup directory '", backup_dir, "'")));
  return std::unique_ptr<rocksdb::BackupEngine>(engine);
}

// NOT_FOUND unless `backup_dir` is an existing directory.
absl::Status CheckBackupDirExists(const std::string& backup_dir) {
  std::error_code ec;
  if (!fs::is_directory(backup_dir, ec)) {
    return absl::NotFoundError(StrCat("backup directory '", backup_dir, "' does not exist"));
  }
  return absl::OkStatus();
}

// A backup directory gets its meta/ subdirectory with its first backup.
bool HoldsBackupEngine(const std::string& backup_dir) {
  std::error_code ec;
  return fs::is_directory(fs::path(backup_dir) / "meta", ec);
}

// Read-only engines open only directories that HoldsBackupEngine.
absl::StatusOr<std::unique_ptr<rocksdb::BackupEngineReadOnly>> OpenBackupEngineReadOnly(
    const std::string& backup_dir) {
  rocksdb::BackupEngineReadOnly* engine = nullptr;
  RETURN_IF_ERROR(
      FromRocksStatus(rocksdb::BackupEngineReadOnly::Open(MakeBackupEngineOptions(backup_dir),
                                                          rocksdb::Env::Default(), &engine),
                      StrCat("open of backup directory '", backup_dir, "'")));
  return std::unique_ptr<rocksdb::BackupEngineReadOnly>(engine);
}

std::string BackupIds(const std::vector<rocksdb::BackupInfo>& backups) {
  std::string ids;
  for (const rocksdb::BackupInfo& info : backups) {
    ids += StrCat(ids.empty() ? "" : ", ", info.backup_id);
  }
  return ids;
}

}  // namespace

std::string BackupStagingDir(const std::string& data_dir) {
  return (fs::absolute(data_dir) / "backup-staging").string();
}

absl::Status RemoveBackupStaging(const std::string& staging_dir) {
  // CreateCheckpoint builds in "<dir>.tmp" and renames it at the end.
  for (const std::string& dir : {staging_dir, staging_dir + ".tmp"}) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) return FileSystemError("cannot remove backup staging directory", dir, ec);
  }
  return absl::OkStatus();
}

absl::StatusOr<BackupInfo> BackupDatabase(rocksdb::DB* db, const std::string& staging_dir,
                                          const std::string& backup_dir, uint32_t keep) {
  RETURN_IF_ERROR(RemoveBackupStaging(staging_dir));
  std::error_code ec;
  fs::create_directories(backup_dir, ec);
  if (ec) return FileSystemError("cannot create backup directory", backup_dir, ec);

  StagingCleanup cleanup(staging_dir);
  {
    rocksdb::Checkpoint* raw = nullptr;
    RETURN_IF_ERROR(FromRocksStatus(rocksdb::Checkpoint::Create(db, &raw), "backup checkpoint"));
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    RETURN_IF_ERROR(
        FromRocksStatus(checkpoint->CreateCheckpoint(staging_dir, kCheckpointLogSizeForFlush),
                        "backup checkpoint"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<CheckpointDb> source, CheckpointDb::Open(staging_dir));
  ASSIGN_OR_RETURN(const uint64_t revision, source->LastRevision());

  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::BackupEngine> engine, OpenBackupEngine(backup_dir));
  rocksdb::CreateBackupOptions create;
  create.flush_before_backup = false;  // the checkpoint's WAL is part of the backup
  rocksdb::BackupID id = 0;
  RETURN_IF_ERROR(FromRocksStatus(
      engine->CreateNewBackupWithMetadata(create, source->db(), RevisionMetadata(revision), &id),
      "backup"));
  source.reset();
  if (absl::Status verified =
          FromRocksStatus(engine->VerifyBackup(id, /*verify_with_checksum=*/true),
                          StrCat("verification of backup ", id));
      !verified.ok()) {
    // A backup that does not verify must not be restored later by mistake.
    engine->DeleteBackup(id).PermitUncheckedError();
    return verified;
  }
  if (keep > 0) {
    RETURN_IF_ERROR(FromRocksStatus(
        engine->PurgeOldBackups(keep),
        StrCat("deletion of old backups (backup ", id, " itself was made and verified)")));
  }
  rocksdb::BackupInfo info;
  RETURN_IF_ERROR(FromRocksStatus(engine->GetBackupInfo(id, &info), "backup info"));
  return ToBackupInfo(info);
}

absl::StatusOr<std::vector<BackupInfo>> ListBackups(const std::string& backup_dir) {
  RETURN_IF_ERROR(CheckBackupDirExists(backup_dir));
  if (!HoldsBackupEngine(backup_dir)) return std::vector<BackupInfo>();
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::BackupEngineReadOnly> engine,
                   OpenBackupEngineReadOnly(backup_dir));
  std::vector<rocksdb::BackupInfo> backups;
  engine->GetBackupInfo(&backups);
  std::vector<BackupInfo> list;
  list.reserve(backups.size());
  for (const rocksdb::BackupInfo& info : backups) list.push_back(ToBackupInfo(info));
  std::sort(list.begin(), list.end(),
            [](const BackupInfo& a, const BackupInfo& b) { return a.backup_id < b.backup_id; });
  return list;
}

absl::Status CheckNoInterruptedRestore(const std::string& data_dir) {
  std::error_code ec;
  if (fs::exists(fs::path(data_dir) / kRestoreMarker, ec)) {
    return absl::FailedPreconditionError(
        StrCat("data directory '", data_dir, "' holds an interrupted restore (", kRestoreMarker,
               " is present): run wasikvd with --restore-from again to finish it"));
  }
  return absl::OkStatus();
}

absl::StatusOr<BackupInfo> RestoreBackup(const std::string& backup_dir, uint32_t backup_id,
                                         const std::string& data_dir) {
  // Checked first: whatever the backup directory holds, a database is never
  // overwritten. A data directory marked as being restored holds only part
  // of one, which the restore replaces.
  const fs::path data(data_dir);
  std::error_code ec;
  const bool interrupted = !CheckNoInterruptedRestore(data_dir).ok();
  if (!interrupted && fs::exists(data / "CURRENT", ec)) {
    return absl::FailedPreconditionError(StrCat(
        "data directory '", data_dir, "' already holds a database; a restore from '", backup_dir,
        "' never overwrites one: restore into an empty data directory, or start without "
        "--restore-from"));
  }
  RETURN_IF_ERROR(CheckBackupDirExists(backup_dir));
  const auto no_backups = [&] {
    return absl::FailedPreconditionError(
        StrCat("backup directory '", backup_dir, "' holds no backups"));
  };
  if (!HoldsBackupEngine(backup_dir)) return no_backups();
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::BackupEngineReadOnly> engine,
                   OpenBackupEngineReadOnly(backup_dir));
  std::vector<rocksdb::BackupInfo> backups;
  engine->GetBackupInfo(&backups);
  if (backups.empty()) return no_backups();
  const rocksdb::BackupInfo* chosen = nullptr;
  for (const rocksdb::BackupInfo& info : backups) {
    if (backup_id == 0 ? chosen == nullptr || info.backup_id > chosen->backup_id
                       : info.backup_id == backup_id) {
      chosen = &info;
    }
  }
  if (chosen == nullptr) {
    return absl::NotFoundError(StrCat("backup directory '", backup_dir, "' has no backup ",
                                      backup_id, "; it holds backups ", BackupIds(backups)));
  }

  RETURN_IF_ERROR(FromRocksStatus(engine->VerifyBackup(chosen->backup_id,
                                                       /*verify_with_checksum=*/true),
                                  StrCat("verification of backup ", chosen->backup_id)));
  fs::create_directories(data, ec);
  if (ec) return FileSystemError("cannot create data directory", data, ec);
  RETURN_IF_ERROR(WriteRestoreMarker(data));
  RETURN_IF_ERROR(FromRocksStatus(
      engine->RestoreDBFromBackup(rocksdb::RestoreOptions(), chosen->backup_id, data_dir, data_dir),
      StrCat("restore of backup ", chosen->backup_id)));
  fs::remove(data / kRestoreMarker, ec);
  if (ec) return FileSystemError("cannot remove restore marker in", data, ec);
  RETURN_IF_ERROR(SyncDirectory(data));
  return ToBackupInfo(*chosen);
}

}  // namespace wasikv
