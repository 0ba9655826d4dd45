# The workload the Linux boot tests (test_linux_soft.sh, test_linux_kvm.sh)
# run at the default guest's shell, with the host's answers to check it by.
# Source after vm_console.sh; the guest must be at its prompt (vm_ready).

host_sha=$(seq 1 200000 | sha256sum | cut -d' ' -f1)
host_awk=$(awk 'BEGIN { s = 0; for (i = 1; i <= 2000; i++) s += i * 1.5 / 3.7 + 1 / i; printf "%.9f", s }')
host_sort=$(seq 1 100000 | awk '{ print ($1 * 7919) % 100003 }' | sort -n | sha256sum | cut -d' ' -f1)

# vm_run NAME COMMAND: types one command and waits for its "RESULT NAME" line.
# Lines typed ahead arrive while a command runs and the tty's echo of them
# can land in the middle of its output ("... | grep RESULT uname 6.1.0-...",
# seen now and then on 2 vCPUs, on main too), so the next line goes only
# once the shell has answered.
vm_run() {
	local t0=$SECONDS
	vm_send "$2"
	until tr -d '\r' <"$VM_OUT" | grep -aq "^RESULT $1 "; do
		kill -0 "$VM_PID" 2>/dev/null || return 1
		[ $((SECONDS - t0)) -ge 600 ] && return 1
		sleep 0.2
	done
}

# Runs the workload: the kernel's release, sha256 of a sequence, floating
# point in awk, a sort of 100k lines, the CPUs online, and the CPU vendor
# Linux saw (for the caller to check). workload_check checks the rest.
workload_run() {
	vm_run uname 'echo "RESULT uname $(uname -r)"'
	vm_run sha 'echo "RESULT sha $(seq 1 200000 | sha256sum | cut -d" " -f1)"'
	vm_run awk "awk 'BEGIN { s = 0; for (i = 1; i <= 2000; i++) s += i * 1.5 / 3.7 + 1 / i; printf \"RESULT awk %.9f\\n\", s }'"
	vm_run sort "echo \"RESULT sort \$(seq 1 100000 | awk '{ print (\$1 * 7919) % 100003 }' | sort -n | sha256sum | cut -d' ' -f1)\""
	vm_run cpus 'echo "RESULT cpus $(grep -c ^processor /proc/cpuinfo)"'
	vm_run vendor 'echo "RESULT vendor $(grep -m1 ^vendor_id /proc/cpuinfo | cut -d: -f2 | tr -d " \t")"'
}

workload_check() { # tag cpus
	check "$1/uname" "$(vm_result uname)" "$(cat build/guest/kernel-release)"
	check "$1/sha256sum" "$(vm_result sha)" "$host_sha"
	check "$1/awk_float" "$(vm_result awk)" "$host_awk"
	check "$1/sort_100k" "$(vm_result sort)" "$host_sort"
	check "$1/cpus_online" "$(vm_result cpus)" "$2"
}

# The kernel's log lines that mean trouble, at most 3 (PATTERN: what else counts).
# The clocksource watchdog's "read-back delay ... clock-skew test skipped"
# is not: it says the VM was not scheduled for a while (a loaded host) and
# that it therefore did not judge the clock.
kernel_log_trouble() { # [extra-pattern]
	tr -d '\r' <"$VM_OUT" | grep -aE "BUG|WARNING|Oops|Kernel panic${1:+|$1}" |
		grep -av "clock-skew test skipped" | head -3
}
