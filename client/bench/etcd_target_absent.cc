// wasikv-bench built without etcd's protos: no --target etcd.
#include "client/bench/target.h"

namespace wasikv::bench {

std::unique_ptr<Target> NewEtcdTarget(const TargetOptions&, uint64_t) { return nullptr; }

}  // namespace wasikv::bench
