#!/bin/bash
# Memory devices in the default guest on the soft engine, configured as a
# Firecracker user does (a config file with "pmem" and "memory-hotplug"):
# virtio-pmem shows a host file as /dev/pmemN (its bytes read in the guest,
# the guest's writes and flush in the file; a read-only file never written),
# and virtio-mem grows the guest's memory when PATCH /hotplug/memory asks
# and shrinks it again, the host getting the pages back; a snapshot keeps
# both (restored in a new process: the plugged memory, the file's bytes).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
vm_default_guest memdev
TMP=$(mktemp -d)
trap 'vm_cleanup 2>/dev/null; rm -rf "$TMP"' EXIT
. tests/e2e/lib/api_curl.sh
check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS memdev/$1"; else echo "FAIL memdev/$1: got '$2', wanted '$3'"; fi
}
S=$TMP/api.sock
# pm.img: 5 MiB, not a multiple of 2 MiB (the device is padded to 6 MiB).
truncate -s 5M "$TMP/pm.img"
printf 'POPEK-PMEM-PATTERN' | dd of="$TMP/pm.img" conv=notrunc 2>/dev/null
truncate -s 2M "$TMP/ro.img"
printf 'READONLY-ORIGINAL!' | dd of="$TMP/ro.img" conv=notrunc 2>/dev/null
ro_sum=$(md5sum <"$TMP/ro.img")
cat >"$TMP/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$(realpath "$KERNEL")",
                  "initrd_path": "$(realpath "$INITRD")",
                  "boot_args": "console=ttyS0 panic=-1 cryptomgr.notests"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
  "pmem": [{"id": "pm0", "path_on_host": "$TMP/pm.img"},
           {"id": "ro1", "path_on_host": "$TMP/ro.img", "read_only": true}],
  "memory-hotplug": {"total_size_mib": 512}
}
EOF
vm_start --api-sock "$S" --config-file "$TMP/vm.json"
vm_booted memdev "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "FAIL memdev/shell: the shell does not answer"

api GET /vm/config
check vm_config "$(jq -c '[.pmem, ."memory-hotplug"]' <<<"$BODY")" \
	"[[{\"id\":\"pm0\",\"path_on_host\":\"$TMP/pm.img\",\"root_device\":false,\"read_only\":false,\"rate_limiter\":null},{\"id\":\"ro1\",\"path_on_host\":\"$TMP/ro.img\",\"root_device\":false,\"read_only\":true,\"rate_limiter\":null}],{\"total_size_mib\":512,\"block_size_mib\":2,\"slot_size_mib\":128}]"

# ---- virtio-pmem ----
vm_send 'echo "RESULT sizes $(cat /sys/block/pmem0/size) $(cat /sys/block/pmem1/size)"'
vm_send 'echo "RESULT pattern $(dd if=/dev/pmem0 bs=18 count=1 2>/dev/null)"'
vm_send 'printf GUEST-WROTE-THIS | dd of=/dev/pmem0 bs=4096 seek=1 conv=fsync 2>/dev/null; echo "RESULT wrote $?"'
vm_send 'printf OVERWRITTEN-BY-VM | dd of=/dev/pmem1 conv=fsync 2>/dev/null; echo 3 >/proc/sys/vm/drop_caches'
vm_send 'echo "RESULT roread $(dd if=/dev/pmem1 bs=18 count=1 2>/dev/null)"'
vm_send 'echo "DONE$((6 * 7))"'
if ! vm_wait "DONE42" 120; then
	echo "FAIL memdev/pmem_commands: the guest did not finish"
	tail -n 10 "$VM_OUT" | tr -d '\r' | sed 's/^/    | /'
	exit 0
