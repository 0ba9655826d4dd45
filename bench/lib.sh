# Helpers the benchmark scripts share; source it from the repository root.

# The default guest, and QEMU TCG booting it the way every side-by-side
# comparison does (microvm without option ROMs; the caller adds -append).
KERNEL=build/guest/vmlinuz INITRD=build/guest/initramfs.cpio.gz
QEMU_MICROVM=(qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on -accel tcg -cpu max -m 256M
	-nographic -no-reboot -kernel "$KERNEL" -initrd "$INITRD")

# PIN=N: every popek and QEMU run of a comparison on host CPU N (taskset),
# both on the same core. On a shared machine one core can be much slower
# than the other for a while (seen: 235 against 180 ms for the same run), and
# an unpinned run lands on either: medians then measure the scheduler.
PIN_CMD=()
if [ -n "${PIN:-}" ]; then
	PIN_CMD=(taskset -c "$PIN")
fi

# The median of the numbers on stdin, one per line ("n/a" when none).
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else print a[int((NR + 1) / 2)] }'; }

# a / b as "1.23x", or "n/a" unless both are positive numbers.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "n/a" }'; }

# Exits with a usage line unless popek binaries were given ($1: the script's usage).
need_binaries() { # usage count
	if [ "$2" -lt 1 ]; then
		echo "usage: $1" >&2
		exit 2
	fi
}

# The table of side_by_side.sh and workload.sh from the "what who seconds"
# lines in file $1 (who: 1..$3 for the binaries given, or qemu): for each
# what in $2, each one's median, range and ratio to QEMU's median ("failed"
# and "timeout" runs left out).
ratio_table() { # file whats count
	local what who q v range m
	printf '%-10s %-6s %9s %15s %10s\n' what who median range "/ qemu"
	for what in $2; do
		q=$(awk -v w="$what" '$1 == w && $2 == "qemu" { print $3 }' "$1" | grep -E '^[0-9.]+$' | median)
		for who in $(seq "$3") qemu; do
			v=$(awk -v w="$what" -v p="$who" '$1 == w && $2 == p { print $3 }' "$1" | grep -E '^[0-9.]+$')
			range=$(printf '%s\n' "$v" | sort -g | sed -n '1p;$p' | xargs printf '%.2f-' | sed 's/-$//')
			m=$(printf '%s\n' "$v" | median)
			printf '%-10s %-6s %9.3f %15s %10s\n' "$what" "$who" "$m" "$range" "$(ratio "$m" "$q")"
		done
	done
}
