// The event log the watch guests keep: their handlers append "S key=value;"
// for on-set and "D key;" for on-delete, and check_watch compares the log
// with what the test wrote.
#ifndef WASIKV_TESTS_ADAPTER_GUESTS_WATCH_LOG_H_
#define WASIKV_TESTS_ADAPTER_GUESTS_WATCH_LOG_H_

#include <stdint.h>
#include <string.h>

static char g_watch_log[8192];
static size_t g_watch_log_len = 0;
static int32_t g_watch_events = 0;

static inline void WatchLogAppend(const void* bytes, size_t len) {
  if (g_watch_log_len + len > sizeof g_watch_log) {
    __builtin_trap();  // the test never writes this much
  }
  memcpy(g_watch_log + g_watch_log_len, bytes, len);
  g_watch_log_len += len;
}

static inline void WatchLogSet(const void* key, size_t key_len, const void* value,
                               size_t value_len) {
  WatchLogAppend("S ", 2);
  WatchLogAppend(key, key_len);
  WatchLogAppend("=", 1);
  WatchLogAppend(value, value_len);
  WatchLogAppend(";", 1);
  ++g_watch_events;
}

static inline void WatchLogDelete(const void* key, size_t key_len) {
  WatchLogAppend("D ", 2);
  WatchLogAppend(key, key_len);
  WatchLogAppend(";", 1);
  ++g_watch_events;
}

// What the watch tests write to bucket "watched", in this order.
static const char kExpectedWatchLog[] = "S w1=v1;S w2=v2;D w1;S w2=v2b;S w3=v3;D w3;";

#define WASIKV_DEFINE_WATCH_CHECKS()                                                \
  WASIKV_EXPORT("event_count") int32_t event_count(void) { return g_watch_events; } \
  WASIKV_EXPORT("check_watch") int32_t check_watch(void) {                          \
    CHECK(g_watch_log_len == strlen(kExpectedWatchLog));                            \
    CHECK(memcmp(g_watch_log, kExpectedWatchLog, g_watch_log_len) == 0);            \
    return 0;                                                                       \
  }

#endif  // WASIKV_TESTS_ADAPTER_GUESTS_WATCH_LOG_H_
