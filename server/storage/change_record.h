// Reading a change log entry back (key_format.h: the "log" column family,
// LogKey(revision) -> ChangeRecord). The log is the store's own writing, but
// a disk, a restore or another program can hand it anything, so what comes
// back is checked, never trusted.
#ifndef WASIKV_SERVER_STORAGE_CHANGE_RECORD_H_
#define WASIKV_SERVER_STORAGE_CHANGE_RECORD_H_

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/storage/storage.pb.h"

namespace wasikv {

// A committed record, shared by the commit listeners, the change cache and
// the watchers reading it, so none of them copies it.
using SharedRecord = std::shared_ptr<const storage::ChangeRecord>;
// One committed group's records, revisions ascending and consecutive.
using CommittedRecords = std::vector<SharedRecord>;

// The record stored under `log_key`. DATA_LOSS, naming the entry, if the key
// is not a LogKey, the value is not a ChangeRecord, or the record is not of
// the revision its key says. Events of a type this version does not know
// are kept (readers skip them), so a newer writer's log still reads.
absl::StatusOr<storage::ChangeRecord> DecodeChangeRecord(std::string_view log_key,
                                                         std::string_view stored);

}  // namespace wasikv

#endif  // WASIKV_SERVER_STORAGE_CHANGE_RECORD_H_
