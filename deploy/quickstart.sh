#!/usr/bin/env bash
# wasikv quick start on Debian 12.
#
#   deploy/quickstart.sh serve [wasikvd flags...]
#       installs what is missing, builds wasikvd (Release) and runs it in the
#       foreground on 127.0.0.1:50051 with its data in ./data.
#   deploy/quickstart.sh test
#       installs what is missing, builds everything the tests need and runs the
#       whole suite with ctest. This is what CI runs (.ci/run).
#
# Everything the project needs comes from Debian's packages through apt-get;
# nothing is downloaded any other way. Run as root, or with sudo available.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What building and running wasikvd needs.
BUILD_PACKAGES=(
  cmake ninja-build ccache gcc g++ pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  librocksdb-dev libspdlog-dev libfmt-dev libboost-dev grpc-proto
)
# What the tests need on top: GoogleTest, and for the wasi:keyvalue adapter
# wabt (libwabt's interpreter, wasm2c) and clang with wasi-libc to compile
# the C test guests to wasm32.
TEST_PACKAGES=(
  libgtest-dev libgmock-dev clang-format valgrind
  wabt clang lld wasi-libc libclang-rt-14-dev-wasm32
)

install_missing() {
  local missing=()
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "quickstart: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
}

case "${1:-}" in
  serve)
    shift
    install_missing "${BUILD_PACKAGES[@]}"
    cmake --preset release
    cmake --build --preset release --target wasikvd
    exec build/release/server/wasikvd --data-dir ./data "$@"
    ;;
  test)
    install_missing "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    cmake --preset ci
    cmake --build --preset ci
    ctest --preset ci
    ;;
  *)
    echo "usage: $0 serve [wasikvd flags...] | test" >&2
    exit 2
    ;;
esac
