#!/bin/bash
# Guest-side virtio-blk throughput, popek soft vs QEMU TCG, same kernel,
# initramfs and a fresh 128 MiB raw image each: sequential 1 MiB write and
# read (MiB/s) and random 4 KiB reads (IOPS), measured in the guest by
# guest/tools/disk_bench.c with O_DIRECT. Prints one table.
set -u
cd "$(dirname "$0")/.."
. tests/e2e/lib/vm_console.sh
KERNEL=build/guest/vmlinuz INITRD=build/guest/initramfs.cpio.gz
IMG=$(mktemp /tmp/popek-bench-disk.XXXXXX)
trap 'rm -f "$IMG"' EXIT

run_guest() { # label; the VM command is in "$@" after the label
	local label=$1
	shift
	truncate -s 0 "$IMG"
	truncate -s 128M "$IMG"
	POPEK=$1
	shift
	vm_start "$@"
	if ! vm_wait "popek:/root# " 300; then
		echo "$label: no shell prompt" >&2
		vm_cleanup
		return
	fi
	vm_send 'disk_bench /dev/vda 64 5; echo RESULT do""ne' # typed line must not match
	vm_wait "RESULT done" 300
	printf '%-26s %10s %10s %10s\n' "$label" "$(vm_result seq_write_mibs)" \
		"$(vm_result seq_read_mibs)" "$(vm_result rand_read_iops)"
	vm_send 'poweroff'
	vm_wait_exit 60
	vm_cleanup
}

echo "== virtio-blk in the guest (128 MiB raw image; disk_bench, O_DIRECT)"
printf '%-26s %10s %10s %10s\n' "" "write MiB/s" "read MiB/s" "4K rd IOPS"
run_guest "popek --engine soft" build/popek run --kernel "$KERNEL" --initrd "$INITRD" \
	--mem 256M --engine soft --disk "$IMG"
run_guest "qemu -accel tcg (microvm)" qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on \
	-accel tcg -cpu max -m 256M -nographic -no-reboot -kernel "$KERNEL" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 cryptomgr.notests tsc_early_khz=2000000" \
	-drive id=d0,file="$IMG",format=raw,if=none,cache=none -device virtio-blk-device,drive=d0
