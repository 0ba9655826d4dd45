#!/bin/bash
# Runs popek's guest test programs (tests/guest/build/*.elf, built by `make test`)
# on every engine and prints "PASS guest/ENGINE/NAME", "FAIL guest/ENGINE/NAME: why
# (last lines)" or "SKIP guest/ENGINE/NAME: why" for each. A program that depends on
# the CPU vendor runs once per model, as NAME@intel and NAME@amd, and some once more
# with other settings, as NAME@VARIANT (runs_of, run_one).
# Environment: POPEK (default build/asan/popek), POPEK_GUEST_ENGINES (default
# "soft kvm"), POPEK_GUEST_TIMEOUT (seconds per program, default 30),
# POPEK_GUEST_PROGRAMS (names to run, NAME or NAME@VARIANT, default all of
# tests/guest/Makefile's).
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
ENGINES=${POPEK_GUEST_ENGINES:-soft kvm}
LIMIT=${POPEK_GUEST_TIMEOUT:-30}
DIR=tests/guest
BUILD=$DIR/build
SOFT_LIST=$DIR/soft_expected_failures.txt
PVM_LIST=$DIR/kvm_pvm_limits.txt
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The runs of program NAME: NAME@intel and NAME@amd for those whose result
# depends on the modelled vendor (--cpu-vendor), NAME@VARIANT for other
# settings (run_one), else NAME.
runs_of() { # name
	case $1 in
	*@*) echo "$1" ;;
	syscall_compat | misc_enable | apic_disable) echo "$1@intel $1@amd" ;;
	clock_warp) echo "$1 $1@break_tsc" ;; # @break_tsc: the control that must see warps
	debug_regs | debug_syscall) echo "$1 $1@nojit" ;; # the translator on (default) and off
	msr_template) echo "$1@intel" ;;       # its MSRs are Intel's
	*) echo "$1" ;;
	esac
}

# The host's CPU vendor as --cpu-vendor names it (KVM can model only that one).
host_vendor() {
	case $(grep -m1 '^vendor_id' /proc/cpuinfo 2>/dev/null) in
	*GenuineIntel*) echo intel ;;
	*AuthenticAMD* | *HygonGenuine*) echo amd ;;
	*) echo unknown ;;
	esac
}

PROGRAMS=
for n in ${POPEK_GUEST_PROGRAMS:-$(make -s --no-print-directory -C "$DIR" list)}; do
	PROGRAMS+="$(runs_of "$n") "
done
if [ -z "$PROGRAMS" ] || [ ! -x "$POPEK" ]; then
	echo "FAIL guest: no program list or no $POPEK (run make test)"
	exit 1
fi

# The line for NAME in a list file ("NAME [reason]", '#' comments), or nothing.
list_entry() { # file name
	[ -f "$1" ] && sed '/^[[:space:]]*#/d' "$1" | awk -v n="$2" '$1 == n { $1 = ""; sub(/^ +/, ""); print; f = 1 } END { exit !f }'
}

