#!/bin/bash
# PUT /snapshot/load's network_overrides (Firecracker's way to restore a
# snapshot onto other taps, as a clone needs): the default guest on the
# soft engine with a tap interface (iface_id net1 on ptapA) pings the host
# over it and is snapshotted; a new popek loads the snapshot with net1 moved
# to ptapB, GET /vm/config names ptapB, and the restored guest pings the
# host over ptapB. Refused: an override for an interface the snapshot does
# not have, and malformed overrides, each in one line naming it. Runs in a
# network namespace of its own (tests/e2e/lib/own_netns.sh): the taps and
# their private addresses never reach the host's namespace.
set -u
cd "$(dirname "$0")/../.."
NETNS_GROUP=snapshot_netoverride
. tests/e2e/lib/own_netns.sh
. tests/e2e/lib/vm_console.sh
vm_default_guest snapshot_netoverride
if [ -z "$OWN_NETNS" ]; then
	echo "SKIP snapshot_netoverride: not root or no network namespace (unshare --net)"
	exit 0
fi
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
. tests/e2e/lib/scratch.sh
. tests/e2e/lib/api_curl.sh
trap '[ -n "${VM_PID:-}" ] && vm_cleanup; cleanup' EXIT
for t in ptapA:10.198.0 ptapB:10.198.1; do
	if ! ip tuntap add dev "${t%%:*}" mode tap || ! ip addr add "${t#*:}.1/24" dev "${t%%:*}" ||
		! ip link set "${t%%:*}" up; then
		echo "FAIL snapshot_netoverride/tap: cannot make ${t%%:*}"
		exit 0
	fi
done
# guest_ping NAME NET: the guest takes NET.2 on eth0 and pings NET.1.
guest_ping() {
	vm_send "ip addr flush dev eth0; ip addr add $2.2/24 dev eth0; ip link set eth0 up; ping -c 3 -W 5 $2.1 >/dev/null; echo \"RES\"\"ULT $1 \$?\""
	vm_wait "RESULT $1 " 60
	check "snapshot_netoverride/$1" "$(vm_result "$1")" 0
}
cat >"$TMP/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$(realpath "$KERNEL")",
                  "initrd_path": "$(realpath "$INITRD")",
                  "boot_args": "console=ttyS0 panic=-1 cryptomgr.notests"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
  "network-interfaces": [{"iface_id": "net1", "host_dev_name": "ptapA",
                          "guest_mac": "06:00:00:00:00:01"}]
}
EOF
S=$TMP/a.sock
vm_start --api-sock "$S" --config-file "$TMP/vm.json"
vm_booted snapshot_netoverride "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "FAIL snapshot_netoverride/shell: the shell does not answer"
guest_ping ping_ptapA 10.198.0
vm_snapshot snapshot_netoverride "$S"
vm_cleanup

# load_with NAME OVERRIDES: a new popek, the snapshot loaded through the
# API with those network_overrides; CODE and BODY are the load's answer.
load_with() {
	S=$TMP/$1.sock
	vm_start --api-sock "$S"
	for _ in $(seq 50); do [ -S "$S" ] && break; sleep 0.1; done
	api PUT /snapshot/load "{\"snapshot_path\": \"$TMP/s.st\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/s.mem\"}, \"resume_vm\": true, \"network_overrides\": $2}"
}
load_with bad_iface '[{"iface_id": "nope", "host_dev_name": "ptapB"}]'
check snapshot_netoverride/unknown_iface "$CODE $(jq -r .fault_message <<<"$BODY" | grep -o "network_overrides: no network interface 'nope' in the snapshot")" \
	"400 network_overrides: no network interface 'nope' in the snapshot"
vm_cleanup
load_with bad_name '[{"iface_id": "net1", "host_dev_name": "a-name-longer-than-15"}]'
check snapshot_netoverride/long_tap_name "$CODE $(jq -r .fault_message <<<"$BODY")" \
	"400 network_overrides[0].host_dev_name: a tap name of 1 to 15 characters is required"
vm_cleanup
load_with twice '[{"iface_id": "net1", "host_dev_name": "ptapB"}, {"iface_id": "net1", "host_dev_name": "ptapA"}]'
check snapshot_netoverride/twice "$CODE $(jq -r .fault_message <<<"$BODY")" \
	"400 network_overrides[1].iface_id: 'net1' is given twice"
vm_cleanup

load_with good '[{"iface_id": "net1", "host_dev_name": "ptapB"}]'
check snapshot_netoverride/load "$CODE" 204
api GET /vm/config
check snapshot_netoverride/config_names_ptapB \
	"$(jq -c '[."network-interfaces"[0].iface_id, ."network-interfaces"[0].host_dev_name]' <<<"$BODY")" \
	'["net1","ptapB"]'
guest_ping ping_ptapB 10.198.1
vm_send 'poweroff -f'
vm_wait_exit 60
check snapshot_netoverride/exit "$VM_STATUS" 0
log_clean snapshot_netoverride "$VM_OUT"
exit 0
