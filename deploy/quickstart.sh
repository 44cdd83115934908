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
# Everything the project needs comes from Debian's packages through apt-get,
# except, for the tests, npm packages, which `npm ci` installs from the npm
# registry exactly as each folder's package-lock.json pins them: adapter/node's
# (jco and componentize-js, which run WebAssembly components on Node) and
# tests/deploy's (the Kubernetes manifest validator). Nothing is downloaded
# any other way. Run as root, or with sudo available.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What building and running wasikvd needs.
BUILD_PACKAGES=(
  cmake ninja-build ccache gcc g++ pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  librocksdb-dev libspdlog-dev libfmt-dev libboost-dev grpc-proto prometheus-cpp-dev
)
# What the tests need on top: GoogleTest, and for the wasi:keyvalue adapter
# wabt (libwabt's interpreter, wasm2c), clang with wasi-libc to compile
# the C test guests to wasm32, and Node.js to run them as components (jco).
# For deploy/ and the admin port: systemd-analyze (systemd) checks the unit
# offline; prometheus brings promtool (alert rules, the exposition format) and
# the real Prometheus server that scrapes wasikvd in tests/admin (with curl and
# python3 for that script).
TEST_PACKAGES=(
  libgtest-dev libgmock-dev clang-format valgrind
  wabt clang lld wasi-libc libclang-rt-14-dev-wasm32
  nodejs
  systemd prometheus curl python3
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
    install_node
    install_node_modules adapter/node
    install_node_modules tests/deploy
    cmake --preset ci
    cmake --build --preset ci
    ctest --preset ci
    ;;
  *)
    echo "usage: $0 serve [wasikvd flags...] | test" >&2
    exit 2
    ;;
esac
