#!/bin/bash
# Time to the default initramfs's shell prompt for several (popek, kernel) pairs
# on the soft engine: wall time and popek's CPU time (user + system, which a
# shared machine's load disturbs less); runs alternate between the pairs so that
# load hits all alike; prints every run and the median of RUNS (default 3).
# usage: bench/boot_kernels.sh LABEL=POPEK:KERNEL...
#   e.g. bench/boot_kernels.sh generic-before=/tmp/before/popek:build/generic/vmlinuz-6.1.0-57-amd64 \
#        generic-after=build/popek:build/generic/vmlinuz-6.1.0-57-amd64 cloud=build/popek:build/guest/vmlinuz
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
INITRD=build/guest/initramfs.cpio.gz
MARKER="popek:/root# "
if [ $# -lt 1 ]; then
	echo "usage: bench/boot_kernels.sh LABEL=POPEK:KERNEL..." >&2
	exit 2
fi
for spec in "$@"; do
	pk=${spec#*=}
	if [ ! -x "${pk%%:*}" ] || [ ! -f "${pk#*:}" ]; then
		echo "bench/boot_kernels.sh: '$spec': no executable popek or no kernel file" >&2
		exit 2
	fi
done

. bench/lib.sh

boot_run() { # popek kernel: "wall cpu" seconds to the prompt, or "failed failed"
	local out pid start t cpu hz
	out=$(mktemp) hz=$(getconf CLK_TCK)
	start=$(date +%s.%N)
	"$1" run --engine soft --kernel "$2" --initrd "$INITRD" >"$out" 2>&1 </dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && ! grep -aqF "$MARKER" "$out"; do
		[ "$(echo "$(date +%s.%N) - $start > 600" | bc)" = 1 ] && break
		sleep 0.02
	done
	t=$(echo "$(date +%s.%N) - $start" | bc | awk '{ printf "%.2f", $1 }')
	# utime and stime: fields 14 and 15 of /proc/PID/stat (after the ")" of comm)
	cpu=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk -v hz="$hz" '{ printf "%.2f", ($12 + $13) / hz }')
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	grep -aqF "$MARKER" "$out" && echo "$t ${cpu:-n/a}" || echo "failed failed"
	rm -f "$out"
}

declare -A walls cpus
for i in $(seq "$RUNS"); do
	for spec in "$@"; do
		label=${spec%%=*} pk=${spec#*=}
		read -r w c < <(boot_run "${pk%%:*}" "${pk#*:}")
		walls[$label]="${walls[$label]:-}$w"$'\n'
		cpus[$label]="${cpus[$label]:-}$c"$'\n'
	done
done
med() { printf '%s' "$1" | grep -E '^[0-9.]+$' | median | awk '$1 == "n/a" { print; next } { printf "%.2f", $1 }'; }
printf '%-20s %10s %10s   %s\n' "median of $RUNS" "wall s" "CPU s" "runs (wall / CPU)"
for spec in "$@"; do
	label=${spec%%=*}
	printf '%-20s %10s %10s   %s / %s\n' "$label" "$(med "${walls[$label]}")" \
		"$(med "${cpus[$label]}")" "$(echo ${walls[$label]})" "$(echo ${cpus[$label]})"
done
