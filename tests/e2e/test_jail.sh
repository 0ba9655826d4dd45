#!/bin/bash
# --jail DIR --uid N --gid N (src/host/jail.c): popek chroots into a prepared
# directory and runs as an unprivileged user before it opens anything, as
# Firecracker's jailer does. Checked here: guest programs run in the jail (by
# command line, config file, and API), every path is resolved inside it, the
# running process has the jail as its root, the new ids, no capabilities, its
# seccomp filters and no inherited descriptors, files the user may not open
# are refused, /dev/kvm is kept from before the chroot, and wrong uses fail
# with exactly one line.
# Needs root (chroot); skipped otherwise.
# Environment: POPEK (default build/asan/popek).
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
GUEST=tests/guest/build/debug_exit.elf
TMP=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$TMP"' EXIT
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP jail: not root (chroot needs CAP_SYS_CHROOT)"
	exit 0
fi
if [ ! -x "$POPEK" ] || [ ! -f "$GUEST" ]; then
	echo "SKIP jail: no $POPEK or $GUEST (make test builds both)"
	exit 0
fi
# LeakSanitizer needs /proc and ptrace at exit, neither of which a jailed,
# unprivileged process has.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
NOBODY=65534
J=$(realpath "$TMP")/jail
mkdir "$J"
cp "$GUEST" "$J/debug_exit.elf"
chown -R $NOBODY:$NOBODY "$J"
JAIL=(--jail "$J" --uid $NOBODY --gid $NOBODY)

check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS jail/$1"; else echo "FAIL jail/$1: got '$2', wanted '$3'"; fi
}

# expect_error NAME MESSAGE ARGS...: exit status 1 and exactly this one line.
expect_error() {
	local name=$1 want=$2
	shift 2
	"$POPEK" run "$@" >/dev/null 2>"$TMP/err" </dev/null
	check "$name" "$? $(cat "$TMP/err")" "1 popek: error: $want"
}

# run_guest NAME ARGS...: the debug-exit guest must end popek with 0x2a << 1 | 1.
run_guest() {
	local name=$1 rc
	shift
	timeout 60 "$POPEK" run "${JAIL[@]}" --mem 32M "$@" >"$TMP/$name.out" 2>&1 </dev/null
	rc=$?
	if [ "$rc" -eq 85 ] && grep -q 'writing 0x2a' "$TMP/$name.out"; then
		echo "PASS jail/$name"
	else
		echo "FAIL jail/$name: exit status $rc, wanted 85: $(tail -3 "$TMP/$name.out")"
	fi
}

run_guest guest_runs --kernel /debug_exit.elf --engine soft
# Relative paths start at the jail's root.
run_guest relative_path --kernel debug_exit.elf --engine soft
# The config file and the paths in it are inside the jail too.
cat >"$J/vm.json" <<EOF
{"boot-source": {"kernel_image_path": "/debug_exit.elf"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 32, "engine": "soft"}}
EOF
run_guest config_file_inside --config-file /vm.json
cp "$J/vm.json" "$TMP/host.json"
expect_error config_file_outside "--config-file '$TMP/host.json': No such file or directory" \
	"${JAIL[@]}" --config-file "$TMP/host.json"

# A path that exists on the host but not in the jail is not found.
expect_error kernel_outside "kernel '$PWD/$GUEST': No such file or directory" \
	"${JAIL[@]}" --kernel "$PWD/$GUEST" --engine soft
# Files are opened as the jail's user: a root-only image is refused.
head -c 1M /dev/zero >"$J/root-only.img"
chown 0:0 "$J/root-only.img"
chmod 600 "$J/root-only.img"
expect_error opened_as_user "--disk /root-only.img: cannot open read-write: Permission denied (add ,ro for read-only)" \
	"${JAIL[@]}" --kernel /debug_exit.elf --engine soft --disk /root-only.img

# /dev/kvm is opened before the chroot (the jail has no /dev).
if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; then
	run_guest kvm_kept --kernel /debug_exit.elf --engine kvm
else
	echo "SKIP jail/kvm_kept: /dev/kvm is not usable here"
fi

# Paths sent over the API are inside the jail as well.
S="$J/api.sock"
"$POPEK" run "${JAIL[@]}" --api-sock /api.sock >"$TMP/api.out" 2>&1 </dev/null &
PID=$!
for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.1; done
put() { curl -s -m 20 --unix-socket "$S" -X PUT -o /dev/null -w '%{http_code}' \
	-H 'Content-Type: application/json' --data-binary "$2" "http://localhost$1"; }
