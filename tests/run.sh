#!/bin/bash
# popek's test runner: runs every unit test binary (build/asan/unit/test_*) and
# every end-to-end script (tests/e2e/test_*.sh). Each prints lines
# "PASS name", "FAIL name: why" or "SKIP name: why"; a program that crashes,
# or exits in a way its lines do not explain, counts as one more failure (see
# abnormal below). Ends with "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LOGDIR=build/test-logs
mkdir -p "$LOGDIR"
passed=0 failed=0 skipped=0
failures=()

# abnormal KIND RC FAILS LOG: prints why the run ended abnormally, or nothing.
# A unit binary must print tests/unit/test.h's end marker and exit 0 with no
# FAIL line or 1 with some; an e2e script must exit 0, or 1 with FAIL lines
# (0 with FAIL lines is fine: not every script ends on its verdict). Anything
# else (a crash, a sanitizer abort, an early exit) is a failure of its own,
# whatever the program printed before.
abnormal() {
	local kind=$1 rc=$2 f=$3 log=$4 limit=$5 how
	if [ "$rc" -eq 124 ]; then
		how="timed out after ${limit}s"
	elif [ "$rc" -gt 128 ]; then
		how="signal $((rc - 128)) (SIG$(kill -l $((rc - 128)) 2>/dev/null || echo '?'))"
	else
		how="exit status $rc"
	fi
	if [ "$kind" = unit ] && ! grep -q '^END-OF-TESTS' "$log"; then
		echo "did not finish: $how, no end marker"
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
		echo "did not finish: $how"
	elif [ "$rc" -eq 1 ] && [ "$f" -eq 0 ]; then
		echo "$how without a FAIL line"
	elif [ "$rc" -eq 0 ] && [ "$f" -gt 0 ] && [ "$kind" = unit ]; then
		echo "$how despite $f FAIL lines"
	fi
}

run_one() { # kind(unit|e2e) name timeout command...
	local kind=$1 name=$2 limit=$3 log rc p f s why
	shift 3
	log="$LOGDIR/$name.log"
	mkdir -p "$(dirname "$log")"
	local t0=$SECONDS
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	s=$(grep -c '^SKIP ' "$log")
	grep -E '^(FAIL|SKIP) ' "$log" | sed "s|^|  $name: |"
	why=$(abnormal "$kind" "$rc" "$f" "$log" "$limit")
	if [ -n "$why" ]; then
		f=$((f + 1))
		echo "  $name: FAIL $why (see $log)"
		tail -n 15 "$log" | sed 's/^/    | /'
	fi
	[ "$f" -gt 0 ] && failures+=("$name")
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	printf '%-40s %3d passed %3d failed %3d skipped  (%ds)\n' "$name" "$p" "$f" "$s" $((SECONDS - t0))
}

for t in build/asan/unit/test_*; do
	[ -x "$t" ] || continue
	run_one unit "unit/$(basename "$t")" 600 "$t"
done
for t in tests/e2e/test_*.sh; do
	[ -f "$t" ] || continue
	run_one e2e "e2e/$(basename "$t" .sh)" 1500 bash "$t"
done

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]} (logs in $LOGDIR)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
