// Unit tests of reading change log entries back (server/storage/change_record.h).
#include "server/storage/change_record.h"

#include <gtest/gtest.h>

#include <string>

#include "server/storage/key_format.h"

namespace wasikv {
namespace {

storage::ChangeRecord RecordOf(uint64_t revision) {
  storage::ChangeRecord record;
  record.set_revision(revision);
  record.set_commit_unix_micros(1700000000000000);
  storage::Event* event = record.add_events();
  event->set_bucket("b");
  event->set_key("k");
  event->set_value("v");
  return record;
}

TEST(ChangeRecord, DecodesTheRecordItsKeyNames) {
  absl::StatusOr<storage::ChangeRecord> record =
      DecodeChangeRecord(key_format::LogKey(7), RecordOf(7).SerializeAsString());
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->revision(), 7u);
  ASSERT_EQ(record->events_size(), 1);
  EXPECT_EQ(record->events(0).value(), "v");
}

TEST(ChangeRecord, AnythingElseIsDataLoss) {
  const std::string seven = RecordOf(7).SerializeAsString();
  // Another revision than its key's, a key that is not a log key, bytes
  // that are not a record.
  EXPECT_EQ(DecodeChangeRecord(key_format::LogKey(8), seven).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeChangeRecord("revision7", seven).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeChangeRecord(key_format::LogKey(7), "\xff\xff\xff").status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace wasikv