fi
check pmem_sizes "$(vm_result sizes)" "12288 4096" # 512-byte sectors: 6 MiB, 2 MiB
check pmem_read "$(vm_result pattern)" POPEK-PMEM-PATTERN
check pmem_write_flush "$(vm_result wrote)" 0
check pmem_in_file "$(dd if="$TMP/pm.img" bs=4096 skip=1 count=1 2>/dev/null | head -c 16)" GUEST-WROTE-THIS
check pmem_file_size "$(stat -c %s "$TMP/pm.img")" 5242880
check pmem_read_only "$(md5sum <"$TMP/ro.img")" "$ro_sum"
check pmem_read_only_guest "$(vm_result roread)" "READONLY-ORIGINAL!" # writes dropped

# ---- virtio-mem ----
mem_total() { # the guest's MemTotal in MiB
	vm_send "echo \"RESULT memtot\"\"al$1 \$((\$(sed -n 's/MemTotal: *\\([0-9]*\\).*/\\1/p' /proc/meminfo) / 1024))\""
	vm_wait "RESULT memtotal$1 " 30
	vm_result "memtotal$1"
}
wait_plugged() { # MiB TIMEOUT
	local t0=$SECONDS
	while [ $((SECONDS - t0)) -lt "$2" ]; do
		api GET /hotplug/memory
		[ "$(jq -r .plugged_size_mib <<<"$BODY")" = "$1" ] && return 0
		sleep 1
	done
	return 1
}
rss_anon() { awk '/^RssAnon:/ {print $2}' "/proc/$VM_PID/status"; }
api GET /hotplug/memory
check hotplug_status "$(jq -c . <<<"$BODY")" \
	'{"total_size_mib":512,"block_size_mib":2,"slot_size_mib":128,"plugged_size_mib":0,"requested_size_mib":0}'
before=$(mem_total 0)
api PATCH /hotplug/memory '{"requested_size_mib": 3}'
check hotplug_not_block "$CODE $(jq -r .fault_message <<<"$BODY" | grep -o 'requested_size_mib: 3 is not a multiple of block_size_mib (2)')" \
	"400 requested_size_mib: 3 is not a multiple of block_size_mib (2)"
api PATCH /hotplug/memory '{"requested_size_mib": 1024}'
check hotplug_too_big "$CODE" 400
api PATCH /hotplug/memory '{"requested_size_mib": 256}'
check hotplug_plug "$CODE" 204
if wait_plugged 256 90; then echo "PASS memdev/plugged_256"; else echo "FAIL memdev/plugged_256: $BODY"; fi
after=$(mem_total 1)
grown=$((after - before))
if [ "$grown" -ge 240 ] && [ "$grown" -le 256 ]; then echo "PASS memdev/memtotal_grew"; else
	echo "FAIL memdev/memtotal_grew: MemTotal $before -> $after MiB"; fi
# The guest uses it: 320 MiB in a tmpfs fits only with the new memory.
vm_send 'mkdir -p /mnt/t && mount -t tmpfs -o size=400m tmpfs /mnt/t && dd if=/dev/zero of=/mnt/t/f bs=1M count=320 2>/dev/null; echo "RESULT fi""ll $?"'
vm_wait "RESULT fill " 180
check guest_uses_it "$(vm_result fill)" 0
rss_full=$(rss_anon)
vm_send 'rm /mnt/t/f; umount /mnt/t; echo "RESULT fr""eed $?"'
vm_wait "RESULT freed " 60
api PATCH /hotplug/memory '{"requested_size_mib": 0}'
if wait_plugged 0 120; then echo "PASS memdev/unplugged"; else echo "FAIL memdev/unplugged: $BODY"; fi
rss_after=$(rss_anon)
if [ $((rss_full - rss_after)) -ge $((150 * 1024)) ]; then echo "PASS memdev/host_got_pages_back"; else
	echo "FAIL memdev/host_got_pages_back: RssAnon $rss_full -> $rss_after KiB"; fi
check memtotal_back "$(mem_total 2)" "$before"

