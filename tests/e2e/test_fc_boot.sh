#!/bin/bash
# The default guest booted as a Firecracker user boots it: popek started
# under the name `firecracker` with Firecracker's flags only (--api-sock,
# --config-file, --id) and a config file written for Firecracker (no popek
# field). The guest sees the CPU template's CPUID and each drive's cache_type (Writeback: a write-back
# cache, the guest flushes; Unsafe: write-through, no flush offered), the
# API answers as Firecracker's while it runs, and SendCtrlAltDel shuts the
# guest down (popek exits 0).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
vm_default_guest fc_boot
BIN=${POPEK:-build/popek}

T=$(mktemp -d)
trap 'vm_cleanup 2>/dev/null; rm -rf "$T"' EXIT
check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS fc_boot/$1"; else echo "FAIL fc_boot/$1: got '$2', wanted '$3'"; fi
}
mkdir -p "$T/bin"
ln -s "$(realpath "$BIN")" "$T/bin/firecracker"
truncate -s 8M "$T/wb.img"
truncate -s 8M "$T/unsafe.img"
S=$T/fc.sock
cat >"$T/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$(realpath "$KERNEL")",
                  "initrd_path": "$(realpath "$INITRD")",
                  "boot_args": "console=ttyS0 panic=-1 cryptomgr.notests"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256, "smt": false,
                     "track_dirty_pages": false},
  "drives": [
    {"drive_id": "wb", "path_on_host": "$T/wb.img", "is_root_device": false,
     "is_read_only": false, "cache_type": "Writeback", "io_engine": "Sync"},
    {"drive_id": "unsafe", "path_on_host": "$T/unsafe.img", "is_root_device": false,
     "is_read_only": false}
  ],
  "entropy": {},
  "cpu-config": {"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [
    {"register": "ecx", "bitmap": "0bxxxxxxxx0xxxxxxxxxxxxxxxxxxxxxxx"}]}]},
  "logger": {"level": "Warning"}
}
EOF
grep -qE '"(engine|cpu_vendor|pv|soft_jit|mode|hostfwd)"' "$T/vm.json" &&
	echo "FAIL fc_boot/config_is_firecrackers: a popek field in the config file"

POPEK=$T/bin/firecracker vm_start --api-sock "$S" --config-file "$T/vm.json" --id fc-boot
vm_booted fc_boot "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "FAIL fc_boot/shell: the shell does not answer"

api() { curl -s -m 20 --unix-socket "$S" "http://localhost$1"; }
check state "$(api / | jq -r '.state + " " + .id')" "Running fc-boot"
check drives_cache "$(api /vm/config | jq -r '[.drives[] | .drive_id + ":" + .cache_type + ":" + .io_engine] | join(" ")')" \
	"wb:Writeback:Sync unsafe:Unsafe:Sync"
check version "$(api /version | jq -r .firecracker_version)" 1.17.0-dev

# The guest's view of the caches (virtio_blk: VIRTIO_BLK_F_FLUSH -> write back).
vm_send 'echo "RESULT cache $(cat /sys/block/vda/queue/write_cache)/$(cat /sys/block/vdb/queue/write_cache)"'
vm_send 'echo "RESULT serial $(cat /sys/block/vda/serial) $(cat /sys/block/vdb/serial)"'
vm_send 'dd if=/dev/zero of=/dev/vda bs=4k count=4 conv=fsync 2>/dev/null; echo "RESULT wbsync $?"'
vm_send 'dd if=/dev/zero of=/dev/vdb bs=4k count=4 conv=fsync 2>/dev/null; echo "RESULT unsafesync $?"'
# The template cleared CPUID.1:ECX[23]: no popcnt for the guest (sse4_2 stays).
vm_send 'echo "RESULT cpu $(grep -c -w popcnt /proc/cpuinfo) $(grep -c -w sse4_2 /proc/cpuinfo)"'
vm_send 'echo "DONE$((6 * 7))"'
if ! vm_wait "DONE42" 120; then
	echo "FAIL fc_boot/commands: the guest did not finish its commands"
	tail -n 10 "$VM_OUT" | tr -d '\r' | sed 's/^/    | /'
	exit 0
fi
check guest_cache "$(vm_result cache)" "write back/write through"
check guest_serials "$(vm_result serial)" "wb unsafe"
check flush_writeback "$(vm_result wbsync)" 0
check flush_unsafe "$(vm_result unsafesync)" 0
check cpu_template "$(vm_result cpu)" "0 1"

# Firecracker's way to stop a guest: SendCtrlAltDel; the default guest's
# init shuts down and popek ends with 0.
code=$(curl -s -m 20 --unix-socket "$S" -X PUT -o /dev/null -w '%{http_code}' \
	-d '{"action_type": "SendCtrlAltDel"}' http://localhost/actions)
check ctrl_alt_del "$code" 204
vm_wait_exit 60
check exit_status "$VM_STATUS" 0
popek_msgs=$(grep -a '^popek: ' "$VM_OUT" | head -3)
check no_popek_warnings "$popek_msgs" ""