codes="$(put /boot-source '{"kernel_image_path": "/debug_exit.elf"}')"
codes+=" $(put /machine-config '{"vcpu_count": 1, "mem_size_mib": 32, "engine": "soft"}')"
codes+=" $(put /actions '{"action_type": "InstanceStart"}')"
for _ in $(seq 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
wait "$PID"
check api_paths_inside "$codes $? $(grep -c 'writing 0x2a' "$TMP/api.out")" "204 204 204 85 1"
PID=""

# A running jailed VM, seen from the host: its root, ids, capabilities and
# descriptors (fd 7, a directory outside the jail, must not survive).
. tests/e2e/lib/api_guest.sh
if ! api_guest_build "$TMP"; then
	echo "FAIL jail/build_guest: cannot build tests/e2e/lib/api_guest.c"
	exit 0
fi
cp "$TMP/guest.elf" "$J/ticks.elf"
rm -f "$S"
"$POPEK" run "${JAIL[@]}" --kernel /ticks.elf --engine soft --mem 32M --api-sock /api.sock \
	>"$TMP/run.out" 2>&1 </dev/null 7<"$TMP" &
PID=$!
for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.1; done
for _ in $(seq 100); do grep -q '^tick' "$TMP/run.out" && break; sleep 0.1; done
st=/proc/$PID/status
check root_is_jail "$(readlink /proc/$PID/root)" "$J"
check uid "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")" "$NOBODY $NOBODY $NOBODY $NOBODY"
check gid "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st")" "$NOBODY $NOBODY $NOBODY $NOBODY"
check no_groups "$(awk '/^Groups:/ { print $2 }' "$st")" ""
check no_capabilities "$(awk '/^Cap(Eff|Prm|Amb):/ { print $2 }' "$st" | sort -u)" "0000000000000000"
check no_new_privs "$(awk '/^NoNewPrivs:/ { print $2 }' "$st")" 1
check seccomp_still_on "$(awk '/^Seccomp:/ { print $2 }' "$st")" 2
check inherited_fd_closed "$(readlink /proc/$PID/fd/* | grep -cxF "$(realpath "$TMP")")" 0
body=$(curl -s -m 20 --unix-socket "$S" http://localhost/)
[[ "$body" == *'"state":"Running"'* ]] && echo "PASS jail/api_get_root" ||
	echo "FAIL jail/api_get_root: GET / answered '$body'"
check guest_ticks "$(grep -c '^tick' "$TMP/run.out" | awk '{ print ($1 > 0) }')" 1
kill -TERM "$PID"
wait "$PID"
check stops_on_signal "$?" 143
PID=""

# Wrong uses: one line, exit status 1.
expect_error dir_missing "--jail '$TMP/none': No such file or directory" \
	--jail "$TMP/none" --uid 1 --gid 1 --kernel /k
expect_error dir_not_directory "--jail '$J/debug_exit.elf': not a directory" \
	--jail "$J/debug_exit.elf" --uid 1 --gid 1 --kernel /k
NEEDS_IDS="--jail '$J' needs --uid N and --gid N: the user and group popek runs as inside the jail"
expect_error jail_without_ids "$NEEDS_IDS" --jail "$J" --kernel /k
expect_error jail_without_gid "$NEEDS_IDS" --jail "$J" --uid 1 --kernel /k
expect_error uid_without_jail "--uid needs --jail DIR (see popek --help)" --uid 1 --kernel /k
expect_error gid_without_jail "--gid needs --jail DIR (see popek --help)" --gid 1 --kernel /k
expect_error uid_negative "--uid '-1': must be a number from 0 to 4294967294" \
	--jail "$J" --uid -1 --gid 1 --kernel /k
expect_error uid_too_big "--uid '4294967295': must be a number from 0 to 4294967294" \
	--jail "$J" --uid 4294967295 --gid 1 --kernel /k
expect_error gid_not_number "--gid 'nogroup': must be a number from 0 to 4294967294" \
	--jail "$J" --uid 1 --gid nogroup --kernel /k
if command -v setpriv >/dev/null; then
	setpriv --reuid $NOBODY --regid $NOBODY --clear-groups "$POPEK" run "${JAIL[@]}" \
		--kernel /debug_exit.elf >/dev/null 2>"$TMP/err" </dev/null
	check needs_root "$? $(cat "$TMP/err")" "1 popek: error: --jail needs root (chroot into '$J' \
and the switch to --uid/--gid are privileged)"
else
	echo "SKIP jail/needs_root: no setpriv"
fi
