#!/bin/bash
# The GDB stub (issue 14) driven by the real gdb in batch mode, on the soft
# engine (and KVM where /dev/kvm works): a guest program with symbols
# (tests/guest/gdb_target.c): break on
# a function, info registers, step, x/4i, a watchpoint that fires on a
# write, a register changed so that the exit status changes; its hostile
# input (tests/e2e/gdb_hostile.py: bad checksums, huge lengths, addresses
# outside the guest, Ctrl-C, threads); and the default Linux guest stopped
# at start_kernel by --gdb-wait (its address read from /proc/kallsyms of a
# first boot: Debian's System.map is a placeholder), then let go to its shell.
# Environment: POPEK (default build/asan/popek).
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
PROG=tests/guest/build/gdb_target.elf
. tests/e2e/lib/scratch.sh
GROUP=gdb
. tests/e2e/lib/gdb_setup.sh

# 1. The guest program, stopped before its first instruction; on each engine.
prog_case() { # engine
	local e=$1 n=prog_$1 log st after add
	popek_gdb "$n" --engine "$e" --test-device --kernel "$PROG" --gdb-wait
	cat >"$TMP/$n.gdb" <<EOF
set confirm off
set pagination off
target remote 127.0.0.1:$PORT
info threads
break gdb_add
continue
info registers rip rdi
x/4i \$pc
stepi
printf "after stepi pc=%#lx\n", \$pc
watch gdb_counter
continue
set \$rdi = 40
delete
continue
EOF
	timeout 120 gdb -nx -batch -x "$TMP/$n.gdb" tests/guest/build/gdb_target.elf64 >"$TMP/$n.log" 2>&1
	timeout 30 tail --pid="$VM" -f /dev/null
	wait "$VM"
	st=$?
	log=$(cat "$TMP/$n.log")
	grep -q 'Thread 1 (vCPU 0)' <<<"$log" && pass "$e/threads" || fail "$e/threads" "$(grep -m1 Thread <<<"$log")"
	grep -q 'Breakpoint 1, gdb_add (a=a@entry=20, b=b@entry=1)' <<<"$log" && pass "$e/break_function" ||
		fail "$e/break_function" "$(tail -5 "$TMP/$n.log" | tr '\n' '|')"
	add=$(nm tests/guest/build/gdb_target.elf64 | awk '$3 == "gdb_add" { print $1 }' | sed 's/^0*//')
	grep -Eq "^rip +0x$add +0x$add <gdb_add>" <<<"$log" && pass "$e/info_registers_rip" ||
		fail "$e/info_registers_rip" "$(grep -m1 '^rip' <<<"$log")"
	grep -Eq '^rdi +0x14 +20' <<<"$log" && pass "$e/info_registers_rdi" ||
		fail "$e/info_registers_rdi" "$(grep -m1 '^rdi' <<<"$log")"
	[ "$(grep -c '^   0x\|^=> 0x' <<<"$log")" = 4 ] && pass "$e/x_4i" || fail "$e/x_4i" "$(grep -c '0x' <<<"$log") lines"
	# The first instruction of gdb_add is 7 bytes long (mov rip-relative).
	after=$(printf '%#x' $((0x$add + 7)))
	grep -q "after stepi pc=$after" <<<"$log" && pass "$e/stepi" ||
		fail "$e/stepi" "$(grep -m1 'after stepi' <<<"$log"), want $after"
	grep -q 'Hardware watchpoint 2: gdb_counter' <<<"$log" && grep -q 'New value = 23' <<<"$log" &&
		pass "$e/watchpoint_write" || fail "$e/watchpoint_write" "$(grep -A3 'Old value' <<<"$log" | tr '\n' '|')"
	# rdi 40 at gdb_add: debug_exit(41), status 83 (43 untouched).
	grep -q 'exited with code 0123' <<<"$log" && pass "$e/exit_reported" ||
		fail "$e/exit_reported" "$(tail -2 "$TMP/$n.log" | tr '\n' '|')"
	check "$e/register_changed_exit_status" "$st" 83
}
prog_case soft
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	prog_case kvm
else
	echo "SKIP gdb/kvm: no /dev/kvm"
