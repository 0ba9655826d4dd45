#!/bin/bash
# The seccomp sandbox (src/host/seccomp.c): every thread of a running popek
# has its role's filter, a system call outside a role's list kills the whole
# process with SIGSYS (a hidden self-test makes a vCPU, I/O or API thread call
# execve once its filter is on), --no-seccomp turns the filters off, and guest
# programs run normally under them.
# Environment: POPEK (default build/asan/popek).
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
GUEST=tests/guest/build/hlt_wakeup.elf
TMP=$(mktemp -d)
trap 'kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT
PID=""
if [ ! -x "$POPEK" ] || [ ! -f "$GUEST" ]; then
	echo "SKIP seccomp: no $POPEK or $GUEST (make test builds both)"
	exit 0
fi

check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS seccomp/$1"; else echo "FAIL seccomp/$1: got '$2', wanted '$3'"; fi
}

kvm_usable() {
	[ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null
}

# selftest NAME ROLE ENGINE [popek args]: the process must die of SIGSYS
# (status 128 + 31) right after the role's thread announces the execve.
selftest() {
	local name=$1 role=$2 engine=$3 rc
	shift 3
	POPEK_SECCOMP_SELFTEST=$role timeout 60 "$POPEK" run --kernel "$GUEST" --test-device \
		--engine "$engine" --mem 32M "$@" >"$TMP/$name.out" 2>&1 </dev/null
	rc=$?
	if [ "$rc" -ne 159 ]; then
		echo "FAIL seccomp/$name: exit status $rc, wanted 159 (SIGSYS): $(tail -2 "$TMP/$name.out")"
	elif ! grep -q "seccomp self-test: calling execve from a $role thread" "$TMP/$name.out"; then
		echo "FAIL seccomp/$name: the $role thread did not reach the self-test"
	elif grep -q "was not stopped" "$TMP/$name.out"; then
		echo "FAIL seccomp/$name: execve was allowed"
	else
		echo "PASS seccomp/$name"
	fi
}

# Guest programs run under the filters (exit 33: PASS through the debug port).
timeout 60 "$POPEK" run --kernel "$GUEST" --test-device --engine soft --mem 32M \
	>"$TMP/plain.out" 2>&1 </dev/null
check guest_runs_filtered "$? $(grep -c '^PASS' "$TMP/plain.out")" "33 1"

selftest vcpu_execve_killed vcpu soft
selftest io_execve_killed io soft
selftest api_execve_killed api soft --api-sock "$TMP/api.sock"
if kvm_usable; then
	selftest kvm_vcpu_execve_killed vcpu kvm
else
	echo "SKIP seccomp/kvm_vcpu_execve_killed: /dev/kvm is not usable here"
fi

# --no-seccomp: no filter, so the self-test's execve runs /bin/sh (exit 99).
POPEK_SECCOMP_SELFTEST=vcpu timeout 60 "$POPEK" run --kernel "$GUEST" --test-device --engine soft \
	--mem 32M --no-seccomp >"$TMP/off.out" 2>&1 </dev/null
check no_seccomp_no_filter "$? $(grep -c 'self-test' "$TMP/off.out")" "33 0"

# Each thread of a running VM carries its filters: the I/O filter on every
# thread, plus the vCPU or API one on those threads.
. tests/e2e/lib/api_guest.sh
if ! api_guest_build "$TMP"; then
	echo "FAIL seccomp/build_guest: cannot build tests/e2e/lib/api_guest.c"
	exit 0
fi
"$POPEK" run --kernel "$TMP/guest.elf" --engine soft --mem 32M --cpus 2 \
	--api-sock "$TMP/run.sock" >"$TMP/run.out" 2>&1 </dev/null &
PID=$!
for _ in $(seq 50); do [ -S "$TMP/run.sock" ] && break; sleep 0.1; done
sleep 0.5
modes=$(cat /proc/$PID/task/*/status | awk '/^Seccomp:/ { print $2 }' | sort -u | paste -sd' ')
counts=$(cat /proc/$PID/task/*/status | awk '/^Seccomp_filters:/ { print $2 }' | sort | uniq -c |
	awk '{ printf "%s%sx%s", s, $1, $2; s = " " }')
check all_threads_filtered "$modes" 2
# main + rng/other device threads: 1 filter; 2 vCPUs + the API thread: 2;
# no thread with any other number ("13x2" or an extra "1x3" must not pass).
[[ "$counts" =~ ^[1-9][0-9]*x1\ 3x2$ ]] && echo "PASS seccomp/role_filters ($counts)" ||
	echo "FAIL seccomp/role_filters: filter counts per thread '$counts', wanted 'Nx1 3x2' (three threads with 2, the others with 1)"
kill -TERM "$PID"
wait "$PID"
check filtered_vm_stops "$?" 143
