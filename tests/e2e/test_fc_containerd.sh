#!/bin/bash
# The default guest started through the API as firecracker-containerd starts
# Firecracker (issue 13): popek under the name `firecracker --api-sock`,
# then PUT /serial, /machine-config, /boot-source, /drives, /network-interfaces,
# /vsock, /mmds/config, /mmds and InstanceStart; the guest reads the MMDS data
# with wget, and a drive is PATCHed to a bigger image while the guest runs
# (the guest sees the new size). The one field Firecracker lacks is the
# interface's "mode": "user" (no tap outside a namespace of the test's own).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
. tests/e2e/lib/api_curl.sh
POPEK=${POPEK:-build/popek}
vm_default_guest fc_containerd
if ! command -v curl >/dev/null; then
	echo "SKIP fc_containerd: curl is needed for the API"
	exit 0
fi
. tests/e2e/lib/scratch.sh
trap '[ -n "${VM_PID:-}" ] && vm_cleanup; cleanup' EXIT

check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS fc_containerd/$1"; else echo "FAIL fc_containerd/$1: got '$2', wanted '$3'"; fi
}
S=$TMP/fc.sock
expect() { # name METHOD PATH BODY CODE
	api "$2" "$3" "$4"
	check "$1" "$CODE" "$5"
	[ "$CODE" = "$5" ] || echo "    | $BODY"
}

ln -s "$(realpath "$POPEK")" "$TMP/firecracker"
truncate -s 1M "$TMP/data1.img"
truncate -s 2M "$TMP/data2.img"
vm_start_fc() {
	VM_DIR=$(mktemp -d)
	mkfifo "$VM_DIR/in"
	"$TMP/firecracker" --api-sock "$S" <"$VM_DIR/in" >"$TMP/fc.out" 2>&1 &
	VM_PID=$!
	exec {VM_IN}>"$VM_DIR/in"
	VM_OUT=$TMP/serial.log # PUT /serial sends the console there
}
vm_start_fc
for _ in $(seq 1 100); do
	[ -S "$S" ] && break
	sleep 0.1
done

expect serial PUT /serial "{\"serial_out_path\": \"$TMP/serial.log\"}" 204
expect machine_config PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}' 204
expect boot_source PUT /boot-source "{\"kernel_image_path\": \"$(realpath "$KERNEL")\",
	\"initrd_path\": \"$(realpath "$INITRD")\", \"boot_args\": \"console=ttyS0 panic=-1\"}" 204
expect drive PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/data1.img\",
	\"is_root_device\": false, \"is_read_only\": false}" 204
expect network PUT /network-interfaces/eth0 '{"iface_id": "eth0", "guest_mac": "06:00:ac:10:00:02", "mode": "user"}' 204
expect vsock PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}" 204
expect mmds_config PUT /mmds/config '{"network_interfaces": ["eth0"], "version": "V1"}' 204
expect mmds PUT /mmds '{"latest": {"meta-data": {"instance-id": "i-popek"}}, "task": "containerd"}' 204
expect start PUT /actions '{"action_type": "InstanceStart"}' 204

touch "$VM_OUT"
vm_booted fc_containerd 300 || exit 0
vm_ready 60 || echo "FAIL fc_containerd/ready: the guest's shell does not answer"
vm_send 'for i in $(seq 1 300); do ip route | grep -q "^default" && break; sleep 0.2; done'
vm_send 'echo "RESULT task $(timeout 20 wget -q -O - http://169.254.169.254/task)"'
vm_send 'echo "RESULT id $(timeout 20 wget -q -O - http://169.254.169.254/latest/meta-data/instance-id)"'
vm_send 'echo "RESULT size1 $(cat /sys/block/vda/size)"'
vm_send 'echo "RESULT round""1 done"'
vm_wait "RESULT round1 done" 120 || echo "FAIL fc_containerd/guest: no answer"
check mmds_wget "$(vm_result task)" containerd
check mmds_wget_path "$(vm_result id)" i-popek
check drive_size_before "$(vm_result size1)" 2048

expect patch_drive PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/data2.img\"}" 204
vm_send 'for i in $(seq 1 100); do [ "$(cat /sys/block/vda/size)" = 4096 ] && break; sleep 0.1; done'
vm_send 'echo "RESULT size2 $(cat /sys/block/vda/size)"'
vm_send 'echo hello-new-image | dd of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null; echo "RESULT wrote $?"'
vm_send 'echo "RESULT round""2 done"'
vm_wait "RESULT round2 done" 60 || echo "FAIL fc_containerd/guest2: no answer"
check drive_size_after_patch "$(vm_result size2)" 4096
check guest_writes_new_image "$(vm_result wrote):$(head -c 15 "$TMP/data2.img")" "0:hello-new-image"
check old_image_untouched "$(tr -d '\0' <"$TMP/data1.img" | wc -c)" 0

vm_send poweroff
vm_wait_exit 60
check exit_status "$VM_STATUS" 0
log_clean fc_containerd "$TMP/fc.out"
exit 0
