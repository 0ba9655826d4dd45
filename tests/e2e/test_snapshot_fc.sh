#!/bin/bash
# Snapshots and live migration carry the Firecracker settings (issue 13):
# the default guest booted from a Firecracker config file on the soft engine
# with a network interface's mtu (1400), a drive's bandwidth rate limiter,
# an entropy rate limiter, MMDS (config and data) and a CPU template that
# clears CPUID.1:ECX[23] (POPCNT). Before the snapshot the guest's eth0 has
# MTU 1400 and cannot be raised above it, a ping larger than it is answered
# (fragmented both ways), and a static program run in the
# guest (fetched from the host over user networking) sees the template's
# CPUID. The VM is paused, snapshotted and killed; a new popek loads the
# snapshot through the API: GET /mmds has the data, GET /vm/config the
# limiters, mtu, MMDS config and template, the guest reads MMDS at
# 169.254.169.254, its CPUID program still sees POPCNT cleared, and a read
# of the drive is still throttled. Then the restored VM migrates to a third
# popek, which must show the same. Also: a snapshot of state version 3 is
# refused in one line. Environment: POPEK (default build/asan/popek).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
. tests/e2e/lib/api_curl.sh
POPEK=${POPEK:-build/asan/popek}
vm_default_guest snapshot_fc
for tool in curl jq gcc python3; do
	if ! command -v $tool >/dev/null; then
		echo "SKIP snapshot_fc: $tool is needed"
		exit 0
	fi
done
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
. tests/e2e/lib/scratch.sh
trap '[ -n "${VM_PID:-}" ] && vm_cleanup; cleanup' EXIT


# A static program the guest runs: CPUID.1:ECX[23] (POPCNT), executed live,
# so it sees the CPUID of the machine it runs on (/proc/cpuinfo is what the
# kernel saw at boot). Served with the MMDS-free HTTP server on loopback.
mkdir -p "$TMP/www"
cat >"$TMP/cpuid1.c" <<'EOF'
#include <cpuid.h>
#include <stdio.h>
int main(void)
{
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	printf("%u\n", c >> 23 & 1);
	return 0;
}
EOF
if ! gcc -static -O2 -s -o "$TMP/www/cpuid1" "$TMP/cpuid1.c" 2>"$TMP/gcc.err"; then
	echo "SKIP snapshot_fc: cannot build a static program: $(head -1 "$TMP/gcc.err")"
	exit 0
fi
PORT=$((20000 + $$ % 20000))
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$TMP/www" >/dev/null 2>&1 &
PIDS+=($!)
truncate -s 4M "$TMP/data.img"

cat >"$TMP/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$(realpath "$KERNEL")",
                  "initrd_path": "$(realpath "$INITRD")",
                  "boot_args": "console=ttyS0 panic=-1 cryptomgr.notests"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
  "drives": [{"drive_id": "data", "path_on_host": "$TMP/data.img", "is_root_device": true,
              "is_read_only": false,
              "rate_limiter": {"bandwidth": {"size": 262144, "refill_time": 1000}}}],
  "network-interfaces": [{"iface_id": "eth0", "mode": "user", "mtu": 1400,
                          "tx_rate_limiter": {"ops": {"size": 100000, "refill_time": 1000}}}],
  "entropy": {"rate_limiter": {"bandwidth": {"size": 4096, "refill_time": 100}}},
  "mmds-config": {"network_interfaces": ["eth0"], "version": "V1"},
  "cpu-config": {"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [
    {"register": "ecx", "bitmap": "0bxxxxxxxx0xxxxxxxxxxxxxxxxxxxxxxx"}]}]}
}
EOF
DATA='{"latest": {"meta-data": {"ami-id": "ami-snap", "hostname": "restored"}}}'
WANT_MMDS='{"latest":{"meta-data":{"ami-id":"ami-snap","hostname":"restored"}}}'
# The settings GET /popek/vm/config shows (Firecracker's view leaves out
# user-mode interfaces), as one line. The drive is the root device (the
# initramfs guest ignores root=): a restore still says so.
settings() {
	api GET /popek/vm/config
	jq -c '[.drives[0].is_root_device, .drives[0].rate_limiter, .["network-interfaces"][0].mtu,
		.["network-interfaces"][0].iface_id, .["network-interfaces"][0].tx_rate_limiter, .entropy.rate_limiter,
		.["mmds-config"], (.["cpu-config"].cpuid_modifiers | length)]' <<<"$BODY"
}

