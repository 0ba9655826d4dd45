#!/bin/bash
# virtio notifications and interrupts through the engine's fast paths
# (src/core/fastpath.h): tests/e2e/lib/virtio_fastpath_guest.c drives
# virtio-rng with IOAPIC interrupts and prints how many QueueNotify writes
# carried the queue index. Checked on each engine:
#   soft:                 the guest passes; no fast path is in use;
#   kvm:                  the log line names ioeventfd and irqfd, and the
#                         metrics count exactly the guest's queue-index
#                         writes as ioeventfd notifications (the 0x10000
#                         write took the MMIO exit), irqfd raises, and a
#                         resample for the interrupt left unacknowledged;
#   kvm, fast paths off:  (POPEK_KVM_DISABLE) the guest passes through MMIO
#                         exits and KVM_IRQ_LINE, with those writes as
#                         extra MMIO exits.
# Environment: POPEK (default build/asan/popek), POPEK_KVM_DEVICE (default
# /dev/kvm), FASTPATH_KEEP=1 keeps the work directory.
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
TMP=$(mktemp -d)
[ -n "${FASTPATH_KEEP:-}" ] && echo "kept in $TMP" || trap 'rm -rf "$TMP"' EXIT

# Builds the guest with the flags and runtime of tests/guest (its Makefile
# says how; only guest.h, entry.o and runtime.o are used).
build_guest() {
	local g=tests/guest cflags ldflags
	make -s --no-print-directory -C $g build/lib/entry.o build/lib/runtime.o || return 1
	cflags=$(make -s --no-print-directory -C $g --eval 'fp-print-%: ; @echo $($*)' fp-print-CFLAGS)
	ldflags=$(make -s --no-print-directory -C $g --eval 'fp-print-%: ; @echo $($*)' fp-print-LDFLAGS)
	(cd $g && gcc $cflags -c ../e2e/lib/virtio_fastpath_guest.c -o "$TMP/g.o" &&
		ld $ldflags -o "$TMP/g.elf64" "$TMP/g.o" build/lib/entry.o build/lib/runtime.o &&
		objcopy -I elf64-x86-64 -O elf32-i386 "$TMP/g.elf64" "$TMP/guest.elf")
}

if [ ! -x "$POPEK" ]; then
	echo "FAIL fastpath: no $POPEK (make build/asan/popek)"
	exit 1
fi
if ! build_guest >"$TMP/build.log" 2>&1; then
	echo "FAIL fastpath/build: cannot build tests/e2e/lib/virtio_fastpath_guest.c ($(tail -n 3 "$TMP/build.log" | paste -sd '|'))"
	exit 1
fi

# run NAME ENGINE [VAR=VALUE...]: one run; output in $TMP/NAME.out, metrics
# (one JSON line, written when the VM stops) in $TMP/NAME.json.
run() {
	local name=$1 engine=$2
	shift 2
	env "$@" POPEK_LOG=info timeout --kill-after=5 60 "$POPEK" run --kernel "$TMP/guest.elf" \
		--test-device --engine "$engine" --mem 64M --metrics-file "$TMP/$name.json" \
		>"$TMP/$name.out" 2>&1 </dev/null
	echo $? >"$TMP/$name.rc"
}

# metric NAME EXPR: a value from popek's own metrics (the "popek" group of
# the metrics file's last line), e.g. fast_paths.ioeventfd.
metric() {
	python3 -c 'import json, sys
d = json.loads(open(sys.argv[1]).readlines()[-1])["popek"]
for k in sys.argv[2].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(str(d).lower())' "$TMP/$1.json" "$2" 2>/dev/null
}

# Why the guest of run NAME did not pass; nothing when it did (exit 33).
guest_failed() {
	local rc
	rc=$(cat "$TMP/$1.rc")
	[ "$rc" -eq 33 ] && [ "$(grep -v '^popek: ' "$TMP/$1.out" | tail -n 1 | tr -d '\r')" = PASS ] &&
		return 0
	echo "exit status $rc: $(grep -E '^(not ok|popek: (error|warning))' "$TMP/$1.out" | head -n 3 | paste -sd '|')"
}

