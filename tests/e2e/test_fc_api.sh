#!/bin/bash
# popek against Firecracker's API and command line: every path and method
# of Firecracker's spec (tests/e2e/fc_schema.json, checked by
# test_fc_api.py) on a popek not started and on a running one, Firecracker's
# request rules (unknown paths, bodies, the body size limit, the Deprecation
# header, duplicate MAC or tap), --http-api-max-payload-size, PUT /serial's
# file, a CPU template's MSR modifiers refused at InstanceStart for the VM's
# CPU vendor, and popek started under the name `firecracker` with Firecracker's
# flags only. The running VM is the tiny API guest (tests/e2e/lib/api_guest.c).
# Environment: POPEK (default build/asan/popek).
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
. tests/e2e/lib/scratch.sh
CHECK="python3 tests/e2e/test_fc_api.py"
SCHEMA=tests/e2e/fc_schema.json

. tests/e2e/lib/api_guest.sh
if [ ! -f tests/guest/build/lib/entry.o ] || [ ! -x "$POPEK" ]; then
	echo "SKIP fc_api: no $POPEK or no guest library (make test builds both)"
	exit 0
fi
if ! api_guest_build "$TMP"; then
	echo "FAIL fc_api/build_guest: cannot build tests/e2e/lib/api_guest.c"
	exit 0
fi
GUEST=$TMP/guest.elf
DISK=$TMP/disk.img
truncate -s 1M "$DISK"
# popek under Firecracker's name, as `make install` puts it.
FC=$TMP/bin/firecracker
mkdir -p "$TMP/bin"
ln -s "$(realpath "$POPEK")" "$FC"

. tests/e2e/lib/wait.sh
put() { # sock path body: the status code
	curl -s -m 20 --unix-socket "$1" -X PUT -o /dev/null -w '%{http_code}' \
		-H 'Content-Type: application/json' --data-binary "$3" "http://localhost$2"
}
check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS fc_api/$1"; else echo "FAIL fc_api/$1: got '$2', wanted '$3'"; fi
}
# start NAME ARGS...: popek as firecracker on $TMP/NAME.sock; sets PID.
start() {
	local name=$1
	shift
	"$FC" --api-sock "$TMP/$name.sock" "$@" >"$TMP/$name.out" 2>&1 </dev/null &
	PID=$!
	PIDS+=("$PID")
	if ! wait_sock "$TMP/$name.sock"; then
		echo "FAIL fc_api/$name: no API socket after 10 s: $(head -3 "$TMP/$name.out")"
		return 1
	fi
}

# === 1. Before the start: the request rules, then every path and method.
if start pre --id fc-pre; then
	$CHECK front "$TMP/pre.sock" "$TMP"
	$CHECK walk "$SCHEMA" "$TMP/pre.sock" pre "$TMP" "$GUEST" "$DISK"
	kill "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
fi

# === 2. A running VM, configured as Firecracker's clients do it.
if start post --id fc-post --level Warning; then
	S=$TMP/post.sock
	codes="$(put "$S" /serial "{\"serial_out_path\": \"$TMP/serial.out\"}")"
	codes+=" $(put "$S" /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}')"
	codes+=" $(put "$S" /boot-source "{\"kernel_image_path\": \"$GUEST\"}")"
	codes+=" $(put "$S" /metrics "{\"metrics_path\": \"$TMP/post-metrics.json\"}")"
	# The memory devices, so that their PATCH and GET have one to act on.
	codes+=" $(put "$S" /pmem/pmem0 "{\"id\": \"pmem0\", \"path_on_host\": \"$DISK\"}")"
	codes+=" $(put "$S" /hotplug/memory '{"total_size_mib": 128}')"
	# A balloon with hinting, so that the walk's GET /balloon/hinting/status
	# meets a real BalloonHintingStatus (the guest has no driver: start and
	# stop are refused, 400).
	codes+=" $(put "$S" /balloon '{"amount_mib": 0, "deflate_on_oom": false, "free_page_hinting": true}')"
	codes+=" $(put "$S" /actions '{"action_type": "InstanceStart"}')"
	check post_setup "$codes" "204 204 204 204 204 204 204 204"
	# PUT /serial: the guest's serial output goes to the file, not stdout.
	if wait_text "$TMP/serial.out" "tick 2" 60; then
		echo "PASS fc_api/serial_out_path"
	else
		echo "FAIL fc_api/serial_out_path: no tick in $TMP/serial.out: $(head -c 200 "$TMP/serial.out" 2>&1)"
	fi
	grep -q "^tick" "$TMP/post.out" && echo "FAIL fc_api/serial_not_stdout: ticks on stdout" ||
		echo "PASS fc_api/serial_not_stdout"
	$CHECK walk "$SCHEMA" "$S" post "$TMP" "$GUEST" "$DISK"
	kill "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
