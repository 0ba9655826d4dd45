#!/bin/bash
# Two popek binaries side by side on the soft engine: boot of the default
# guest to "popek guest ready" (wall time, and popek's CPU time, which a
# shared machine's load disturbs less) and the CPU-bound guest program
# (bench/cpu_work.h, 200 rounds); runs alternate between the binaries so that
# load hits both alike; prints the median of RUNS (default 3) each.
# usage: bench/compare.sh BEFORE_POPEK AFTER_POPEK
# (CMDLINE='console=ttyS0 quiet panic=-1': the boots with that kernel command
# line, e.g. with the kernel's crypto self-tests on)
# (e.g. a 'before' tree from `git worktree add /tmp/before HEAD; make -C /tmp/before`)
set -u
cd "$(dirname "$0")/.."
if [ $# -ne 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
	echo "usage: bench/compare.sh BEFORE_POPEK AFTER_POPEK (two executables)" >&2
	exit 2
fi
RUNS=${RUNS:-3}
KERNEL=build/guest/vmlinuz INITRD=build/guest/initramfs.cpio.gz
MARKER="popek guest ready"

. bench/lib.sh

cpu_run() { # popek: wall seconds of the CPU-bound program
	local s
	s=$(date +%s.%N)
	"$1" run --kernel build/bench/bench_cpu.elf --engine soft --mem 64M >/dev/null 2>&1
	echo "$(date +%s.%N) - $s" | bc
}

boot_run() { # popek: "wall cpu" seconds to the marker (cpu: user + system of popek)
	local out pid start t hz
	out=$(mktemp) hz=$(getconf CLK_TCK)
	start=$(date +%s.%N)
	"$1" run --kernel "$KERNEL" --initrd "$INITRD" --mem 256M --engine soft \
		${CMDLINE:+--cmdline "$CMDLINE"} >"$out" 2>&1 </dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && ! grep -qF "$MARKER" "$out"; do
		if [ "$(echo "$(date +%s.%N) - $start > 300" | bc)" = 1 ]; then
			break
		fi
		sleep 0.02
	done
	t=$(echo "$(date +%s.%N) - $start" | bc)
	# utime and stime: fields 14 and 15 of /proc/PID/stat (after the ")" of comm)
	cpu=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk -v hz="$hz" '{ printf "%.2f", ($12 + $13) / hz }')
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	grep -qF "$MARKER" "$out" && echo "$t ${cpu:-n/a}" || echo "failed failed"
	rm -f "$out"
}

rm -f build/bench/bench_cpu.elf # the Makefile does not see ROUNDS change
make -s -C bench/guest ROUNDS=200 >/dev/null
cb="" ca="" bb="" ba="" ub="" ua=""
for i in $(seq "$RUNS"); do
	cb="$cb$(cpu_run "$1")"$'\n'
	ca="$ca$(cpu_run "$2")"$'\n'
	read -r w c < <(boot_run "$1")
	bb="$bb$w"$'\n' ub="$ub$c"$'\n'
	read -r w c < <(boot_run "$2")
	ba="$ba$w"$'\n' ua="$ua$c"$'\n'
done
med() { printf '%s' "$1" | grep -E '^[0-9.]+$' | median; }
cpu_b=$(med "$cb") cpu_a=$(med "$ca") boot_b=$(med "$bb") boot_a=$(med "$ba")
bcpu_b=$(med "$ub") bcpu_a=$(med "$ua")
echo "runs (wall s): cpu before: $(echo $cb) | cpu after: $(echo $ca)"
echo "               boot before: $(echo $bb) | boot after: $(echo $ba)"
echo "               boot CPU before: $(echo $ub) | boot CPU after: $(echo $ua)"
printf '%-44s %9s %9s %9s\n' "median of $RUNS, seconds" before after speed-up
printf '%-44s %9s %9s %9s\n' "CPU-bound program (200 rounds), wall" "$cpu_b" "$cpu_a" "$(ratio "$cpu_b" "$cpu_a")"
printf '%-44s %9s %9s %9s\n' "boot to \"$MARKER\", wall" "$boot_b" "$boot_a" "$(ratio "$boot_b" "$boot_a")"
printf '%-44s %9s %9s %9s\n' "boot to \"$MARKER\", popek CPU (user+sys)" "$bcpu_b" "$bcpu_a" "$(ratio "$bcpu_b" "$bcpu_a")"
