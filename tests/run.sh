#!/bin/bash
# popek's test runner: runs every unit test binary (build/asan/unit/test_*) and
# every end-to-end script (tests/e2e/test_*.sh). Each prints lines
# "PASS name", "FAIL name: why" or "SKIP name: why"; a program that dies
# without reporting counts as one failure. Ends with "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LOGDIR=build/test-logs
mkdir -p "$LOGDIR"
passed=0 failed=0 skipped=0
failures=()

run_one() { # name timeout command...
	local name=$1 limit=$2 log rc p f s
	shift 2
	log="$LOGDIR/$name.log"
	mkdir -p "$(dirname "$log")"
	local t0=$SECONDS
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	s=$(grep -c '^SKIP ' "$log")
	grep -E '^(FAIL|SKIP) ' "$log" | sed "s|^|  $name: |"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "  $name: FAIL exit status $rc (see $log)"
		[ "$rc" -eq 124 ] && echo "  $name: timed out after ${limit}s"
		tail -n 15 "$log" | sed 's/^/    | /'
	fi
	[ "$f" -gt 0 ] && failures+=("$name")
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	printf '%-40s %3d passed %3d failed %3d skipped  (%ds)\n' "$name" "$p" "$f" "$s" $((SECONDS - t0))
}

for t in build/asan/unit/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" 600 "$t"
done
for t in tests/e2e/test_*.sh; do
	[ -f "$t" ] || continue
	run_one "e2e/$(basename "$t" .sh)" 1500 bash "$t"
done

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]} (logs in $LOGDIR)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
