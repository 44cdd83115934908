#!/bin/sh
# Runs disk_full_test on a disk of its own: a small tmpfs mounted in a private
# mount namespace, so the mount is never seen outside the test and goes away
# with it however the test ends (nothing to unmount, nothing left full).
# Needs root (CAP_SYS_ADMIN); exits 77, which ctest reports as skipped,
# without it.
#   disk_full_test.sh DISK_FULL_TEST [GTEST_ARGS...]
set -eu
test_binary=$1
shift
# 256 MiB: RocksDB's WAL preallocation (about 70 MiB) and the free space its
# recovery waits for (one 64 MiB memtable) both fit, with room for the data.
size=256m

mount_point=$(mktemp -d "${TMPDIR:-/tmp}/wasikv-disk-full-XXXXXX")
trap 'rmdir "$mount_point"' EXIT
if ! unshare --mount --propagation private -- \
  mount -t tmpfs -o size=$size wasikv-disk-full "$mount_point" 2>/dev/null; then
  echo "SKIP: cannot mount a tmpfs in a private mount namespace (needs root)" >&2
  exit 77
fi
status=0
unshare --mount --propagation private -- sh -euc '
  mount_point=$1 size=$2
  shift 2
  mount -t tmpfs -o size="$size" wasikv-disk-full "$mount_point"
  WASIKV_DISK_FULL_DIR=$mount_point exec "$@"' \
  sh "$mount_point" "$size" "$test_binary" "$@" || status=$?
exit $status
