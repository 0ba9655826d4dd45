# A network namespace of the test's own, for taps and private addresses
# that must never reach the host's namespace. Source it at the top of a
# script (after cd to the tree) with NETNS_GROUP set (the result lines'
# group): as root where namespaces work, the script runs again inside
# `unshare --net` (the namespace goes away with its processes) and, once
# there, checks it is a new one with only lo (the environment could lie)
# and brings lo up. OWN_NETNS is then 1; otherwise empty (no root, no
# namespaces: the caller skips what needs one).
if [ "${POPEK_NET_NETNS_INSIDE:-}" != 1 ] && [ "$(id -u)" = 0 ] &&
	unshare --net true 2>/dev/null; then
	POPEK_NET_NETNS_FROM=$(readlink /proc/self/ns/net)
	export POPEK_NET_NETNS_INSIDE=1 POPEK_NET_NETNS_FROM
	exec unshare --net -- bash "$0" "$@"
fi
OWN_NETNS=
if [ "${POPEK_NET_NETNS_INSIDE:-}" = 1 ]; then
	here=$(readlink /proc/self/ns/net)
	links=$(ip -o link show | awk -F': ' '{ print $2 }' | paste -sd ' ')
	if [ -z "$here" ] || [ "$here" = "${POPEK_NET_NETNS_FROM:-}" ] || [ "$links" != lo ]; then
		echo "FAIL $NETNS_GROUP/netns: not in a network namespace of its own: configuring nothing"
		exit 0
	fi
	if ! ip link set lo up; then
		echo "FAIL $NETNS_GROUP/netns: cannot bring up lo in the test's network namespace"
		exit 0
	fi
	OWN_NETNS=1
fi
unset POPEK_NET_NETNS_INSIDE POPEK_NET_NETNS_FROM
