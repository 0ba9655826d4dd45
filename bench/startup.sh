#!/bin/bash
# popek start-up cost: wall time from exec to the API socket answering, CPU
# time used until then, wall time from exec to the guest's first instruction, and popek's resident memory beyond guest RAM (before
# the guest starts, and running a small guest program that touches little of
# its RAM). Firecracker publishes <= 8 ms CPU to API-ready and <= 5 MiB
# overhead. Prints one table; median of RUNS.
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
POPEK=build/popek
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

. bench/lib.sh
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# CPU time of all threads in ms, from schedstat (nanoseconds, not clock ticks).
cpu_ms() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.2f", t / 1e6 }'; }

ready=() cpu=() rss=()
for i in $(seq "$RUNS"); do
	sock=$TMP/api$i.sock
	s=$(date +%s%N)
	$POPEK run --api-sock "$sock" --id bench >/dev/null 2>&1 &
	pid=$!
	until $POPEK ctl --sock "$sock" info >/dev/null 2>&1; do sleep 0.001; done
	e=$(date +%s%N)
	ready+=("$(( (e - s) / 1000 ))")
	cpu+=("$(cpu_ms "$pid")")
	rss+=("$(rss_kib "$pid")")
	kill "$pid"; wait "$pid" 2>/dev/null
done
printf '%-44s %10s\n' "exec to API answering (wall, us, median)" \
	"$(printf '%s\n' "${ready[@]}" | median)"
printf '%-44s %10s\n' "CPU time until then (ms, median)" "$(printf '%s\n' "${cpu[@]}" | median)"
printf '%-44s %10s\n' "RSS waiting for configuration (KiB, median)" \
	"$(printf '%s\n' "${rss[@]}" | median)"

# Exec to the guest's first instruction: a multiboot kernel whose entry point
# writes 0x10 to the debug-exit port, so popek ends with status 33 as soon as
# the guest runs at all. The time also holds popek's exit (small).
cat >"$TMP/first.S" <<'ASM'
	.section .text
	.align 4
	.long 0x1BADB002, 0, -0x1BADB002 /* multiboot v1 header, no flags */
	.globl _start
_start:
	movb $0x10, %al
	outb %al, $0xf4
	hlt
ASM
first=()
if as --32 -o "$TMP/first.o" "$TMP/first.S" && ld -m elf_i386 -N --no-warn-rwx-segments -Ttext=0x100000 -e _start \
	-o "$TMP/first.elf" "$TMP/first.o"; then
	for i in $(seq "$RUNS"); do
		s=$(date +%s%N)
		$POPEK run --kernel "$TMP/first.elf" --engine soft --mem 64M >/dev/null 2>&1
		st=$? e=$(date +%s%N)
		[ "$st" = 33 ] && first+=("$(( (e - s) / 1000 ))")
	done
fi
printf '%-44s %10s\n' "exec to guest's first instruction (soft, us)" \
	"$( [ ${#first[@]} -gt 0 ] && printf '%s\n' "${first[@]}" | median || echo n/a)"

# A running guest that idles (ticks ten times a second until stopped).
. tests/e2e/lib/api_guest.sh
api_guest_build "$TMP" || echo "(cannot build the idle guest)"
$POPEK run --kernel "$TMP/guest.elf" --engine soft --mem 64M >/dev/null 2>&1 &
pid=$!
sleep 0.2
r=$(rss_kib "$pid")
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
printf '%-44s %10s\n' "RSS running a tiny guest, 64 MiB RAM (KiB)" "${r:-n/a (exited)}"
