#!/bin/bash
# Boots the default Debian guest on the soft engine with each CPU vendor model
# (--cpu-vendor intel and amd, whatever the host is), on 1 and 2 vCPUs, with
# the translator (the default) and once without it (--soft-jit off), runs
# commands on its console, checks their results against the host's, checks
# that Linux took the vendor's own paths, found SMEP, SMAP, UMIP and PKU on
# every CPU and turned them on, and that the kernel log has no trouble, and
# powers off (1 vCPU) or reboots (2 vCPUs) expecting exit status 0. In
# make test-long, two more boots run under the translator's lockstep check.
# KVM's PV features: the 2-vCPU guests must log that they use them (PV
# spinlocks, PV IPIs, PV sched yield, PV TLB flush, steal time) and one sees
# /proc/stat's steal time move while the host is loaded; the AMD 2-vCPU boot
# runs with --no-pv, where Linux finds none and counts no steal time. (With
# one vCPU Linux uses none of them but steal time, and says only "PV
# spinlocks disabled, single CPU", whatever popek offers.)
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
. tests/e2e/lib/linux_workload.sh
vm_default_guest linux_soft
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}

# Loads both host CPUs for $1 seconds (and whatever else runs there); the
# loops' pids in HOST_BUSY.
host_busy() {
	local i
	HOST_BUSY=()
	for i in 1 2; do
		timeout "$1" sh -c 'while :; do :; done' &
		HOST_BUSY+=($!)
	done
}

