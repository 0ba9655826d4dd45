#!/bin/bash
# The default guest booted with acpi=off on the soft engine: popek builds an
# MP table instead of ACPI tables and appends the virtio-mmio devices to the
# command line (virtio_mmio.device=, for kernels with
# VIRTIO_MMIO_CMDLINE_DEVICES; the Debian kernel is built without it and
# without MPPARSE, so it runs on one CPU with the PIC and no virtio). Without
# ACPI, Linux ends a poweroff with "System halted": all vCPUs stop with
# interrupts off (the AP never got its SIPI), and popek must exit 0 then.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
vm_default_guest linux_noacpi
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
truncate -s 1M "$WORK/a.img" "$WORK/b.img"

check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS $1"; else echo "FAIL $1: got '$2', wanted '$3'"; fi
}

vm_start run --kernel "$KERNEL" --initrd "$INITRD" --engine soft --cpus 2 \
	--disk "$WORK/a.img" --disk "$WORK/b.img" --cmdline "console=ttyS0 panic=-1 acpi=off"
vm_booted linux_noacpi "$BOOT_LIMIT" || exit 0
vm_send 'echo "RESULT cmdline $(cat /proc/cmdline)"'
# No ACPI tables given, seen from the guest (Linux with acpi=off does not
# look for them, so its log proves nothing): the BIOS area 0xE0000-0xFFFFF,
# where popek puts the RSDP and its tables (include/popek/layout.h), holds no
# "RSD PTR " signature, and does hold the MP table's "_MP_", which shows that
# /dev/mem let the scan read it. (/sys/kernel/boot_params/data is no witness:
# its acpi_rsdp_addr reads 0 there even when popek passed an RSDP.)
vm_send 'dd if=/dev/mem bs=4096 skip=224 count=32 2>/dev/null | tr -c "A-Za-z_ " "\n" >/tmp/bios'
vm_send 'echo "RESULT bios_area rsdp=$(grep -c "RSD PTR " /tmp/bios) mp=$(grep -c _MP_ /tmp/bios)"'
vm_send 'echo "RESULT do""ne"'
vm_wait "RESULT done" 60 || echo "  (commands did not finish)"
# Two disks and the default rng, in slot order.
check linux_noacpi/virtio_on_cmdline "$(vm_result cmdline)" "console=ttyS0 panic=-1 acpi=off \
virtio_mmio.device=4K@0xd0000000:11 virtio_mmio.device=4K@0xd0001000:12 virtio_mmio.device=4K@0xd0002000:13"
check linux_noacpi/no_acpi_tables "$(vm_result bios_area)" "rsdp=0 mp=1"
t0=$SECONDS
vm_send 'poweroff'
vm_wait_exit 120
check linux_noacpi/halt_ends_popek "$VM_STATUS" 0
[ $((SECONDS - t0)) -lt 60 ] && echo "PASS linux_noacpi/halt_promptly" ||
	echo "FAIL linux_noacpi/halt_promptly: $((SECONDS - t0)) s"
check linux_noacpi/system_halted "$(tr -d '\r' <"$VM_OUT" | grep -ac 'reboot: System halted')" 1
vm_cleanup
