#!/bin/sh
# Proves the installed client package works for a user's project: installs
# the wasikv_development component of a build tree into a fresh prefix, then
#   1. configures, builds and runs tests/consumer/ with find_package(wasikv);
#   2. compiles tests/consumer/main.cc with `pkg-config --cflags --libs wasikv`
#      and runs it.
# Both programs write and read a key on a wasikvd started here on port 0.
#
# Usage (ctest passes these, see tests/CMakeLists.txt):
#   run_consumer_test.sh CMAKE BUILD_DIR CONFIG CONSUMER_SRC GENERATOR CXX LIBDIR WASIKVD
set -eu

if [ $# -ne 8 ]; then
  echo "usage: $0 CMAKE BUILD_DIR CONFIG CONSUMER_SRC GENERATOR CXX LIBDIR WASIKVD" >&2
  exit 2
fi
cmake=$1 build_dir=$2 config=$3 consumer_src=$4 generator=$5 cxx=$6 libdir=$7 wasikvd=$8

work=$(mktemp -d "${TMPDIR:-/tmp}/wasikv-consumer.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

prefix=$work/prefix
echo "== install to $prefix"
"$cmake" --install "$build_dir" --config "$config" --prefix "$prefix" \
  --component wasikv_development

# wasikvd writes its address to --ready-fd once it serves. Through a FIFO,
# `read` waits for exactly that, and fails at once if wasikvd exits first.
echo "== start wasikvd"
mkfifo "$work/ready"
"$wasikvd" --listen=127.0.0.1:0 --admin-listen=off --data-dir "$work/data" --sync-writes=false \
  --ready-fd=3 3>"$work/ready" &
server_pid=$!
if ! read -r endpoint <"$work/ready"; then
  echo "wasikvd did not start" >&2
  exit 1
fi
echo "wasikvd serves on $endpoint"

echo "== find_package(wasikv) consumer"
"$cmake" -S "$consumer_src" -B "$work/cmake-build" -G "$generator" \
  -DCMAKE_BUILD_TYPE="$config" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix"
"$cmake" --build "$work/cmake-build" --config "$config"
consumer=$work/cmake-build/consumer
[ -x "$consumer" ] || consumer=$work/cmake-build/$config/consumer  # multi-config generators
"$consumer" "$endpoint" "from-cmake"

echo "== pkg-config consumer"
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs wasikv)
echo "pkg-config --cflags --libs wasikv: $flags"
# $flags is split into words on purpose.
# shellcheck disable=SC2086
"$cxx" -std=c++20 "$consumer_src/main.cc" -o "$work/pc-consumer" $flags
"$work/pc-consumer" "$endpoint" "from-pkg-config"

echo "== ok"
