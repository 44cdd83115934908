#include "server/storage/key_lock_table.h"

#include <algorithm>
#include <functional>

namespace wasikv {

KeyLockTable::KeyLocks::KeyLocks(KeyLockTable* table, std::vector<size_t> stripes)
    : table_(table), stripes_(std::move(stripes)) {}

KeyLockTable::KeyLocks::~KeyLocks() {
  if (table_ == nullptr) return;
  for (auto it = stripes_.rbegin(); it != stripes_.rend(); ++it) {
    table_->mutexes_[*it].unlock();
  }
}

KeyLockTable::KeyLockTable(size_t stripes)
    : mutexes_(new std::mutex[stripes]), stripe_count_(stripes) {}

size_t KeyLockTable::StripeOf(std::string_view bucket, std::string_view key) const {
  const size_t h = std::hash<std::string_view>()(bucket);
  return (h * 31 + std::hash<std::string_view>()(key)) % stripe_count_;
}

KeyLockTable::KeyLocks KeyLockTable::Lock(std::string_view bucket, std::string_view key) {
  return LockStripes({StripeOf(bucket, key)});
}

KeyLockTable::KeyLocks KeyLockTable::LockStripes(std::vector<size_t> stripes) {
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  for (size_t stripe : stripes) mutexes_[stripe].lock();
  return KeyLocks(this, std::move(stripes));
}

}  // namespace wasikv