kvm_usable() {
	[ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null
}

# The 1024 bytes virtio_blk_hostile writes to sectors 10-11 (written_byte()).
blk_written() {
	local i o s=
	for ((i = 0; i < 1024; i++)); do
		printf -v o '\\0%03o' $(((i * 13 + 5) % 256))
		s+=$o
	done
	printf '%b' "$s"
}

# How image $1 differs from $2: "size N" when its size does, then the
# sectors (of their common length) that do, one a line.
image_diff() { # image want
	local got
	got=$(stat -c %s "$1")
	[ "$got" = "$(stat -c %s "$2")" ] || echo "size $got"
	cmp -l "$1" "$2" 2>/dev/null | awk '{ print int(($1 - 1) / 512) }' | uniq
}

# The side effects virtio_blk_hostile must not have: a refused write that
# reached an image (every one carries bytes no sector holds), and the check's
# positive control, the legitimate write, missing.
judge_blk() { # engine
	local d rest
	d=$(image_diff "$TMP/$1.blk.img" "$TMP/$1.blk.want")
	rest=$(printf '%s\n' "$d" | grep -vxE '10|11|' | paste -sd ' ')
	[ -n "$rest" ] && echo "refused writes changed the disk image (sectors/size: $rest)"
	printf '%s\n' "$d" | grep -qxE '10|11' && echo "the legitimate write of sectors 10-11 is not in the disk image"
	d=$(image_diff "$TMP/$1.blk-ro.img" "$TMP/$1.blk-ro.want")
	[ -n "$d" ] && echo "the read-only disk image changed (sectors/size: $(paste -sd ' ' <<<"$d"))"
}

# Why tests/e2e/lib/tap_netns.sh cannot run here; fails (prints nothing) when it can.
tap_netns_unusable() {
	if [ "$(id -u)" != 0 ]; then
		echo "not root: no tap in a private network namespace"
	elif ! command -v python3 >/dev/null || ! command -v ip >/dev/null; then
		echo "python3 and ip are needed to record a tap's traffic"
	elif [ ! -c /dev/net/tun ] || ! unshare --net true 2>/dev/null; then
		echo "no /dev/net/tun or no private network namespace (unshare --net)"
	else
		return 1
	fi
}

# What virtio_net_hostile must not have done: send a frame of a rejected TX
# chain (each carries popek-net-REJECTED) or anything but its ARP requests and
# its one marker frame (popek-net-accepted, the check's positive control).
judge_net() { # engine
	local d=$TMP/$1.net rej acc other frames packets errs dropped
	[ -f "$TMP/$1.virtio_net_hostile.skip" ] && return
	if [ ! -f "$d/frames" ] || [ ! -f "$d/counters" ]; then
		echo "no record of the tap's traffic"
		return
	fi
	grep -aq '^virtio_net_hostile: 2 NICs tested' "$TMP/$1.virtio_net_hostile.out" ||
		echo "the program did not test the tap NIC"
	rej=$(grep -c "$(hex_of popek-net-REJECTED)" "$d/frames")
	acc=$(grep -c "$(hex_of popek-net-accepted)" "$d/frames")
	other=$(awk '$1 != "0806"' "$d/frames" | grep -v "$(hex_of popek-net-accepted)" |
		grep -vc "$(hex_of popek-net-REJECTED)")
	[ "$rej" -eq 0 ] || echo "$rej frames of rejected TX chains left the NIC (tap capture)"
	[ "$other" -eq 0 ] || echo "$other frames on the tap that the program never sent validly"
	[ "$acc" -eq 1 ] || echo "the valid marker frame reached the tap $acc times, not once"
	frames=$(wc -l <"$d/frames")
	read -r packets errs dropped <"$d/counters"
	[ "$packets/$errs/$dropped" = "$frames/0/0" ] ||
		echo "the tap counted $packets frames ($errs errors, $dropped dropped), the capture $frames"
}

# The bytes of virtio_console_hostile's stdout that are not text: serial
# lines are text, so these come from hvc0, and must be exactly the four 0xfe of
# its valid transmission (the positive control), none of a rejected request.
judge_console() { # engine
	local odd
	odd=$(LC_ALL=C tr -d '\n\r\t\040-\176' <"$TMP/$1.virtio_console_hostile.stdout" |
		od -An -v -tx1 | tr -d ' \n')
	[ "$odd" = fefefefe ] ||
		echo "popek's stdout holds $((${#odd} / 2)) bytes that are not text (${odd:0:40}), not the valid transmission's 4 bytes fe"
}

# What virtio_vsock_hostile must not have done: connect to the listener on
# port 5001 or send it data with a rejected packet. Its one valid connection
# (the positive control) must have brought popek-vsock-accepted and no more.
judge_vsock() { # engine
	local f=$TMP/$1.vsock.conns n got
	if [ ! -f "$f" ]; then
		echo "no record of the vsock listener"
		return
	fi
	n=$(grep -c '^accept' "$f")
	[ "$n" = 1 ] || echo "the listener on port 5001 got $n connections, not 1 (the valid one)"
	got=$(sed -n 's/^closed [0-9]* //p' "$f" | tr -d '\n')
	[ "$got" = "$(hex_of $'popek-vsock-accepted\n')" ] ||
		echo "the listener got '$(text_of "$got" | cut -c 1-80)' in all, not popek-vsock-accepted"
}

hex_of() { # string
	printf %s "$1" | od -An -v -tx1 | tr -d ' \n'
}

text_of() { # hex: its printable characters
	printf '%b' "$(printf %s "$1" | sed 's/../\\x&/g')" | tr -cd '[:print:]'
}

# msr_template's CPU template (Firecracker's msr_modifiers): ARCH_CAPABILITIES
# in full, RSBA SKIP_L1DFL_VMENTRY PSCHANGE_MC_NO TSX_CTRL MISC_PACKAGE_CTRLS
# ENERGY_FILTERING_CTL RRSBA (bits 2 3 6 7 10 11 19) and no other; MISC_ENABLE
# without fast strings (0), with SpeedStep (16); PAT's last entry WC. Then
# the values the guest must read: the reset MISC_ENABLE is 0x1801 and the
# reset PAT 0x0007040600070406 (src/cpu/reset_msrs.h).
msr_template_json() {
	local x="xxxxxxxx"
	cat <<EOF
{"cpu-config": {"msr_modifiers": [
  {"addr": "0x10a", "bitmap": "0b$(printf '0%.0s' {1..44})1000_0000110011001100"},
  {"addr": "0x1a0", "bitmap": "0b$x$x$x$x${x}xxxxxxx1_${x}xxxxxxx0"},
  {"addr": "0x277", "bitmap": "0b00000001$x$x$x$x$x$x$x"}]}}
EOF
}
MSR_TEMPLATE_WANT="arch_caps=$((0x80ccc)) misc_enable=$((0x11800)) pat=$((0x0107040600070406))"

run_one() { # engine name
	local args=(run --kernel "$BUILD/${2%@*}.elf" --test-device --engine "$1" --mem 64M) in=/dev/null
	local wrap=() reason listener=

	case $2 in
	*@intel | *@amd) args+=(--cpu-vendor "${2#*@}") ;;
	esac
	case $2 in
	nmi | apic_disable@*) args+=(--cpus 2) ;;
	clock_warp) args+=(--cpus 2 --cmdline "cpus=2 seconds=2") ;; # 60 s: test_clock_warp.sh
	clock_warp@break_tsc) args+=(--cpus 2 --cmdline "cpus=2 seconds=2 break_tsc=1") ;;
	*@nojit) [ "$1" = soft ] && args+=(--soft-jit off) ;;
	esac
	if [ "${2%@*}" = msr_template ]; then # a CPU template and what it makes of the MSRs
		msr_template_json >"$TMP/$1.msr_template.json"
		args+=(--config-file "$TMP/$1.msr_template.json" --cmdline "$MSR_TEMPLATE_WANT")
	fi
	[ "$2" = multiboot ] && args+=(--cmdline "popek-multiboot-test arg=1"
		--initrd "$BUILD/mod1.bin mod-one,$BUILD/mod2.bin mod-two")
	if [ "$2" = virtio_net_hostile ]; then
		args+=(--net user)
		if reason=$(tap_netns_unusable); then
			echo "$reason" >"$TMP/$1.$2.skip"
		else # a second NIC on a tap that records what the guest sends
			wrap=(bash tests/e2e/lib/tap_netns.sh "$TMP/$1.net" ptap0 10.0.2.2/24)
			mkdir -p "$TMP/$1.net"
			args+=(--net "tap,ifname=ptap0")
		fi
	fi
	if [ "$2" = virtio_vsock_hostile ]; then # a listener on guest port 5001's socket
		args+=(--vsock "cid=3,path=$TMP/$1.vsock")
		python3 tests/e2e/lib/unix_recorder.py "$TMP/$1.vsock_5001" "$TMP/$1.vsock.conns" &
		listener=$!
		for _ in $(seq 1 100); do
			[ -S "$TMP/$1.vsock_5001" ] && break
			sleep 0.05
		done
	fi
	[ "$2" = virtio_balloon_hostile ] && args+=(--balloon=0,stats=3600)
	[ "$2" = hypercall_nopv ] && args+=(--no-pv)
	[ "$2" = high_mem ] && args+=(--mem 3328M) # 256 MiB above 4 GiB
	if [ "$2" = virtio_console_hostile ]; then # input waiting for hvc0
		in=$TMP/$1.console.in
		echo popek-console-rx >"$in"
		args+=(--virtio-console)
	fi
	if [ "$2" = virtio_blk_hostile ]; then # 1 MiB images whose sector 0 starts with a marker
		head -c 1M /dev/zero >"$TMP/$1.blk.img"
		printf 'popek-blk-hostile' | dd of="$TMP/$1.blk.img" conv=notrunc status=none
		cp "$TMP/$1.blk.img" "$TMP/$1.blk-ro.img"
		# What they must hold after the run: the same bytes, but for the
		# program's one legitimate write (sectors 10-11 of the first).
		cp "$TMP/$1.blk.img" "$TMP/$1.blk.want"
		blk_written | dd of="$TMP/$1.blk.want" bs=512 seek=10 conv=notrunc status=none
		cp "$TMP/$1.blk-ro.img" "$TMP/$1.blk-ro.want"
		args+=(--disk "$TMP/$1.blk.img,id=hostile-id" --disk "$TMP/$1.blk-ro.img,ro")
	fi
	if [ "$2" = jit_dma ]; then # a scratch disk for the code it reads back
		head -c 64K /dev/zero >"$TMP/$1.jit_dma.img"
		args+=(--disk "$TMP/$1.jit_dma.img")
	fi
	if [ "$2" = virtio_console_hostile ]; then # the log apart: stdout is ttyS0's and hvc0's
		"${wrap[@]}" timeout --kill-after=5 "$LIMIT" "$POPEK" "${args[@]}" \
			>"$TMP/$1.$2.stdout" 2>"$TMP/$1.$2.stderr" <"$in"
		echo $? >"$TMP/$1.$2.rc"
		cat "$TMP/$1.$2.stdout" "$TMP/$1.$2.stderr" >"$TMP/$1.$2.out"
		return
	fi
	"${wrap[@]}" timeout --kill-after=5 "$LIMIT" "$POPEK" "${args[@]}" >"$TMP/$1.$2.out" 2>&1 <"$in"
	echo $? >"$TMP/$1.$2.rc"
	if [ -n "$listener" ]; then # until it has seen every connection end
		for _ in $(seq 1 40); do
			[ "$(grep -c '^accept' "$TMP/$1.vsock.conns")" = \
				"$(grep -c '^closed' "$TMP/$1.vsock.conns")" ] && break
			sleep 0.05
		done
		kill "$listener"
		wait "$listener" 2>/dev/null
	fi
}