# guest_net_ready: DHCP (from guest/init, in the background) has given a route.
guest_net_ready() {
	vm_send 'for i in $(seq 1 300); do ip route | grep -q "^default" && break; sleep 0.2; done'
}

# guest_checks TAG: the guest's CPUID bit (fetched and run once per TAG's
# VM), its MMDS read and eth0's MTU, as RESULT TAG_*.
guest_checks() { # tag
	local t=$1
	vm_send "[ -x /tmp/cpuid1 ] || wget -q -O /tmp/cpuid1 http://10.0.2.2:$PORT/cpuid1; chmod +x /tmp/cpuid1"
	vm_send "echo \"RESULT ${t}_popcnt \$(/tmp/cpuid1)\""
	vm_send "echo \"RESULT ${t}_mmds \$(timeout 20 wget -q -O - http://169.254.169.254/latest/meta-data/hostname)\""
	vm_send "echo \"RESULT ${t}_mtu \$(cat /sys/class/net/eth0/mtu) \$(cut -c4 /sys/class/net/eth0/device/features)\""
	vm_send "echo \"RESULT ${t}_""done\""
	if ! vm_wait "RESULT ${t}_done" 120; then
		echo "FAIL snapshot_fc/$t: the guest did not answer"
		tail -n 10 "$VM_OUT" | tr -d '\r' | sed 's/^/    | /'
		return 1
	fi
	check "snapshot_fc/$t/cpuid_template" "$(vm_result "${t}_popcnt")" 0
	check "snapshot_fc/$t/mmds_from_guest" "$(vm_result "${t}_mmds")" restored
	check "snapshot_fc/$t/guest_mtu" "$(vm_result "${t}_mtu")" "1400 1"
}

# throttled TAG: reading 1 MiB of the drive at 256 KiB/s (the bucket holds
# 256 KiB at first) takes at least 3 s; unthrottled it takes well under 1.
throttled() { # tag
	local t0 t1 ms
	t0=$(date +%s%N)
	vm_send "dd if=/dev/vda of=/dev/null bs=64k count=16 iflag=direct 2>/dev/null; echo \"RESULT ${1}_dd\"\"end\""
	vm_wait "RESULT ${1}_ddend" 60
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	if [ "$ms" -ge 2500 ]; then
		echo "PASS snapshot_fc/$1/still_throttled (${ms} ms for 1 MiB)"
	else
		echo "FAIL snapshot_fc/$1/still_throttled: 1 MiB read in $ms ms, wanted at least 2500"
	fi
}

# ---- the VM, before the snapshot -------------------------------------------
S=$TMP/a.sock
vm_start run --api-sock "$S" --config-file "$TMP/vm.json"
for _ in $(seq 1 50); do [ -S "$S" ] && break; sleep 0.1; done
api PUT /mmds "$DATA"
check snapshot_fc/mmds_put "$CODE" 204
vm_booted snapshot_fc "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "FAIL snapshot_fc/ready: the guest's shell does not answer"
guest_net_ready
# The driver took the device's MTU as its maximum too (Linux virtio_net).
vm_send "ip link set eth0 mtu 1500 2>/dev/null && r=raised || r=refused; echo \"RESULT raise \$r \$(cat /sys/class/net/eth0/mtu)\""
# An echo larger than the MTU: the guest fragments it, slirp (whose MTU
# follows the interface's) fragments the reply to fit the guest's 1400.
vm_send "ping -c 2 -s 1450 10.0.2.2 >/dev/null 2>&1; echo \"RESULT bigping \$?\""
guest_checks before || exit 0
check snapshot_fc/before/mtu_is_max "$(vm_result raise)" "refused 1400"
check snapshot_fc/before/ping_above_mtu "$(vm_result bigping)" 0
BEFORE=$(settings)
check snapshot_fc/before/settings "$BEFORE" \
	'[true,{"bandwidth":{"size":262144,"refill_time":1000}},1400,"eth0",{"ops":{"size":100000,"refill_time":1000}},{"bandwidth":{"size":4096,"refill_time":100}},{"version":"V1","network_interfaces":["eth0"],"ipv4_address":"169.254.169.254","imds_compat":false},1]'

