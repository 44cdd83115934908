#!/bin/sh
# The kill -9 loop of kill9_test for longer than CI runs it: CYCLES kills
# (default 500, about ten minutes), the kill moments from SEED
# (default: a random one, printed), against the build in BUILD_DIR (default
# build/ci).
#   tests/crash/run_long.sh [CYCLES] [SEED]
# A failure prints the seed; rerun with it to see the same kill moments
# (the writers' interleaving still varies).
set -eu
cd "$(dirname "$0")/../.."
binary=${BUILD_DIR:-build/ci}/tests/crash/kill9_test
[ -x "$binary" ] || {
  echo "no $binary: cmake --build --preset ci --target kill9_test" >&2
  exit 1
}
WASIKV_CRASH_CYCLES=${1:-500}
export WASIKV_CRASH_CYCLES
if [ $# -ge 2 ]; then
  WASIKV_CRASH_SEED=$2
  export WASIKV_CRASH_SEED
fi
exec "$binary" --gtest_brief=1
