// The RocksDB -> absl status mapping: storage faults keep RocksDB's words and
// get the code a caller can act on.
#include "server/storage/rocks_status.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wasikv {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(RocksStatus, FullDiskIsResourceExhaustedSayingSo) {
  const absl::Status status = FromRocksStatus(
      rocksdb::Status::NoSpace("While appending to file: /data/000004.log", "No space left"),
      "commit");
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Message(status), AllOf(HasSubstr("storage commit"), HasSubstr("the disk is full"),
                                     HasSubstr("/data/000004.log"), HasSubstr("reads still work")));
  EXPECT_EQ(FromRocksStatus(rocksdb::Status::SpaceLimit(), "flush").code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(RocksStatus, CorruptionIsDataLossNamingTheFile) {
  const absl::Status status = FromRocksStatus(
      rocksdb::Status::Corruption("block checksum mismatch", "in /data/000011.sst offset 0"),
      "read");
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(status), AllOf(HasSubstr("storage read"), HasSubstr("/data/000011.sst")));
}

TEST(RocksStatus, OtherFaults) {
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::OK(), "read").ok());
  EXPECT_EQ(FromRocksStatus(rocksdb::Status::Busy(), "read").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(FromRocksStatus(rocksdb::Status::ShutdownInProgress(), "read").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(FromRocksStatus(rocksdb::Status::IOError("EIO"), "read").code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace wasikv
