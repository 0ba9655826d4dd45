#!/bin/bash
# Snapshots end to end on the soft engine (issue 12): a guest program
# (tests/guest/snapshot.c) is paused in the middle of its computation, its
# snapshot taken through the API, the process killed, and the program
# finished in a new popek (--restore on the command line, PUT /snapshot/load
# through the API, resumed at once or later), with 1 and 2 vCPUs: it must
# print the result of a run without a cut and pass its own checks (time never
# back, the timer still interrupting, devices holding what it wrote). Diff
# snapshots (dirty page tracking): a Full one, then Diffs as the program runs
# on, rebased in order onto the Full's memory file, finish it as well. Then
# damaged and mismatched snapshots, and rebases of files that do not go
# together, each refused with exit status 1 and one line naming the problem.
# Environment: POPEK (default build/asan/popek), POPEK_SNAPSHOT_ROUNDS and
# POPEK_SNAPSHOT_DIFF_ROUNDS (the program's rounds without and with Diffs).
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
PROG=tests/guest/build/snapshot.elf
ROUNDS=${POPEK_SNAPSHOT_ROUNDS:-1500}
# Long enough for the program to run on a second past its window, Diffs taken on the way.
DIFF_ROUNDS=${POPEK_SNAPSHOT_DIFF_ROUNDS:-4000}
. tests/e2e/lib/scratch.sh
SNAP="python3 tests/e2e/lib/snapfile.py"

pass() { echo "PASS snapshot/$1"; }
fail() { echo "FAIL snapshot/$1: $2"; }

if [ ! -x "$POPEK" ] || [ ! -f "$PROG" ]; then
	fail setup "no $POPEK or $PROG (run make test)"
	exit 1
fi

