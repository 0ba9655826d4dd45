#!/bin/bash
# Boots the default Debian guest on the KVM engine, on 1 and 2 vCPUs with the
# host's CPU: runs the workload (lib/linux_workload.sh) against the host's
# answers, checks that Linux saw the host's vendor and found kvmclock, and
# powers off expecting status 0 and a kernel log without trouble. Skipped
# where /dev/kvm is absent, and where popek's --engine auto would not use it
# (a KVM too slow for Linux, such as the nested paravirtual one some of our
# machines have: FACTS.md): the verdict a user gets, taken from popek itself.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-120}
vm_default_guest linux_kvm
if [ ! -e /dev/kvm ]; then
	echo "SKIP linux_kvm: no /dev/kvm"
	exit 0
fi
# What --engine auto chooses here, and why (it measures KVM first).
vm_start run --kernel "$KERNEL" --initrd "$INITRD" --engine auto --log-level info
vm_wait "engine auto: using" 60
choice=$(grep -ao 'engine auto: using .*' "$VM_OUT" | head -1 | tr -d '\r')
vm_cleanup
if [ "$choice" != "engine auto: using kvm" ]; then
	echo "SKIP linux_kvm: popek would not use this KVM (${choice:-no answer from --engine auto within 60 s})"
	exit 0
fi
. tests/e2e/lib/linux_workload.sh
host_vendor=$(grep -m1 ^vendor_id /proc/cpuinfo | cut -d: -f2 | tr -d ' \t')

boot_and_check() { # tag cpus
	local tag=$1 cpus=$2
	vm_start run --kernel "$KERNEL" --initrd "$INITRD" --engine kvm --mem 512M --cpus "$cpus"
	vm_booted "$tag" "$BOOT_LIMIT" || return
	vm_ready 60 || echo "  $tag: the shell did not answer a marker within 60 s"
	workload_run
	vm_run clock 'echo "RESULT clock $(grep -ow kvm-clock /sys/devices/system/clocksource/clocksource0/available_clocksource)"'
	workload_check "$tag" "$cpus"
	check "$tag/vendor_id" "$(vm_result vendor)" "$host_vendor"
	check "$tag/kvmclock_available" "$(vm_result clock)" kvm-clock
	vm_send poweroff
	vm_wait_exit 60
	check "$tag/poweroff_status" "$VM_STATUS" 0
	check "$tag/clean_kernel_log" "$(kernel_log_trouble)" ""
	vm_cleanup
}

boot_and_check linux_kvm_1cpu 1
boot_and_check linux_kvm_2cpu 2
