#!/bin/bash
# The GDB stub with two vCPUs (issue 14), driven by the real gdb in batch
# mode on the soft engine (and KVM where /dev/kvm works): the guest program
# tests/guest/gdb_target.c with "smp=1", whose vCPU 1 runs gdb_ap_work.
# info threads lists both vCPUs, thread 2's registers are its own, a
# hardware breakpoint hit by vCPU 1 stops thread 2 (stop reply hwbreak,
# thread:2) and one hit by vCPU 0 thread 1, stepi on thread 2 and a continue
# with the scheduler locked leave vCPU 0 stopped (gdb's vCont naming one
# thread), a register written on thread 2 changes the exit status; a
# watchpoint that fires on both vCPUs at once reports both stops, one per
# continue (the second kept by the stub: it would not fire again).
# Environment: POPEK (default build/asan/popek).
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
PROG=tests/guest/build/gdb_target.elf
. tests/e2e/lib/scratch.sh

GROUP=gdb_smp
. tests/e2e/lib/gdb_setup.sh

# has NAME PATTERN WHAT: PASS when the gdb log has a line matching PATTERN.
has() {
	if grep -Eq "$2" <<<"$log"; then pass "$1"; else fail "$1" "no '$2' in gdb's output ($3)"; fi
}

# gdb_batch NAME: gdb runs $TMP/NAME.gdb on the program (log in
# $TMP/NAME.log), then popek's status once it ends is VM_STATUS.
gdb_batch() {
	timeout 180 gdb -nx -batch -x "$TMP/$1.gdb" tests/guest/build/gdb_target.elf64 >"$TMP/$1.log" 2>&1
	timeout 30 tail --pid="$VM" -f /dev/null
	wait "$VM"
	VM_STATUS=$?
}

sym() { # the address of symbol $1, as gdb prints it
	nm tests/guest/build/gdb_target.elf64 | awk -v s="$1" '$3 == s { print $1 }' | sed 's/^0*/0x/'
}

