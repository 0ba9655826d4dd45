#!/bin/bash
# The long differential run of the soft engine against the host CPU
# (`make test-long`): 10^7 cases of build/oracle (optimized, no sanitizers).
# Prints the oracle's FAIL/SKIP lines and one PASS summary line.
set -u
cd "$(dirname "$0")/../.."
if [ "${POPEK_TEST_LONG:-0}" != 1 ]; then
	echo "SKIP oracle_long: set POPEK_TEST_LONG=1 (make test-long)"
	exit 0
fi
ORACLE=${ORACLE:-build/oracle}
if [ ! -x "$ORACLE" ]; then
	echo "FAIL oracle_long: $ORACLE is missing (make build/oracle)"
	exit 1
fi
mkdir -p build/test-logs
LOG=build/test-logs/oracle_long.out
POPEK_ORACLE_CASES=${POPEK_ORACLE_CASES:-10000000} "$ORACLE" >"$LOG" 2>&1 </dev/null
rc=$?
grep -E '^(FAIL|SKIP) ' "$LOG" | sed -E 's/^(FAIL|SKIP) /\1 oracle_long\//'
nfail=$(grep -c '^FAIL ' "$LOG")
npass=$(grep -c '^PASS ' "$LOG")
summary=$(grep '^oracle: .* forms passed' "$LOG" | tail -n 1)
# As tests/run.sh judges a unit binary: a crash is a failure of its own,
# whatever FAIL lines came before it.
why=
if ! grep -q '^END-OF-TESTS' "$LOG"; then
	why="did not finish: exit status $rc, no end marker"
elif [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
	why="did not finish: exit status $rc"
elif [ "$nfail" -eq 0 ] && [ "$rc" -ne 0 ]; then
	why="exit status $rc without a FAIL line"
fi
if [ -n "$why" ]; then
	echo "FAIL oracle_long: $why (see $LOG)"
	tail -n 5 "$LOG" | sed "s/^/    | /" # indented: not counted as PASS/FAIL lines
	exit 1
fi
if [ "$nfail" -eq 0 ] && [ "$npass" -gt 0 ]; then
	echo "PASS oracle_long: $npass forms (${summary#oracle: })"
fi
[ "$nfail" -eq 0 ]
