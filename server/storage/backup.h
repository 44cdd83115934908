// Online backups of a wasikv database into RocksDB BackupEngine directories,
// and restores from them (docs/backup.md).
//
// A backup holds the database at exactly one revision while writes go on. A
// RocksDB checkpoint of the live database (hard links to its table files, a
// copy of its write-ahead log) is opened as a database of its own, and its
// revision is read there. Every commit group writes its data, its change-log
// record and the revision key in one atomic batch, so that revision names the
// checkpoint's contents exactly: every write up to it, none above. The
// checkpoint is then copied into the backup directory with the revision in
// the backup's metadata ("wasikv-revision=R"), verified against checksums,
// and deleted. Table files are shared by checksum between the backups of one
// directory, so a backup copies only the files that changed since the last.
//
// Thread safety: the functions may run concurrently on different
// directories. Backups into one directory must not overlap, nor a backup
// and a restore of one data directory; Store::Backup runs one at a time.
//
// "Not found": ListBackups and RestoreBackup of a directory that does not
// exist are NOT_FOUND; a directory without backups is FAILED_PRECONDITION
// for RestoreBackup and an empty list for ListBackups.
#ifndef WASIKV_SERVER_STORAGE_BACKUP_H_
#define WASIKV_SERVER_STORAGE_BACKUP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rocksdb {
class DB;
}  // namespace rocksdb

namespace wasikv {

struct BackupInfo {
  uint32_t backup_id = 0;  // 1, 2, ... within its directory
  uint64_t revision = 0;   // the store revision it holds; 0: not a wasikv backup
  // Bytes and number of the files it consists of, shared files included.
  uint64_t size_bytes = 0;
  uint32_t file_count = 0;
  int64_t create_unix_seconds = 0;
};

// Backs up `db` (a wasikv database; borrowed) into `backup_dir`, creating
// it if missing, through a checkpoint at `staging_dir`: a path on the same
// file system as the database (so table files are hard links, not copies)
// that is removed before and after, also on failure. Then, if `keep` > 0,
// deletes the oldest backups of `backup_dir` until `keep` remain. INTERNAL
// if a file cannot be written or the new backup does not verify.
absl::StatusOr<BackupInfo> BackupDatabase(rocksdb::DB* db, const std::string& staging_dir,
                                          const std::string& backup_dir, uint32_t keep);

// The backups of `backup_dir`, oldest first; corrupt ones are left out.
absl::StatusOr<std::vector<BackupInfo>> ListBackups(const std::string& backup_dir);

// Restores backup `backup_id` (0: the newest) of `backup_dir` into
// `data_dir`, after verifying it against its checksums, and returns what was
// restored. Refuses (FAILED_PRECONDITION naming both directories) when
// `data_dir` already holds a database: a restore never overwrites one. A
// restore that was interrupted (the process died) leaves a marker that makes
// Store::Open refuse the data directory and lets the next restore start over.
// NOT_FOUND if `backup_id` is not among the directory's backups.
absl::StatusOr<BackupInfo> RestoreBackup(const std::string& backup_dir, uint32_t backup_id,
                                         const std::string& data_dir);

// FAILED_PRECONDITION if `data_dir` holds an interrupted restore.
absl::Status CheckNoInterruptedRestore(const std::string& data_dir);

// Where Store stages the checkpoint of a backup: inside the data directory,
// hence on its file system.
std::string BackupStagingDir(const std::string& data_dir);
// Removes a staging directory and what a crashed checkpoint may have left
// beside it. OK if there is nothing to remove.
absl::Status RemoveBackupStaging(const std::string& staging_dir);

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_BACKUP_H_
