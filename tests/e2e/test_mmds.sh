#!/bin/bash
# MMDS end to end: the default guest configured through the API with user
# networking and MMDS V2, the metadata PUT through the API, then read from
# inside the guest at 169.254.169.254 (through its default route via
# slirp's gateway): 401 without a token, a token from PUT /latest/api/token
# (busybox nc), values and listings with the token (busybox wget --header),
# JSON with Accept, a PATCH seen by the guest, and the same over an on-link
# route (ARP for the address answered) and over a tap interface. Before the boot: the API's
# and the config file's refusals with Firecracker's messages.
# As root the test runs again inside tests/e2e/lib/tap_netns.sh: a network
# namespace of its own with a tap interface, which carries a second guest
# interface: MMDS over a tap (the guest routes the address on-link there),
# and the tap's capture shows that none of those frames reached the host.
# Elsewhere that part is a SKIP.
set -u
cd "$(dirname "$0")/../.."
if [ -z "${POPEK_MMDS_NETNS:-}" ] && [ "$(id -u)" = 0 ] && command -v python3 >/dev/null &&
	[ -c /dev/net/tun ] && unshare --net true 2>/dev/null; then
	NETDIR=$(mktemp -d)
	POPEK_MMDS_NETNS=1 bash tests/e2e/lib/tap_netns.sh "$NETDIR" mtap0 10.199.0.1/24 \
		bash "$0" "$@"
	rc=$?
	if [ "$rc" = 125 ]; then # no namespace or tap after all: without them
		rm -rf "$NETDIR"
		POPEK_MMDS_NETNS=0 exec bash "$0" "$@"
	fi
	# Frames popek wrote to the tap: IPv4 to 169.254.169.254 (bytes 30-33),
	# ARP asking for it (bytes 38-41); the guest's ping of the host side
	# (IPv4 to 10.199.0.1) is the capture's positive control.
	mmds=$(awk '($1 == "0800" && substr($3, 61, 8) == "a9fea9fe") ||
		($1 == "0806" && substr($3, 77, 8) == "a9fea9fe")' "$NETDIR/frames" 2>/dev/null | wc -l)
	ping=$(awk '$1 == "0800" && substr($3, 61, 8) == "0ac70001"' "$NETDIR/frames" 2>/dev/null | wc -l)
	if [ "$ping" -gt 0 ] && [ "$mmds" = 0 ]; then
		echo "PASS mmds/tap_no_leak"
	else
		echo "FAIL mmds/tap_no_leak: $mmds frame(s) for 169.254.169.254 reached the host, $ping of the control ping"
	fi
	rm -rf "$NETDIR"
	exit "$rc"
fi
TAP=
[ "${POPEK_MMDS_NETNS:-}" = 1 ] && TAP=mtap0
unset POPEK_MMDS_NETNS
. tests/e2e/lib/vm_console.sh
. tests/e2e/lib/api_curl.sh
POPEK=${POPEK:-build/popek}
vm_default_guest mmds
if ! command -v curl >/dev/null; then
	echo "SKIP mmds: curl is needed for the API"
	exit 0
fi
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
. tests/e2e/lib/scratch.sh
trap '[ -n "${VM_PID:-}" ] && vm_cleanup; cleanup' EXIT

check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS mmds/$1"; else echo "FAIL mmds/$1: got '$2', wanted '$3'"; fi
}
expect() { # name METHOD PATH [BODY] CODE [BODY-WANTED]
	local name=$1 m=$2 p=$3
	shift 3
	if [ "$m" = PUT ] || [ "$m" = PATCH ]; then api "$m" "$p" "$1"; shift; else api "$m" "$p"; fi
	check "$name" "$CODE${2+ $BODY}" "$1${2+ $2}"
}

# The config file's "mmds-config" is checked as the API's body is.
cat >"$TMP/bad.json" <<EOF
{"boot-source": {"kernel_image_path": "$KERNEL"},
 "network-interfaces": [{"iface_id": "eth0", "mode": "user"}],
 "mmds-config": {"network_interfaces": ["eth9"]}}
EOF
out=$("$POPEK" run --config-file "$TMP/bad.json" 2>&1 </dev/null)
check config_file_bad_iface "$?:$(echo "$out" | grep -c 'mmds-config.network_interfaces: The list of network interface IDs provided contains at least one ID that does not correspond')" "1:1"

