// Names the calling thread, so `top -H`, perf and gdb tell wasikvd's own
// threads apart from gRPC's and RocksDB's (which name theirs).
#ifndef WASIKV_SERVER_COMMON_THREAD_NAME_H_
#define WASIKV_SERVER_COMMON_THREAD_NAME_H_

#include <pthread.h>

#include <string>
#include <string_view>

namespace wasikv {

// Linux keeps 15 bytes of a thread's name; a longer `name` is cut there.
inline void SetCurrentThreadName(std::string_view name) {
  const std::string truncated(name.substr(0, 15));
  pthread_setname_np(pthread_self(), truncated.c_str());
}

}  // namespace wasikv

#endif  // WASIKV_SERVER_COMMON_THREAD_NAME_H_
