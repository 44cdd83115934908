#!/usr/bin/env bash
# container_compose: deploy/compose.yaml started for real with podman-compose
# on the image container_image built: it serves on the published loopback
# port, reports healthy, stops cleanly, and down -v removes its volume.
#   compose_test.sh COMPOSE_FILE IMAGE WASIKV_CLI
set -euo pipefail
test_name=container_compose
source "$(dirname "${BASH_SOURCE[0]}")/podman_test_env.sh"
compose_file=$1
export WASIKV_IMAGE=$2
cli=$3
command -v podman-compose >/dev/null || fail "podman-compose is not installed"

project=wasikv-compose-$$-$RANDOM
WASIKV_PORT=$(free_port)
WASIKV_ADMIN_PORT=$(free_port)
export WASIKV_PORT WASIKV_ADMIN_PORT
log=$(mktemp)
# podman-compose echoes every podman command it runs; shown only on failure.
compose() { podman-compose -f "$compose_file" -p "$project" "$@" >>"$log" 2>&1; }
project_filter=label=io.podman.compose.project=$project
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    compose logs || true
    cat "$log" >&2
  fi
  compose down -v -t 0 || true
  # podman-compose 1.0.3's down leaves the project's network behind.
  podman network ls -q --filter "$project_filter" | xargs -r podman network rm -f >/dev/null || true
  rm -f "$log"
  exit "$status"
}
trap cleanup EXIT

# --no-build: run exactly the image the fixture built and checked.
compose up -d --no-build || fail "podman-compose up failed"
ctr=$(podman ps -a --filter "$project_filter" --format '{{.Names}}')
[ -n "$ctr" ] && [ "$(wc -l <<<"$ctr")" -eq 1 ] || fail "want one container, got '$ctr'"

published=$(podman port "$ctr" 50051/tcp)
[ "$published" = "127.0.0.1:$WASIKV_PORT" ] ||
  fail "gRPC published as '$published', want 127.0.0.1:$WASIKV_PORT"
[ "$(podman port "$ctr" 50052/tcp)" = "127.0.0.1:$WASIKV_ADMIN_PORT" ] ||
  fail "admin port published as '$(podman port "$ctr" 50052/tcp)'"
for check in '{{.HostConfig.ReadonlyRootfs}}=true' \
  '{{.HostConfig.RestartPolicy.Name}}=unless-stopped'; do
  got=$(podman inspect --format "${check%=*}" "$ctr")
  [ "$got" = "${check##*=}" ] || fail "$check: got $got"
done

kv() { "$cli" --endpoint "127.0.0.1:$WASIKV_PORT" --timeout 1s "$@"; }
poll 60 kv set test greeting "hello from $project" ||
  fail "no successful set through 127.0.0.1:$WASIKV_PORT within 60 s"
[ "$(kv get test greeting)" = "hello from $project" ] || fail "get did not return what set wrote"

admin_ready() { [ "$(curl -fsS --max-time 1 "http://127.0.0.1:$WASIKV_ADMIN_PORT/readyz")" = ready ]; }
poll 30 admin_ready || fail "admin port: /readyz on 127.0.0.1:$WASIKV_ADMIN_PORT is not 'ready' within 30 s"

podman healthcheck run "$ctr" || fail "compose's healthcheck (wasikv health) does not pass"
[ "$(podman inspect --format '{{.State.Health.Status}}' "$ctr")" = healthy ] ||
  fail "health status is not healthy"

# podman-compose 1.0.3 ignores stop_grace_period: give stop the same 20 s.
compose stop -t 20 || fail "podman-compose stop failed"
code=$(podman inspect --format '{{.State.ExitCode}}' "$ctr")
[ "$code" = 0 ] || fail "wasikvd exited with $code on stop, want 0"
podman logs "$ctr" 2>&1 | grep -Eq '^\{.*"event":"stopped"' ||
  fail "no JSON \"stopped\" event in the logs after stop"

compose down -v -t 20 || fail "podman-compose down -v failed"
[ -z "$(podman ps -a -q --filter "$project_filter")" ] || fail "down left containers"
[ -z "$(podman volume ls -q --filter "$project_filter")" ] || fail "down -v left the data volume"
echo "$test_name: ok"
