#!/bin/bash
# Live migration end to end on the soft engine (issue 12): the snapshot guest
# program (tests/guest/snapshot.c), busy rewriting a 2 MiB buffer, is sent
# from one popek to another (popek ctl migrate / run --incoming) in the
# middle of its computation, over a Unix socket (1 and 2 vCPUs) and TCP on
# loopback, and paused: the destination must finish it with the result of a
# run without a cut, the source must exit 0 with the migration in its
# metrics, and the destination must have taken over the disk's lock. Then failures: no destination, a destination that hangs up, a
# stream that is not ours, a bad address: the source's VM runs on (but stops
# if the destination holds its disk by then), the
# destination exits 1 with one line.
# Environment: POPEK (default build/asan/popek).
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
PROG=tests/guest/build/snapshot.elf
ROUNDS=${POPEK_MIGRATE_ROUNDS:-3000}
. tests/e2e/lib/scratch.sh

pass() { echo "PASS migrate/$1"; }
fail() { echo "FAIL migrate/$1: $2"; }

if [ ! -x "$POPEK" ] || [ ! -f "$PROG" ]; then
	fail setup "no $POPEK or $PROG (run make test)"
	exit 1
fi
RUN=("$POPEK" run --test-device --kernel "$PROG" --cmdline "rounds=$ROUNDS")

"${RUN[@]}" --engine soft >"$TMP/ref.out" 2>"$TMP/ref.err"
st=$?
WANT=$(grep -m1 '^result ' "$TMP/ref.out")
if [ "$st" != 33 ] || [ -z "$WANT" ]; then
	fail reference "status $st: $(tail -2 "$TMP/ref.err" | tr '\n' '|')"
	exit 1
fi
pass reference

# source NAME CPUS [ENGINE]: the program under the API, in its window; pid
# in SRC. It has a disk, whose lock the destination takes over.
source_vm() { # name cpus [engine]
	truncate -s 1M "$TMP/$1.img"
	"${RUN[@]}" --engine "${3:-soft}" --cpus "$2" --api-sock "$TMP/$1.sock" --metrics-file "$TMP/$1.metrics" \
		--disk "$TMP/$1.img" >"$TMP/$1.src.out" 2>"$TMP/$1.src.err" &
	SRC=$!
	PIDS+=("$SRC")
	wait_for "$TMP/$1.src.out" "snapshot window" 120 || {
		fail "$1" "no window: $(tail -2 "$TMP/$1.src.err")"
		return 1
	}
}

# dest NAME AT [args]: popek run --incoming AT; pid in DST.
dest_vm() { # name at [args...]
	local n=$1 at=$2
	shift 2
	POPEK_LOG=info "$POPEK" run --engine soft --incoming "$at" "$@" \
		>"$TMP/$n.dst.out" 2>"$TMP/$n.dst.err" &
	DST=$!
	PIDS+=("$DST")
	wait_for "$TMP/$n.dst.err" "waiting for the source" 20 || sleep 1
}

# judge NAME: the source exited 0 with the migration in its metrics and the
# destination finished the program as the reference did.
judge() { # name
	local n=$1 s d got
	timeout 120 tail --pid="$SRC" -f /dev/null
	wait "$SRC"
	s=$?
	timeout 180 tail --pid="$DST" -f /dev/null
	wait "$DST"
	d=$?
	got=$(grep -m1 '^result ' "$TMP/$n.dst.out")
	if [ "$s" != 0 ]; then
		fail "$n" "source exit status $s: $(tail -2 "$TMP/$n.src.err" | tr '\n' '|')"
	elif grep -q '^result' "$TMP/$n.src.out"; then
		fail "$n" "the source finished the program itself"
	elif [ "$d" != 33 ] || [ "$got" != "$WANT" ]; then
		fail "$n" "destination status $d, '$got' (want '$WANT'): $(tail -3 "$TMP/$n.dst.err" | tr '\n' '|')"
	elif ! grep -q '"migration":{[^}]*"done":true' "$TMP/$n.metrics"; then
		fail "$n" "no finished migration in the source's metrics: $(grep -o '"migration":{[^}]*}' "$TMP/$n.metrics")"
	else
		pass "$n ($(grep -o '"downtime_ms":[0-9]*' "$TMP/$n.metrics"), $(grep -o '"rounds":[0-9]*' "$TMP/$n.metrics"))"
	fi
}

