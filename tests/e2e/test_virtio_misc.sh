#!/bin/bash
# One boot of the default guest on the soft engine with virtio-console,
# virtio-vsock and virtio-balloon:
#   console: --virtio-console gives stdin/stdout to hvc0 (the UART gets no
#            input); the shell must run on /dev/hvc0 and answer commands.
#   vsock:   host -> guest through "CONNECT <port>" on the --vsock socket and
#            guest -> host through SOCKET_<port>, both echoing data back;
#            a guest connection to a port nobody listens on is refused.
#   balloon: --balloon=64M inflates at boot (MemTotal drops); after the
#            driver is unloaded (deflate) the guest touches its memory, then
#            reloading the driver inflates again and popek's RSS must drop.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
vm_default_guest virtio_misc
if [ ! -x build/guest/initramfs-root/usr/bin/vsock_tool ]; then
	echo "SKIP virtio_misc: the guest has no vsock_tool (rebuild it: make guest)"
	exit 0
fi
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
DATA_KIB=${POPEK_VSOCK_KIB:-2048}

WORK=$(mktemp -d)
SOCK=$WORK/vsock.sock
TOOL=$WORK/vsock_tool
trap 'rm -rf "$WORK"' EXIT
if ! gcc -O2 -o "$TOOL" guest/tools/vsock_tool.c; then
	echo "FAIL virtio_misc/build: cannot compile guest/tools/vsock_tool.c for the host"
	exit 0
fi
head -c $((DATA_KIB * 1024)) /dev/urandom >"$WORK/h2g.in"

check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS $1"; else echo "FAIL $1: got '$2', wanted '$3'"; fi
}

# vm_result, but robust to popek's own log lines (stderr shares $VM_OUT)
# landing in the middle of a guest line.
res() {
	tr -d '\r' <"$VM_OUT" | sed -n "s/^RESULT $1 //p" | sed 's/popek: .*$//' | tail -1
}

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$VM_PID/status" 2>/dev/null
}

vm_start run --kernel "$KERNEL" --initrd "$INITRD" --engine soft --mem 256M \
	--virtio-console --vsock "cid=42,path=$SOCK" --balloon=64M \
	--cmdline "console=ttyS0 console=hvc0 panic=-1"
vm_booted virtio_misc "$BOOT_LIMIT" || exit 0

# --- console: the shell runs on hvc0 and takes our input. Guest commands
# print "$R name value" so that the echoed command line never matches.
vm_send 'R=RESULT'
vm_send 'echo "$R tty $(tty)"; echo "$R cid $(vsock_tool cid)"'
vm_send "echo \"\$R devices \$(cat /sys/bus/virtio/devices/*/device | sort | tr '\\n' ' ')\""
vm_send 'echo "$R console_done"'
vm_wait "RESULT console_done" 60
check virtio_misc/console_hvc0 "$(res tty)" /dev/hvc0
check virtio_misc/vsock_cid "$(res cid)" 42
check virtio_misc/devices "$(res devices)" "0x0003 0x0004 0x0005 0x0013 "

# --- vsock host -> guest: CONNECT to a guest echo server.
vm_send 'vsock_tool echo 5000 & echo "$R listening"'
vm_wait "RESULT listening" 30
sleep 2
t0=$SECONDS
timeout 120 "$TOOL" uds-connect "$SOCK" 5000 <"$WORK/h2g.in" >"$WORK/h2g.out" 2>"$WORK/h2g.err"
rc=$?
check virtio_misc/vsock_host_to_guest_status "$rc" 0
check virtio_misc/vsock_host_to_guest_ok "$(cut -d' ' -f1 "$WORK/h2g.err")" OK
check virtio_misc/vsock_host_to_guest_data "$(sha256sum <"$WORK/h2g.out")" "$(sha256sum <"$WORK/h2g.in")"
echo "  (${DATA_KIB} KiB host -> guest -> host in $((SECONDS - t0)) s)"

# --- vsock guest -> host: the guest connects to SOCK_6000.
"$TOOL" uds-echo "${SOCK}_6000" &
ECHO_PID=$!
sleep 0.5
vm_send "head -c $((DATA_KIB * 1024)) /dev/urandom >/tmp/g2h.in"
vm_send 'vsock_tool connect 2 6000 </tmp/g2h.in >/tmp/g2h.out; echo "$R g2h_status $?"'
vm_wait "RESULT g2h_status " 120
vm_send 'cmp /tmp/g2h.in /tmp/g2h.out && echo "$R g2h_data same"; rm -f /tmp/g2h.*'
vm_send 'vsock_tool connect 2 7000 </dev/null; echo "$R refused $?"'
vm_wait "RESULT refused " 30
check virtio_misc/vsock_guest_to_host_status "$(res g2h_status)" 0
check virtio_misc/vsock_guest_to_host_data "$(res g2h_data)" same
check virtio_misc/vsock_refused "$(res refused)" 1
kill "$ECHO_PID" 2>/dev/null
wait "$ECHO_PID" 2>/dev/null

# --- balloon: inflated at boot; unload (deflate), touch memory, reload.
vm_send 'mt() { awk "/MemTotal/ { print \$2 }" /proc/meminfo; }'
vm_send 'p=0; t=$(mt); while [ "$t" != "$p" ]; do p=$t; sleep 1; t=$(mt); done; echo "$R memtotal1 $t"'
vm_wait "RESULT memtotal1 " 120
vm_send 'rmmod virtio_balloon; echo "$R memtotal2 $(mt)"'
vm_wait "RESULT memtotal2 " 60
m1=$(res memtotal1) m2=$(res memtotal2)
check virtio_misc/balloon_boot_inflate_64M "$((m2 - m1))" 65536
vm_send 'mkdir -p /mnt/fill && mount -t tmpfs -o size=95% fill /mnt/fill'
vm_send 'n=$(awk "/MemFree/ { print int(\$2 / 1024) - 24 }" /proc/meminfo); dd if=/dev/zero of=/mnt/fill/f bs=1M count=$n 2>/dev/null; echo "$R filled $n"'
vm_wait "RESULT filled " 300
vm_send 'rm /mnt/fill/f; umount /mnt/fill; echo "$R emptied"'
vm_wait "RESULT emptied" 60
sleep 1
rss1=$(rss_kib)
vm_send 'modprobe virtio_balloon; for i in $(seq 120); do t=$(mt); [ "$t" -le $(('"$m1"' + 1024)) ] && break; sleep 0.5; done; echo "$R memtotal3 $t"'
vm_wait "RESULT memtotal3 " 120
m3=$(res memtotal3)
check virtio_misc/balloon_reinflate_64M "$((${m3:-0} > 0 && m3 <= m1 + 1024))" 1
rss2=$rss1
for _ in $(seq 50); do
	rss2=$(rss_kib)
	[ $((rss1 - rss2)) -ge $((48 * 1024)) ] && break
	sleep 0.2
done
echo "  (popek VmRSS ${rss1} KiB -> ${rss2} KiB)"
check virtio_misc/balloon_rss_drop_48M "$((rss1 - rss2 >= 48 * 1024))" 1

vm_send 'poweroff'
vm_wait_exit 120
check virtio_misc/poweroff_status "$VM_STATUS" 0
bad=$(tr -d '\r' <"$VM_OUT" | grep -aE 'needs reset|BUG|WARNING|Oops|Kernel panic' | head -3)
check virtio_misc/clean_log "$bad" ""
tr -d '\r' <"$VM_OUT" | grep -a '^popek: ' | head -5 | sed 's/^/  note: /'
vm_cleanup
