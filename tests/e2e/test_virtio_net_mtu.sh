#!/bin/bash
# A network interface's mtu (issue 13): offered to the guest as
# VIRTIO_NET_F_MTU, which Linux's virtio_net makes the interface's MTU and
# its maximum. The API refuses an mtu outside 68-65535 (Firecracker's range)
# with a 400 naming it. The default guest with user networking and a jumbo
# mtu (9000) gets eth0 at 9000 and moves jumbo frames through slirp, whose
# MTU follows the interface's: a 1 MiB download arrives intact and an 8000-
# byte ping (one frame each way) is answered. (mtu 1400 and the default
# 1500 are checked by test_snapshot_fc.sh and test_virtio_net.sh.)
# Environment: POPEK (default build/asan/popek).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
. tests/e2e/lib/api_curl.sh
POPEK=${POPEK:-build/asan/popek}
vm_default_guest virtio_net_mtu
if ! command -v curl >/dev/null; then
	echo "SKIP virtio_net_mtu: curl is needed for the API"
	exit 0
fi
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
. tests/e2e/lib/scratch.sh
trap '[ -n "${VM_PID:-}" ] && vm_cleanup; cleanup' EXIT


head -c 1048576 /dev/urandom >"$TMP/big.bin"
big_sha=$(sha256sum <"$TMP/big.bin" | cut -d' ' -f1)
PORT=$((20000 + $$ % 20000))
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$TMP" >/dev/null 2>&1 &
PIDS+=($!)

S=$TMP/api.sock
vm_start run --api-sock "$S"
for _ in $(seq 1 50); do [ -S "$S" ] && break; sleep 0.1; done
for bad in 67 65536; do
	api PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"mode\": \"user\", \"mtu\": $bad}"
	check "virtio_net_mtu/api_refuses_$bad" "$CODE $BODY" \
		"400 {\"fault_message\":\"mtu: must be an integer from 68 to 65535 (got $bad)\"}"
done
api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}'
api PUT /boot-source "{\"kernel_image_path\": \"$KERNEL\", \"initrd_path\": \"$INITRD\", \"boot_args\": \"console=ttyS0 panic=-1 cryptomgr.notests\"}"
api PUT /network-interfaces/eth0 '{"iface_id": "eth0", "mode": "user", "mtu": 9000}'
check virtio_net_mtu/api_accepts_9000 "$CODE" 204
api PUT /actions '{"action_type": "InstanceStart"}'
check virtio_net_mtu/start "$CODE" 204
vm_booted virtio_net_mtu "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "FAIL virtio_net_mtu/ready: the guest's shell does not answer"
vm_send 'for i in $(seq 1 300); do ip route | grep -q "^default" && break; sleep 0.2; done'
vm_send 'echo "RESULT mtu $(cat /sys/class/net/eth0/mtu)"'
vm_send "echo \"RESULT big \$(timeout 120 wget -q -O - http://10.0.2.2:$PORT/big.bin | sha256sum | cut -d' ' -f1)\""
vm_send "ping -c 2 -s 8000 10.0.2.2 >/dev/null 2>&1; echo \"RESULT ping \$?\""
vm_send 'echo "RESULT fin""ished"'
vm_wait "RESULT finished" 200 || echo "FAIL virtio_net_mtu/guest: the guest's commands did not finish"
check virtio_net_mtu/guest_mtu "$(vm_result mtu)" 9000
check virtio_net_mtu/jumbo_download "$(vm_result big)" "$big_sha"
check virtio_net_mtu/jumbo_ping "$(vm_result ping)" 0
api PUT /actions '{"action_type": "SendCtrlAltDel"}'
vm_wait_exit 60
check virtio_net_mtu/exit_status "$VM_STATUS" 0
log_clean virtio_net_mtu "$VM_OUT"
exit 0
