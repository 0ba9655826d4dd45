#!/bin/bash
# Boot plus a small CPU workload, popek binaries and QEMU TCG side by side,
# rounds interleaved: from start to the end of the workload typed at the
# default guest's shell once it is ready (sha256sum of `seq 1 300000`, then
# two sorts of 100k lines, as in the translator issue). Prints each run, then
# medians, ranges and each binary's ratio to QEMU. Never fails on speed.
# PIN=N: all on CPU N (lib.sh).
# usage: RUNS=3 [PIN=1] bench/workload.sh POPEK... (executables)
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
need_binaries "bench/workload.sh POPEK... (executables)" $#
RUNS=${RUNS:-3}
QEMU=("${QEMU_MICROVM[@]}" -append "console=ttyS0 panic=-1 cryptomgr.notests tsc_early_khz=2000000")
# The quotes keep the console's echo of the command from matching the marker.
WORK='seq 1 300000 | sha256sum; seq 1 100000 | awk "{ print (\$1 * 7919) % 100003 }" | sort -n | sha256sum; seq 1 100000 | sort -r | sha256sum; echo "WORKLOAD ""done"'

# Waits until file $1 has line $2 or $3 seconds passed since $4; 0 when seen.
wait_for() {
	while ! grep -qaF "$2" "$1"; do
		[ "$(echo "$(date +%s.%N) - $4 > $3" | bc)" = 1 ] && return 1
		sleep 0.05
	done
}

run_one() { # cmd...: seconds from start to the end of the workload, or "failed"
	local dir start pid t=failed
	dir=$(mktemp -d)
	mkfifo "$dir/in"
	start=$(date +%s.%N)
	"$@" <"$dir/in" >"$dir/out" 2>&1 &
	pid=$!
	exec 3>"$dir/in"
	if wait_for "$dir/out" "popek guest ready" 300 "$start"; then
		sleep 0.5 # the shell's prompt
		echo "$WORK" >&3
		wait_for "$dir/out" "WORKLOAD done" 600 "$start" &&
			t=$(echo "$(date +%s.%N) - $start" | bc)
	fi
	exec 3>&-
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -rf "$dir"
	echo "$t"
}

out=$(mktemp)
for r in $(seq "$RUNS"); do
	for i in $(seq $#); do
		echo "workload $i $(run_one "${PIN_CMD[@]}" "${!i}" run --kernel "$KERNEL" --initrd "$INITRD" --mem 256M \
			--engine soft)"
	done
	echo "workload qemu $(run_one "${PIN_CMD[@]}" "${QEMU[@]}")"
done | tee "$out"
echo
ratio_table "$out" workload $#
echo "(who: the binaries in the order given: $*)"
rm -f "$out"
