#!/bin/bash
# popek benchmarks, side by side in one run: boot time of the default guest
# (popek soft vs QEMU TCG, same kernel and initramfs, to the same console
# marker), a CPU-bound guest program (popek soft, with its translator and
# without, vs QEMU TCG vs native) and boot plus a workload at the shell.
# Measures and prints; never fails on speed. RUNS=N sets the repetitions;
# PIN=N runs everything on host CPU N (bench/lib.sh).
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
MARKER="popek guest ready"
QEMU=qemu-system-x86_64

. bench/lib.sh

time_runs() { # label cmd... ; prints the median of RUNS timings
	local i t all=""
	for i in $(seq "$RUNS"); do
		t=$(bench/boot_time.sh "$MARKER" 300 "${PIN_CMD[@]}" "$@")
		all="$all$t"$'\n'
	done
	printf '%s' "$all" | grep -E '^[0-9.]+$' | median
}

echo "== boot to \"$MARKER\" (median of $RUNS runs, wall seconds)"
popek_boot=$(time_runs build/popek run --kernel "$KERNEL" --initrd "$INITRD" --mem 256M --engine soft)
qemu_boot=$(time_runs "${QEMU_MICROVM[@]}" \
	-append "console=ttyS0 panic=-1 cryptomgr.notests tsc_early_khz=2000000")
printf '%-28s %8s s\n' "popek --engine soft" "$popek_boot" "qemu -accel tcg (microvm)" "$qemu_boot"
printf '%-28s %8s\n' "popek / qemu" "$(ratio "$popek_boot" "$qemu_boot")"

# The same with the kernel's crypto self-tests left on (a user's own command
# line, and the one the translator issue's first figures were taken with).
SELFTEST="console=ttyS0 quiet panic=-1"
echo
echo "== boot to \"$MARKER\", crypto self-tests on (\"$SELFTEST\"; median of $RUNS runs, wall seconds)"
popek_st=$(time_runs build/popek run --kernel "$KERNEL" --initrd "$INITRD" --mem 256M --engine soft \
	--cmdline "$SELFTEST")
qemu_st=$(time_runs "${QEMU_MICROVM[@]}" -append "$SELFTEST tsc_early_khz=2000000")
printf '%-28s %8s s\n' "popek --engine soft" "$popek_st" "qemu -accel tcg (microvm)" "$qemu_st"
printf '%-28s %8s\n' "popek / qemu" "$(ratio "$popek_st" "$qemu_st")"

echo
echo "== CPU-bound program (bench/cpu_work.h, 200 rounds; wall seconds)"
make -s -C bench/guest ROUNDS=200 >/dev/null
mkdir -p build/bench
gcc -O2 -o build/bench/cpu_native bench/cpu_native.c
native=$(for i in $(seq "$RUNS"); do "${PIN_CMD[@]}" build/bench/cpu_native 200 | tail -1; done | median)
cpu_popek=$(for i in $(seq "$RUNS"); do
	s=$(date +%s.%N); "${PIN_CMD[@]}" build/popek run --kernel build/bench/bench_cpu.elf --engine soft --mem 64M >/dev/null 2>&1
	echo "$(date +%s.%N) - $s" | bc; done | median)
cpu_interp=$(for i in $(seq "$RUNS"); do
	s=$(date +%s.%N); "${PIN_CMD[@]}" build/popek run --kernel build/bench/bench_cpu.elf --engine soft --mem 64M --soft-jit off >/dev/null 2>&1
	echo "$(date +%s.%N) - $s" | bc; done | median)
cpu_qemu=$(for i in $(seq "$RUNS"); do
	s=$(date +%s.%N); "${PIN_CMD[@]}" $QEMU -M pc -accel tcg -cpu max -m 64M -nographic -no-reboot -net none \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel build/bench/bench_cpu.elf >/dev/null 2>&1
	echo "$(date +%s.%N) - $s" | bc; done | median)
printf '%-28s %8s s\n' "native (gcc -O2)" "$native" "popek --engine soft" "$cpu_popek" \
	"popek, --soft-jit off" "$cpu_interp" "qemu -accel tcg (pc)" "$cpu_qemu"
printf '%-28s %8s\n' "popek / native" "$(ratio "$cpu_popek" "$native")" \
	"popek / qemu" "$(ratio "$cpu_popek" "$cpu_qemu")"

echo
echo "== boot plus the translator issue's workload typed at the shell (bench/workload.sh)"
RUNS=$RUNS bench/workload.sh build/popek

echo
bench/disk.sh

echo
bench/startup.sh