S=$TMP/api.sock
vm_start run --api-sock "$S"
for _ in $(seq 1 50); do [ -S "$S" ] && break; sleep 0.1; done
expect get_empty GET /mmds 200 '{}'
expect patch_uninitialized PATCH /mmds '{"a": "b"}' 400 '{"fault_message":"The MMDS data store is not initialized."}'
expect config_no_iface PUT /mmds/config '{"network_interfaces": ["eth0"]}' 400 \
	'{"fault_message":"network_interfaces: The list of network interface IDs provided contains at least one ID that does not correspond to any existing network interface."}'
expect machine PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}' 204
expect boot PUT /boot-source "{\"kernel_image_path\": \"$KERNEL\", \"initrd_path\": \"$INITRD\"}" 204
expect net PUT /network-interfaces/eth0 '{"iface_id": "eth0", "mode": "user"}' 204
expect config_empty PUT /mmds/config '{"network_interfaces": []}' 400 \
	'{"fault_message":"network_interfaces: The list of network interface IDs that allow forwarding MMDS requests is empty."}'
expect config_not_link_local PUT /mmds/config '{"network_interfaces": ["eth0"], "ipv4_address": "10.0.2.9"}' 400 \
	'{"fault_message":"ipv4_address: The MMDS IPv4 address is not link local."}'
expect config_bad_version PUT /mmds/config '{"network_interfaces": ["eth0"], "version": "V3"}' 400
expect config_unknown_key PUT /mmds/config '{"network_interfaces": ["eth0"], "port": 80}' 400 \
	'{"fault_message":"port: unknown key"}'
IFACES='"eth0"'
if [ -n "$TAP" ]; then
	expect net_tap PUT /network-interfaces/eth1 "{\"iface_id\": \"eth1\", \"host_dev_name\": \"$TAP\"}" 204
	IFACES='"eth0","eth1"'
fi
expect config PUT /mmds/config "{\"network_interfaces\": [$IFACES], \"version\": \"V2\"}" 204
expect vm_config GET /vm/config 200
check vm_config_mmds "$(echo "$BODY" | grep -o '"mmds-config":{[^}]*}')" \
	"\"mmds-config\":{\"version\":\"V2\",\"network_interfaces\":[$IFACES],\"ipv4_address\":\"169.254.169.254\",\"imds_compat\":false}"
big=$(head -c 60000 /dev/zero | tr '\0' x)
# Each body fits the API's 51200-byte limit; together they do not fit the
# store's (51200 bytes too, Firecracker's default for both).
expect put_half PUT /mmds "{\"k\": \"${big:0:30000}\"}" 204
expect patch_too_large PATCH /mmds "{\"l\": \"${big:0:30000}\"}" 413 \
	'{"fault_message":"The MMDS patch request doesn'"'"'t fit."}'
api PUT /mmds "{\"k\": \"${big:0:52000}\"}"
check put_too_large_api "$CODE $(grep -c 'size 52009 is larger than the limit of 51200' <<<"$BODY")" "400 1"
DATA='{"latest": {"meta-data": {"ami-id": "ami-12345", "hostname": "popek-guest"}}, "user-data": "hello"}'
expect put PUT /mmds "$DATA" 204
expect get GET /mmds 200 '{"latest":{"meta-data":{"ami-id":"ami-12345","hostname":"popek-guest"}},"user-data":"hello"}'
expect start PUT /actions '{"action_type": "InstanceStart"}' 204
expect config_after_start PUT /mmds/config '{"network_interfaces": ["eth0"]}' 400 \
	'{"fault_message":"The requested operation is not supported after starting the microVM."}'

vm_booted mmds "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "FAIL mmds/ready: the guest's shell does not answer"
M=http://169.254.169.254
# DHCP runs in the background from guest/init: wait for the default route.
vm_send 'for i in $(seq 1 300); do ip route | grep -q "^default" && break; sleep 0.2; done'
# busybox 1.35's wget crashes with -T: timeout(1) bounds it instead. The
# server keeps connections open (libslirp cannot close a guest forward), so
# nc is bounded by timeout and wget stops at Content-Length.
vm_send "echo \"RESULT notoken \$(timeout 20 wget -q -O - $M/user-data 2>&1 | grep -o 401)\""
vm_send "T=\$(printf 'PUT /latest/api/token HTTP/1.1\\r\\nX-metadata-token-ttl-seconds: 60\\r\\n\\r\\n' | timeout 4 nc 169.254.169.254 80 | tail -n 1)"
vm_send 'echo "RESULT toklen ${#T}"'
vm_send "echo \"RESULT ami \$(timeout 20 wget -q -O - --header \"X-metadata-token: \$T\" $M/latest/meta-data/ami-id)\""
vm_send "echo \"RESULT list \$(timeout 20 wget -q -O - --header \"X-metadata-token: \$T\" $M/latest/meta-data/ | paste -sd ,)\""
vm_send "echo \"RESULT json \$(timeout 20 wget -q -O - --header \"X-metadata-token: \$T\" --header 'Accept: application/json' $M/latest/meta-data)\""
vm_send "echo \"RESULT missing \$(timeout 20 wget -q -O - --header \"X-metadata-token: \$T\" $M/nope 2>&1 | grep -o 404)\""
vm_send 'echo "RESULT round""1 done"'
vm_wait "RESULT round1 done" 150 || echo "FAIL mmds/guest: no answer from the guest's commands"
check guest_no_token "$(vm_result notoken)" 401
check guest_token "$(vm_result toklen)" 48
check guest_value "$(vm_result ami)" ami-12345
check guest_listing "$(vm_result list)" ami-id,hostname
check guest_json "$(vm_result json)" '{"ami-id":"ami-12345","hostname":"popek-guest"}'
check guest_not_found "$(vm_result missing)" 404

