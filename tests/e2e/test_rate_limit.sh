#!/bin/bash
# Rate limiters (issue 13) seen from inside the default guest on the soft
# engine, configured by a Firecracker config file and changed through PATCH
# while the guest runs: a disk limited to 2 MiB/s reads (dd iflag=direct)
# within 10% of that rate and much faster once PATCH removes the limiter; the
# disk's file swapped by PATCH path_on_host shows its new size in the guest
# (config-change interrupt); the NIC's transmit limiter (user networking, to a
# listener on the host's 127.0.0.1) holds the guest's TCP upload within 10% of
# 512 KiB/s (counted in frames, as the limiter counts), and PATCH lifts it;
# its receive limiter, set by PATCH, holds a download from the host the same;
# the entropy device's limiter holds /dev/hwrng to 32 KiB/s. The metrics count the throttling.
# Rates are measured by the guest (/proc/uptime around each transfer). Typed
# lines spell the markers "RES""ULT" so that their echo never matches.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
POPEK=${POPEK:-build/popek}
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
vm_default_guest rate_limit
for tool in python3 curl jq; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP rate_limit: $tool not installed"
		exit 0
	fi
done

check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS rate_limit/$1"; else echo "FAIL rate_limit/$1: got '$2', wanted '$3'"; fi
}
# within NAME GOT_BPS WANT_BPS PERCENT
within() {
	if awk -v g="$2" -v w="$3" -v p="$4" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(g > 0 && d <= w * p / 100) }'; then
		echo "PASS rate_limit/$1 ($(awk -v g="$2" 'BEGIN { printf "%.0f KiB/s", g / 1024 }'))"
	else
		echo "FAIL rate_limit/$1: $(awk -v g="$2" -v w="$3" 'BEGIN { printf "%.0f KiB/s, wanted %.0f KiB/s", g / 1024, w / 1024 }') +-$4%"
	fi
}
# faster NAME GOT_BPS THAN_BPS FACTOR
faster() {
	if awk -v g="$2" -v w="$3" -v f="$4" 'BEGIN { exit !(g >= w * f) }'; then
		echo "PASS rate_limit/$1 ($(awk -v g="$2" 'BEGIN { printf "%.0f KiB/s", g / 1024 }'))"
	else
		echo "FAIL rate_limit/$1: $(awk -v g="$2" -v w="$3" -v f="$4" 'BEGIN { printf "%.0f KiB/s, not %g times %.0f KiB/s", g / 1024, f, w / 1024 }')"
	fi
}

. tests/e2e/lib/scratch.sh
WORK=$TMP
trap '[ -n "${VM_PID:-}" ] && vm_cleanup; cleanup' EXIT
S=$WORK/api.sock
api() { # METHOD PATH [BODY]: sets CODE and BODY
	if [ $# -gt 2 ]; then
		CODE=$(curl -s -m 20 --unix-socket "$S" -X "$1" -o "$WORK/body" -w '%{http_code}' \
			-H 'Content-Type: application/json' --data-binary "$3" "http://localhost$2")
	else
		CODE=$(curl -s -m 20 --unix-socket "$S" -X "$1" -o "$WORK/body" -w '%{http_code}' "http://localhost$2")
	fi
	BODY=$(cat "$WORK/body" 2>/dev/null)
	rm -f "$WORK/body" # the next request's failure must not show this answer
}

# Host loopback servers for the guest's transfers through slirp: "sink"
# reads uploads to the end; "source" sends as many MiB as the client's first
# line asks for. Each writes its port to the file named first.
cat >"$WORK/serve.py" <<'EOF'
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
chunk = bytes(1 << 16)
while True:
    c, _ = s.accept()
    if sys.argv[2] == "sink":
        while c.recv(1 << 16):
            pass
    else:
        line = c.makefile("rb").readline()
        try:
            for _ in range(int(line) * 16):
                c.sendall(chunk)
        except (ValueError, OSError):
            pass
    c.close()
EOF
serve() { # PORTFILE sink|source: starts one and waits for its port file
	python3 "$WORK/serve.py" "$1" "$2" </dev/null >/dev/null &
	PIDS+=($!)
	for _ in $(seq 1 50); do [ -f "$1" ] && break; sleep 0.1; done
}
serve "$WORK/port" sink
serve "$WORK/port2" source
PORT=$(cat "$WORK/port" 2>/dev/null) PORT2=$(cat "$WORK/port2" 2>/dev/null)
[ -n "$PORT" ] && [ -n "$PORT2" ] || { echo "FAIL rate_limit/servers: the host's sink or source did not start"; exit 0; }

DISK_BPS=$((2 * 1024 * 1024)) NET_BPS=$((512 * 1024))
truncate -s 16M "$WORK/disk.img"
truncate -s 32M "$WORK/disk2.img"
# 2 MiB/s as 256 KiB per 125 ms, 512 KiB/s as 256 KiB per 500 ms: small
# buckets, so that what they hold after the priming transfer barely counts;
# the NIC's must still bridge the pauses of the guest's TCP (with 64 KiB per
# 125 ms the tokens those pauses waste cost 25% of the rate).
cat >"$WORK/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$KERNEL", "initrd_path": "$INITRD"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 512, "engine": "soft"},
  "drives": [{"drive_id": "lim", "path_on_host": "$WORK/disk.img", "is_root_device": false,
              "rate_limiter": {"bandwidth": {"size": 262144, "refill_time": 125}}}],
  "network-interfaces": [{"iface_id": "eth0", "mode": "user",
              "tx_rate_limiter": {"bandwidth": {"size": 262144, "refill_time": 500}}}],
  "entropy": {"rate_limiter": {"bandwidth": {"size": 8192, "refill_time": 250}}}
}
EOF
vm_start run --config-file "$WORK/vm.json" --api-sock "$S"
vm_booted rate_limit "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "  (the shell did not answer its first line)"

