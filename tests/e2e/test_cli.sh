#!/bin/bash
# Negative and basic CLI tests: each bad input must give exit status 1 and
# exactly one line on stderr that names the problem and the value.
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

expect_error() { # name expected-substring args...
	local name=$1 want=$2 rc lines
	shift 2
	"$POPEK" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	lines=$(wc -l <"$TMP/err")
	if [ "$rc" -ne 1 ]; then
		echo "FAIL $name: exit status $rc, wanted 1 ($(head -c 300 "$TMP/err"))"
	elif [ "$lines" -ne 1 ]; then
		echo "FAIL $name: $lines lines on stderr, wanted 1: $(head -c 300 "$TMP/err")"
	elif ! grep -qF -- "$want" "$TMP/err"; then
		echo "FAIL $name: stderr lacks '$want': $(cat "$TMP/err")"
	else
		echo "PASS $name"
	fi
}

"$POPEK" --help >"$TMP/help" 2>&1 && grep -q -- '--kernel' "$TMP/help" &&
	grep -q -- '--engine' "$TMP/help" && grep -q -- '--cpu-vendor NAME  the CPU the guest sees' "$TMP/help" &&
	grep -q -- '--no-pv            offer the guest no KVM paravirtual features' "$TMP/help" &&
	echo "PASS help" || echo "FAIL help: $(head -3 "$TMP/help")"
"$POPEK" --version | grep -qE '^popek [0-9]+\.[0-9]+' && echo "PASS version" || echo "FAIL version"

head -c 4096 /dev/urandom >"$TMP/junk"
: >"$TMP/empty"
head -c $((24 * 1024 * 1024)) /dev/zero >"$TMP/big-initrd"

expect_error missing_kernel "/nonexistent/vmlinuz" run --kernel /nonexistent/vmlinuz
expect_error kernel_is_directory "$TMP" run --kernel "$TMP"
expect_error empty_kernel "$TMP/empty" run --kernel "$TMP/empty"
expect_error not_a_kernel "$TMP/junk" run --kernel "$TMP/junk"
expect_error no_kernel "--kernel" run
expect_error unknown_option "--frobnicate" run --frobnicate
expect_error bad_log_level "--log-level 'loud'" run --kernel "$TMP/junk" --log-level loud
expect_error bad_log_path "--log-path '/nonexistent/dir/log'" run --kernel "$TMP/junk" \
	--log-path /nonexistent/dir/log
printf '{"logger": {"level": "Verbose"}}' >"$TMP/logger.json"
expect_error bad_logger_config "logger.level: 'Verbose' is not" run --config-file "$TMP/logger.json"
# --log-path takes the error about the kernel, and --log-level info adds lines.
"$POPEK" run --kernel "$TMP/junk" --log-level info --log-path "$TMP/log" >/dev/null 2>"$TMP/err" </dev/null
[ $? = 1 ] && [ ! -s "$TMP/err" ] && grep -q "popek: error: kernel '$TMP/junk'" "$TMP/log" &&
	echo "PASS log_path_gets_errors" || echo "FAIL log_path_gets_errors: $(cat "$TMP/err" "$TMP/log")"
expect_error unknown_command "fly" fly
expect_error missing_value "--mem" run --kernel "$TMP/junk" --mem
expect_error bad_mem "--mem 'lots'" run --kernel "$TMP/junk" --mem lots
expect_error mem_too_small "--mem 1 MiB" run --kernel "$TMP/junk" --mem 1M
expect_error mem_too_large "--mem 104857600 MiB" run --kernel "$TMP/junk" --mem 100T
expect_error mem_way_too_large "--mem 102400000 MiB" run --kernel "$TMP/junk" --mem 100000G
expect_error cpus_zero "--cpus '0'" run --kernel "$TMP/junk" --cpus 0
expect_error cpus_too_many "--cpus '65'" run --kernel "$TMP/junk" --cpus 65
expect_error bad_engine "--engine 'warp'" run --kernel "$TMP/junk" --engine warp
expect_error bad_cpu_vendor "--cpu-vendor 'arm': must be host, intel or amd" run --kernel "$TMP/junk" \
	--cpu-vendor arm