# ---- pre-boot resources after the start ----
api PUT /pmem/pm2 "{\"id\": \"pm2\", \"path_on_host\": \"$TMP/ro.img\"}"
check pmem_after_start "$CODE" 400
api PUT /hotplug/memory '{"total_size_mib": 128}'
check hotplug_after_start "$CODE" 400
api PATCH /pmem/pm0 '{"id": "pm0", "rate_limiter": {"ops": {"size": 10, "refill_time": 1000}}}'
check pmem_patch "$CODE $(curl -s --unix-socket "$S" http://localhost/vm/config | jq -c '.pmem[0].rate_limiter.ops')" \
	'204 {"size":10,"refill_time":1000}'

# ---- a snapshot keeps both devices ----
api PATCH /hotplug/memory '{"requested_size_mib": 128}'
if wait_plugged 128 90; then echo "PASS memdev/plugged_128"; else echo "FAIL memdev/plugged_128: $BODY"; fi
grown=$(mem_total 3)
vm_snapshot memdev "$S"
# The memory file is RAM and the hot-plug area: 256 + 512 MiB.
check snapshot_mem_file_size "$(stat -c %s "$TMP/s.mem" 2>/dev/null)" $((768 * 1048576))
log_clean memdev "$VM_OUT"
vm_cleanup
S=$TMP/api3.sock
vm_start --restore "$TMP/s.st" --mem-file "$TMP/s.mem" --api-sock "$S"
for _ in $(seq 100); do
	api GET /hotplug/memory
	[ "$CODE" = 200 ] && break
	sleep 0.1
done
check restored_hotplug "$CODE $(jq -c '[.plugged_size_mib, .requested_size_mib]' <<<"$BODY" 2>/dev/null)" "200 [128,128]"
vm_send 'echo "RESULT rest""ored $(dd if=/dev/pmem0 bs=4096 skip=1 count=1 2>/dev/null | head -c 16)"'
vm_wait "RESULT restored " 60
check restored_pmem "$(vm_result restored)" GUEST-WROTE-THIS
check restored_memtotal "$(mem_total 4)" "$grown"
api PATCH /hotplug/memory '{"requested_size_mib": 0}'
if wait_plugged 0 120; then echo "PASS memdev/restored_unplug"; else echo "FAIL memdev/restored_unplug: $BODY"; fi
vm_send 'poweroff -f'
vm_wait_exit 60
check restored_exit "$VM_STATUS" 0
log_clean memdev_restored "$VM_OUT"
# A pmem file whose size changed since the snapshot: one line, exit 1.
truncate -s 8M "$TMP/pm.img"
build/popek --restore "$TMP/s.st" --mem-file "$TMP/s.mem" >"$TMP/bad.out" 2>&1
check restore_pmem_resized "$? $(grep -c . "$TMP/bad.out") $(grep -o "pmem 'pm0': '[^']*' is 8388608 bytes, the snapshot's was 5242880" "$TMP/bad.out" | sed "s|$TMP/||")" \
	"1 1 pmem 'pm0': 'pm.img' is 8388608 bytes, the snapshot's was 5242880"

# ---- the same devices from the command line ----
vm_cleanup
S=$TMP/api2.sock
vm_start --kernel "$KERNEL" --initrd "$INITRD" --cmdline "console=ttyS0 panic=-1" --api-sock "$S" \
	--pmem "$TMP/ro.img,ro,root,id=rootfs" --mem-hotplug 128M,block=4M
vm_booted memdev_cli "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "FAIL memdev/cli_shell: the shell does not answer"
vm_send 'echo "RESULT c""li $(grep -o "root=[^ ]* r[ow]" /proc/cmdline) $(cat /sys/block/pmem0/size)"'
vm_wait "RESULT cli " 30
check cli_pmem_root "$(vm_result cli)" "root=/dev/pmem0 ro 4096"
api GET /hotplug/memory
check cli_hotplug "$(jq -c '[.total_size_mib, .block_size_mib]' <<<"$BODY")" "[128,4]"
vm_send 'poweroff -f'
vm_wait_exit 60
check cli_exit "$VM_STATUS" 0
log_clean memdev_cli "$VM_OUT"
