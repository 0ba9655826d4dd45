#!/bin/bash
# popek binaries and QEMU TCG side by side, rounds interleaved so that the
# machine's load hits all alike: boot of the default guest to "popek guest
# ready" with the default command line and with the kernel's crypto
# self-tests on, and the CPU-bound guest program (bench/cpu_work.h, 200
# rounds). Prints each run, then medians, ranges and each binary's ratio to
# QEMU. Measures and prints; never fails on speed. PIN=N: all on CPU N (lib.sh).
# usage: RUNS=5 [PIN=1] bench/side_by_side.sh POPEK... (e.g. a 'start' and an 'end' build)
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
need_binaries "bench/side_by_side.sh POPEK... (executables)" $#
RUNS=${RUNS:-5}
MARKER="popek guest ready"
SELFTEST="console=ttyS0 quiet panic=-1"
QEMU_CPU=(qemu-system-x86_64 -M pc -accel tcg -cpu max -m 64M -nographic -no-reboot -net none
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel build/bench/bench_cpu.elf)

wall() { # cmd...: wall seconds
	local s
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1 </dev/null
	echo "$(date +%s.%N) - $s" | bc
}

rm -f build/bench/bench_cpu.elf # the Makefile does not see ROUNDS change
make -s -C bench/guest ROUNDS=200 >/dev/null
out=$(mktemp)
for r in $(seq "$RUNS"); do
	for i in $(seq $#); do
		p=${!i}
		echo "boot $i $(bench/boot_time.sh "$MARKER" 300 "${PIN_CMD[@]}" "$p" run --kernel "$KERNEL" \
			--initrd "$INITRD" --mem 256M --engine soft)"
		echo "selftests $i $(bench/boot_time.sh "$MARKER" 300 "${PIN_CMD[@]}" "$p" run --kernel "$KERNEL" \
			--initrd "$INITRD" --mem 256M --engine soft --cmdline "$SELFTEST")"
		echo "program $i $(wall "${PIN_CMD[@]}" "$p" run --kernel build/bench/bench_cpu.elf --engine soft --mem 64M)"
	done
	echo "boot qemu $(bench/boot_time.sh "$MARKER" 300 "${PIN_CMD[@]}" "${QEMU_MICROVM[@]}" \
		-append "console=ttyS0 panic=-1 cryptomgr.notests tsc_early_khz=2000000")"
	echo "selftests qemu $(bench/boot_time.sh "$MARKER" 300 "${PIN_CMD[@]}" "${QEMU_MICROVM[@]}" \
		-append "$SELFTEST tsc_early_khz=2000000")"
	echo "program qemu $(wall "${PIN_CMD[@]}" "${QEMU_CPU[@]}")"
done | tee "$out"
echo
ratio_table "$out" "boot selftests program" $#
echo "(who: the binaries in the order given: $*)"
rm -f "$out"
