#!/bin/bash
# Dirty-page costs (issue 12) on the default guest, soft engine, 512 MiB:
# - Diff snapshot sizes: a Full snapshot, then a Diff after the guest sat
#   idle at its shell for 5 s, then one after 5 s of a busy loop rewriting
#   32 MiB of tmpfs (data on disk, KiB);
# - live migration over a Unix socket to a second popek, with the guest idle
#   and with the same busy loop running: total time, downtime (the guest
#   stopped), pre-copy rounds and MiB sent, from the source's metrics,
#   RUNS times each (medians).
# Prints; never fails on speed.
# usage: [RUNS=3] bench/migrate.sh [POPEK]
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
. tests/e2e/lib/vm_console.sh
POPEK=${1:-build/popek}
RUNS=${RUNS:-3}
TMP=$(mktemp -d /var/tmp/popek-mig.XXXXXX)
DST=
trap '[ -n "$DST" ] && kill -9 $DST 2>/dev/null; rm -rf "$TMP"' EXIT
BUSY='(while :; do dd if=/dev/zero of=/root/busy bs=1M count=32 conv=notrunc 2>/dev/null; done) &'

boot() { # extra args...
	vm_start run --kernel "$KERNEL" --initrd "$INITRD" --engine soft --mem 512M \
		--api-sock "$TMP/api.sock" --metrics-file "$TMP/metrics" "$@"
	vm_wait "popek:/root# " 300 && vm_ready 60
}
ctl() { "$POPEK" ctl --sock "$TMP/api.sock" "$@" >/dev/null; }
kib() { echo $(($(du -k "$1" | cut -f1))); }

echo "== Diff snapshots (512 MiB guest; KiB of data in each memory file)"
if boot --track-dirty-pages; then
	ctl pause && ctl snapshot create "$TMP/full.st" "$TMP/full.mem" && ctl resume
	sleep 5
	ctl pause && ctl snapshot create "$TMP/idle.st" "$TMP/idle.mem" --diff && ctl resume
	vm_send "$BUSY"
	sleep 5
	ctl pause && ctl snapshot create "$TMP/busy.st" "$TMP/busy.mem" --diff
	printf '%-28s %10s\n' "Full" "$(kib "$TMP/full.mem")" "Diff after 5 s idle" \
		"$(kib "$TMP/idle.mem")" "Diff after 5 s busy" "$(kib "$TMP/busy.mem")"
else
	echo "the guest did not boot"
fi
vm_cleanup
rm -f "$TMP"/*.mem "$TMP"/*.st

# One migration; prints "total downtime rounds MiB" from the source's metrics.
migrate_once() { # busy?
	rm -f "$TMP/metrics" "$TMP/dst.sock"
	boot || return 1
	[ "$1" = busy ] && { vm_send "$BUSY"; sleep 2; }
	"$POPEK" run --engine soft --incoming "unix:$TMP/dst.sock" >"$TMP/dst.out" 2>&1 &
	DST=$!
	for ((i = 0; i < 100; i++)); do [ -S "$TMP/dst.sock" ] && break; sleep 0.05; done
	ctl migrate --to "unix:$TMP/dst.sock" || { vm_cleanup; return 1; }
	wait "$VM_PID" 2>/dev/null
	kill -9 "$DST" 2>/dev/null
	wait "$DST" 2>/dev/null
	DST=
	vm_cleanup
	python3 - "$TMP/metrics" <<'PY'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1]) if "migration" in l][-1]["migration"]
print(m["total_ms"], m["downtime_ms"], m["rounds"], m["pages"] * 4096 // 1048576)
PY
}

echo
echo "== live migration, 512 MiB guest, Unix socket (median of $RUNS runs)"
printf '%-6s %10s %12s %7s %9s\n' guest "total ms" "downtime ms" rounds "MiB sent"
for kind in idle busy; do
	rows=
	for ((r = 0; r < RUNS; r++)); do
		rows+="$(migrate_once $kind)"$'\n'
	done
	col() { awk -v c="$1" 'NF == 4 { print $c }' <<<"$rows" | median; }
	printf '%-6s %10s %12s %7s %9s\n' "$kind" "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)"
done
