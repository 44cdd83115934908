#include "server/storage/rocks_status.h"

#include "fmt/format.h"

namespace wasikv {

absl::Status FromRocksStatus(const rocksdb::Status& status, std::string_view context) {
  if (status.ok()) return absl::OkStatus();
  if (status.IsNoSpace() || (status.code() == rocksdb::Status::kIOError &&
                             status.subcode() == rocksdb::Status::kSpaceLimit)) {
    return absl::ResourceExhaustedError(
        fmt::format("storage {}: the disk is full ({}); writes fail until space is freed on the "
                    "data directory's disk, reads still work",
                    context, status.ToString()));
  }
  std::string message = fmt::format("storage {}: {}", context, status.ToString());
  switch (status.code()) {
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kShutdownInProgress:
      return absl::UnavailableError(message);
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(message);
    case rocksdb::Status::kAborted:
      return absl::AbortedError(message);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(message);
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kIOError:
    default:
      return absl::InternalError(message);
  }
}

}  // namespace wasikv