# pv: "pv", "pv-load" (and the steal-time-under-load check) or "nopv" (--no-pv).
boot_and_check() { # tag vendor cpus stop-command pv [popek options...] (poweroff or reboot: both end popek with 0)
	local tag=$1 vendor=$2 cpus=$3 stop=$4 pv=$5 steal0 steal1
	shift 5
	[ "$pv" = nopv ] && set -- "$@" --no-pv
	# dyndbg: Linux's "kvm-guest: stealtime: cpu N" is a debug message.
	vm_start run --kernel "$KERNEL" --initrd "$INITRD" --engine soft --mem 512M --cpus "$cpus" \
		--cpu-vendor "$vendor" "$@" \
		--cmdline 'console=ttyS0 panic=-1 cryptomgr.notests dyndbg="file arch/x86/kernel/kvm.c +p"'
	vm_booted "$tag" "$BOOT_LIMIT" || return
	vm_ready 60 || echo "  $tag: the shell did not answer a marker within 60 s"
	workload_run
	# A trace of Linux's vendor-specific set-up: init_amd() marks the SYSRET SS-attributes bug, init_intel() never does.
	vm_run cpu0 'echo "RESULT cpu0 $(dmesg | grep -o "smpboot: CPU0: [A-Za-z]*" | cut -d" " -f3)"'
	vm_run amdbug 'echo "RESULT amdbug $(grep -c "^bugs.*sysret_ss_attrs" /proc/cpuinfo)"'
	# Hardening (SDM Vol. 3A 4.6, 2.5): the flags of CPU 0, Linux's report of
	# CR4.UMIP, and (below) how many CPUs show all five flags. ospke is
	# Linux's mark that it set CR4.PKE; SMEP and SMAP it sets whenever their
	# flags are there (arch/x86/kernel/cpu/common.c).
	vm_run hard 'echo "RESULT hard $(grep -m1 ^flags /proc/cpuinfo | tr " " "\n" | grep -xE "smep|smap|umip|pku|ospke" | sort | xargs)"'
	vm_run umip 'echo "RESULT umip $(dmesg | grep -c "User Mode Instruction Prevention (UMIP) activated")"'
	if [ "$cpus" -gt 1 ]; then # CPU hot-plug: the AP halts with IF=0, then INIT/SIPI
		vm_run off 'echo 0 >/sys/devices/system/cpu/cpu1/online; echo "RESULT off $(cat /sys/devices/system/cpu/online)"'
		vm_run on 'echo 1 >/sys/devices/system/cpu/cpu1/online; echo "RESULT on $(cat /sys/devices/system/cpu/online)"'
	fi
	# What Linux says about KVM's PV features (arch/x86/kernel/kvm.c).
	vm_run pvspin 'echo "RESULT pvspin $(dmesg | grep -o "kvm-guest: PV spinlocks [A-Za-z, ]*" | cut -d" " -f4- | head -1)"'
	vm_run pvfeat 'echo "RESULT pvfeat $(dmesg | grep -oE "kvm-guest: (setup PV IPIs|setup PV sched yield|KVM setup pv remote TLB flush)" | sort -u | wc -l)"'
	vm_run stealtime 'echo "RESULT stealtime $(dmesg | grep -c "kvm-guest: stealtime: cpu")"'
	if [ "$pv" = pv-load ]; then # both vCPUs busy 5 s while the host's CPUs are too
		vm_send 's0=$(awk "/^cpu /{print \$9}" /proc/stat); for i in 1 2; do timeout 5 sh -c "while :; do :; done" & done; wait; echo "RESULT ste""al $s0 $(awk "/^cpu /{print \$9}" /proc/stat)"'
		host_busy 8
		vm_wait "RESULT steal" 300 || echo "  (the steal measurement did not finish)"
		wait "${HOST_BUSY[@]}"
	fi
	vm_run stealticks 'echo "RESULT stealticks $(awk "/^cpu /{print \$9}" /proc/stat)"'
	# (after the hot-plug, so that the CPU brought back counts too)
	vm_run hardcpus 'echo "RESULT hardcpus $(grep ^flags /proc/cpuinfo | grep -w smep | grep -w smap | grep -w umip | grep -w pku | grep -cw ospke)"'
	vm_send 'echo "RESULT do""ne"' # the typed line must not match the marker
	vm_wait "RESULT done" 600 || echo "  (commands did not finish)"
	workload_check "$tag" "$cpus"
	if [ "$vendor" = amd ]; then
		check "$tag/vendor_id" "$(vm_result vendor)" AuthenticAMD
		check "$tag/linux_amd_path" "$(vm_result cpu0) $(vm_result amdbug)" "AMD $cpus"
	else
		check "$tag/vendor_id" "$(vm_result vendor)" GenuineIntel
		check "$tag/linux_intel_path" "$(vm_result cpu0) $(vm_result amdbug)" "Intel 0"
	fi
	check "$tag/hardening_flags" "$(vm_result hard)" "ospke pku smap smep umip"
	check "$tag/hardening_all_cpus" "$(vm_result hardcpus)" "$cpus"
	check "$tag/umip_activated" "$(vm_result umip)" 1
	if [ "$cpus" -gt 1 ]; then
		check "$tag/cpu1_offline" "$(vm_result off)" 0
		check "$tag/cpu1_online_again" "$(vm_result on)" "0-$((cpus - 1))"
	fi
	if [ "$pv" = nopv ]; then
		check "$tag/no_pv_features" "$(vm_result pvspin) $(vm_result pvfeat) $(vm_result stealtime)" \
			"disabled, no host support 0 0"
		check "$tag/no_pv_steal" "$(vm_result stealticks)" 0
	elif [ "$cpus" -gt 1 ]; then
		check "$tag/pv_spinlocks" "$(vm_result pvspin)" enabled
		check "$tag/pv_ipi_yield_tlb_flush" "$(vm_result pvfeat)" 3
		# cpu 1 registers after dyndbg is on (at boot and when back online).
		check "$tag/pv_steal_time" "$([ "$(vm_result stealtime)" -ge 1 ] 2>/dev/null && echo yes)" yes
	else
		check "$tag/pv_spinlocks" "$(vm_result pvspin)" "disabled, single CPU"
	fi
	if [ "$pv" = pv-load ]; then
		read -r steal0 steal1 <<<"$(vm_result steal)"
		if [ -n "${steal1:-}" ] && [ "$((steal1 - steal0))" -gt 10 ] 2>/dev/null; then
			echo "PASS $tag/steal_moves_under_load ($steal0 -> $steal1 ticks)"
		else
			echo "FAIL $tag/steal_moves_under_load: /proc/stat steal '$steal0' -> '${steal1:-}' ticks, wanted more than 10 more"
		fi
	fi
	vm_send "$stop"
	vm_wait_exit 120
	check "$tag/${stop}_status" "$VM_STATUS" 0
	check "$tag/clean_kernel_log" \
		"$(kernel_log_trouble 'TSC unstable|calibrat.*fail|Unable to calibrate|unchecked MSR|Firmware Bug')" ""
	if [ -n "${POPEK_SOFT_LOCKSTEP:-}" ]; then # (--log-level info) each vCPU says what it checked
		checked=$(grep -ao 'lockstep check: [0-9]* translated runs checked' "$VM_OUT" | awk '{ print ($3 > 1000000) ? "many" : $3 }' | sort -u | xargs)
		check "$tag/lockstep_checked_no_difference" "$checked $(grep -ac 'differs from the interpreter' "$VM_OUT")" "many 0"
	fi
	if grep -aq 'popek: .*#UD' "$VM_OUT"; then
		echo "  $tag: note: $(grep -a 'popek: .*#UD' "$VM_OUT" | head -3 | tr '\n' ' ')"
	fi
	vm_cleanup
}

# The translator is on by default; one boot keeps the interpreter alone tested.
boot_and_check linux_soft_1cpu_intel_interp intel 1 poweroff pv --soft-jit off
boot_and_check linux_soft_1cpu_amd amd 1 poweroff pv
# A reboot without firmware: Linux on hardware-reduced ACPI without EFI jumps
# to the reset vector, where popek's stub writes the ACPI reset register.
boot_and_check linux_soft_2cpu_intel intel 2 reboot pv-load
boot_and_check linux_soft_2cpu_amd_nopv amd 2 reboot nopv
# The lockstep check (jit/lockstep.h): every translated run compared with the
# interpreter's, on 1 and 2 vCPUs; a difference stops popek. About 20 times
# slower: make test-long only.
if [ -n "${POPEK_TEST_LONG:-}" ]; then
	export POPEK_SOFT_LOCKSTEP=1
	BOOT_LIMIT=1200
	boot_and_check linux_soft_1cpu_intel_lockstep intel 1 poweroff pv --log-level info
	boot_and_check linux_soft_2cpu_amd_lockstep amd 2 reboot pv --log-level info
	unset POPEK_SOFT_LOCKSTEP
fi
