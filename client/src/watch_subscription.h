// The client's WatchSubscription: a Watch stream that reconnects and resumes.
// Private to the client library.
#ifndef WASIKV_CLIENT_SRC_WATCH_SUBSCRIPTION_H_
#define WASIKV_CLIENT_SRC_WATCH_SUBSCRIPTION_H_

#include <memory>

#include "absl/status/statusor.h"
#include "client_core.h"
#include "wasikv/watch.h"

namespace wasikv::client_internal {

absl::StatusOr<std::unique_ptr<WatchSubscription>> StartWatch(ClientCore* core,
                                                              const WatchOptions& options,
                                                              WatchHandler handler);

}  // namespace wasikv::client_internal

#endif  // WASIKV_CLIENT_SRC_WATCH_SUBSCRIPTION_H_
