#!/usr/bin/env bash
# container_run: the image as an operator runs it. Read-only root, data in a
# named volume, ports on loopback only: it serves, runs as uid 10001, reports
# healthy, stops cleanly on SIGTERM, and a new container finds the data.
#   run_test.sh IMAGE WASIKV_CLI
set -euo pipefail
test_name=container_run
source "$(dirname "${BASH_SOURCE[0]}")/podman_test_env.sh"
image=$1
cli=$2

run_id=wasikv-test-$$-$RANDOM
volume=$run_id-data
containers=()
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    for c in "${containers[@]}"; do
      echo "--- podman logs $c" >&2
      podman logs "$c" >&2 2>&1 || true
    done
  fi
  for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
  exit "$status"
}
trap cleanup EXIT
podman volume create "$volume" >/dev/null

# start NAME: runs the image detached; podman picks free host ports, bound to
# loopback (gRPC, admin HTTP). The stop timeout is above wasikvd's 10 s drain.
start() {
  containers+=("$1")
  podman run -d --name "$1" --read-only --tmpfs /tmp -v "$volume:/data" \
    -e WASIKV_ALLOW_INSECURE_REMOTE=true -p 127.0.0.1::50051 -p 127.0.0.1::50052 --stop-timeout 30 "$image" >/dev/null ||
    fail "podman run $1 failed"
  endpoint=$(podman port "$1" 50051/tcp)
  admin=$(podman port "$1" 50052/tcp)
  case "$endpoint $admin" in
    127.0.0.1:*" "127.0.0.1:*) ;;
    *) fail "ports published as '$endpoint' and '$admin', not on loopback" ;;
  esac
}

kv() { "$cli" --endpoint "$endpoint" --timeout 1s "$@"; }

# Secure by default: on 0.0.0.0 without TLS and an auth file the image
# refuses to start, in one line that says why.
if refused=$(podman run --rm --read-only --tmpfs /tmp "$image" 2>&1); then
  fail "the image served 0.0.0.0 without TLS and --auth-file"
fi
case "$refused" in
  *"refusing to serve 0.0.0.0:50051 without TLS"*"--auth-file"*) ;;
  *) fail "the image's refusal does not say why: $refused" ;;
esac

# The rest runs the image as a private test network allows.
start "$run_id-1"
poll 60 kv set test greeting "hello from $run_id" ||
  fail "no successful set through $endpoint within 60 s"
[ "$(kv get test greeting)" = "hello from $run_id" ] || fail "get did not return what set wrote"

# The image's WASIKV_ADMIN_LISTEN puts the admin HTTP port on the published 50052.
admin_ready() { [ "$(curl -fsS --max-time 1 "http://$admin/readyz")" = ready ]; }
poll 30 admin_ready || fail "admin port: /readyz through $admin is not 'ready' within 30 s"

uid=$(podman exec "$run_id-1" id -u)
[ "$uid" = 10001 ] || fail "wasikvd runs as uid $uid, want 10001"

podman healthcheck run "$run_id-1" ||
  fail "the image's HEALTHCHECK (wasikv health) does not pass on a serving server"
status=$(podman inspect --format '{{.State.Health.Status}}' "$run_id-1")
[ "$status" = healthy ] || fail "health status is '$status', want healthy"

podman stop "$run_id-1" >/dev/null
code=$(podman inspect --format '{{.State.ExitCode}}' "$run_id-1")
[ "$code" = 0 ] || fail "wasikvd exited with $code on SIGTERM, want 0"
# With WASIKV_LOG_FORMAT=json the clean stop is one JSON object per line.
podman logs "$run_id-1" 2>&1 | grep -Eq '^\{.*"event":"stopped"' ||
  fail "no JSON \"stopped\" event in the logs after SIGTERM"

start "$run_id-2"
poll 60 kv get test greeting || fail "the second container did not serve within 60 s"
[ "$(kv get test greeting)" = "hello from $run_id" ] ||
  fail "the key written by the first container is gone from the volume"
echo "$test_name: ok"
