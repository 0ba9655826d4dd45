#!/bin/bash
# Snapshot costs (issue 12) on the default guest, soft engine: for each
# memory size, a guest booted to its shell is paused and snapshotted (the
# create's wall time, the state and memory files' sizes: apparent and on
# disk), then restored in a new popek, RUNS times: wall time from the
# process's start to the guest answering a command at its shell, and the CPU
# popek used by then. A restore maps the memory file lazily, so it should
# not grow with RAM. Prints; never fails on speed.
# usage: [RUNS=3] [SIZES="256M 2G"] bench/snapshot.sh [POPEK]
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
. tests/e2e/lib/vm_console.sh
POPEK=${1:-build/popek}
RUNS=${RUNS:-3}
SIZES=${SIZES:-256M 2G}
TMP=$(mktemp -d /var/tmp/popek-snap.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
TICK=$(getconf CLK_TCK)

# vm_wait's way, polling every 10 ms instead of 200.
wait_fine() { # text seconds
	local i
	for ((i = 0; i < $2 * 100; i++)); do
		grep -aqF -- "$1" "$VM_OUT" && return 0
		kill -0 "$VM_PID" 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}

# CPU seconds (user + system) pid has used so far.
cpu_of() { awk -v t="$TICK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }

printf '%-6s %10s %9s %9s %12s %12s\n' mem create state "mem file" "restore wall" "restore cpu"
for size in $SIZES; do
	vm_start run --kernel "$KERNEL" --initrd "$INITRD" --engine soft --mem "$size" \
		--api-sock "$TMP/api.sock"
	if ! vm_wait "popek:/root# " 300 || ! vm_ready 60; then
		echo "$size: the guest did not boot"
		vm_cleanup
		continue
	fi
	"$POPEK" ctl --sock "$TMP/api.sock" pause >/dev/null
	t0=$(date +%s.%N)
	"$POPEK" ctl --sock "$TMP/api.sock" snapshot create "$TMP/st" "$TMP/mem" >/dev/null
	t1=$(date +%s.%N)
	vm_cleanup
	create=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2fs", b - a }')
	st=$(stat -c %s "$TMP/st")
	mem="$(($(stat -c %s "$TMP/mem") / 1048576))M/$(($(du -k "$TMP/mem" | cut -f1) / 1024))M"
	walls= cpus=
	for ((r = 0; r < RUNS; r++)); do
		t0=$(date +%s.%N)
		vm_start run --engine soft --restore "$TMP/st" --mem-file "$TMP/mem"
		vm_send 'echo "RESULT up$((6*7))"'
		if wait_fine "RESULT up42" 60; then
			t1=$(date +%s.%N)
			cpus+="$(cpu_of "$VM_PID")"$'\n'
			walls+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"$'\n'
		fi
		vm_cleanup
	done
	printf '%-6s %10s %9s %9s %11ss %11ss\n' "$size" "$create" "$st" "$mem" \
		"$(median <<<"$walls")" "$(median <<<"$cpus")"
	rm -f "$TMP/st" "$TMP/mem"
done
