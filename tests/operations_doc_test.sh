#!/usr/bin/env bash
# docs/operations.md's configuration reference must match `wasikvd --help`:
# every flag there, with its variable and default, and no flag that is gone.
#   operations_doc_test.sh WASIKVD DOC
set -euo pipefail
wasikvd=$1 doc=$2
help=$("$wasikvd" --help)
expected=$(awk '/^  --[a-z]/ { split($1, a, "="); name = a[1]; env = $2; gsub(/[][]/, "", env) }
                /^      default:/ { printf "| `%s` | `%s` | `%s` |\n", name, env, $2 }' <<<"$help")
[ -n "$expected" ] || { echo "FAIL: no flags read from --help" >&2; exit 1; }
failed=0 passed=0
while IFS= read -r row; do
  if grep -qF -- "$row" "$doc"; then
    passed=$((passed + 1))
  else
    echo "FAIL: $doc has no row starting $row" >&2
    failed=$((failed + 1))
  fi
done <<<"$expected"
# Rows for flags wasikvd no longer has.
while IFS= read -r flag; do
  if ! grep -q -- "^  $flag=" <<<"$help"; then
    echo "FAIL: $doc documents $flag, which wasikvd --help does not list" >&2
    failed=$((failed + 1))
  fi
done < <(sed -n 's/^| `\(--[a-z-]*\)` | `WASIKV_.*/\1/p' "$doc")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
