#!/usr/bin/env bash
# wasikv quick start on Debian 12.
#
#   deploy/quickstart.sh serve [wasikvd flags...]
#       installs what is missing, builds wasikvd (Release) and runs it in the
#       foreground on 127.0.0.1:50051 with its data in ./data.
#   deploy/quickstart.sh test
#       installs what is missing, builds everything the tests need and runs the
#       whole suite with ctest; then builds and runs the sanitizer trees (asan:
#       ASan+UBSan, tsan: ThreadSanitizer) and the fuzzers (fuzz) of
#       CMakePresets.json. This is what CI runs (.ci/run).
#   deploy/quickstart.sh deps
#       installs only what building wasikvd needs (BUILD_PACKAGES).
#   deploy/quickstart.sh build [PREFIX]
#       installs what is missing, builds wasikvd, the wasikv CLI and
#       wasikv-bench (Release) and installs them, stripped, under PREFIX (default build/release/stage).
#       The Dockerfile's build stage runs deps, then this.
#   deploy/quickstart.sh runtime-packages BINARY...
#       prints the Debian packages holding the shared libraries the binaries
#       load (ldd, then dpkg -S), one a line: what a runtime image installs.
#
# Everything the project needs comes from Debian's packages through apt-get,
# except, for the tests, npm packages, which `npm ci` installs from the npm
# registry exactly as each folder's package-lock.json pins them: adapter/node's
# (jco and componentize-js, which run WebAssembly components on Node) and
# tests/deploy's (the Kubernetes manifest validator). Nothing is downloaded
# any other way. Run as root, or with sudo available.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What building and running wasikvd needs (libssl-dev: wasikvd checks its TLS
# files with the OpenSSL that gRPC uses).
BUILD_PACKAGES=(
  cmake ninja-build ccache gcc g++ pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  librocksdb-dev libspdlog-dev libfmt-dev libboost-dev grpc-proto prometheus-cpp-dev
  libssl-dev
)
# What the tests need on top: GoogleTest, and for the wasi:keyvalue adapter
# wabt (libwabt's interpreter, wasm2c), clang with wasi-libc to compile
# the C test guests to wasm32, and Node.js to run them as components (jco).
# For deploy/ and the admin port: systemd-analyze (systemd) checks the unit
# offline; prometheus brings promtool (alert rules, the exposition format) and
# the real Prometheus server that scrapes wasikvd in tests/admin (with curl and
# python3 for that script).
# The container tests (tests/container/) build and run the Dockerfile with
# podman on runc (crun fails on these hosts' cgroups), make its Debian base
# images with debootstrap, and start deploy/compose.yaml with podman-compose.
# As root podman needs neither uidmap nor fuse-overlayfs.
# The asan and tsan trees use gcc's sanitizer runtimes (gcc's own
# dependencies); the fuzz tree's clang needs libclang-rt-14-dev (libFuzzer,
# FuzzedDataProvider.h and clang's ASan/UBSan runtimes).
# The TLS tests make their CAs and certificates with the openssl command.
# wasikv-bench drives Redis through hiredis and etcd through the protos of
# etcd's Go sources (golang-etcd-server-dev); its tests, and
# tests/bench/compare_with_peers.py, run the real redis-server and etcd, and
# the script draws its chart with gnuplot.
TEST_PACKAGES=(
  libgtest-dev libgmock-dev clang-format valgrind
  wabt clang lld wasi-libc libclang-rt-14-dev-wasm32 libclang-rt-14-dev
  nodejs
  systemd prometheus curl python3
  podman runc debootstrap podman-compose
  openssl
  libhiredis-dev golang-etcd-server-dev redis-server etcd-server gnuplot-nox
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

# Node.js for adapter/node: npm and the N-API headers come with nodesource's
# nodejs package; Debian splits them into npm and libnode-dev. jco needs
# Node 20 or newer (Debian 12's own nodejs is 18: use nodesource's).
install_node() {
  command -v npm >/dev/null 2>&1 || install_missing npm
  [ -f /usr/include/node/node_api.h ] || install_missing libnode-dev
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    echo "quickstart: Node.js $(node --version) is too old for jco; install Node 20+ (nodesource)" >&2
    exit 1
  fi
}

# The npm packages of one folder, as its package-lock.json pins them;
# installed again only when that lock changes.
install_node_modules() {
  local dir=$1
  local stamp=$dir/node_modules/.wasikv-package-lock.sha256
  local lock_hash
  lock_hash=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
    return 0
  fi
  echo "quickstart: npm ci in $dir" >&2
  npm ci --prefix "$dir" --no-audit --no-fund
  echo "$lock_hash" >"$stamp"
}

# Each shared library a binary loads, as the Debian package that holds it.
# dpkg knows a file by the path its package ships; with the merged /usr,
# ldd may name it under /lib or /usr/lib, so both are tried.
runtime_packages() {
  local binary path
  for binary in "$@"; do
    [ -x "$binary" ] || { echo "quickstart: $binary is not an executable" >&2; return 1; }
    ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
  done | sort -u | while read -r path; do
    local candidates=("$path" "$(readlink -f "$path")")
    case "$path" in
      /usr/*) candidates+=("${path#/usr}") ;;
      *) candidates+=("/usr$path") ;;
    esac
    local candidate package=""
    for candidate in "${candidates[@]}"; do
      package=$(dpkg -S "$candidate" 2>/dev/null | grep -v '^diversion' | head -n1 | cut -d: -f1) || true
      [ -n "$package" ] && break
    done
    [ -n "$package" ] || { echo "quickstart: no Debian package holds $path" >&2; return 1; }
    echo "$package"
  done | sort -u
}

case "${1:-}" in
  serve)
    shift
    install_missing "${BUILD_PACKAGES[@]}"
    cmake --preset release
    cmake --build --preset release --target wasikvd
    exec build/release/server/wasikvd --data-dir ./data "$@"
    ;;
  deps)
    install_missing "${BUILD_PACKAGES[@]}"
    ;;
  build)
    prefix=${2:-build/release/stage}
    install_missing "${BUILD_PACKAGES[@]}"
    cmake --preset release
    cmake --build --preset release --target wasikvd wasikv wasikv-bench
    cmake --install build/release --prefix "$prefix" --strip
    ;;
  runtime-packages)
    shift
    [ $# -gt 0 ] || { echo "usage: $0 runtime-packages BINARY..." >&2; exit 2; }
    runtime_packages "$@"
    ;;
  test)
    install_missing "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    install_node
    install_node_modules adapter/node
    install_node_modules tests/deploy
    cmake --preset ci
    cmake --build --preset ci
    ctest --preset ci
    # The same C++ tests under the sanitizers, then each fuzzer over its
    # corpus and for a few seconds; each tree in its own build/<preset>.
    for preset in asan tsan fuzz; do
      cmake --preset "$preset"
      cmake --build --preset "$preset"
      ctest --preset "$preset"
    done
    ;;
  *)
    echo "usage: $0 serve [wasikvd flags...] | test | deps | build [PREFIX] | runtime-packages BINARY..." >&2
    exit 2
    ;;
esac
