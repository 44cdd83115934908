#!/usr/bin/env bash
# Checks deploy/systemd/wasikvd.service offline (PID 1 need not be systemd):
#   systemd_unit_test.sh <systemd-analyze> <unit file> <built wasikvd> <max exposure x10>
# - `systemd-analyze verify` reports nothing. It exits 0 on unknown keys and
#   unparsable values, printing them on stderr, so any output is a failure.
#   verify also needs ExecStart's binary, so it checks a copy of the unit whose
#   ExecStart is the built wasikvd (the installed path is asserted first).
# - `systemd-analyze security --offline=true` scores the sandbox at or below
#   the threshold (its --threshold takes the exposure times ten).
# - every WASIKV_* variable the unit sets is one wasikvd --help documents.
# A broken copy of the unit must fail the verify check, so a check that
# passes everything fails this test.
set -euo pipefail

analyze=$1
unit=$2
wasikvd=$(realpath "$3")  # ExecStart= needs an absolute path
threshold=$4
threshold_text=$(awk -v t="$threshold" 'BEGIN { printf "%.1f", t / 10 }')
installed_path=/usr/local/bin/wasikvd

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# Runs verify on a unit; prints what it said and returns 1 if it said anything
# or failed.
verify_quiet() {
  local output status=0
  output=$("$analyze" verify --man=no "$1" 2>&1) || status=$?
  if [ "$status" -ne 0 ] || [ -n "$output" ]; then
    printf '%s\n' "$output"
    return 1
  fi
}

# The unit as installed points at the cmake install path.
exec_lines=$(grep -c '^ExecStart=' "$unit" || true)
if [ "$exec_lines" -ne 1 ] || ! grep -q "^ExecStart=$installed_path\b" "$unit"; then
  fail "expected one ExecStart=$installed_path line in $unit"
fi

mkdir "$work/ok" "$work/broken"
sed "s|^ExecStart=$installed_path|ExecStart=$wasikvd|" "$unit" >"$work/ok/wasikvd.service"

if verify_quiet "$work/ok/wasikvd.service"; then
  echo "ok: systemd-analyze verify reports nothing"
else
  fail "systemd-analyze verify complained about $unit"
fi

# Self-check: a misspelt key and a bad value are only warnings to verify.
sed -e 's/^ProtectSystem=strict/ProtectSystem=stricter/' -e 's/^PrivateTmp=/PrivateTemp=/' \
  "$work/ok/wasikvd.service" >"$work/broken/wasikvd.service"
if verify_quiet "$work/broken/wasikvd.service" >/dev/null; then
  fail "the verify check accepted a unit with a misspelt key and a bad value"
else
  echo "ok: the verify check rejects a misspelt key and a bad value"
fi

security_status=0
"$analyze" security --offline=true --threshold="$threshold" --no-pager \
  "$work/ok/wasikvd.service" >"$work/security.txt" 2>&1 || security_status=$?
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$work/security.txt")
if [ "$security_status" -eq 0 ] && [ -n "$score" ]; then
  echo "ok: systemd-analyze security exposure $score (at most $threshold_text)"
else
  cat "$work/security.txt"
  fail "systemd-analyze security exposure ${score:-unknown} is above $threshold_text"
fi

# Variables the unit sets must be wasikvd's, or they do nothing.
help=$("$wasikvd" --help)
for var in $(grep -v '^#' "$unit" | grep -o 'WASIKV_[A-Z_]\+' | sort -u); do
  if ! grep -q "$var" <<<"$help"; then
    fail "$unit sets $var, which wasikvd --help does not list"
  fi
done

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "systemd unit: all checks passed"
