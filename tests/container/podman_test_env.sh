# Sourced by the container tests: the podman settings of tests/container and
# the helpers they share. Expects $test_name.
container_test_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CONTAINERS_CONF=$container_test_dir/containers.conf

fail() {
  echo "$test_name: FAIL: $*" >&2
  exit 1
}

for tool in podman runc curl python3; do
  command -v "$tool" >/dev/null ||
    fail "$tool is not installed (deploy/quickstart.sh test installs TEST_PACKAGES)"
done
podman info >/dev/null 2>&1 || fail "podman cannot run here: $(podman info 2>&1 | tail -n 3)"

# poll SECONDS COMMAND...: runs COMMAND until it succeeds, at most SECONDS
# long; each try is bounded by the command's own timeout.
poll() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# A free loopback port for a fixed host mapping (compose cannot ask podman
# for an ephemeral one).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
