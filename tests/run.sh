#!/bin/bash
# Runs every test program and prints one summary line at the end:
#   N passed, N failed, N skipped
# Each test speaks TAP (tests/lib/tap.h for C, tests/lib/tap.sh for shell).
# Env: BUILD (build dir), TESTS (substring filter on test names),
#      TEST_TIMEOUT (seconds per test program, default 900),
#      TEST_GLOBS (the test programs to run instead of the default set:
#      globs separated by spaces, e.g. 'tests/long/*.sh' for make test-long).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TIMEOUT=${TEST_TIMEOUT:-900}
FILTER=${TESTS:-}
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"

if [[ -n ${TEST_GLOBS:-} ]]; then
	# shellcheck disable=SC2206 # the globs expand here
	candidates=($TEST_GLOBS)
else
	candidates=("$BUILD"/tests/unit/* "$BUILD"/tests/bpf/test_* tests/e2e/*.sh)
fi
tests=()
for t in "${candidates[@]}"; do
	[[ -f $t && -x $t && $t != *.o && $t != *.d ]] || continue
	[[ -z $FILTER || $t == *$FILTER* ]] || continue
	tests+=("$t")
done

passed=0 failed=0 skipped=0 failed_names=()
for t in "${tests[@]}"; do
	name=${t#"$BUILD"/}
	log=$LOGDIR/$(echo "$name" | tr / _).log
	echo "=== $name"
	start=$(date +%s)
	timeout --kill-after=10 "$TIMEOUT" "$t" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	secs=$(( $(date +%s) - start ))
	p=$(grep -cE '^ok [0-9]+' "$log" | head -1)
	s=$(grep -cE '^ok [0-9]+ # SKIP' "$log")
	f=$(grep -cE '^not ok [0-9]+' "$log")
	plan=$(grep -oE '^1\.\.[0-9]+' "$log" | tail -1 | cut -c4-)
	if grep -qE '^1\.\.0 # SKIP' "$log"; then
		s=$((s + 1))
	fi
	p=$((p - s))
	if [[ $rc -ne 0 && $f -eq 0 ]]; then
		echo "not ok - $name exited with status $rc (timeout is 124)"
		f=1
	elif [[ -n $plan && $plan -ne 0 && $plan -ne $((p + f + s)) ]]; then
		echo "not ok - $name planned $plan points, ran $((p + f + s))"
		f=$((f + 1))
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[[ $f -gt 0 ]] && failed_names+=("$name")
	echo "--- $name: $p passed, $f failed, $s skipped (${secs}s)"
done

echo
if [[ ${#failed_names[@]} -gt 0 ]]; then
	echo "failing: ${failed_names[*]} (logs in $LOGDIR)"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