# reference NAME ROUNDS: the program run without a cut; its result line in
# REF_RESULT, true when it passed.
reference() { # name rounds
	local st f=$TMP/${1//\//.}
	"$POPEK" run --test-device --kernel "$PROG" --cmdline "rounds=$2" --engine soft \
		>"$f.out" 2>"$f.err"
	st=$?
	REF_RESULT=$(grep -m1 '^result ' "$f.out")
	if [ "$st" != 33 ] || [ -z "$REF_RESULT" ]; then
		fail "$1" "status $st, output: $(tail -3 "$f.out" | tr '\n' '|') $(tail -2 "$f.err")"
		return 1
	fi
	pass "$1"
}
reference reference "$ROUNDS" || exit 1
WANT=$REF_RESULT

# The program under the API: its console in $TMP/NAME.out1, its socket
# $TMP/NAME.sock, its pid in PROG_PID. Each step says "FAIL NAME/take" and
# returns 1 when it did not work.
# prog_start NAME ROUNDS CPUS ENGINE [POPEK-ARGS...]: started, and paused in its window.
prog_start() { # name rounds cpus engine [args]
	local n=$1 rounds=$2 cpus=$3 engine=$4
	shift 4
	"$POPEK" run --test-device --kernel "$PROG" --cmdline "rounds=$rounds" --engine "$engine" \
		--cpus "$cpus" --api-sock "$TMP/$n.sock" "$@" >"$TMP/$n.out1" 2>"$TMP/$n.err1" &
	PROG_PID=$!
	PIDS+=("$PROG_PID")
	if ! wait_for "$TMP/$n.out1" "snapshot window" 60; then
		fail "$n/take" "no window: $(tail -2 "$TMP/$n.err1")"
		return 1
	fi
	prog_pause "$n"
}

# prog_pause NAME: paused, the program not finished yet.
prog_pause() { # name
	"$POPEK" ctl --sock "$TMP/$1.sock" pause >/dev/null 2>"$TMP/$1.ctl" || {
		fail "$1/take" "pause: $(cat "$TMP/$1.ctl")"
		return 1
	}
	if grep -q '^result' "$TMP/$1.out1"; then
		fail "$1/take" "the program finished before the pause (raise POPEK_SNAPSHOT_ROUNDS or POPEK_SNAPSHOT_DIFF_ROUNDS)"
		return 1
	fi
}

# prog_snap NAME FILES [--diff]: a snapshot into $TMP/FILES.state and $TMP/FILES.mem.
prog_snap() { # name files [--diff]
	if ! "$POPEK" ctl --sock "$TMP/$1.sock" snapshot create "$TMP/$2.state" "$TMP/$2.mem" "${@:3}" \
		>/dev/null 2>"$TMP/$1.ctl"; then
		fail "$1/take" "snapshot create $2 ${3:-}: $(cat "$TMP/$1.ctl")"
		return 1
	fi
}

# prog_kill NAME: killed, the program not run on while paused.
prog_kill() { # name
	kill -9 "$PROG_PID" 2>/dev/null
	wait "$PROG_PID" 2>/dev/null
	if grep -q '^result' "$TMP/$1.out1"; then
		fail "$1/take" "the program ran on while paused"
		return 1
	fi
}

# take NAME CPUS [ENGINE]: runs the program under the API (soft engine by
# default), snapshots it in its window into $TMP/NAME.state and
# $TMP/NAME.mem; true when that worked. On the way, a Diff of it is refused:
# popek runs without --track-dirty-pages.
take() { # name cpus [engine]
	local n=$1 out st
	prog_start "$n" "$ROUNDS" "$2" "${3:-soft}" && prog_snap "$n" "$n" || return 1
	out=$("$POPEK" ctl --sock "$TMP/$n.sock" snapshot create "$TMP/$n.dstate" "$TMP/$n.dmem" \
		--diff 2>&1)
	st=$?
	if [ $st = 1 ] && [[ "$out" == *"dirty page tracking disabled"* ]] &&
		[ ! -e "$TMP/$n.dstate" ] && [ ! -e "$TMP/$n.dmem" ]; then
		pass "$n/diff-untracked"
	else
		fail "$n/diff-untracked" "status $st, files: $(cd "$TMP" && echo "$n".d*): $out"
	fi
	prog_kill "$n" && pass "$n/take"
}

# judge NAME STATUS OUTPUT [WANT]: the restored run finished as the
# reference did (WANT, by default the reference of ROUNDS).
judge() { # name status outfile errfile [want]
	local got want=${5:-$WANT}
	got=$(grep -m1 '^result ' "$3")
	if [ "$2" != 33 ]; then
		fail "$1" "status $2 (33 is PASS): $(grep -m3 'not ok\|FAIL' "$3" | tr '\n' '|') $(tail -2 "$4" | tr '\n' '|')"
	elif [ "$got" != "$want" ]; then
		fail "$1" "'$got', the uncut run printed '$want'"
	elif grep -q 'snapshot window' "$3"; then
		fail "$1" "the restored program started over"
	else
		pass "$1"
	fi
}

for cpus in 1 2; do
	n=cli$cpus
	take "$n" "$cpus" || continue
	timeout 120 "$POPEK" run --engine soft --restore "$TMP/$n.state" --mem-file "$TMP/$n.mem" \
		>"$TMP/$n.out2" 2>"$TMP/$n.err2"
	judge "$n/restore" $? "$TMP/$n.out2" "$TMP/$n.err2"
	# The same snapshot a second time: the memory file is mapped privately,
	# so the first restore's guest writes never reached it.
	timeout 120 "$POPEK" run --engine soft --restore "$TMP/$n.state" --mem-file "$TMP/$n.mem" \
		>"$TMP/$n.out3" 2>"$TMP/$n.err3"
	judge "$n/restore-again" $? "$TMP/$n.out3" "$TMP/$n.err3"
done

# api_popek NAME: a popek waiting for its configuration on $TMP/NAME.sock
# (console to $TMP/NAME.out, log to $TMP/NAME.err); its pid in API_PID.
api_popek() { # name
	"$POPEK" run --engine soft --api-sock "$TMP/$1.sock" >"$TMP/$1.out" 2>"$TMP/$1.err" &
	API_PID=$!
	PIDS+=("$API_PID")
	local i
	# Its "listening" line is at the info level, not shown: asked until it answers.
	for ((i = 0; i < 100; i++)); do
		"$POPEK" ctl --sock "$TMP/$1.sock" info >/dev/null 2>&1 && return
		sleep 0.1
	done
}

# after_config NAME METHOD BODY: a load after that machine-config request is refused.
after_config() { # name method body
	local out
	api_popek "$1"
	curl -s -m 10 --unix-socket "$TMP/$1.sock" -X "$2" -d "$3" http://localhost/machine-config >/dev/null
	out=$("$POPEK" ctl --sock "$TMP/$1.sock" snapshot load "$TMP/api.state" "$TMP/api.mem" 2>&1)
	[[ "$out" == *"not allowed after configuring"* ]] && pass "api/$1" || fail "api/$1" "$out"
}

# Through the API: PUT /snapshot/load with resume_vm, and paused then resumed.
if take api 1; then
	for mode in resume paused; do
		api_popek "load-$mode"
		sock=$TMP/load-$mode.sock pid=$API_PID
		arg=; [ $mode = resume ] && arg=--resume
		if ! "$POPEK" ctl --sock "$sock" snapshot load "$TMP/api.state" "$TMP/api.mem" $arg \
			>/dev/null 2>"$TMP/load.ctl"; then
			fail "api/load-$mode" "snapshot load: $(cat "$TMP/load.ctl")"
			continue
		fi
		if [ $mode = paused ]; then
			state=$("$POPEK" ctl --sock "$sock" info 2>/dev/null | tr -d ' \t\n' | grep -o '"state":"[A-Za-z ]*"')
			[[ "$state" == *Paused* ]] && pass api/loaded-paused ||
				fail api/loaded-paused "state after load without resume_vm: $state"
			"$POPEK" ctl --sock "$sock" resume >/dev/null 2>&1
		fi
		timeout 120 tail --pid="$pid" -f /dev/null
		wait "$pid"
		judge "api/load-$mode" $? "$TMP/load-$mode.out" "$TMP/load-$mode.err"
	done
	# A load that fails says why in its answer, and the API stays up.
	api_popek bad
	sock=$TMP/bad.sock
	head -c 100 "$TMP/api.state" >"$TMP/bad.state"
	out=$("$POPEK" ctl --sock "$sock" snapshot load "$TMP/bad.state" "$TMP/api.mem" 2>&1)
	[[ "$out" == *"truncated"* ]] && pass api/load-says-why || fail api/load-says-why "$out"
	out=$("$POPEK" ctl --sock "$sock" info 2>&1)
	[[ "$out" == *"Not started"* ]] && pass api/load-failed-stays-up ||
		fail api/load-failed-stays-up "$out"
	# Load refused once something is configured, as Firecracker does.
	after_config load-after-config PUT '{"vcpu_count": 1, "mem_size_mib": 64}'
	after_config load-after-patch PATCH '{"vcpu_count": 2}'
fi

# Across engines, where KVM works: taken on one, finished on the other. KVM
# takes the soft engine's 1 GHz TSC (KVM_SET_TSC_KHZ); the soft engine, whose
# TSC runs at 1 GHz only, refuses KVM's rate in one line.
if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; then
	for pair in soft:kvm kvm:soft; do
		from=${pair%:*} to=${pair#*:}
		take "$from-$to" 1 "$from" || continue
		timeout 120 "$POPEK" run --engine "$to" --restore "$TMP/$from-$to.state" \
			--mem-file "$TMP/$from-$to.mem" >"$TMP/$from-$to.out2" 2>"$TMP/$from-$to.err2"
		st=$?
		if [ $to = kvm ] && [ $st = 1 ] && grep -q "cannot scale it" "$TMP/$from-$to.err2"; then
			pass "$from-$to/refused (this host's KVM cannot scale the TSC to 1 GHz)"
		elif [ $to = soft ]; then
			out=$(cat "$TMP/$from-$to.out2" "$TMP/$from-$to.err2")
			[ $st = 1 ] && [[ "$out" == *"the soft engine's runs at 1000000 kHz"* ]] &&
				[ "$(grep -c . <<<"$out")" = 1 ] && pass "$from-$to/refused" ||
				fail "$from-$to/refused" "status $st: $(tr '\n' '|' <<<"$out")"
		else
			judge "$from-$to/restore" $st "$TMP/$from-$to.out2" "$TMP/$from-$to.err2"
		fi
	done
else
	echo "SKIP snapshot/soft-kvm: no /dev/kvm"
	echo "SKIP snapshot/kvm-soft: no /dev/kvm"
fi

# refused NAME WANT COMMAND...: COMMAND ends with status 1 and one line
# that holds WANT.
refused() { # name want-substring command...
	local name=$1 want=$2 st out
	shift 2
	out=$(timeout 60 "$@" 2>&1 </dev/null)
	st=$?
	if [ $st != 1 ]; then
		fail "$name" "status $st, wanted 1: $(tail -2 <<<"$out" | tr '\n' '|')"
	elif [[ "$out" != *"$want"* ]]; then
		fail "$name" "'$want' not in: $(tr '\n' '|' <<<"$out")"
	elif [ "$(grep -c . <<<"$out")" != 1 ]; then
		fail "$name" "more than one line: $(tr '\n' '|' <<<"$out")"
	else
		pass "$name"
	fi
}

# Diff snapshots, with --track-dirty-pages. chain_take NAME CPUS: a Full
# snapshot in the window ($TMP/NAME.full.*), at once a Diff (NAME.d0: the
# Full took the dirty log, so it holds next to nothing), then two Diffs
# (NAME.d1, NAME.d2), each after the program ran on for half a second.
chain_take() { # name cpus
	local n=$1 d
	prog_start "$n" "$DIFF_ROUNDS" "$2" soft --track-dirty-pages && prog_snap "$n" "$n.full" &&
		prog_snap "$n" "$n.d0" --diff || return 1
	for d in d1 d2; do
		"$POPEK" ctl --sock "$TMP/$n.sock" resume >/dev/null 2>"$TMP/$n.ctl" || {
			fail "$n/take" "resume: $(cat "$TMP/$n.ctl")"
			return 1
		}
		sleep 0.5
		prog_pause "$n" && prog_snap "$n" "$n.$d" --diff || return 1
	done
	prog_kill "$n" && pass "$n/take"
}

# size_ok NAME FILE MIN MAX: FILE holds from MIN to MAX KiB of data (its holes,
# the pages a Diff leaves to its base, take no room).
size_ok() { # name file min-kib max-kib
	local kib
	kib=$(du -k "$2" | cut -f1)
	if [ "$kib" -ge "$3" ] && [ "$kib" -le "$4" ]; then
		pass "$1"
	else
		fail "$1" "$kib KiB of data in $(basename "$2"), wanted $3 to $4"
	fi
}

# rebase NAME DIFF: $TMP/NAME.chain.mem holds $TMP/NAME.DIFF.mem too.
rebase() { # name diff
	"$POPEK" snapshot rebase "$TMP/$1.chain.mem" "$TMP/$1.$2.mem" >"$TMP/$1.rebase" 2>&1 && return
	fail "$1/rebase-$2" "$(tr '\n' '|' <"$TMP/$1.rebase")"
	return 1
}

reference diff/reference "$DIFF_ROUNDS" || exit 1
DIFF_WANT=$REF_RESULT
for cpus in 1 2; do
	n=diff$cpus
	chain_take "$n" "$cpus" || continue
	size_ok "$n/d0-after-full" "$TMP/$n.d0.mem" 0 63
	# What the program rewrites each round is a 2 MiB buffer; RAM is 256 MiB.
	size_ok "$n/d1-size" "$TMP/$n.d1.mem" 2048 16383
	size_ok "$n/d2-size" "$TMP/$n.d2.mem" 2048 16383
	cp "$TMP/$n.full.mem" "$TMP/$n.chain.mem"
	if [ $cpus = 1 ]; then
		# Rebases that cannot be right are refused, the base left as it was.
		M=$TMP/$n.chain.mem
		cp "$TMP/$n.d1.mem" "$TMP/$n.short.mem" # its data, half its size
		truncate -s 128M "$TMP/$n.short.mem"
		refused diff/rebase-sizes "not the same VM's memory" "$POPEK" snapshot rebase "$M" "$TMP/$n.short.mem"
		refused diff/rebase-missing "No such file" "$POPEK" snapshot rebase "$M" "$TMP/$n.none.mem"
		ln "$M" "$TMP/$n.link.mem"
		refused diff/rebase-itself "is the base memory file" "$POPEK" snapshot rebase "$M" "$TMP/$n.link.mem"
		cmp -s "$M" "$TMP/$n.full.mem" && pass diff/rebase-refused-untouched ||
			fail diff/rebase-refused-untouched "a refused rebase changed the base"
	fi
	rebase "$n" d0 && rebase "$n" d1 || continue
	timeout 120 "$POPEK" run --engine soft --restore "$TMP/$n.d1.state" --mem-file "$TMP/$n.chain.mem" \
		>"$TMP/$n.out2" 2>"$TMP/$n.err2"
	judge "$n/d1-restore" $? "$TMP/$n.out2" "$TMP/$n.err2" "$DIFF_WANT"
	rebase "$n" d2 || continue
	timeout 120 "$POPEK" run --engine soft --restore "$TMP/$n.d2.state" --mem-file "$TMP/$n.chain.mem" \
		>"$TMP/$n.out3" 2>"$TMP/$n.err3"
	judge "$n/d2-restore" $? "$TMP/$n.out3" "$TMP/$n.err3" "$DIFF_WANT"
done

# Damaged and mismatched snapshots: exit status 1 and one line naming the problem.
refuse() { # name want-substring state mem [extra args]
	local name=$1 want=$2 state=$3 mem=$4
	shift 4
	refused "damage/$name" "$want" "$POPEK" run --engine soft --restore "$state" --mem-file "$mem" "$@"
}
if [ -f "$TMP/cli1.state" ]; then
	S=$TMP/cli1.state M=$TMP/cli1.mem D=$TMP/d
	size=$(stat -c %s "$S")
	head -c $((size / 2)) "$S" >$D.trunc
	refuse truncated "truncated" $D.trunc "$M"
	cp "$S" $D.flip && $SNAP $D.flip flip VCPU 0 100
	refuse bit-flip "checksum" $D.flip "$M"
	cp "$S" $D.hdr
	printf '\x01' | dd of=$D.hdr bs=1 seek=12 conv=notrunc status=none # the section count
	refuse header "damaged header" $D.hdr "$M"
	cp "$S" $D.magic
	printf 'X' | dd of=$D.magic bs=1 seek=0 conv=notrunc status=none
	refuse bad-magic "not a popek snapshot" $D.magic "$M"
	cp "$S" $D.ver && $SNAP $D.ver version 99
	refuse version "version 99" $D.ver "$M"
	: >$D.empty
	refuse empty "truncated" $D.empty "$M"
	refuse missing-state "No such file" $D.none "$M"
	refuse directory "not a regular file" "$TMP" "$M"
	refuse missing-mem "No such file" "$S" $D.none
	head -c 4096 "$M" >$D.shortmem
	refuse mem-size "not a file of" "$S" $D.shortmem
	cp "$S" $D.novcpu && $SNAP $D.novcpu drop VCPU 0
	refuse no-vcpu "no section for vCPU 0" $D.novcpu "$M"
	cp "$S" $D.nouart && $SNAP $D.nouart drop UART 0
	refuse no-uart "no section for the serial port" $D.nouart "$M"
	# A well-formed file with values no machine holds.
	cp "$S" $D.nmi && $SNAP $D.nmi poke VCPU 0 -1028 7 # nmi_pending (the events, then the 1024-byte LAPIC page)
	refuse nmi-count "NMIs pending" $D.nmi "$M"
	cp "$S" $D.cpus && $SNAP $D.cpus poke MACH 0 8 0 # vCPU count 0
	refuse vcpu-count "0 vCPUs" $D.cpus "$M"
	# The clock section: u64 guest ns, then u32 TSC kHz (the soft engine's: 1000000).
	cp "$S" $D.tsc && $SNAP $D.tsc poke32 CLCK 0 8 2495000
	refuse tsc-rate "the snapshot's TSC runs at 2495000 kHz; the soft engine's runs at 1000000 kHz" \
		$D.tsc "$M"
	cp "$S" $D.tsc0 && $SNAP $D.tsc0 poke32 CLCK 0 8 0
	refuse tsc-rate-0 "the guest TSC runs at 0 kHz" $D.tsc0 "$M"
	out=$(timeout 20 "$POPEK" run --restore "$S" 2>&1); st=$?
	[ $st = 1 ] && [[ "$out" == *"needs --mem-file"* ]] && pass damage/no-mem-file ||
		fail damage/no-mem-file "status $st: $out"
	out=$(timeout 20 "$POPEK" run --restore "$S" --mem-file "$M" --kernel "$PROG" 2>&1); st=$?
	[ $st = 1 ] && [[ "$out" == *"kernel is in its memory file"* ]] && pass damage/with-kernel ||
		fail damage/with-kernel "status $st: $out"
fi
exit 0