# Prints why the run of NAME did not go as expected; nothing when it did.
judge() { # engine name
	local out=$TMP/$1.$2.out rc want=33 last
	rc=$(cat "$TMP/$1.$2.rc")
	case $2 in
	triple_fault) want=2 ;;
	debug_exit) want=85 ;;
	esac
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "timed out after ${LIMIT}s"
	elif [ "$rc" -ne "$want" ]; then
		echo "exit status $rc, wanted $want"
	elif [ "$2" = triple_fault ]; then
		grep -aq '^triple_fault: loading an empty IDT' "$out" || echo "the program did not start"
		grep -aq 'state at the crash' "$out" || echo "no crash dump"
	elif [ "$2" = debug_exit ]; then
		grep -aq '^debug_exit: writing 0x2a' "$out" || echo "the program did not start"
	else
		last=$(grep -av '^popek: ' "$out" | tail -n 1)
		case $2 in # the program saw the vendor it was run for
		*@intel) grep -aq '^# vendor GenuineIntel' "$out" || echo "the program did not report vendor GenuineIntel" ;;
		*@amd) grep -aq '^# vendor AuthenticAMD' "$out" || echo "the program did not report vendor AuthenticAMD" ;;
		esac
		grep -aq '^not ok' "$out" && echo "$(grep -ac '^not ok' "$out") checks failed"
		grep -aq '# SKIP' "$out" && echo "checks skipped although the test device is attached"
		[ "$last" = PASS ] || echo "last line is '$last', not PASS"
		if [ "$2" = virtio_console_hostile ]; then
			grep -aq '^popek-console-tx-ok' "$out" || echo "no hvc0 output on popek's stdout"
		fi
	fi
	# What the host saw, whatever the program said.
	case $2 in
	virtio_blk_hostile) judge_blk "$1" ;;
	virtio_net_hostile) judge_net "$1" ;;
	virtio_console_hostile) judge_console "$1" ;;
	virtio_vsock_hostile) judge_vsock "$1" ;;
	esac
}

