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
if [ "$nfail" -eq 0 ] && [ "$rc" -ne 0 ]; then
	echo "FAIL oracle_long: exit status $rc without a FAIL line (see $LOG)"
	tail -n 5 "$LOG"
	exit 1
fi
if [ "$nfail" -eq 0 ] && [ "$npass" -gt 0 ]; then
	echo "PASS oracle_long: $npass forms (${summary#oracle: })"
fi
[ "$nfail" -eq 0 ]
