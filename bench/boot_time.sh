#!/bin/bash
# Prints the wall time from start to a console marker for one command.
# usage: boot_time.sh MARKER TIMEOUT_S cmd...   -> prints seconds, or "timeout"
set -u
marker=$1 limit=$2
shift 2
out=$(mktemp)
start=$(date +%s.%N)
"$@" >"$out" 2>&1 </dev/null &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	if grep -qF "$marker" "$out"; then
		end=$(date +%s.%N)
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rm -f "$out"
		echo "$end - $start" | bc
		exit 0
	fi
	if [ "$(echo "$(date +%s.%N) - $start > $limit" | bc)" = 1 ]; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rm -f "$out"
		echo timeout
		exit 0
	fi
	sleep 0.02
done
grep -qF "$marker" "$out" && echo "$(date +%s.%N) - $start" | bc || echo failed
rm -f "$out"