smp_case() { # engine
	local e=$1 n=smp_$1 st ap log
	popek_gdb "$n" --gdb-wait --engine "$e" --test-device --kernel "$PROG" --cpus 2 \
		--cmdline "smp=1" || return
	cat >"$TMP/$n.gdb" <<EOF
set confirm off
set pagination off
set remotelogfile $TMP/$n.rlog
target remote 127.0.0.1:$PORT
info threads
thread 2
printf "thread2 rip=%#lx\n", \$rip
thread 1
printf "thread1 rip=%#lx\n", \$rip
hbreak gdb_ap_work
continue
thread
printf "at ap_work thread=%d rip=%#lx rdi=%ld\n", \$_thread, \$rip, \$rdi
info registers rip
set \$rdi = 5
set \$spins = gdb_bsp_spins
set scheduler-locking step
stepi
printf "after stepi thread=%d pc=%#lx\n", \$_thread, \$pc
printf "thread 1 ran %ld times in the step\n", gdb_bsp_spins - \$spins
set scheduler-locking on
tbreak gdb_ap_done
continue
printf "thread 1 ran %ld times while thread 2 ran %ld loops\n", gdb_bsp_spins - \$spins, gdb_ap_loops
set scheduler-locking replay
delete
hbreak gdb_add
continue
printf "at add thread=%d rsi=%ld\n", \$_thread, \$rsi
delete
continue
EOF
	gdb_batch "$n"
	st=$VM_STATUS
	log=$(cat "$TMP/$n.log")
	ap=$(sym gdb_ap_work)
	has "$e/info_threads_1" '^\* 1 +Thread 1 \(vCPU 0\)' "$(grep -m2 Thread <<<"$log" | tr '\n' '|')"
	has "$e/info_threads_2" '^  2 +Thread 2 \(vCPU 1\)' "$(grep -m3 Thread <<<"$log" | tr '\n' '|')"
	# Before its SIPI vCPU 1 waits at the reset vector (CS base 0xffff0000,
	# RIP 0xfff0: SDM Vol. 3A 10.1.4); vCPU 0 at the multiboot entry.
	has "$e/thread_2_registers" '^thread2 rip=0xfff0$' "$(grep -m1 thread2 <<<"$log")"
	has "$e/thread_1_registers" "^thread1 rip=0x[0-9a-f]+$" "$(grep -m1 thread1 <<<"$log")"
	grep -q '^thread1 rip=0xfff0$' <<<"$log" && fail "$e/thread_1_own_registers" "thread 1 shows thread 2's RIP"
	has "$e/hbreak_on_vcpu1_reports_thread_2" '^Thread 2 hit Breakpoint 1, gdb_ap_work \(n=(n@entry=)?1\)' \
		"$(grep -m1 -i 'breakpoint 1,' <<<"$log")"
	has "$e/current_thread_2" '^\[Current thread is 2 \(Thread 2\)\]' "$(grep -m1 Current <<<"$log")"
	has "$e/thread_2_rip_at_break" "^at ap_work thread=2 rip=$ap rdi=1$" "$(grep -m1 'at ap_work' <<<"$log")"
	has "$e/info_registers_rip_thread_2" "^rip +$ap +$ap <gdb_ap_work>" "$(grep -m1 '^rip' <<<"$log")"
	# gdb_ap_work's first instruction: add %rdi, gdb_ap_runs(%rip), 7 bytes.
	has "$e/stepi_thread_2" "^after stepi thread=2 pc=$(printf '%#x' $((ap + 7)))$" \
		"$(grep -m1 'after stepi' <<<"$log")"
	# vCont;s:2 alone: the other vCPUs stay stopped (gdb's "Remote Protocol", vCont).
	has "$e/step_holds_thread_1" '^thread 1 ran 0 times in the step$' "$(grep -m1 'thread 1 ran' <<<"$log")"
	has "$e/locked_continue_holds_thread_1" '^thread 1 ran 0 times while thread 2 ran 100000 loops$' \
		"$(grep -m1 'while thread 2' <<<"$log")"
	has "$e/locked_continue_stop_thread_2" '^Thread 2 hit Temporary breakpoint 2, gdb_ap_done ' \
		"$(grep -m1 -i 'breakpoint 2,' <<<"$log")"
	# The stop reply names the thread and the kind of breakpoint (Z1: hwbreak).
	grep -q 'T05hwbreak:;thread:2;' "$TMP/$n.rlog" && pass "$e/stop_reply_hwbreak_thread_2" ||
		fail "$e/stop_reply_hwbreak_thread_2" "$(grep -o 'T05[a-z]*break:[^#]*' "$TMP/$n.rlog" | head -1)"
	has "$e/hbreak_on_vcpu0_reports_thread_1" '^Thread 1 hit Breakpoint 3, gdb_add ' \
		"$(grep -m1 -i 'breakpoint 3,' <<<"$log")"
	has "$e/thread_2_register_write_reached" '^at add thread=1 rsi=5$' "$(grep -m1 'at add' <<<"$log")"
	has "$e/exit_reported" 'exited with code 063' "$(tail -2 "$TMP/$n.log" | tr '\n' '|')"
	# rdi 5 on thread 2: gdb_add(20, 5), debug_exit(25), status 51 (43 untouched).
	check "$e/register_changed_exit_status" "$st" 51
}

# race_case ENGINE: a watchpoint that fires on both vCPUs at once (race=1):
# the second stop is reported at the next continue, not lost (it trapped
# after its write, so it would not fire again). An access watchpoint
# (awatch), set once the program cleared its BSS: gdb hides a write
# watchpoint's stop when the value it saw did not change, which the second
# of two writes already seen together would be.
race_case() {
	local e=$1 n=race_$1 st log stops
	popek_gdb "$n" --gdb-wait --engine "$e" --test-device --kernel "$PROG" --cpus 2 \
		--cmdline "smp=1 race=1" || return
	cat >"$TMP/$n.gdb" <<EOF
set confirm off
set pagination off
target remote 127.0.0.1:$PORT
hbreak test_main
continue
delete
awatch gdb_race
continue
printf "race stop thread=%d value=%ld\n", \$_thread, gdb_race
continue
printf "race stop thread=%d value=%ld\n", \$_thread, gdb_race
delete
continue
EOF
	gdb_batch "$n"
	st=$VM_STATUS
	log=$(cat "$TMP/$n.log")
	stops=$(grep '^race stop' <<<"$log" | sed 's/ value=.*//' | sort -u | tr '\n' '|')
	check "$e/race_both_watch_stops" "$stops" "race stop thread=1|race stop thread=2|"
	check "$e/race_exit" "$st" 43
}

smp_case soft
race_case soft
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	smp_case kvm
else
	echo "SKIP gdb_smp/kvm: no /dev/kvm"
fi
exit 0