fi

# === 2b. A CPU template's MSR modifiers for MSRs the VM's CPU lacks: known
# only at the start (the vendor may come later, or from the host).
if start tmpl --id fc-tmpl; then
	S=$TMP/tmpl.sock
	codes="$(put "$S" /machine-config '{"vcpu_count": 1, "mem_size_mib": 32, "cpu_vendor": "amd"}')"
	codes+=" $(put "$S" /boot-source "{\"kernel_image_path\": \"$GUEST\"}")"
	codes+=" $(put "$S" /cpu-config '{"msr_modifiers": [{"addr": "0x277", "bitmap": "0b'"$(printf 'x%.0s' {1..64})"'"}, {"addr": "0x1a0", "bitmap": "0b'"$(printf 'x%.0s' {1..63})"'0"}]}')"
	check tmpl_setup "$codes" "204 204 204"
	got=$(curl -s -m 30 --unix-socket "$S" -X PUT -H 'Content-Type: application/json' \
		-d '{"action_type": "InstanceStart"}' -w ' %{http_code}' http://localhost/actions)
	check tmpl_msr_vendor "$got" '{"fault_message":"InstanceStart failed: cpu-config: msr_modifiers[1]: addr: MSR 0x1a0 is Intel'"'"'s and this VM'"'"'s CPU is AMD"} 400'
	kill "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
fi

# === 3. --http-api-max-payload-size, as Firecracker's own test sends it.
if start limit --http-api-max-payload-size 250; then
	$CHECK limit "$TMP/limit.sock" 250
	kill "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
fi

# === 4. Firecracker's command line: refused and informative flags.
out=$("$FC" --version 2>&1)
check version_flag "$out" "Firecracker v1.17.0-dev"
"$FC" --seccomp-filter "$TMP/x.bpf" >"$TMP/err" 2>&1
check seccomp_filter "$? $(cat "$TMP/err")" "1 popek: error: --seccomp-filter '$TMP/x.bpf': popek builds its own seccomp filters and cannot load Firecracker's BPF; leave it out (popek's filters are on) or use --no-seccomp"
"$FC" --no-api >"$TMP/err" 2>&1
check no_api_needs_config "$? $(cat "$TMP/err")" "1 popek: error: --no-api needs --config-file FILE: the microVM is then configured only from it"
"$FC" --api-sock "$TMP/x.sock" --engine soft >"$TMP/err" 2>&1
check popek_flag_refused "$? $(cat "$TMP/err")" "1 popek: error: unknown option '--engine' (see firecracker --help)"
"$FC" --http-api-max-payload-size 0 >"$TMP/err" 2>&1
check payload_zero "$?" 1

# --no-api with a config file written for Firecracker: the VM runs at once,
# with no socket; --metrics-path and --id are Firecracker's.
cat >"$TMP/vm.json" <<EOF
{"boot-source": {"kernel_image_path": "$GUEST"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 32}}
EOF
had_default_sock=no
[ -e /run/firecracker.socket ] && had_default_sock=yes
"$FC" --no-api --config-file "$TMP/vm.json" --id fc-noapi --metrics-path "$TMP/noapi-metrics.json" \
	>"$TMP/noapi.out" 2>&1 </dev/null &
PID=$!
PIDS+=("$PID")
if wait_text "$TMP/noapi.out" "tick 2" 60; then echo "PASS fc_api/no_api_runs"; else
	echo "FAIL fc_api/no_api_runs: $(tail -3 "$TMP/noapi.out")"; fi
if [ $had_default_sock = no ] && [ -e /run/firecracker.socket ]; then
	echo "FAIL fc_api/no_api_socket: /run/firecracker.socket was made"
else
	echo "PASS fc_api/no_api_socket"
fi
kill -TERM "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
[ -s "$TMP/noapi-metrics.json" ] && echo "PASS fc_api/metrics_path" ||
	echo "FAIL fc_api/metrics_path: no metrics line in $TMP/noapi-metrics.json"
# No sanitizer report from any of the popeks above.
bad=$(grep -al "AddressSanitizer\|runtime error\|LeakSanitizer" "$TMP"/*.out 2>/dev/null | head -3)
if [ -n "$bad" ]; then
	echo "FAIL fc_api/sanitizers: reports in $bad: $(grep -ah -m2 "ERROR\|runtime error" $bad | head -2)"
else
	echo "PASS fc_api/sanitizers"
fi
exit 0
