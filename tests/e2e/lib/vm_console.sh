# Helpers for end-to-end tests that drive a guest through its serial console.
# Source this file; it defines vm_start, vm_wait, vm_send, vm_wait_exit.
# The VM's console output accumulates in $VM_OUT; input goes through a fifo.

# vm_default_guest NAME: KERNEL and INITRD are the default guest's (make
# guest); without it, "SKIP NAME" and the script ends.
vm_default_guest() {
	KERNEL=build/guest/vmlinuz INITRD=build/guest/initramfs.cpio.gz
	if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then
		echo "SKIP $1: default guest not built (make guest)"
		exit 0
	fi
}

vm_start() { # args: popek arguments...
	VM_DIR=$(mktemp -d)
	VM_OUT=$VM_DIR/console.log
	mkfifo "$VM_DIR/in"
	"${POPEK:-build/popek}" "$@" <"$VM_DIR/in" >"$VM_OUT" 2>&1 &
	VM_PID=$!
	exec {VM_IN}>"$VM_DIR/in"
}

# vm_wait PATTERN TIMEOUT: waits until the console output contains the
# fixed string PATTERN; returns 1 on timeout or if popek exited first.
vm_wait() {
	local pattern=$1 limit=$2 t0=$SECONDS
	while ! grep -aqF -- "$pattern" "$VM_OUT"; do
		if ! kill -0 "$VM_PID" 2>/dev/null; then
			grep -aqF -- "$pattern" "$VM_OUT" && return 0
			return 1
		fi
		[ $((SECONDS - t0)) -ge "$limit" ] && return 1
		sleep 0.2
	done
}

# vm_booted NAME LIMIT: waits for the default guest's shell prompt and says
# "PASS NAME/boot"; else "FAIL NAME/boot" with popek's own lines and the
# console's last ones, ends the VM and returns 1.
vm_booted() {
	if vm_wait "popek:/root# " "$2"; then
		echo "PASS $1/boot"
		return 0
	fi
	echo "FAIL $1/boot: no shell prompt within ${2}s"
	tr -d '\r' <"$VM_OUT" | grep -a 'popek: ' | head -5 | sed 's/^/    | /'
	tail -n 20 "$VM_OUT" | tr -d '\r' | sed 's/^/    | /'
	vm_cleanup
	return 1
}

vm_send() { # one line of input
	printf '%s\n' "$1" >&"$VM_IN"
}

# vm_ready TIMEOUT: after the first prompt, makes sure the shell takes input.
# busybox ash asks the terminal for the cursor position (ESC [6n) as it
# starts; a line typed while it waits for the answer can be eaten, so this
# retypes a marker until the shell answers it.
vm_ready() {
	local limit=$1 t0=$SECONDS n=0
	while [ $((SECONDS - t0)) -lt "$limit" ]; do
		n=$((n + 1))
		vm_send "echo \"RESULT rea\"\"dy$n\"" # the typed line must not match
		vm_wait "RESULT ready$n" 10 && return 0
	done
	return 1
}

# vm_wait_exit TIMEOUT: waits for popek to end; sets VM_STATUS (124 on timeout).
vm_wait_exit() {
	local limit=$1 t0=$SECONDS
	while kill -0 "$VM_PID" 2>/dev/null; do
		if [ $((SECONDS - t0)) -ge "$limit" ]; then
			kill -9 "$VM_PID" 2>/dev/null
			wait "$VM_PID" 2>/dev/null
			VM_STATUS=124
			return
		fi
		sleep 0.2
	done
	wait "$VM_PID"
	VM_STATUS=$?
}

vm_cleanup() {
	[ -n "${VM_IN:-}" ] && exec {VM_IN}>&-
	kill -9 "$VM_PID" 2>/dev/null
	wait "$VM_PID" 2>/dev/null
	rm -rf "$VM_DIR"
}

# The value printed by the guest as "RESULT name value" (last one wins).
vm_result() {
	tr -d '\r' <"$VM_OUT" | sed -n "s/^RESULT $1 //p" | tail -1
}

# check NAME GOT WANT: "PASS NAME" when GOT is WANT, else "FAIL NAME" with both.
check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS $1"; else echo "FAIL $1: got '$2', wanted '$3'"; fi
}

# vm_snapshot NAME SOCK: pauses the VM behind the API socket SOCK and
# snapshots it into $TMP/s.st and $TMP/s.mem with popek ctl: "PASS
# NAME/snapshot", or FAIL with what ctl said.
vm_snapshot() {
	if build/popek ctl --sock "$2" pause >/dev/null 2>"$TMP/ctl" &&
		build/popek ctl --sock "$2" snapshot create "$TMP/s.st" "$TMP/s.mem" >/dev/null 2>>"$TMP/ctl" &&
		[ ! -s "$TMP/ctl" ]; then
		echo "PASS $1/snapshot"
	else
		echo "FAIL $1/snapshot: $(head -c 300 "$TMP/ctl")"
	fi
}
