#!/bin/bash
# Exact time (issue 15, item 2): tests/guest/clock_warp.c reads RDTSC and kvmclock on
# every vCPU for 60 s and counts warps (a value below the largest any vCPU had seen),
# on 2 and on 4 vCPUs, and on 2 vCPUs paused and resumed through the API in the middle
# of the run; each must count none. The three run at once (about 70 s in all). Prints
# "PASS clock/ENGINE/RUN: counts" or "FAIL clock/ENGINE/RUN: why" for each, on every
# engine (KVM where /dev/kvm works). tests/e2e/test_guest_programs.sh runs the same
# program for 2 s, and its break_tsc control that must count warps.
# Environment: POPEK (default build/popek: the interpreter at full speed, more reads),
# POPEK_CLOCK_SECONDS (default 60), POPEK_CLOCK_ENGINES (default "soft kvm").
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/popek}
SECONDS_RUN=${POPEK_CLOCK_SECONDS:-60}
ENGINES=${POPEK_CLOCK_ENGINES:-soft kvm}
ELF=tests/guest/build/clock_warp.elf
PAUSE_AFTER=5 PAUSE_FOR=5 # seconds into the run, and how long
. tests/e2e/lib/scratch.sh

if [ ! -x "$POPEK" ] || [ ! -f "$ELF" ]; then
	echo "FAIL clock: no $POPEK or no $ELF (run make test)"
	exit 1
fi

kvm_usable() {
	[ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null
}

start() { # engine name cpus [popek options...]: runs the program in the background
	local e=$1 n=$2 cpus=$3
	shift 3
	timeout --kill-after=5 $((SECONDS_RUN + 90)) "$POPEK" run --kernel "$ELF" --test-device \
		--engine "$e" --mem 64M --cpus "$cpus" --cmdline "cpus=$cpus seconds=$SECONDS_RUN" \
		"$@" >"$TMP/$e.$n.out" 2>&1 </dev/null &
	PIDS+=($!)
	echo $! >"$TMP/$e.$n.pid"
}

. tests/e2e/lib/wait.sh

# Pauses the run NAME through its API socket once it measures, resumes it
# PAUSE_FOR seconds later. Prints why it could not; nothing when it did.
pause_resume() { # engine name
	local s=$TMP/$1.$2.sock
	wait_text "$TMP/$1.$2.out" "clock_warp: running" 60 || { echo "the run never started"; return; }
	sleep "$PAUSE_AFTER"
	"$POPEK" ctl --sock "$s" pause >/dev/null 2>&1 || { echo "pause through the API failed"; return; }
	sleep "$PAUSE_FOR"
	"$POPEK" ctl --sock "$s" resume >/dev/null 2>&1 || echo "resume through the API failed"
}

# Prints why run NAME failed; nothing when it passed.
judge() { # engine name
	local out=$TMP/$1.$2.out rc step
	rc=$(cat "$TMP/$1.$2.rc")
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "timed out"
	elif [ "$rc" -ne 33 ]; then
		echo "exit status $rc, wanted 33"
	fi
	grep -aq '^not ok' "$out" && echo "$(grep -ac '^not ok' "$out") checks failed"
	grep -aqE '^clock_warp: tsc: [0-9]+ CPUs, [1-9][0-9]* reads, 0 warps' "$out" ||
		echo "TSC warps or no TSC reads"
	if grep -aq 'kvmclock yes' "$out"; then
		grep -aqE '^clock_warp: kvmclock: [0-9]+ CPUs, [1-9][0-9]* reads, 0 warps' "$out" ||
			echo "kvmclock warps or no kvmclock reads"
	fi
	[ "$(grep -av '^popek: ' "$out" | tail -n 1)" = PASS ] || echo "last line is not PASS"
	if [ -f "$TMP/$1.$2.pausing" ]; then
		cat "$TMP/$1.$2.pausing"
		# The pause happened while every vCPU measured: the clocks jumped
		# over it (guest time runs on through a pause) without a warp.
		step=$(sed -n 's/^clock_warp: largest forward step \([0-9]*\) ns$/\1/p' "$out")
		[ "${step:-0}" -ge $(((PAUSE_FOR - 1) * 1000000000)) ] ||
			echo "largest forward step ${step:-?} ns: the pause was not inside the run"
	fi
}

for e in $ENGINES; do
	if [ "$e" = kvm ] && ! kvm_usable; then
		for n in 2cpus 4cpus pause_resume; do echo "SKIP clock/kvm/$n: no /dev/kvm"; done
		continue
	fi
	start "$e" 2cpus 2
	start "$e" 4cpus 4
	start "$e" pause_resume 2 --api-sock "$TMP/$e.pause_resume.sock"
	pause_resume "$e" pause_resume >"$TMP/$e.pause_resume.pausing"
	for n in 2cpus 4cpus pause_resume; do
		wait "$(cat "$TMP/$e.$n.pid")"
		echo $? >"$TMP/$e.$n.rc"
	done
	for n in 2cpus 4cpus pause_resume; do
		why=$(judge "$e" "$n" | paste -sd ';' | sed 's/;/; /g')
		counts=$(grep -a '^clock_warp: \(tsc\|kvmclock\)' "$TMP/$e.$n.out" |
			sed 's/^clock_warp: //' | paste -sd ';' | sed 's/;/; /g')
		if [ -z "$why" ]; then
			echo "PASS clock/$e/$n: ${SECONDS_RUN} s, $counts"
		else
			echo "FAIL clock/$e/$n: $why ($counts | $(tail -n 3 "$TMP/$e.$n.out" | paste -sd '|'))"
		fi
	done
done