fi

# 2. Hostile packets, Ctrl-C and two vCPUs, without gdb.
popek_gdb hostile --engine soft --test-device --kernel "$PROG" --gdb-wait --cpus 2 --cmdline "spin=1"
python3 tests/e2e/gdb_hostile.py "$PORT"
kill "$VM" 2>/dev/null
wait "$VM" 2>/dev/null

# 3. Without --gdb-wait the program runs; without --gdb, --gdb-wait is an error.
"$POPEK" run --engine soft --test-device --kernel "$PROG" --gdb "tcp:$(free_port)" >/dev/null 2>&1
check runs_without_debugger "$?" 43
out=$("$POPEK" run --engine soft --test-device --kernel "$PROG" --gdb-wait 2>&1)
check wait_needs_gdb "$?:$out" "1:popek: error: --gdb-wait: needs --gdb ADDRESS (where the debugger connects)"
out=$("$POPEK" run --engine soft --test-device --kernel "$PROG" --gdb nowhere 2>&1)
check bad_address "$?:$(head -1 <<<"$out")" \
	"1:popek: error: --gdb 'nowhere': not unix:PATH or tcp:[ADDRESS:]PORT (an IP address)"

# 4. Linux: stopped at start_kernel, then on to the shell.
KERNEL=build/guest/vmlinuz INITRD=build/guest/initramfs.cpio.gz
if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then
	echo "SKIP gdb/linux: default guest not built (make guest)"
	exit 0
fi
LPOPEK=${POPEK_LINUX:-build/popek} # the sanitizers' build is too slow to boot Linux here
. tests/e2e/lib/vm_console.sh
POPEK=$LPOPEK vm_start run --engine soft --kernel "$KERNEL" --initrd "$INITRD" --mem 256M \
	--cmdline "console=ttyS0 nokaslr"
if vm_wait "popek guest ready" 120; then
	vm_send 'echo "SK $(grep " T start_kernel$" /proc/kallsyms | cut -d" " -f1)"'
	vm_wait "SK ffff" 20
	SK=$(grep -ao 'SK ffff[0-9a-f]*' "$VM_OUT" | head -1 | cut -d' ' -f2)
fi
vm_cleanup
if [ -z "${SK:-}" ]; then
	fail linux_kallsyms "no start_kernel in /proc/kallsyms"
	exit 0
fi
PORT=$(free_port)
POPEK_LOG=info "$LPOPEK" run --engine soft --kernel "$KERNEL" --initrd "$INITRD" --mem 256M \
	--cmdline "console=ttyS0 nokaslr" --gdb "tcp:$PORT" --gdb-wait \
	>"$TMP/linux.out" 2>"$TMP/linux.err" </dev/null &
VM=$!
PIDS+=("$VM")
wait_for "$TMP/linux.err" "gdb: waiting for a debugger" 20
cat >"$TMP/linux.gdb" <<EOF
set confirm off
set pagination off
set architecture i386:x86-64
target remote 127.0.0.1:$PORT
break *0x$SK
continue
bt 1
printf "pc=%lx\n", \$pc
delete
detach
EOF
timeout 300 gdb -nx -batch -x "$TMP/linux.gdb" >"$TMP/linux.log" 2>&1
log=$(cat "$TMP/linux.log")
grep -q "pc=$SK" <<<"$log" && pass linux_break_start_kernel ||
	fail linux_break_start_kernel "$(tail -4 "$TMP/linux.log" | tr '\n' '|')"
grep -Eq "^#0 +0x0*$SK in" <<<"$log" && pass linux_backtrace ||
	fail linux_backtrace "$(grep -m1 '^#0' <<<"$log")"
if wait_for "$TMP/linux.out" "popek guest ready" 180; then
	pass linux_continues_to_shell
else
	fail linux_continues_to_shell "$(tail -3 "$TMP/linux.out" | tr '\n' '|')"
fi
kill "$VM" 2>/dev/null
wait "$VM" 2>/dev/null
exit 0
