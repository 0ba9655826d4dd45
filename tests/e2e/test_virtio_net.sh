#!/bin/bash
# Boots the default guest once on the soft engine with --net user (slirp) and
# checks virtio-net end to end, on the host's loopback only: DHCP gives the
# guest 10.0.2.15 (guest/init runs udhcpc), the guest fetches a small page and
# a 1 MiB file from an HTTP server on the host's 127.0.0.1 (as 10.0.2.2),
# uploads 512 KiB to a host listener (TX with checksum offload: slirp drops
# segments whose checksums are wrong), and the host reaches a server in the
# guest through hostfwd. A second interface, --net tap on a tap device the
# test makes, carries pings both ways with static addresses. Then poweroff,
# exit status 0, and a clean log.
# As root the whole test runs in a network namespace of its own (unshare
# --net), which goes away with its processes: the tap, its private addresses,
# the host-side servers and slirp's sockets live there, and nothing is
# configured in the namespace the test was started from. Without root or
# without namespaces the tap part is a SKIP.
set -u
cd "$(dirname "$0")/../.."
NETNS_GROUP=virtio_net
. tests/e2e/lib/own_netns.sh
. tests/e2e/lib/vm_console.sh
POPEK=${POPEK:-build/popek}
vm_default_guest virtio_net
if ! command -v python3 >/dev/null; then
	echo "SKIP virtio_net: python3 is needed for the host-side servers"
	exit 0
fi
if ! gzip -dc "$INITRD" | cpio -t --quiet 2>/dev/null | grep -qx usr/share/udhcpc/default.script; then
	echo "SKIP virtio_net: the guest has no udhcpc script (rebuild it: make guest)"
	exit 0
fi
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}

check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS $1"; else echo "FAIL $1: got '$2', wanted '$3'"; fi
}

WORK=$(mktemp -d)
SRV_PID=
cleanup() {
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	[ -n "${VM_PID:-}" ] && vm_cleanup
	rm -rf "$WORK"
	[ -n "${TAP_ARGS[*]:-}" ] && ip link del "$TAP" 2>/dev/null
}
trap cleanup EXIT

# Host side: an HTTP server and an upload listener, both on 127.0.0.1 with
# ports the kernel picks; they are written to $WORK/www/ports.
mkdir -p "$WORK/www"
token="popek-net-$RANDOM-$RANDOM"
echo "$token" >"$WORK/www/page.txt"
head -c $((1024 * 1024)) /dev/urandom >"$WORK/www/big.bin"
big_sha=$(sha256sum <"$WORK/www/big.bin" | cut -d' ' -f1)
cat >"$WORK/servers.py" <<'EOF'
import hashlib, http.server, os, socket, sys, threading
os.chdir(sys.argv[1])
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
up = socket.socket()
up.bind(("127.0.0.1", 0))
up.listen(1)
def publish(name, text):
    with open(name + ".tmp", "w") as f:
        f.write(text + "\n")
    os.rename(name + ".tmp", name)
def uploads():
    while True:
        c, _ = up.accept()
        h, n = hashlib.sha256(), 0
        while True:
            b = c.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
        c.close()
        publish("upload", "%d %s" % (n, h.hexdigest()))
threading.Thread(target=uploads, daemon=True).start()
publish("ports", "%d %d" % (httpd.server_address[1], up.getsockname()[1]))
httpd.serve_forever()
EOF
python3 "$WORK/servers.py" "$WORK/www" &
SRV_PID=$!
for _ in $(seq 1 50); do
	[ -f "$WORK/www/ports" ] && break
	sleep 0.1
done
read -r HTTP_PORT UP_PORT <"$WORK/www/ports" || {
	echo "FAIL virtio_net/host_servers: the host-side servers did not start"
	exit 0
}
FWD_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The tap interface, only in the test's own namespace: host 10.199.0.1,
# guest 10.199.0.2.
TAP=ptap0 TAPNET=10.199.0 TAP_ARGS=() TAP_SKIP="not root or no network namespace (unshare --net)"
if [ -n "$OWN_NETNS" ]; then
	if ip tuntap add dev "$TAP" mode tap && ip addr add "$TAPNET.1/24" dev "$TAP" &&
		ip link set "$TAP" up; then
		TAP_ARGS=(--net "tap,ifname=$TAP")
	else
		TAP_SKIP="cannot make a tap interface (ip tuntap add)"
	fi
fi
vm_start run --kernel "$KERNEL" --initrd "$INITRD" --engine soft --mem 512M \
	--net "user,hostfwd=tcp:127.0.0.1:$FWD_PORT-:8080,mac=52:54:00:ab:cd:ef" "${TAP_ARGS[@]}"
