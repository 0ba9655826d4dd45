#!/bin/bash
# virtio-blk and virtio-rng in one boot of the default guest on the soft engine:
# an ext4 disk is mounted, written and synced, then popek is killed with
# SIGKILL right after the guest's sync returned and the host reads the file
# back (nothing lost); a ,ro disk refuses raw writes and stays unchanged; a
# raw disk is discarded; /dev/hwrng delivers 1 MiB.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
vm_default_guest virtio_blk
for tool in mkfs.ext4 debugfs e2fsck; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP virtio_blk: $tool not installed (e2fsprogs)"
		exit 0
	fi
done

T=$(mktemp -d)
trap 'vm_cleanup 2>/dev/null; rm -rf "$T"' EXIT
DATA=$T/data.img RO=$T/ro.img RAW=$T/raw.img
mkfs.ext4 -q -F "$DATA" 64M >/dev/null 2>&1
head -c 4M /dev/urandom >"$RO"
head -c 4M /dev/urandom >"$RAW"
ro_sum=$(sha256sum <"$RO" | cut -d' ' -f1)
file_sum=$(seq 1 30000 | sha256sum | cut -d' ' -f1)

check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS $1"; else echo "FAIL $1: got '$2', wanted '$3'"; fi
}

vm_start run --kernel "$KERNEL" --initrd "$INITRD" --engine soft --mem 512M \
	--disk "$DATA,id=popek-data" --disk "$RO,ro" --disk "$RAW"
vm_booted virtio_blk "$BOOT_LIMIT" || exit 0

# Markers are built with $((...)) so that the echoed command line never matches.
vm_send 'echo "RESULT serial $(cat /sys/block/vda/serial)"'
vm_send 'echo "RESULT ro $(cat /sys/block/vda/ro)$(cat /sys/block/vdb/ro)$(cat /sys/block/vdc/ro)"'
vm_send 'echo "RESULT sizes $(cat /sys/block/vda/size) $(cat /sys/block/vdb/size)"'
vm_send 'echo "RESULT rng $(cat /sys/class/misc/hw_random/rng_current)"'
vm_send 'echo "RESULT hwrng $(dd if=/dev/hwrng bs=1k count=1024 2>/dev/null | wc -c)"'
vm_send 'echo "RESULT roread $(dd if=/dev/vdb bs=64k 2>/dev/null | sha256sum | cut -d" " -f1)"'
vm_send 'dd if=/dev/zero of=/dev/vdb bs=4k count=1 conv=fsync 2>/tmp/e; echo "RESULT rowrite $? $(head -n 1 /tmp/e)"'
vm_send 'blkdiscard /dev/vdc; echo "RESULT discard $?"'
vm_send 'mkdir -p /mnt/d && mount /dev/vda /mnt/d; echo "RESULT mount $?"'
vm_send 'seq 1 30000 >/mnt/d/f && fstrim /mnt/d; echo "RESULT fstrim $?"'
vm_send 'sync; echo "SYNC$((6 * 7))DONE"'
if ! vm_wait "SYNC42DONE" 600; then
	echo "FAIL virtio_blk/sync: the guest did not finish its commands"
	tail -n 20 "$VM_OUT" | tr -d '\r' | sed 's/^/    | /'
	exit 0
fi
kill -9 "$VM_PID"
wait "$VM_PID" 2>/dev/null

check virtio_blk/serial "$(vm_result serial)" popek-data
check virtio_blk/ro_flags "$(vm_result ro)" 010
check virtio_blk/capacity "$(vm_result sizes)" "131072 8192"
check virtio_rng/current "$(vm_result rng)" virtio_rng.0
check virtio_rng/read_1MiB "$(vm_result hwrng)" 1048576
check virtio_blk/ro_read "$(vm_result roread)" "$ro_sum"
# The guest kernel honours VIRTIO_BLK_F_RO (EPERM); the device's own IOERR
# for a write that gets past it is checked by tests/guest/virtio_blk_hostile.c.
got=$(vm_result rowrite)
case $got in
0* | "") echo "FAIL virtio_blk/ro_write_fails: dd to the ,ro disk: '$got'" ;;
*) echo "PASS virtio_blk/ro_write_fails (${got#* })" ;;
esac
check virtio_blk/ro_unchanged "$(sha256sum <"$RO" | cut -d' ' -f1)" "$ro_sum"
check virtio_blk/discard_status "$(vm_result discard)" 0
check virtio_blk/discard_zeroes "$(cmp -s <(head -c 4M /dev/zero) "$RAW" && echo zero)" zero
check virtio_blk/mount "$(vm_result mount)" 0
check virtio_blk/fstrim "$(vm_result fstrim)" 0

# The guest was killed without unmounting: replay the journal on a copy with
# e2fsck (0: clean, 1: fixed, e.g. journal recovered), then read the file.
cp "$DATA" "$T/check.img"
e2fsck -fy "$T/check.img" >"$T/fsck.log" 2>&1
rc=$?
if [ $rc -le 1 ]; then
	echo "PASS virtio_blk/fsck_after_kill"
else
	echo "FAIL virtio_blk/fsck_after_kill: e2fsck exit $rc: $(tail -n 3 "$T/fsck.log" | paste -sd ' ')"
fi
check virtio_blk/synced_file_survives_kill \
	"$(debugfs -R 'cat /f' "$T/check.img" 2>/dev/null | sha256sum | cut -d' ' -f1)" "$file_sum"
bad=$(tr -d '\r' <"$VM_OUT" | grep -aE 'BUG|WARNING|Oops|Kernel panic|blk_update_request|I/O error.*vd[ac]' | head -3)
check virtio_blk/clean_kernel_log "$bad" ""
popek_msgs=$(grep -a '^popek: ' "$VM_OUT" | grep -v 'received signal' | head -3)
check virtio_blk/no_popek_warnings "$popek_msgs" ""