report() { # engine name
	local e=$1 n=$2 why tail reason
	why=$(judge "$e" "$n" | paste -sd ';' | sed 's/;/; /g')
	tail=$(grep -a '^not ok' "$TMP/$e.$n.out" | head -n 3; grep -a '^popek:' "$TMP/$e.$n.out" |
		head -n 2; tail -n 3 "$TMP/$e.$n.out")
	tail=$(printf '%s\n' "$tail" | tr -d '\r' | awk '!seen[$0]++' | paste -sd '|' | cut -c 1-400)
	if [ "$e" = soft ] && list_entry "$SOFT_LIST" "$n" >/dev/null; then
		if [ -z "$why" ]; then
			echo "FAIL guest/$e/$n: listed as expected failure but passes: remove it from the list ($SOFT_LIST)"
		else
			echo "SKIP guest/$e/$n: not yet supported by the soft engine ($SOFT_LIST)"
		fi
	elif [ "$e" = kvm ] && [ -d /sys/module/kvm_pvm ] && reason=$(list_entry "$PVM_LIST" "$n"); then
		if [ -z "$why" ]; then
			echo "FAIL guest/$e/$n: listed as a kvm_pvm host limit but passes: remove it from $PVM_LIST"
		else
			echo "SKIP guest/$e/$n: this host's KVM is kvm_pvm: $reason ($PVM_LIST; here: $why)"
		fi
	elif [ -z "$why" ]; then
		echo "PASS guest/$e/$n"
	else
		echo "FAIL guest/$e/$n: $why ($tail)"
	fi
	# A host-side check that could not run here.
	if [ -f "$TMP/$e.$n.skip" ]; then
		echo "SKIP guest/$e/$n/host_side: $(cat "$TMP/$e.$n.skip")"
	fi
}

jobs_max=$(nproc 2>/dev/null || echo 2)
for e in $ENGINES; do
	if [ "$e" = kvm ] && ! kvm_usable; then
		for n in $PROGRAMS; do
			echo "SKIP guest/kvm/$n: no /dev/kvm"
		done
		continue
	fi
	skip_kvm_vendor=
	for n in $PROGRAMS; do
		if [ "$e" = kvm ] && [[ $n == *@intel || $n == *@amd ]] &&
			[ "${n#*@}" != "$(host_vendor)" ]; then
			skip_kvm_vendor+=" $n"
			continue
		fi
		if [ ! -f "$BUILD/${n%@*}.elf" ]; then
			echo "127" >"$TMP/$e.$n.rc"
			echo "$BUILD/${n%@*}.elf is missing (make guest-programs)" >"$TMP/$e.$n.out"
			continue
		fi
		while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
			wait -n
		done
		run_one "$e" "$n" &
	done
	wait
	for n in $PROGRAMS; do
		if [[ " $skip_kvm_vendor " == *" $n "* ]]; then
			echo "SKIP guest/$e/$n: KVM presents the host's CPU ($(host_vendor)), not ${n#*@}"
			continue
		fi
		report "$e" "$n"
	done
done
