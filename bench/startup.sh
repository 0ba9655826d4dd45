#!/bin/bash
# popek start-up cost: wall time from exec to the API socket answering, CPU
# time used until then, and popek's resident memory beyond guest RAM (before
# the guest starts, and running a small guest program that touches little of
# its RAM). Firecracker publishes <= 8 ms CPU to API-ready and <= 5 MiB
# overhead. Prints one table; median of RUNS.
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
POPEK=build/popek
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else print a[int((NR + 1) / 2)] }'; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# CPU time of all threads in ms, from schedstat (nanoseconds, not clock ticks).
cpu_ms() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.2f", t / 1e6 }'; }

ready=() cpu=() rss=()
for i in $(seq "$RUNS"); do
	sock=$TMP/api$i.sock
	s=$(date +%s%N)
	$POPEK run --api-sock "$sock" --id bench >/dev/null 2>&1 &
	pid=$!
	until $POPEK ctl --sock "$sock" info >/dev/null 2>&1; do sleep 0.001; done
	e=$(date +%s%N)
	ready+=("$(( (e - s) / 1000 ))")
	cpu+=("$(cpu_ms "$pid")")
	rss+=("$(rss_kib "$pid")")
	kill "$pid"; wait "$pid" 2>/dev/null
done
printf '%-44s %10s\n' "exec to API answering (wall, us, median)" \
	"$(printf '%s\n' "${ready[@]}" | median)"
printf '%-44s %10s\n' "CPU time until then (ms, median)" "$(printf '%s\n' "${cpu[@]}" | median)"
printf '%-44s %10s\n' "RSS waiting for configuration (KiB, median)" \
	"$(printf '%s\n' "${rss[@]}" | median)"

# A running guest that idles (ticks ten times a second until stopped).
. tests/e2e/lib/api_guest.sh
api_guest_build "$TMP" || echo "(cannot build the idle guest)"
$POPEK run --kernel "$TMP/guest.elf" --engine soft --mem 64M >/dev/null 2>&1 &
pid=$!
sleep 0.2
r=$(rss_kib "$pid")
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
printf '%-44s %10s\n' "RSS running a tiny guest, 64 MiB RAM (KiB)" "${r:-n/a (exited)}"