migrate() { # name to [--max-downtime MS]
	if ! "$POPEK" ctl --sock "$TMP/$1.sock" migrate --to "${@:2}" >/dev/null 2>"$TMP/$1.ctl"; then
		fail "$1" "ctl migrate: $(cat "$TMP/$1.ctl")"
		return 1
	fi
}

for cpus in 1 2; do
	n=unix$cpus
	dest_vm "$n" "unix:$TMP/$n.mig"
	source_vm "$n" "$cpus" && migrate "$n" "unix:$TMP/$n.mig" && judge "$n"
done

# No downtime allowed: pre-copy goes on round after round while the guest
# rewrites its buffer, until the rounds stop converging.
n=precopy
dest_vm "$n" "unix:$TMP/$n.mig"
if source_vm "$n" 1 && migrate "$n" "unix:$TMP/$n.mig" --max-downtime 0; then
	judge "$n"
	r=$(grep -o '"rounds":[0-9]*' "$TMP/$n.metrics" | cut -d: -f2)
	# At least one round after the first (how many more depends on how
	# much CPU the guest got between rounds on a shared host).
	[ "${r:-0}" -ge 2 ] && pass precopy/rounds || fail precopy/rounds "only ${r:-no} rounds"
fi

n=tcp
port=$((20000 + $$ % 20000))
dest_vm "$n" "tcp:$port"
source_vm "$n" 1 && migrate "$n" "tcp:127.0.0.1:$port" && judge "$n"

# A paused source: the destination starts paused too, and runs on resume.
n=paused
dest_vm "$n" "unix:$TMP/$n.mig" --api-sock "$TMP/$n.dsock"
if source_vm "$n" 1 && "$POPEK" ctl --sock "$TMP/$n.sock" pause >/dev/null &&
	migrate "$n" "unix:$TMP/$n.mig"; then
	wait_for "$TMP/$n.dst.err" "received" 20
	state=$("$POPEK" ctl --sock "$TMP/$n.dsock" info 2>/dev/null | tr -d ' \t\n' | grep -o '"state":"[A-Za-z ]*"')
	[[ "$state" == *Paused* ]] && pass paused/destination-paused ||
		fail paused/destination-paused "state on the destination: $state"
	# The destination holds the disk's lock now: another writer is refused.
	locked=$(python3 -c "
import fcntl, struct, sys
f = open('$TMP/$n.img', 'r+b')
try:
    fcntl.fcntl(f, fcntl.F_OFD_SETLK, struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 0, 0))
    print('free')
except OSError:
    print('held')")
	[ "$locked" = held ] && pass paused/disk-locked || fail paused/disk-locked "the disk is $locked"
	"$POPEK" ctl --sock "$TMP/$n.dsock" resume >/dev/null 2>&1
	judge "$n"
fi

# Failures on the source's side: the VM runs on and finishes there.
# refused NAME TO WANT [ENGINE]: migrate to TO fails with WANT in its
# message.
refused() { # name to want [engine]
	local n=$1 out
	source_vm "$n" 1 "${4:-soft}" || return
	out=$("$POPEK" ctl --sock "$TMP/$n.sock" migrate --to "$2" 2>&1)
	if [ $? = 0 ] || [[ "$out" != *"$3"* ]]; then
		fail "$n" "migrate answered: $out"
		return
	fi
	timeout 120 tail --pid="$SRC" -f /dev/null
	wait "$SRC"
	local s=$? got
	got=$(grep -m1 '^result ' "$TMP/$n.src.out")
	if [ "$s" = 33 ] && [ "$got" = "$WANT" ]; then
		pass "$n"
	else
		fail "$n" "after the failed migration the source ended with $s, '$got'"
	fi
}