api PATCH /vm '{"state": "Paused"}'
check snapshot_fc/pause "$CODE" 204
api PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$TMP/s.state\", \"mem_file_path\": \"$TMP/s.mem\"}"
check snapshot_fc/snapshot_create "$CODE $BODY" "204 "
vm_cleanup
VM_PID=

# ---- restored in a new popek through the API -------------------------------
S=$TMP/b.sock
vm_start run --api-sock "$S"
for _ in $(seq 1 50); do [ -S "$S" ] && break; sleep 0.1; done
api PUT /snapshot/load "{\"snapshot_path\": \"$TMP/s.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/s.mem\"}, \"resume_vm\": true}"
check snapshot_fc/restore/load "$CODE $BODY" "204 "
[ "$CODE" = 204 ] || exit 0
api GET /mmds
check snapshot_fc/restore/mmds_api "$CODE $BODY" "200 $WANT_MMDS"
check snapshot_fc/restore/settings "$(settings)" "$BEFORE"
# The restored interface keeps its iface_id: a PATCH names it.
api PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "tx_rate_limiter": {"ops": {"size": 100000, "refill_time": 1000}}}'
check snapshot_fc/restore/patch_by_iface_id "$CODE $BODY" "204 "
vm_ready 60 || echo "FAIL snapshot_fc/restore/ready: the guest's shell does not answer"
guest_checks restore
throttled restore

# ---- migrated from the restored VM to a third popek ------------------------
SRC_PID=$VM_PID SRC_DIR=$VM_DIR SRC_IN=$VM_IN
VM_IN=
D=$TMP/c.sock
vm_start run --engine soft --incoming "unix:$TMP/mig" --api-sock "$D"
for _ in $(seq 1 100); do [ -S "$TMP/mig" ] && break; sleep 0.1; done
out=$(timeout 120 "$POPEK" ctl --sock "$S" migrate --to "unix:$TMP/mig" 2>&1)
st=$?
check snapshot_fc/migrate/sent "$st" 0
if [ $st != 0 ]; then
	echo "    | $out"
	kill -9 "$SRC_PID" 2>/dev/null
fi
wait "$SRC_PID" 2>/dev/null
exec {SRC_IN}>&-
rm -rf "$SRC_DIR"
S=$D
api GET /mmds
check snapshot_fc/migrate/mmds_api "$CODE $BODY" "200 $WANT_MMDS"
check snapshot_fc/migrate/settings "$(settings)" "$BEFORE"
guest_checks migrate
log_clean snapshot_fc/migrate "$VM_OUT"

# ---- an older state file is refused -----------------------------------------
python3 tests/e2e/lib/snapfile.py "$TMP/s.state" version 3
out=$(timeout 60 "$POPEK" run --restore "$TMP/s.state" --mem-file "$TMP/s.mem" 2>&1 </dev/null)
st=$?
if [ $st = 1 ] && [[ "$out" == *"version 3, this popek reads version 4"* ]] &&
	[ "$(grep -c . <<<"$out")" = 1 ]; then
	echo "PASS snapshot_fc/old_version_refused"
else
	echo "FAIL snapshot_fc/old_version_refused: status $st: $(tr '\n' '|' <<<"$out")"
fi
exit 0
