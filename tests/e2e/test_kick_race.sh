#!/bin/bash
# Kicks against multi-step MMIO: the guest program mmio_race does
# read-modify-writes and 16-byte accesses to the test device for up to two
# seconds while this script pauses and resumes the VM through the API as fast
# as it can (every pause kicks every vCPU). On KVM a kick that lands between
# the pieces of such an access must neither drop nor repeat one
# (src/cpu/kvm/kvm_vcpu.c, kvm_vcpu_stop_for_kick); the program checks the
# device's counts. Runs on the soft engine and, where /dev/kvm works, on KVM.
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
PROG=tests/guest/build/mmio_race.elf
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
[ -f "$PROG" ] || { echo "FAIL kick_race: $PROG is not built (make guest-programs)"; exit 1; }

race() { # engine
	local S=$TMP/$1.sock out=$TMP/$1.out pid kicks=0 rc
	"$POPEK" run --engine "$1" --test-device --kernel "$PROG" --api-sock "$S" \
		>"$out" 2>&1 </dev/null &
	pid=$!
	for _ in $(seq 1 100); do [ -S "$S" ] && break; sleep 0.02; done
	while kill -0 "$pid" 2>/dev/null; do
		"$POPEK" ctl --sock "$S" pause >/dev/null 2>&1 &&
			"$POPEK" ctl --sock "$S" resume >/dev/null 2>&1 && kicks=$((kicks + 1))
	done
	wait "$pid"
	rc=$?
	if ! grep -q '^PASS' "$out"; then
		echo "FAIL kick_race/$1: the program failed (exit $rc): $(grep -a 'not ok' "$out" | head -3)"
	elif [ "$kicks" -lt 3 ]; then
		echo "FAIL kick_race/$1: only $kicks pause/resume rounds landed while it ran"
	else
		echo "PASS kick_race/$1 ($kicks pause/resume rounds, $(grep -a '^# .* rounds' "$out" | cut -c3-))"
	fi
}

race soft
if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; then
	race kvm
else
	echo "SKIP kick_race/kvm: no usable /dev/kvm"
fi