vm_booted virtio_net "$BOOT_LIMIT" || exit 0
# The quotes in "check""ed" keep vm_wait from matching the echoed command.
vm_send 'echo "RESULT eth0 $(ls /sys/class/net | grep -c "^eth0$")"; echo eth0-check""ed'
vm_wait eth0-checked 60
if [ "$(vm_result eth0)" != 1 ]; then
	echo "FAIL virtio_net/eth0: the guest found no virtio-net device (is it created in src/virtio/devices.c?)"
	exit 0
fi
echo "PASS virtio_net/eth0"

# busybox 1.35's wget crashes with -T: timeout(1) bounds it instead.
# DHCP runs in the background from guest/init: wait for its address.
vm_send 'for i in $(seq 1 300); do ip -4 addr show eth0 2>/dev/null | grep -q "inet " && break; sleep 0.2; done'
vm_send 'echo "RESULT ip $(ip -4 addr show eth0 | sed -n "s/.*inet \([0-9.]*\).*/\1/p")"'
vm_send 'echo "RESULT route $(ip route | sed -n "s/^default via \([0-9.]*\).*/\1/p")"'
vm_send 'echo "RESULT mac $(cat /sys/class/net/eth0/address)"'
# No mtu configured: VIRTIO_NET_F_MTU (bit 3) not offered, Linux's 1500.
vm_send 'echo "RESULT mtu $(cat /sys/class/net/eth0/mtu) $(cut -c4 /sys/class/net/eth0/device/features)"'
# Negotiated feature bits, bit 0 first: CSUM, GUEST_CSUM, MAC (5), STATUS (16).
vm_send 'f=$(cat /sys/class/net/eth0/device/features); echo "RESULT features $(echo $f | cut -c1-2)$(echo $f | cut -c6)$(echo $f | cut -c17)"'
vm_send "echo \"RESULT page \$(timeout 60 wget -q -O - http://10.0.2.2:$HTTP_PORT/page.txt)\""
vm_send "echo \"RESULT big \$(timeout 300 wget -q -O - http://10.0.2.2:$HTTP_PORT/big.bin | sha256sum | cut -d' ' -f1)\""
vm_send 'head -c 524288 /dev/urandom >/tmp/up; echo "RESULT upsha $(sha256sum </tmp/up | cut -d" " -f1)"'
vm_send "nc 10.0.2.2 $UP_PORT </tmp/up; echo \"RESULT upload_rc \$?\""
vm_send 'nc -l -p 8080 -e echo hi-from-guest & sleep 1; echo "RESULT listen""ing"'
vm_wait "RESULT listening" 600 || echo "  (guest commands did not finish)"

check virtio_net/dhcp_address "$(vm_result ip)" 10.0.2.15
check virtio_net/dhcp_route "$(vm_result route)" 10.0.2.2
check virtio_net/mac_option "$(vm_result mac)" 52:54:00:ab:cd:ef
check virtio_net/default_mtu "$(vm_result mtu)" "1500 0"
check virtio_net/features_csum_mac_status "$(vm_result features)" 1111
check virtio_net/wget_page "$(vm_result page)" "$token"
check virtio_net/wget_1MiB "$(vm_result big)" "$big_sha"
for _ in $(seq 1 50); do
	[ -f "$WORK/www/upload" ] && break
	sleep 0.2
done
got_up=$(cat "$WORK/www/upload" 2>/dev/null)
check virtio_net/upload_512KiB "$got_up" "524288 $(vm_result upsha)"

# Host -> guest through hostfwd (slirp listens on the host's 127.0.0.1).
reply=$(python3 - "$FWD_PORT" <<'EOF'
import socket, sys, time
for _ in range(50):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
        data = b""
        while True:
            b = s.recv(100)
            if not b:
                break
            data += b
        if data:
            print(data.decode(errors="replace").strip())
            break
    except OSError:
        pass
    time.sleep(0.2)
EOF
)
check virtio_net/hostfwd "$reply" hi-from-guest

if [ ${#TAP_ARGS[@]} -gt 0 ]; then
	vm_send "ip addr add $TAPNET.2/24 dev eth1; ip link set eth1 up"
	vm_send "ping -c 3 -W 5 $TAPNET.1 >/dev/null; echo \"RESULT tap_ping \$?\""
	vm_send 'echo "RESULT tap_do""ne"'
	vm_wait "RESULT tap_done" 60
	check virtio_net/tap_guest_to_host "$(vm_result tap_ping)" 0
	busybox ping -c 3 -W 5 "$TAPNET.2" >/dev/null 2>&1 # busybox-static: no iputils needed
	check virtio_net/tap_host_to_guest "$?" 0
else
	echo "SKIP virtio_net/tap: $TAP_SKIP"
fi

vm_send 'poweroff'
vm_wait_exit 120
check virtio_net/poweroff_status "$VM_STATUS" 0
bad=$(tr -d '\r' <"$VM_OUT" | grep -aE 'BUG|WARNING|Oops|Kernel panic|needs reset|virtio_net.*(error|timeout)' | head -3)
check virtio_net/clean_log "$bad" ""
