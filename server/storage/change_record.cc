#include "server/storage/change_record.h"

#include <cstdint>
#include <limits>
#include <optional>

#include "server/common/str_cat.h"
#include "server/storage/key_format.h"

namespace wasikv {

absl::StatusOr<storage::ChangeRecord> DecodeChangeRecord(std::string_view log_key,
                                                         std::string_view stored) {
  const std::optional<uint64_t> revision = key_format::DecodeLogKey(log_key);
  if (!revision) {
    return absl::DataLossError(
        StrCat("change log key of ", log_key.size(), " bytes is not an 8-byte revision"));
  }
  storage::ChangeRecord record;
  if (stored.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !record.ParseFromArray(stored.data(), static_cast<int>(stored.size()))) {
    return absl::DataLossError(StrCat("change log record at revision ", *revision, " is corrupt"));
  }
  if (record.revision() != *revision) {
    return absl::DataLossError(StrCat("change log record at revision ", *revision,
                                      " says it is revision ", record.revision()));
  }
  return record;
}

}  // namespace wasikv
