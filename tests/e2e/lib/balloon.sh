# Helpers for the balloon's end-to-end scripts (test_balloon_reporting.sh,
# test_balloon_hinting.sh): popek's anonymous RSS, in which guest RAM (a
# private anonymous mapping, or private copies of a restored memory file's
# pages) is counted, and a snapshot taken and restored. Source after
# vm_console.sh and scratch.sh.

rss_anon_kib() { # 0 once popek is gone
	local v
	v=$(awk '/^RssAnon:/ { print $2 }' "/proc/$VM_PID/status" 2>/dev/null)
	echo "${v:-0}"
}

# rss_after_drop FROM: RssAnon once it is 200 MiB below FROM KiB, or after 30 s.
rss_after_drop() {
	local v=$1
	for _ in $(seq 60); do
		v=$(rss_anon_kib)
		[ $(($1 - v)) -ge $((200 * 1024)) ] && break
		sleep 0.5
	done
	echo "$v"
}

# balloon_restart NAME SOCK NEWSOCK: pauses the VM behind SOCK and snapshots
# it into $TMP/s.st and $TMP/s.mem ("PASS NAME/snapshot" or FAIL), ends it,
# starts popek from the snapshot with its API on NEWSOCK and waits until
# GET /balloon answers 200 there. Returns 1, after "FAIL NAME/restore", when
# the restored popek does not get that far (it is then ended).
balloon_restart() {
	vm_snapshot "$1" "$2"
	vm_cleanup
	vm_start run --engine soft --restore "$TMP/s.st" --mem-file "$TMP/s.mem" --api-sock "$3"
	for _ in $(seq 100); do
		kill -0 "$VM_PID" 2>/dev/null || break
		[ "$(curl -s -m 5 --unix-socket "$3" -o /dev/null -w '%{http_code}' \
			http://localhost/balloon)" = 200 ] && return 0
		sleep 0.1
	done
	echo "FAIL $1/restore: $(tr -d '\r' <"$VM_OUT" | grep -a 'popek: ' | head -2)"
	vm_cleanup
	return 1
}
