#!/usr/bin/env bash
# The admin port as Prometheus sees it: a real Prometheus server scrapes a real
# wasikvd, and its query API must show the target up and the exact count of
# the calls this test made. promtool checks the exposition format, and the
# probes answer as documented.
#
#   prometheus_scrape_test.sh WASIKVD WASIKV_CLI PROMETHEUS PROMTOOL
set -euo pipefail
wasikvd=$1 cli=$2 prometheus=$3 promtool=$4

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- wasikvd log" >&2
  tail -n 20 "$work/wasikvd.log" >&2 || true
  echo "--- prometheus log" >&2
  tail -n 20 "$work/prometheus.log" >&2 || true
  exit 1
}

# Polls `command` every 200 ms until it succeeds or `seconds` pass: a bounded
# wait on a condition, not a sleep standing in for one.
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# wasikvd writes its gRPC and admin addresses to --ready-fd once it serves.
mkfifo "$work/ready"
"$wasikvd" --listen=127.0.0.1:0 --admin-listen=127.0.0.1:0 --data-dir "$work/data" \
  --sync-writes=false --ready-fd=3 3>"$work/ready" 2>"$work/wasikvd.log" &
pids+=($!)
{ read -r endpoint && read -r admin; } <"$work/ready" || fail "wasikvd did not start"
echo "wasikvd on $endpoint, admin on $admin"

# The probes.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "http://$admin/healthz")" = 200 ] || fail "/healthz is not 200"
[ "$(code "http://$admin/readyz")" = 200 ] || fail "/readyz is not 200"
[ "$(code "http://$admin/nope")" = 404 ] || fail "an unknown path is not 404"
[ "$(code -X POST "http://$admin/metrics")" = 405 ] || fail "POST /metrics is not 405"

# Calls whose counts the scrape must show: 7 Sets, 2 refused Sets (an empty
# key is INVALID_ARGUMENT), 3 Increments.
for i in 1 2 3 4 5 6 7; do "$cli" --endpoint "$endpoint" set metrics "key-$i" "value-$i"; done
for i in 1 2; do
  if "$cli" --endpoint "$endpoint" set metrics "" "x" 2>/dev/null; then fail "empty key accepted"; fi
done
for i in 1 2 3; do "$cli" --endpoint "$endpoint" incr metrics counter 5 >/dev/null; done

# The exposition is valid Prometheus text.
curl -sf "http://$admin/metrics" >"$work/metrics.txt" || fail "GET /metrics failed"
"$promtool" check metrics <"$work/metrics.txt" || fail "promtool check metrics rejected the exposition"
grep -q '^wasikv_revision_current ' "$work/metrics.txt" || fail "no wasikv_revision_current"

# A real Prometheus scraping every second.
# (Prometheus cannot report a port it picked, so the kernel picks one here.)
prometheus_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: wasikv
    static_configs:
      - targets: ["$admin"]
YAML
"$prometheus" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prometheus_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)

# The value of an instant query's first sample, or nothing.
query() {
  curl -sf --get "http://127.0.0.1:$prometheus_port/api/v1/query" --data-urlencode "query=$1" |
    sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p'
}
is() { [ "$(query "$1")" = "$2" ]; }

wait_for 60 is 'up{job="wasikv"}' 1 || fail "Prometheus never saw the target up"
wait_for 30 is 'grpc_server_handled_total{job="wasikv",grpc_method="Set",grpc_code="OK"}' 7 ||
  fail "Set OK count is '$(query 'grpc_server_handled_total{grpc_method="Set",grpc_code="OK"}')', want 7"
is 'grpc_server_handled_total{job="wasikv",grpc_method="Set",grpc_code="InvalidArgument"}' 2 ||
  fail "Set InvalidArgument count is not 2"
is 'grpc_server_handled_total{job="wasikv",grpc_method="Increment",grpc_code="OK"}' 3 ||
  fail "Increment OK count is not 3"
# 10 committed calls: the bucket's creation and 7 Sets and 3 Increments.
wait_for 30 is 'wasikv_revision_current{job="wasikv"}' 11 ||
  fail "wasikv_revision_current is '$(query 'wasikv_revision_current')', want 11"
is 'sum(wasikv_commit_group_records_sum{job="wasikv"})' 11 || fail "commit groups do not add up to 11 records"
is 'grpc_server_handling_seconds_count{job="wasikv",grpc_method="Set"}' 9 ||
  fail "the Set latency histogram did not count 9 calls"
echo "Prometheus sees up=1 and the calls this test made"

# After SIGTERM the server drains; it must still exit cleanly.
kill -TERM "${pids[0]}"
wait "${pids[0]}" || fail "wasikvd did not exit 0 after SIGTERM"
pids=("${pids[@]:1}")
echo "1 passed, 0 failed"
