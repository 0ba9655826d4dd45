#!/bin/bash
# Snapshots and live migration of the default Linux guest on the soft
# engine (issue 12): in the middle of a CPU workload and a loop of
# synchronous disk writes (1 and 2 vCPUs), the VM is paused, snapshotted and
# killed, and a new popek restores it. Then the workload must finish with the
# host's answer, the disk must hold every write the guest saw acknowledged,
# the guest's date must have moved forward, the network (user mode, to a
# server on the host's loopback) must work again, and the kernel log must
# have no BUG, WARNING or clocksource complaint. Then the same with Diff
# snapshots (dirty page tracking, 1 and 2 vCPUs): a Full one and two Diffs as
# the guest runs on, both rebased onto the Full's memory file, which
# restores the last; and with a live migration to another popek (1 and 2
# vCPUs), the workload and the disk loop running throughout.
# Environment: POPEK (default build/popek).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
. tests/e2e/lib/linux_workload.sh
vm_default_guest snapshot_linux
POPEK=${POPEK:-build/popek}
TMP=$(mktemp -d)
HTTP_PID=
cleanup() {
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# A file the guest fetches after the restore, from a server on loopback
# (busybox 1.35's wget crashes with -T: no timeout option).
echo "popek-snapshot-net-$$" >"$TMP/hello.txt"
PORT=$((20000 + $$ % 20000))
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$TMP" >/dev/null 2>&1 &
HTTP_PID=$!
host_big=$(seq 1 1000000 | sha256sum | cut -d' ' -f1)

# The disk loop: block i holds "blk i" (padded), written with O_SYNC-like
# fsync; "ACK i" is printed only after the write returned.
DISK_LOOP='i=0; while [ $i -lt 100000 ]; do printf "blk %08d\n" $i | dd of=/dev/vda bs=512 seek=$i conv=notrunc,fsync 2>/dev/null && echo "ACK $i"; i=$((i+1)); done'

# The last block the guest saw acknowledged.
acked() { tr -d '\r' <"$VM_OUT" | grep -ao '^ACK [0-9]*' | tail -1 | cut -d' ' -f2; }

# case_start TAG CPUS [POPEK-ARGS...]: boots the guest on a fresh disk with
# the API on $TMP/api.sock, checks the network, starts the disk loop and the
# CPU workload (about 100 s on 1 vCPU with the disk loop beside it), and lets
# them run a while; the guest's date in BEFORE. False (the VM gone) when it
# did not boot.
case_start() { # tag cpus [args]
	local tag=$1 cpus=$2
	shift 2
	truncate -s 0 "$TMP/disk.img"
	truncate -s 64M "$TMP/disk.img"
	vm_start run --kernel "$KERNEL" --initrd "$INITRD" --engine soft --mem 512M --cpus "$cpus" \
		--disk "$TMP/disk.img" --net user --api-sock "$TMP/api.sock" "$@"
	vm_booted "$tag" 300 || return 1
	vm_ready 60 || echo "  $tag: the shell did not answer a marker within 60 s"
	vm_run before 'echo "RESULT before $(date +%s)"'
	vm_run net0 "echo \"RESULT net0 \$(wget -q -O - http://10.0.2.2:$PORT/hello.txt)\""
	check "$tag/network_before" "$(vm_result net0)" "$(cat "$TMP/hello.txt")"
	BEFORE=$(vm_result before)
	vm_send "($DISK_LOOP) >/dev/ttyS0 &"
	vm_send "(echo \"RESULT big \$(seq 1 1000000 | sha256sum | cut -d' ' -f1)\") &"
	vm_wait "ACK 20" 120 || echo "  $tag: no disk writes before the snapshot"
	sleep 1
}

# case_snap TAG NAME FILE [--diff]: pauses the VM and snapshots it into
# $TMP/FILE.st and $TMP/FILE.mem ("PASS TAG/NAME"); else ends the VM, false.
case_snap() { # tag name file [--diff]
	if ! "$POPEK" ctl --sock "$TMP/api.sock" pause >/dev/null 2>"$TMP/ctl" ||
		! "$POPEK" ctl --sock "$TMP/api.sock" snapshot create "$TMP/$3.st" "$TMP/$3.mem" "${@:4}" \
			>/dev/null 2>>"$TMP/ctl"; then
		echo "FAIL $1/$2: $(cat "$TMP/ctl")"
		vm_cleanup
		return 1
	fi
	echo "PASS $1/$2"
}

# case_cut TAG: the VM killed after its last snapshot; LAST: the last block
# acknowledged before the cut.
case_cut() { # tag
	if tr -d '\r' <"$VM_OUT" | grep -aq "^RESULT big [0-9a-f]"; then
		echo "  $1: the CPU workload had finished before the snapshot"
	fi
	kill -9 "$VM_PID"
	wait "$VM_PID" 2>/dev/null
	LAST=$(acked)
	vm_cleanup
}

# case_finish TAG STATE MEM: a new popek restores the snapshot, then
# case_check.
case_finish() { # tag state mem
	vm_start run --engine soft --restore "$2" --mem-file "$3"
	case_check "$1"
}

# case_check TAG: the VM continued in a new popek (VM_*); the workload
# must finish with the host's answer, the disk loop go on, the date move
# forward, the network work, the kernel log stay clean, and every block
# acknowledged (LAST before the cut) be on the disk.
case_check() { # tag
	local tag=$1 n after trouble missing
	if ! vm_wait "RESULT big" 300; then
		echo "FAIL $tag/restore: the workload did not finish in the new popek"
		tail -n 15 "$VM_OUT" | tr -d '\r' | sed 's/^/    | /'
		vm_cleanup
		return
	fi
	check "$tag/workload" "$(vm_result big)" "$host_big"
	vm_wait "ACK $((LAST + 50))" 120 || echo "  $tag: the disk loop did not go on after the restore"
	vm_send 'kill %1 2>/dev/null; kill $(pidof dd) 2>/dev/null; true'
	vm_run after 'echo "RESULT after $(date +%s)"'
	after=$(vm_result after)
	if [ -n "$BEFORE" ] && [ -n "$after" ] && [ "$after" -ge "$BEFORE" ]; then
		echo "PASS $tag/date"
	else
		echo "FAIL $tag/date: $BEFORE before the snapshot, $after after the restore"
	fi
	vm_run net "echo \"RESULT net \$(wget -q -O - http://10.0.2.2:$PORT/hello.txt)\""
	check "$tag/network" "$(vm_result net)" "$(cat "$TMP/hello.txt")"
	trouble=$(kernel_log_trouble 'clocksource.*(unstable|skew|watchdog)|timekeeping watchdog|hung_task')
	if [ -z "$trouble" ]; then echo "PASS $tag/kernel_log"; else echo "FAIL $tag/kernel_log: $trouble"; fi
	n=$(acked)
	vm_send 'sync; poweroff -f'
	vm_wait_exit 60
	# Every acknowledged block, before and after the cut, is on the disk.
	missing=$(python3 - "$TMP/disk.img" "$n" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
n = int(sys.argv[2])
bad = [i for i in range(n + 1) if data[i * 512:i * 512 + 13] != b"blk %08d\n" % i]
print(" ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else ""))
PY
)
	if [ -n "$n" ] && [ "$n" -gt "$LAST" ] && [ -z "$missing" ]; then
		echo "PASS $tag/disk ($((LAST + 1)) writes acknowledged before the cut, $((n + 1)) in all)"
	else
		echo "FAIL $tag/disk: acknowledged ${LAST:-none} before and ${n:-none} in all; missing blocks: $missing"
	fi
	vm_cleanup
}

# run_case CPUS: one Full snapshot, restored.
run_case() { # cpus
	local tag=snapshot_linux/cpus$1
	case_start "$tag" "$1" && case_snap "$tag" snapshot full || return
	case_cut "$tag"
	case_finish "$tag" "$TMP/full.st" "$TMP/full.mem"
}

# run_diff_case CPUS: with --track-dirty-pages, a Full snapshot, then two
# Diffs each after 10 more blocks acknowledged; both rebased in order onto a
# copy of the Full's memory file, which restores the second.
run_diff_case() { # cpus
	local tag=snapshot_linux/diff_cpus$1 d
	case_start "$tag" "$1" --track-dirty-pages && case_snap "$tag" snapshot full || return
	for d in d1 d2; do
		"$POPEK" ctl --sock "$TMP/api.sock" resume >/dev/null 2>"$TMP/ctl" ||
			echo "  $tag: resume before $d: $(cat "$TMP/ctl")"
		vm_wait "ACK $(($(acked) + 10))" 120 || echo "  $tag: no disk writes before $d"
		case_snap "$tag" "snapshot_$d" "$d" --diff || return
	done
	case_cut "$tag"
	echo "  $tag: data in the memory files (KiB): $(cd "$TMP" && du -k full.mem d1.mem d2.mem | tr '\t\n' ': ')"
	cp "$TMP/full.mem" "$TMP/chain.mem"
	for d in d1 d2; do
		if ! "$POPEK" snapshot rebase "$TMP/chain.mem" "$TMP/$d.mem" >"$TMP/rebase" 2>&1; then
			echo "FAIL $tag/rebase_$d: $(cat "$TMP/rebase")"
			return
		fi
	done
	echo "PASS $tag/rebase"
	case_finish "$tag" "$TMP/d2.st" "$TMP/chain.mem"
}

# case_migrate TAG: a second popek waits with --incoming and the running
# VM is sent to it, live; the source must exit 0. LAST: the last block the
# source acknowledged. VM_* are the destination's from then on.
case_migrate() { # tag
	local src_pid=$VM_PID src_out=$VM_OUT src_in=$VM_IN src_dir=$VM_DIR st i
	rm -f "$TMP/mig.sock"
	vm_start run --engine soft --incoming "unix:$TMP/mig.sock"
	for ((i = 0; i < 100; i++)); do [ -S "$TMP/mig.sock" ] && break; sleep 0.1; done
	if ! "$POPEK" ctl --sock "$TMP/api.sock" migrate --to "unix:$TMP/mig.sock" \
		>/dev/null 2>"$TMP/ctl"; then
		echo "FAIL $1/migrate: $(cat "$TMP/ctl")"
		kill -9 "$src_pid" 2>/dev/null
		vm_cleanup
		exec {src_in}>&-
		rm -rf "$src_dir"
		return 1
	fi
	timeout 60 tail --pid="$src_pid" -f /dev/null
	wait "$src_pid"
	st=$?
	LAST=$(tr -d '\r' <"$src_out" | grep -ao '^ACK [0-9]*' | tail -1 | cut -d' ' -f2)
	exec {src_in}>&-
	rm -rf "$src_dir"
	if [ "$st" = 0 ]; then echo "PASS $1/migrate"; else echo "FAIL $1/migrate: the source ended with $st"; fi
}

# run_migrate_case CPUS: the VM moved to another popek while the workload
# and the disk loop run.
run_migrate_case() { # cpus
	local tag=snapshot_linux/migrate_cpus$1
	case_start "$tag" "$1" && case_migrate "$tag" || return
	case_check "$tag"
}

run_case 1
run_case 2
run_diff_case 1
run_diff_case 2
run_migrate_case 1
run_migrate_case 2
exit 0
