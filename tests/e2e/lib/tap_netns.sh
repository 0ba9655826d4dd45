#!/bin/bash
# Runs COMMAND in a private network namespace made for it (unshare --net),
# beside a tap interface IFNAME with address ADDR/LEN whose traffic the host
# side records: a guest's frames can be observed without popek's own counters,
# and nothing is configured in the namespace the script was started from.
# The namespace, the tap and its address go away when COMMAND has ended.
# IPv6 is off in it, so the host side sends nothing the guest did not ask for.
# Usage: tap_netns.sh DIR IFNAME ADDR/LEN COMMAND [ARGS...] (as root)
#   DIR/frames    one line per frame the tap received from its user (popek),
#                 that is, per frame the guest sent (tap_capture.py)
#   DIR/counters  the tap's receive counters after COMMAND: "packets errors dropped"
# Exit status: COMMAND's; 125 when the namespace or the tap cannot be made.
set -u
if [ "${POPEK_TAP_NETNS_INSIDE:-}" != 1 ]; then
	POPEK_TAP_NETNS_FROM=$(readlink /proc/self/ns/net)
	export POPEK_TAP_NETNS_INSIDE=1 POPEK_TAP_NETNS_FROM
	exec unshare --net -- bash "$0" "$@"
fi
if [ $# -lt 4 ]; then
	echo "usage: tap_netns.sh DIR IFNAME ADDR/LEN COMMAND [ARGS...]" >&2
	exit 125
fi
DIR=$1 TAP=$2 ADDR=$3
shift 3
here=$(readlink /proc/self/ns/net)
# Configure only a namespace made for us: not the one we came from, and
# with no interface but lo (the environment variables could lie).
links=$(ip -o link show | awk -F': ' '{ print $2 }' | paste -sd ' ')
if [ -z "$here" ] || [ "$here" = "${POPEK_TAP_NETNS_FROM:-}" ] || [ "$links" != lo ]; then
	echo "tap_netns.sh: not in a private network namespace: configuring nothing" >&2
	exit 125
fi
unset POPEK_TAP_NETNS_INSIDE POPEK_TAP_NETNS_FROM

fail() {
	echo "tap_netns.sh: $*" >&2
	exit 125
}
ip link set lo up || fail "cannot bring lo up"
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
	fail "cannot turn IPv6 off"
ip tuntap add dev "$TAP" mode tap || fail "cannot make tap $TAP"
if ! ip addr add "$ADDR" dev "$TAP" || ! ip link set "$TAP" up; then
	fail "cannot configure $TAP"
fi

CAP_PID=
trap '[ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null' EXIT
rm -f "$DIR/frames" "$DIR/frames.ready" "$DIR/counters"
python3 "$(dirname "$0")/tap_capture.py" "$TAP" "$DIR/frames" </dev/null &
CAP_PID=$!
for _ in $(seq 1 100); do
	[ -f "$DIR/frames.ready" ] && break
	kill -0 "$CAP_PID" 2>/dev/null || break
	sleep 0.05
done
[ -f "$DIR/frames.ready" ] || fail "the capture on $TAP did not start"

"$@"
rc=$?

# "packets errors dropped" received by the tap (/proc/net/dev is this namespace's).
counters() {
	sed -n "s/^ *$TAP: *//p" /proc/net/dev | awk '{ print $2, $3, $4 }'
}
# The capture sees a frame shortly after the tap counted it.
for _ in $(seq 1 40); do
	read -r packets _ <<<"$(counters)"
	[ "$(wc -l <"$DIR/frames")" -ge "${packets:-0}" ] && break
	sleep 0.05
done
counters >"$DIR/counters"
exit $rc