# Across engines, where KVM works: soft -> KVM finishes there (or is
# refused in one line when this host's KVM cannot run the soft engine's
# 1 GHz TSC); KVM -> soft is refused (the soft engine's TSC runs at 1 GHz
# only), and the VM finishes on the source.
if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; then
	n=soft-kvm
	dest_vm "$n" "unix:$TMP/$n.mig" --engine kvm
	if source_vm "$n" 1 && migrate "$n" "unix:$TMP/$n.mig"; then
		judge "$n"
	elif grep -q "cannot scale it" "$TMP/$n.ctl"; then
		pass "$n/refused (this host's KVM cannot scale the TSC to 1 GHz)"
		kill -9 "$SRC" 2>/dev/null
	fi
	dest_vm kvm-soft "unix:$TMP/kvm-soft.mig"
	refused kvm-soft "unix:$TMP/kvm-soft.mig" "the soft engine's runs at 1000000 kHz" kvm
else
	echo "SKIP migrate/soft-kvm: no /dev/kvm"
	echo "SKIP migrate/kvm-soft: no /dev/kvm"
fi

refused no-destination "unix:$TMP/nobody.mig" "cannot connect"
refused bad-address "ftp:somewhere" "not unix:PATH"
# A destination that reads the beginning and hangs up.
python3 - "$TMP/hangup.mig" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); c.recv(100); c.close()
PY
PIDS+=($!)
sleep 0.5
refused hangup "unix:$TMP/hangup.mig" "the destination"

# A destination that takes the disk's lock once the source let go of it
# and then hangs up without answering, as one whose answer was lost would:
# the source must not run the VM again (two guests on one disk), but stop
# with status 1 and say why.
n=lost-answer
python3 - "$TMP/$n.mig" "$TMP/$n.img" <<'PY' &
import fcntl, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
f = c.makefile("rb")
f.read(16)  # greeting
while True:
    t, _, n = struct.unpack("<IIQ", f.read(16))
    f.read(n)
    if t == 3:  # STATE: the source has stopped and let go of its disk
        break
img = open(sys.argv[2], "r+b")
fcntl.fcntl(img, fcntl.F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
f.close(); c.close()  # the file object holds the socket open too
import time; time.sleep(30)
PY
PIDS+=($!)
sleep 0.5
if source_vm "$n" 1; then
	out=$("$POPEK" ctl --sock "$TMP/$n.sock" migrate --to "unix:$TMP/$n.mig" 2>&1)
	timeout 30 tail --pid="$SRC" -f /dev/null
	wait "$SRC"
	st=$?
	if [ "$st" = 1 ] && [[ "$out" == *"locked by another process"* ]] &&
		! grep -q '^result' "$TMP/$n.src.out"; then
		pass "$n"
	else
		fail "$n" "source status $st, migrate answered: $out"
	fi
fi

# Failures on the destination's side: exit 1, one line naming the problem.
# garbage NAME PYTHON-BYTES WANT
garbage() { # name bytes want
	local n=$1 d
	dest_vm "$n" "unix:$TMP/$n.mig"
	python3 -c "
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect('$TMP/$n.mig')
s.sendall($2); s.close()" 2>/dev/null
	timeout 30 tail --pid="$DST" -f /dev/null
	wait "$DST"
	d=$?
	if [ "$d" = 1 ] && grep -q "$3" "$TMP/$n.dst.err" &&
		[ "$(grep -c 'error' "$TMP/$n.dst.err")" = 1 ]; then
		pass "$n"
	else
		fail "$n" "status $d: $(grep error "$TMP/$n.dst.err" | tr '\n' '|')"
	fi
}
GREET="struct.pack('<QII', 0x47494d4b45504f50, 1, 0)"
garbage not-ours "b'GET / HTTP/1.0\r\n\r\n' * 4" "not a popek migration stream"
garbage other-version "struct.pack('<QII', 0x47494d4b45504f50, 9, 0)" "not a popek migration stream"
garbage pages-first "$GREET + struct.pack('<IIQ', 2, 0, 16) + bytes(16)" "not a popek migration stream"
garbage huge-frame "$GREET + struct.pack('<IIQ', 1, 0, 1 << 62)" "not a popek migration stream"
garbage cut-short "$GREET + struct.pack('<IIQ', 1, 0, 1000) + bytes(10)" "went away"
garbage bad-machine "$GREET + struct.pack('<IIQ', 1, 0, 64) + bytes(64)" "migration"
exit 0