# --engine auto with a /dev/kvm that is there but unusable says so at the
# default log level (a missing one is the normal case: nothing said).
POPEK_KVM_DEVICE=/dev/null "$POPEK" run --kernel "$TMP/junk" >/dev/null 2>"$TMP/err" </dev/null
grep -q "warning: engine auto: using the soft engine (much slower) because KVM is not usable: /dev/null" "$TMP/err" &&
	echo "PASS auto_kvm_unusable_warns" || echo "FAIL auto_kvm_unusable_warns: $(cat "$TMP/err")"
POPEK_KVM_DEVICE=/nonexistent/kvm "$POPEK" run --kernel "$TMP/junk" >/dev/null 2>"$TMP/err" </dev/null
grep -q "engine auto" "$TMP/err" && echo "FAIL auto_no_kvm_quiet: $(cat "$TMP/err")" ||
	echo "PASS auto_no_kvm_quiet"
# KVM shows the host's CPU: asking it for the other vendor is refused before
# anything else is tried (so this runs without /dev/kvm too).
if grep -qm1 AuthenticAMD /proc/cpuinfo; then host=amd other=intel; else host=intel other=amd; fi
expect_error kvm_other_vendor "--cpu-vendor $other: the kvm engine presents the host's CPU ($host)" \
	run --kernel "$TMP/junk" --engine kvm --cpu-vendor "$other"


expect_error net_unknown_mode "--net 'bridge': unknown mode 'bridge'" run --kernel "$TMP/junk" --net bridge
expect_error net_bad_hostfwd "bad hostfwd 'tcp:127.0.0.1:80'" run --kernel "$TMP/junk" \
	--net user,hostfwd=tcp:127.0.0.1:80
expect_error net_bad_hostfwd_port "bad hostfwd 'tcp::99999-:80'" run --kernel "$TMP/junk" \
	--net user,hostfwd=tcp::99999-:80
expect_error net_bad_mac "bad MAC address 'zz'" run --kernel "$TMP/junk" --net user,mac=zz
expect_error tap_without_ifname "tap needs ifname=NAME" run --kernel "$TMP/junk" --net tap
expect_error disk_bad_option "unknown or bad option 'rw'" run --kernel "$TMP/junk" --disk "$TMP/junk,rw"
expect_error vsock_bad_cid "bad cid '2'" run --kernel "$TMP/junk" --vsock cid=2,path=/tmp/v.sock
expect_error balloon_bad_size "--balloon 'huge'" run --kernel "$TMP/junk" --balloon=huge
expect_error balloon_bad_stats "--balloon '64M,stats=70000'" run --kernel "$TMP/junk" --balloon=64M,stats=70000
expect_error balloon_bad_option "--balloon ',reporting,x'" run --kernel "$TMP/junk" --balloon=,reporting,x

# --engine kvm where there is no KVM: POPEK_KVM_DEVICE points the probe elsewhere.
POPEK_KVM_DEVICE=/nonexistent/kvm expect_error engine_kvm_without_kvm "--engine kvm: no /nonexistent/kvm" \
	run --kernel "$TMP/junk" --engine kvm

KERNEL=build/guest/vmlinuz
if [ -f "$KERNEL" ]; then
	head -c 200000 "$KERNEL" >"$TMP/truncated"
	expect_error truncated_bzimage "$TMP/truncated" run --kernel "$TMP/truncated"
	expect_error kernel_does_not_fit "--mem 24M" run --kernel "$KERNEL" --mem 24M
	expect_error initrd_does_not_fit "$TMP/big-initrd" run --kernel "$KERNEL" \
		--initrd "$TMP/big-initrd" --mem 80M
	expect_error missing_initrd_real_kernel "/nonexistent/initrd" run --kernel "$KERNEL" \
		--initrd /nonexistent/initrd
else
	echo "SKIP truncated_bzimage: build/guest/vmlinuz not built"
	echo "SKIP initrd_does_not_fit: build/guest/vmlinuz not built"
fi
