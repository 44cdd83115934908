// The writes the watch guests' check_watch expects (guests/watch_log.h),
// made with the C++ client as a third party.
#ifndef WASIKV_TESTS_ADAPTER_WATCH_SEQUENCE_H_
#define WASIKV_TESTS_ADAPTER_WATCH_SEQUENCE_H_

#include <cstddef>

#include "gtest/gtest.h"
#include "wasikv/client.h"

namespace wasikv::testing {

// The events WriteSequence makes in bucket "watched": 4 sets, 2 deletes.
inline constexpr size_t kWatchSequenceEvents = 6;

inline void WriteSequence(Client& client) {
  ASSERT_TRUE(client.Set("watched", "w1", "v1").ok());
  ASSERT_TRUE(client.Set("other", "ignored", "x").ok());  // not watched
  ASSERT_TRUE(client.Set("watched", "w2", "v2").ok());
  ASSERT_TRUE(client.Delete("watched", "w1").ok());
  ASSERT_TRUE(client.Set("watched", "w2", "v2b").ok());
  ASSERT_TRUE(client.Set("watched", "w3", "v3").ok());
  ASSERT_TRUE(client.Delete("watched", "w3").ok());
}

}  // namespace wasikv::testing

#endif  // WASIKV_TESTS_ADAPTER_WATCH_SEQUENCE_H_