# dd_rate NAME SKIP_MIB MIB: the guest reads MIB MiB of /dev/vda with O_DIRECT
# and prints "RESULT NAME BYTES SECONDS".
dd_rate() {
	vm_send "t0=\$(cut -d' ' -f1 /proc/uptime); dd if=/dev/vda of=/dev/null bs=64k skip=\$(($2 * 16)) count=\$(($3 * 16)) iflag=direct 2>/dev/null; t1=\$(cut -d' ' -f1 /proc/uptime); echo \"RES\"\"ULT $1 \$(($3 * 1048576)) \$(echo \"\$t1 - \$t0\" | bc)\""
	vm_wait "RESULT $1 " 120 || echo "  (no result for $1)"
}
rate() { # NAME: bytes per second from the guest's RESULT line
	vm_result "$1" | awk '{ if ($2 > 0) printf "%.0f", $1 / $2; else print 0 }'
}

# Disk: the first MiB empties the initial bucket, the next 6 are timed.
dd_rate disk_prime 0 1
dd_rate disk_limited 1 6
within disk_2MiBps "$(rate disk_limited)" "$DISK_BPS" 10
api GET /metrics
ev=$(jq '[.devices[] | select(.type | startswith("blk")) | .rate_limiter_throttled_events] | add' <<<"$BODY")
[ "${ev:-0}" -gt 0 ] 2>/dev/null && echo "PASS rate_limit/disk_throttled_events ($ev)" ||
	echo "FAIL rate_limit/disk_throttled_events: '$ev'"
api PATCH /drives/lim '{"drive_id": "lim", "rate_limiter": {"bandwidth": {"size": 0, "refill_time": 0}}}'
check disk_patch_off "$CODE" 204
dd_rate disk_unlimited 7 6
faster disk_unlimited_much_faster "$(rate disk_unlimited)" "$DISK_BPS" 3

# The drive's file swapped while the guest runs: 16 MiB -> 32 MiB.
vm_send 'echo "RES""ULT size_before $(cat /sys/block/vda/size)"'
vm_wait "RESULT size_before " 30
api PATCH /drives/lim "{\"drive_id\": \"lim\", \"path_on_host\": \"$WORK/disk2.img\"}"
check disk_patch_path "$CODE" 204
vm_send 'for i in $(seq 1 50); do [ "$(cat /sys/block/vda/size)" = 65536 ] && break; sleep 0.1; done; echo "RES""ULT size_after $(cat /sys/block/vda/size)"'
vm_wait "RESULT size_after " 60
check disk_size_before "$(vm_result size_before)" 32768
check disk_size_after_patch "$(vm_result size_after)" 65536
vm_send 'echo "RES""ULT read_new $(dd if=/dev/vda bs=64k skip=400 count=16 iflag=direct 2>/dev/null | wc -c)"'
vm_wait "RESULT read_new " 60
check disk_reads_past_old_end "$(vm_result read_new)" 1048576