expect patch PATCH /mmds '{"user-data": "patched", "latest": {"meta-data": {"hostname": null}}}' 204
expect get_patched GET /mmds 200 '{"latest":{"meta-data":{"ami-id":"ami-12345"}},"user-data":"patched"}'
vm_send "echo \"RESULT patched \$(timeout 20 wget -q -O - --header \"X-metadata-token: \$T\" $M/user-data)\""
vm_send "echo \"RESULT list2 \$(timeout 20 wget -q -O - --header \"X-metadata-token: \$T\" $M/latest/meta-data/ | paste -sd ,)\""
# Firecracker's guide routes the address on-link: then the guest asks ARP.
vm_send 'ip route add 169.254.169.254 dev eth0'
vm_send "echo \"RESULT onlink \$(timeout 20 wget -q -O - --header \"X-metadata-token: \$T\" $M/latest/meta-data/ami-id)\""
vm_send 'echo "RESULT neigh $(ip neigh show 169.254.169.254 | grep -o "lladdr [0-9a-f:]*")"'
vm_send 'echo "RESULT round""2 done"'
vm_wait "RESULT round2 done" 60 || echo "FAIL mmds/guest2: no answer from the guest's commands"
check guest_patched "$(vm_result patched)" patched
check guest_patched_listing "$(vm_result list2)" ami-id
check guest_onlink "$(vm_result onlink)" ami-12345
check guest_arp "$(vm_result neigh)" "lladdr 52:55:a9:fe:a9:fe"

# The same through the tap: the address routed on-link on eth1, whose frames
# for it never reach the host (a slirp stack of its own answers).
if [ -n "$TAP" ]; then
	vm_send 'ip link set eth1 up; ip addr add 10.199.0.2/24 dev eth1; ip route replace 169.254.169.254 dev eth1'
	vm_send 'echo "RESULT tapdev $(ip route get 169.254.169.254 | grep -o "dev [a-z0-9]*")"'
	vm_send "echo \"RESULT tapval \$(timeout 20 wget -q -O - --header \"X-metadata-token: \$T\" $M/latest/meta-data/ami-id)\""
	vm_send "T2=\$(printf 'PUT /latest/api/token HTTP/1.1\\r\\nX-metadata-token-ttl-seconds: 60\\r\\n\\r\\n' | timeout 4 nc 169.254.169.254 80 | tail -n 1)"
	vm_send "echo \"RESULT tapdata \$(timeout 20 wget -q -O - --header \"X-metadata-token: \$T2\" $M/user-data)\""
	vm_send 'echo "RESULT tapneigh $(ip neigh show 169.254.169.254 dev eth1 | grep -o "lladdr [0-9a-f:]*")"'
	vm_send 'echo "RESULT tapping $(ping -c 1 -W 5 10.199.0.1 >/dev/null 2>&1 && echo ok)"'
	vm_send 'echo "RESULT round""3 done"'
	vm_wait "RESULT round3 done" 60 || echo "FAIL mmds/guest3: no answer from the guest's commands"
	check tap_route "$(vm_result tapdev)" "dev eth1"
	check tap_value "$(vm_result tapval)" ami-12345
	check tap_token_and_value "$(vm_result tapdata)" patched
	check tap_arp "$(vm_result tapneigh)" "lladdr 52:55:a9:fe:a9:fe"
	check tap_ping "$(vm_result tapping)" ok
else
	echo "SKIP mmds/tap: not root or no network namespace (unshare --net)"
fi

vm_send poweroff
vm_wait_exit 60
check exit_status "$VM_STATUS" 0
log_clean mmds "$VM_OUT"
exit 0
