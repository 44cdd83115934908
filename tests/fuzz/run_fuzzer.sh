#!/bin/sh
# Runs one libFuzzer target for ctest (tests/fuzz/CMakeLists.txt).
#   run_fuzzer.sh regressions FUZZER WORKDIR INPUT_DIR...
#       runs every file of the input dirs that exist once, without fuzzing
#       (input file names hold no spaces)
#   run_fuzzer.sh SECONDS FUZZER WORKDIR INPUT_DIR...
#       fuzzes for SECONDS starting from those inputs; what it learns goes to
#       WORKDIR/corpus, never into the source tree
# Either way a crash fails the run and leaves its input in WORKDIR.
set -eu
mode=$1 fuzzer=$2 workdir=$3
shift 3
inputs=""
for dir in "$@"; do
  [ -d "$dir" ] && inputs="$inputs $dir"
done
mkdir -p "$workdir/corpus"
# A crash input is named crash-<sha1> (or leak-, timeout-, oom-) in WORKDIR.
common="-artifact_prefix=$workdir/ -timeout=25 -rss_limit_mb=2048 -print_final_stats=1"
status=0
if [ "$mode" = regressions ]; then
  # Given files rather than dirs, libFuzzer runs each once and writes nothing.
  # shellcheck disable=SC2086
  files=""
  [ -z "$inputs" ] || files=$(find $inputs -type f | sort)
  # shellcheck disable=SC2086
  [ -z "$files" ] || "$fuzzer" $common $files || status=$?
else
  # shellcheck disable=SC2086
  "$fuzzer" $common -max_total_time="$mode" "$workdir/corpus" $inputs || status=$?
fi
if [ "$status" -ne 0 ]; then
  echo "run_fuzzer.sh: $(basename "$fuzzer") failed ($status); its input is in $workdir:" >&2
  ls "$workdir" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' >&2 || true
  echo "fix the bug, then add the input to tests/fuzz/regressions/<unit>/" >&2
fi
exit "$status"