# Network: the guest uploads to the host's listener through slirp.
vm_send 'for i in $(seq 1 300); do ip -4 addr show eth0 2>/dev/null | grep -q "inet " && break; sleep 0.2; done'
# net_rate NAME MIB tx|rx: the guest uploads MIB MiB to the host's listener
# (tx) or downloads them from its sender (rx) and prints "RESULT NAME BYTES
# SECONDS" with the bytes its NIC counted that way (frames, headers
# included: what the limiter counts). busybox nc half-closes at the end of
# its input and exits when the host closes, so the time covers the whole
# transfer.
net_rate() {
	local stat=/sys/class/net/eth0/statistics/$3_bytes xfer
	if [ "$3" = tx ]; then
		xfer="dd if=/dev/zero bs=64k count=\$(($2 * 16)) 2>/dev/null | nc 10.0.2.2 $PORT"
	else
		xfer="echo $2 | nc 10.0.2.2 $PORT2 | wc -c >/tmp/n"
	fi
	vm_send "b0=\$(cat $stat); t0=\$(cut -d' ' -f1 /proc/uptime); $xfer; t1=\$(cut -d' ' -f1 /proc/uptime); echo \"RES\"\"ULT $1 \$((\$(cat $stat) - b0)) \$(echo \"\$t1 - \$t0\" | bc)\""
	vm_wait "RESULT $1 " 120 || echo "  (no result for $1)"
}
# net_limit tx|rx PREFIX: with that direction's limiter at 512 KiB/s, a 4 MiB
# transfer after a priming one keeps within 10% of the rate and the metrics
# count the throttling; once PATCH removes the limiter it is much faster.
net_limit() {
	local d=$1 p=$2 n
	net_rate "${p}prime" 1 "$d"
	net_rate "${p}limited" 4 "$d"
	within "net_${d}_512KiBps" "$(rate "${p}limited")" "$NET_BPS" 10
	api GET /metrics
	n=$(jq "[.devices[] | select(.type == \"net\") | .${d}_rate_limiter_throttled] | add" <<<"$BODY")
	[ "${n:-0}" -gt 0 ] 2>/dev/null && echo "PASS rate_limit/net_${d}_throttled ($n)" ||
		echo "FAIL rate_limit/net_${d}_throttled: '$n'"
	api PATCH /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"${d}_rate_limiter\": {\"bandwidth\": {\"size\": 0, \"refill_time\": 0}}}"
	check "net_${d}_patch_off" "$CODE" 204
	net_rate "${p}unlimited" 4 "$d"
	faster "net_${d}_unlimited_much_faster" "$(rate "${p}unlimited")" "$NET_BPS" 3
}
net_limit tx net_

# The receive side: the guest downloads from the host's sender through
# slirp, its NIC's rx_rate_limiter at 512 KiB/s (frames held in popek while
# the bucket is short, so the host's TCP slows down).
api PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "rx_rate_limiter": {"bandwidth": {"size": 262144, "refill_time": 500}}}'
check net_rx_patch_on "$CODE" 204
net_limit rx net_rx_
vm_send 'echo "RES""ULT rx_count $(cat /tmp/n)"'
vm_wait "RESULT rx_count " 30
check net_rx_all_bytes "$(vm_result rx_count)" 4194304

# Entropy: 32 KiB/s (8 KiB per 250 ms); the guest reads /dev/hwrng. The
# kernel's hwrng thread may take some of the tokens too: at most the rate.
RNG_BPS=$((32 * 1024))
vm_send "dd if=/dev/hwrng of=/dev/null bs=4096 count=4 2>/dev/null; t0=\$(cut -d' ' -f1 /proc/uptime); dd if=/dev/hwrng of=/dev/null bs=4096 count=24 2>/dev/null; t1=\$(cut -d' ' -f1 /proc/uptime); echo \"RES\"\"ULT rng 98304 \$(echo \"\$t1 - \$t0\" | bc)\""
vm_wait "RESULT rng " 120 || echo "  (no result for rng)"
within rng_32KiBps "$(rate rng)" "$RNG_BPS" 10
api GET /metrics
ev=$(jq '[.devices[] | select(.type == "rng") | .entropy_rate_limiter_throttled] | add' <<<"$BODY")
[ "${ev:-0}" -gt 0 ] 2>/dev/null && echo "PASS rate_limit/rng_throttled ($ev)" ||
	echo "FAIL rate_limit/rng_throttled: '$ev'"

api GET /vm/config
check config_shows_patches "$(jq -c '[.drives[0].path_on_host == "'"$WORK/disk2.img"'", .drives[0].rate_limiter, .["network-interfaces"][0].tx_rate_limiter]' <<<"$BODY")" \
	'[true,null,null]'
for r in disk_limited disk_unlimited net_limited net_unlimited net_rx_limited net_rx_unlimited rng; do
	echo "  $r: $(vm_result "$r") -> $(rate "$r") B/s"
done
popek_msgs=$(grep -a '^popek: ' "$VM_OUT" | grep -v 'received signal' | head -3)
check no_popek_errors "$popek_msgs" ""