# report NAME PROBLEMS...: PASS when there is no problem.
report() {
	local name=$1 why
	shift
	why=$(printf '%s\n' "$@" | sed '/^$/d' | paste -sd ';' | sed 's/;/; /g')
	if [ -z "$why" ]; then echo "PASS fastpath/$name"; else echo "FAIL fastpath/$name: $why"; fi
}

index_writes() {
	sed -n 's/^virtio_fastpath: notify_index_writes=\([0-9]*\).*/\1/p' "$TMP/$1.out" | tail -n 1
}

# MMIO exits of run NAME less the guest's spurious interrupts (each read
# InterruptStatus once; kvm_pvm makes a varying number of them).
mmio_exits() {
	local spurious
	spurious=$(sed -n 's/^virtio_fastpath: .*spurious=\([0-9]*\).*/\1/p' "$TMP/$1.out" | tail -n 1)
	echo $(($(metric "$1" vcpus.0.exits_mmio) - ${spurious:-0}))
}

expect() { # what got want
	[ "$2" = "$3" ] || echo "$1 is '$2', wanted '$3'"
}

run soft soft
report soft "$(guest_failed soft)" \
	"$(expect 'fast_paths.ioeventfd' "$(metric soft fast_paths.ioeventfd)" false)" \
	"$(expect 'fast_paths.irqfd' "$(metric soft fast_paths.irqfd)" false)"

KVM_DEV=${POPEK_KVM_DEVICE:-/dev/kvm} # popek honours it too
if ! [ -c "$KVM_DEV" ] || ! (exec 3<>"$KVM_DEV") 2>/dev/null; then
	echo "SKIP fastpath/kvm: no $KVM_DEV"
	echo "SKIP fastpath/kvm_off: no $KVM_DEV"
	exit 0
fi

run kvm kvm
run kvm_off kvm POPEK_KVM_DISABLE=ioeventfd,irqfd
n=$(index_writes kvm)
raises=$(metric kvm fast_paths.irqfd_raises)
resamples=$(metric kvm fast_paths.irqfd_resamples)
report kvm "$(guest_failed kvm)" \
	"$(grep -q 'kvm: virtio notifications via ioeventfd, interrupts via irqfd' "$TMP/kvm.out" ||
		echo 'no log line naming ioeventfd and irqfd')" \
	"$(expect 'fast_paths.ioeventfd' "$(metric kvm fast_paths.ioeventfd)" true)" \
	"$(expect 'fast_paths.irqfd' "$(metric kvm fast_paths.irqfd)" true)" \
	"$([ -n "$n" ] || echo 'the guest printed no notify count')" \
	"$(expect 'fast_paths.ioeventfd_notifies' "$(metric kvm fast_paths.ioeventfd_notifies)" "$n")" \
	"$([ "${raises:-0}" -ge "${n:-1}" ] || echo "fast_paths.irqfd_raises is '$raises', wanted >= $n")" \
	"$([ "${resamples:-0}" -ge 1 ] || echo "fast_paths.irqfd_resamples is '$resamples', wanted >= 1")"

mmio_on=$(mmio_exits kvm)
mmio_off=$(mmio_exits kvm_off)
report kvm_off "$(guest_failed kvm_off)" \
	"$(grep -q 'kvm: virtio notifications via MMIO exits (ioeventfd turned off), interrupts via KVM_IRQ_LINE (irqfd turned off)' "$TMP/kvm_off.out" ||
		echo 'no log line naming MMIO exits and KVM_IRQ_LINE')" \
	"$(expect 'fast_paths.ioeventfd_notifies' "$(metric kvm_off fast_paths.ioeventfd_notifies)" 0)" \
	"$(expect 'fast_paths.irqfd_raises' "$(metric kvm_off fast_paths.irqfd_raises)" 0)" \
	"$([ $((${mmio_off:-0} - ${mmio_on:-0})) -ge "${n:-1}" ] ||
		echo "MMIO exits: $mmio_off without ioeventfd, $mmio_on with: wanted at least $n more")"
