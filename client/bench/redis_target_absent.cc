// wasikv-bench built without hiredis: no --target redis.
#include "client/bench/target.h"

namespace wasikv::bench {

std::unique_ptr<Target> NewRedisTarget(const TargetOptions&) { return nullptr; }

}  // namespace wasikv::bench
