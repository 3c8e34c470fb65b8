#!/bin/bash
# test_fuzz_smoke.sh: runs every libFuzzer target ($BUILD/tests/fuzz/<name>,
# from tests/fuzz/<name>.c) for a short while, from its seed corpus
# tests/fuzz/corpus/<name>/ (and tests/fuzz/<name>.dict when there is one).
# One point per target: no crash, no sanitizer report, no leak.
# Env: FUZZ_SECONDS per target (default 10). A failing input is kept as
# $BUILD/test-logs/fuzz-<name>-crash-*; the fuzzer's log beside it.
set -u
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/tap.sh

BUILD=${BUILD:-build}
SECONDS_EACH=${FUZZ_SECONDS:-10}
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"

fuzzers=()
for f in "$BUILD"/tests/fuzz/*; do
	[[ -f $f && -x $f ]] && fuzzers+=("$f")
done
[[ ${#fuzzers[@]} -gt 0 ]] || skip_all "no fuzz targets built in $BUILD/tests/fuzz (make)"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

for f in "${fuzzers[@]}"; do
	name=$(basename "$f")
	seeds=tests/fuzz/corpus/$name
	log=$LOGDIR/fuzz-$name.log
	args=(-max_total_time="$SECONDS_EACH" -print_final_stats=1
	      -artifact_prefix="$LOGDIR/fuzz-$name-")
	[[ -f tests/fuzz/$name.dict ]] && args+=(-dict="tests/fuzz/$name.dict")
	mkdir -p "$scratch/$name"
	dirs=("$scratch/$name")
	[[ -d $seeds ]] && dirs+=("$seeds")
	"$f" "${args[@]}" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
	if [[ $rc -eq 0 ]]; then
		_tap_result 0 "$name: ${runs:-?} runs in ${SECONDS_EACH}s, no finding"
	else
		_tap_result 1 "$name: exit $rc (log $log)"
		grep -E 'ERROR|SUMMARY|fuzz_|Test unit written' "$log" | head -20 | sed 's/^/#   /'
	fi
done
done_testing
