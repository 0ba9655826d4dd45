#!/bin/bash
# The control plane end to end: a VM driven through the HTTP API only
# (configure, InstanceStart, pause, resume, metrics, stop), the same through
# `popek ctl`, hostile and wrong requests (each must get its status code
# while the VM keeps running), --config-file, four VMs at once, and one real
# Linux boot paused and resumed. Most checks use a tiny guest program
# (tests/e2e/lib/api_guest.c: a timer that prints "tick N" ten times a second).
# Environment: POPEK (default build/asan/popek), POPEK_LINUX (the binary for the
# Linux boot, default build/popek; POPEK_API_LINUX=0 skips that boot).
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
POPEK_LINUX=${POPEK_LINUX:-build/popek}
. tests/e2e/lib/scratch.sh
CLIENT="python3 tests/e2e/lib/api_client.py"
python3 -c 'import socket' 2>/dev/null || CLIENT=""

check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS api/$1"; else echo "FAIL api/$1: got '$2', wanted '$3'"; fi
}
check_has() { # name text substring
	if [[ "$2" == *"$3"* ]]; then echo "PASS api/$1"; else echo "FAIL api/$1: '$3' not in '${2:0:300}'"; fi
}

# api SOCK METHOD PATH [BODY]: sets CODE and BODY.
api() {
	local sock=$1 m=$2 p=$3
	shift 3
	if [ $# -gt 0 ]; then
		CODE=$(curl -s -m 20 --unix-socket "$sock" -X "$m" -o "$TMP/body" -w '%{http_code}' \
			-H 'Content-Type: application/json' --data-binary "$1" "http://localhost$p")
	else
		CODE=$(curl -s -m 20 --unix-socket "$sock" -X "$m" -o "$TMP/body" -w '%{http_code}' \
			"http://localhost$p")
	fi
	BODY=$(cat "$TMP/body" 2>/dev/null)
}
# expect NAME SOCK METHOD PATH [BODY] CODE [SUBSTRING]: one request and its answer.
expect() {
	local name=$1 sock=$2 m=$3 p=$4 body="" want sub=""
	shift 4
	if [ "$m" = PUT ] || [ "$m" = PATCH ]; then body=$1; shift; fi
	want=$1 sub=${2:-}
	if [ "$m" = PUT ] || [ "$m" = PATCH ]; then api "$sock" "$m" "$p" "$body"; else api "$sock" "$m" "$p"; fi
	if [ "$CODE" != "$want" ]; then
		echo "FAIL api/$name: $m $p: status $CODE, wanted $want ($BODY)"
	elif [ -n "$sub" ] && [[ "$BODY" != *"$sub"* ]]; then
		echo "FAIL api/$name: $m $p: body '$BODY' lacks '$sub'"
	else
		echo "PASS api/$name"
	fi
}
jq_body() { jq -r "$@" <<<"$BODY" 2>/dev/null; }
# check_unchanged NAME BEFORE AFTER: a count that must not move. Both must be
# counts, and BEFORE above 0, so that an empty or missing value (no /metrics,
# no output yet: "" equals "", "null" equals "null") fails instead of matching.
check_unchanged() {
	if [[ ! "$2" =~ ^[0-9]+$ || ! "$3" =~ ^[0-9]+$ ]] || [ "$2" -eq 0 ]; then
		echo "FAIL api/$1: not a count above 0: before '$2', after '$3'"
	else
		check "$1" "$3" "$2"
	fi
}

. tests/e2e/lib/wait.sh
ticks() { grep -ac '^tick' "$1" 2>/dev/null; }
# wait_exit PID SECONDS: sets STATUS (124 on timeout).
wait_exit() {
	local t0=$SECONDS
	while kill -0 "$1" 2>/dev/null; do
		if [ $((SECONDS - t0)) -ge "$2" ]; then STATUS=124; return; fi
		sleep 0.1
	done
	wait "$1"
	STATUS=$?
}

# --- the guest program, built with the guest test library.
. tests/e2e/lib/api_guest.sh
if [ ! -f tests/guest/build/lib/entry.o ] || [ ! -x "$POPEK" ]; then
	echo "SKIP api: no $POPEK or no guest library (make test builds both)"
	exit 0
fi
if ! api_guest_build "$TMP"; then
	echo "FAIL api/build_guest: cannot build tests/e2e/lib/api_guest.c"
	exit 0
fi
GUEST=$TMP/guest.elf

# === 1. A VM configured and started through the API only.
S=$TMP/a.sock OUT=$TMP/a.out
"$POPEK" run --api-sock "$S" --id vm-a >"$OUT" 2>&1 </dev/null &
PA=$!
PIDS+=("$PA")
if ! wait_sock "$S"; then
	echo "FAIL api/socket: no socket $S after 10 s: $(head -3 "$OUT")"
	exit 0
fi
expect root_not_started "$S" GET / 200 '"state":"Not started"'
check root_id "$(jq_body .id)" vm-a
check root_app "$(jq_body .app_name)" popek
expect start_without_kernel "$S" PUT /actions '{"action_type":"InstanceStart"}' 400 \
	"no kernel configured"
expect machine_config "$S" PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 32, "engine": "soft"}' 204
expect machine_config_get "$S" GET /machine-config 200 '"vcpu_count":2,"mem_size_mib":32'
expect machine_config_patch "$S" PATCH /machine-config '{"vcpu_count": 1}' 204
expect machine_config_patched "$S" GET /machine-config 200 '"vcpu_count":1,"mem_size_mib":32'
expect cpu_vendor_default "$S" GET /popek/machine-config 200 '"cpu_vendor":"host"'
# popek's extensions are not in Firecracker's MachineConfiguration.
api "$S" GET /machine-config
check machine_config_fc_only "$(jq_body 'keys|join(",")')" huge_pages,mem_size_mib,smt,track_dirty_pages,vcpu_count
expect cpu_vendor_bad "$S" PATCH /machine-config '{"cpu_vendor": "arm"}' 400 \
	"cpu_vendor: 'arm' is not one of"
expect pv_default "$S" GET /popek/machine-config 200 '"pv":true'
expect pv_off "$S" PATCH /machine-config '{"pv": false}' 204
expect pv_off_get "$S" GET /popek/machine-config 200 '"pv":false'
expect pv_bad "$S" PATCH /machine-config '{"pv": "no"}' 400 "pv: must be true or false, not a string"
expect pv_on "$S" PATCH /machine-config '{"pv": true}' 204
# A start that fails (not a kernel) leaves the API up for another try.
head -c 4096 /dev/urandom >"$TMP/junk"
expect boot_source_junk "$S" PUT /boot-source "{\"kernel_image_path\": \"$TMP/junk\"}" 204
expect start_fails "$S" PUT /actions '{"action_type": "InstanceStart"}' 400 "InstanceStart failed"
expect after_failed_start "$S" GET / 200 '"state":"Not started"'
expect boot_source "$S" PUT /boot-source "{\"kernel_image_path\": \"$GUEST\", \"boot_args\": \"quiet\"}" 204
expect metrics_path "$S" PUT /metrics "{\"metrics_path\": \"$TMP/metrics.json\"}" 204

# Negative requests before the start.
expect malformed_json "$S" PUT /machine-config '{"vcpu_count": ' 400 "malformed JSON"
expect wrong_type "$S" PUT /machine-config '{"vcpu_count": "2", "mem_size_mib": 32}' 400 \
	"vcpu_count: must be an integer, not a string"
expect out_of_range "$S" PUT /machine-config '{"vcpu_count": 0, "mem_size_mib": 32}' 400 \
	"vcpu_count: must be an integer from 1 to 64 (got 0)"
expect unknown_key "$S" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32, "cpus": 1}' 400 \
	"cpus: unknown key"
expect missing_kernel_file "$S" PUT /boot-source '{"kernel_image_path": "/nonexistent/k"}' 400 \
	"kernel_image_path: cannot read '/nonexistent/k'"
expect drive_id_mismatch "$S" PUT /drives/rootfs "{\"drive_id\": \"other\", \"path_on_host\": \"$GUEST\", \"is_root_device\": false, \"is_read_only\": true}" \
	400 "does not match the id in the request path"
expect unknown_resource "$S" GET /nonexistent 400 \
	"Invalid request method and/or path: GET nonexistent."
expect unknown_subresource "$S" GET /vm/nothing 400 "Invalid request method and/or path: GET vm."
expect wrong_method "$S" DELETE /machine-config 400 \
	"Invalid request method and/or path: DELETE machine-config."
expect pause_before_start "$S" PATCH /vm '{"state": "Paused"}' 400 "not running"
expect flush_before_start "$S" PUT /actions '{"action_type": "FlushMetrics"}' 400 "not running"
expect unknown_action "$S" PUT /actions '{"action_type": "Reboot"}' 400 "is not InstanceStart"
head -c 70000 /dev/zero | tr '\0' ' ' | sed 's/^/{/;s/$/}/' >"$TMP/big.json"
CODE=$(curl -s -m 20 --unix-socket "$S" -X PUT -o "$TMP/body" -w '%{http_code}' \
	-H 'Content-Type: application/json' --data-binary @"$TMP/big.json" http://localhost/boot-source)
check body_over_limit_curl "$CODE $(cat "$TMP/body")" '400 { "error": "Request payload with size 70002 is larger than the limit of 51200 allowed by server.
All previous unanswered requests will be dropped." }'
expect still_not_started "$S" GET / 200 '"state":"Not started"'

expect entropy "$S" PUT /entropy '{"rate_limiter": null}' 204
# Rate limiters (issue 13): Firecracker's token buckets, each bad key named.
expect entropy_rate_limiter_bad "$S" PUT /entropy '{"rate_limiter": {"bandwidth": {"size": 1}}}' 400 \
	"rate_limiter.bandwidth.refill_time: missing (an integer is required)"
expect entropy_rate_limiter "$S" PUT /entropy \
	'{"rate_limiter": {"bandwidth": {"size": 1000000, "refill_time": 1000}, "ops": {"size": 10, "refill_time": 100}}}' 204
truncate -s 1M "$TMP/rl.img"
truncate -s 3M "$TMP/rl2.img"
RL='{"bandwidth": {"size": 2097152, "one_time_burst": 4096, "refill_time": 1000}}'
expect drive_rate_limiter "$S" PUT /drives/rl "{\"drive_id\": \"rl\", \"path_on_host\": \"$TMP/rl.img\", \"is_root_device\": false, \"rate_limiter\": $RL}" 204
expect drive_rate_limiter_neg "$S" PUT /drives/rl "{\"drive_id\": \"rl\", \"path_on_host\": \"$TMP/rl.img\", \"is_root_device\": false, \"rate_limiter\": {\"ops\": {\"size\": -5, \"refill_time\": 1}}}" 400 \
	"rate_limiter.ops.size: must be an integer from 0 to 9007199254740992 (got -5)"
expect drive_rate_limiter_zero_refill "$S" PUT /drives/rl "{\"drive_id\": \"rl\", \"path_on_host\": \"$TMP/rl.img\", \"is_root_device\": false, \"rate_limiter\": {\"ops\": {\"size\": 5, \"refill_time\": 0}}}" 400 \
	"rate_limiter.ops.refill_time: must be at least 1 (ms) when size is not 0"
expect net_rate_limiter "$S" PUT /network-interfaces/eth0 '{"iface_id": "eth0", "mode": "user", "rx_rate_limiter": {}, "tx_rate_limiter": {"ops": {"size": 100, "refill_time": 10}}}' 204
expect net_rate_limiter_bad "$S" PUT /network-interfaces/eth0 '{"iface_id": "eth0", "mode": "user", "rx_rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1, "burst": 1}}}' 400 \
	"rx_rate_limiter.bandwidth.burst: unknown key"
expect rate_limiters_in_config "$S" GET /vm/config 200 "\"rate_limiter\":$(jq -c . <<<"$RL")"
check entropy_limiter_in_config "$(jq_body -c '.entropy.rate_limiter.ops')" '{"size":10,"refill_time":100}'
# A user-mode interface is popek's: only /popek/vm/config shows it.
api "$S" GET /popek/vm/config
check net_limiter_in_config "$(jq_body -c '."network-interfaces"[0] | [.rx_rate_limiter, .tx_rate_limiter]')" \
	'[null,{"ops":{"size":100,"refill_time":10}}]'
expect patch_drive_before_start "$S" PATCH /drives/rl '{"drive_id": "rl", "rate_limiter": {}}' 400 \
	"The requested operation is not supported before starting the microVM."
expect patch_net_before_start "$S" PATCH /network-interfaces/eth0 '{"iface_id": "eth0"}' 400 \
	"not supported before starting"
expect logger_bad_level "$S" PUT /logger '{"level": "Loud"}' 400 "level: 'Loud' is not Error"
expect logger_bad_path "$S" PUT /logger '{"log_path": "/nonexistent/dir/log"}' 400 \
	"log_path: cannot open '/nonexistent/dir/log'"
expect logger "$S" PUT /logger "{\"level\": \"Info\", \"log_path\": \"$TMP/api.log\", \"show_level\": true}" 204

# Start, then the same configuration requests are in the wrong phase.
expect instance_start "$S" PUT /actions '{"action_type": "InstanceStart"}' 204
wait_text "$TMP/api.log" "popek: info: " 10 && echo "PASS api/logger_file" ||
	echo "FAIL api/logger_file: no info line in the log file"
expect logger_after_start "$S" PUT /logger '{"level": "Debug"}' 400 "not supported after starting"
expect root_running "$S" GET / 200 '"state":"Running"'
api "$S" GET /popek/machine-config
check engine "$(jq_body .engine)" soft
# Running, machine-config says which vendor "host" became.
if grep -qm1 AuthenticAMD /proc/cpuinfo; then host_vendor=amd; else host_vendor=intel; fi
expect cpu_vendor_resolved "$S" GET /popek/machine-config 200 "\"cpu_vendor\":\"$host_vendor\""
wait_text "$OUT" "tick 3" 60 && echo "PASS api/guest_runs" || echo "FAIL api/guest_runs: $(tail -3 "$OUT")"
expect start_twice "$S" PUT /actions '{"action_type": "InstanceStart"}' 400 "already running"
expect put_after_start "$S" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}' 400 \
	"not supported after starting"
expect vm_config "$S" GET /vm/config 200 "\"kernel_image_path\":\"$GUEST\""
# PATCH on the running VM: rate limiters replaced, a drive's file swapped.
expect patch_drive_limiter "$S" PATCH /drives/rl '{"drive_id": "rl", "rate_limiter": {"ops": {"size": 50, "refill_time": 1000}}}' 204
api "$S" GET /vm/config
check patch_drive_limiter_config "$(jq_body -c '.drives[0].rate_limiter')" \
	'{"bandwidth":{"size":2097152,"one_time_burst":4096,"refill_time":1000},"ops":{"size":50,"refill_time":1000}}'
expect patch_drive_limiter_off "$S" PATCH /drives/rl '{"drive_id": "rl", "rate_limiter": {"bandwidth": {"size": 0, "refill_time": 0}}}' 204
api "$S" GET /vm/config
check patch_drive_limiter_off_config "$(jq_body -c '.drives[0].rate_limiter')" \
	'{"ops":{"size":50,"refill_time":1000}}'
expect patch_drive_path "$S" PATCH /drives/rl "{\"drive_id\": \"rl\", \"path_on_host\": \"$TMP/rl2.img\"}" 204
expect patch_drive_path_config "$S" GET /vm/config 200 "\"path_on_host\":\"$TMP/rl2.img\""
# The same file again, grown in place: reopened (its lock taken back).
truncate -s 4M "$TMP/rl2.img"
expect patch_drive_same_path "$S" PATCH /drives/rl "{\"drive_id\": \"rl\", \"path_on_host\": \"$TMP/rl2.img\"}" 204
expect patch_drive_path_missing "$S" PATCH /drives/rl '{"drive_id": "rl", "path_on_host": "/nonexistent/disk.img"}' 400 \
	"path_on_host: cannot use '/nonexistent/disk.img': No such file or directory"
expect patch_drive_unknown "$S" PATCH /drives/nope '{"drive_id": "nope"}' 400 "drive_id: no drive 'nope'"
expect patch_drive_mismatch "$S" PATCH /drives/rl '{"drive_id": "other"}' 400 "does not match the id in the request path"
expect patch_drive_bad_key "$S" PATCH /drives/rl '{"drive_id": "rl", "is_read_only": true}' 400 "is_read_only: unknown key"
expect patch_drive_bad_limiter "$S" PATCH /drives/rl '{"drive_id": "rl", "rate_limiter": {"ops": {"size": "1"}}}' 400 \
	"rate_limiter.ops.size: must be an integer, not a string"
expect patch_net "$S" PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "rx_rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 10}}}' 204
api "$S" GET /popek/vm/config
check patch_net_config "$(jq_body -c '."network-interfaces"[0] | [.rx_rate_limiter, .tx_rate_limiter]')" \
	'[{"bandwidth":{"size":1000,"refill_time":10}},{"ops":{"size":100,"refill_time":10}}]'
expect patch_net_unknown "$S" PATCH /network-interfaces/eth9 '{"iface_id": "eth9"}' 400 "iface_id: no network interface 'eth9'"
expect metrics_throttle_names "$S" GET /metrics 200 '"rate_limiter_throttled_events":0'
check metrics_throttle_net "$(jq_body -c '[.devices[] | select(.type == "net") | .rx_rate_limiter_throttled, .tx_rate_limiter_throttled]')" '[0,0]'
check_has metrics_throttle_rng "$BODY" '"entropy_rate_limiter_throttled":'
# Wrong methods still say so.
expect drive_wrong_method "$S" GET /drives/rl 400 "Invalid request method"
expect bad_state "$S" PATCH /vm '{"state": "Frozen"}' 400 "state: 'Frozen' is not"

# Metrics, pause and resume: no tick and no guest instruction while paused.
expect metrics "$S" GET /metrics 200 '"vcpus":[{"id":0'
i1=$(jq_body '.vcpus[0].instructions')
[ "${i1:-0}" -gt 0 ] && echo "PASS api/metrics_instructions" || echo "FAIL api/metrics_instructions: $BODY"
expect pause "$S" PATCH /vm '{"state": "Paused"}' 204
expect root_paused "$S" GET / 200 '"state":"Paused"'
sleep 0.3
t1=$(ticks "$OUT")
api "$S" GET /metrics
p1=$(jq_body '.vcpus[0].instructions')
sleep 1.5
t2=$(ticks "$OUT")
api "$S" GET /metrics
p2=$(jq_body '.vcpus[0].instructions')
check_unchanged paused_no_ticks "$t1" "$t2"
check_unchanged paused_no_instructions "$p1" "$p2"
check paused_flag "$(jq_body .paused)" true
pm=$(jq_body .paused_ms)
[ "${pm:-0}" -ge 1500 ] && echo "PASS api/paused_ms" || echo "FAIL api/paused_ms: $pm"
expect resume "$S" PATCH /vm '{"state": "Resumed"}' 204
wait_text "$OUT" "tick $((t2 + 3))" 20 && echo "PASS api/resumed_ticks" ||
	echo "FAIL api/resumed_ticks: still $(ticks "$OUT") ticks"
api "$S" GET /metrics
[ "$(jq_body '.vcpus[0].instructions')" -gt "${p2:-0}" ] && echo "PASS api/resumed_instructions" ||
	echo "FAIL api/resumed_instructions: $BODY"
expect flush_metrics "$S" PUT /actions '{"action_type": "FlushMetrics"}' 204
# The file is Firecracker's format; popek's own counters are under "popek".
check metrics_file_line "$(jq -r '.popek.engine + " " + (.put_api_requests.metrics_count | tostring)' \
	"$TMP/metrics.json" 2>/dev/null)" "soft 1"

# Hostile clients while the VM runs.
if [ -n "$CLIENT" ]; then
	$CLIENT stall "$S" 15 >"$TMP/stall" &
	STALL=$!
	sleep 0.5
	t0=$(date +%s%N)
	expect served_while_stalled "$S" GET / 200 '"state":"Running"'
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -lt 2000 ] && echo "PASS api/stall_does_not_block" || echo "FAIL api/stall_does_not_block: ${ms} ms"
	t1=$(ticks "$OUT")
	check concurrent_100 "$($CLIENT concurrent "$S" 100)" 100
	check pipelined "$($CLIENT pipeline "$S")" "200 200 400"
	check oversize_raw "$($CLIENT oversize "$S")" "HTTP/1.1 400 Bad Request closed"
	check garbage "$($CLIENT garbage "$S")" 400
	wait "$STALL"
	case $(cat "$TMP/stall") in # API_IDLE_MS, checked once a second
	"closed after 10" | "closed after 11" | "closed after 12") echo "PASS api/stalled_client_closed" ;;
	*) echo "FAIL api/stalled_client_closed: $(cat "$TMP/stall"), wanted closed after 10-12 s" ;;
	esac
	[ "$(ticks "$OUT")" -gt "$t1" ] && echo "PASS api/vm_ran_throughout" ||
		echo "FAIL api/vm_ran_throughout: ticks stayed at $t1"
else
	echo "SKIP api/raw_clients: no python3"
fi
expect alive_after_abuse "$S" GET / 200 '"state":"Running"'

# popek ctl against the same VM.
out=$("$POPEK" ctl --sock "$S" info 2>&1)
check ctl_info "$(jq -r .state <<<"$out")" Running
out=$("$POPEK" ctl --sock "$S" machine 2>&1)
check ctl_machine "$(jq -r .engine <<<"$out")" soft
out=$("$POPEK" ctl --sock "$S" config 2>&1)
check ctl_config "$(jq -r '.["machine-config"].engine' <<<"$out")" soft
"$POPEK" ctl --sock "$S" pause >/dev/null 2>&1
check ctl_pause "$? $("$POPEK" ctl --sock "$S" info | jq -r .state)" "0 Paused"
"$POPEK" ctl --sock "$S" resume >/dev/null 2>&1
check ctl_resume "$? $("$POPEK" ctl --sock "$S" info | jq -r .state)" "0 Running"
out=$("$POPEK" ctl --sock "$S" metrics 2>&1)
check ctl_metrics "$(jq -r '.vcpus | length' <<<"$out")" 1
"$POPEK" ctl --sock "$S" request PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}' \
	>"$TMP/ctl.out" 2>"$TMP/ctl.err"
check ctl_error_status "$? $(wc -l <"$TMP/ctl.err")" "1 1"
check_has ctl_error_message "$(cat "$TMP/ctl.err")" "400: The requested operation is not supported after starting"
"$POPEK" ctl --sock "$S" fly 2>"$TMP/ctl.err"
check ctl_unknown_command "$? $(cat "$TMP/ctl.err")" "1 popek: error: ctl: unknown command 'fly' (see popek ctl --help)"
"$POPEK" ctl --sock "$TMP/none.sock" info 2>"$TMP/ctl.err"
check_has ctl_no_socket "$? $(cat "$TMP/ctl.err")" "1 popek: error: --sock '$TMP/none.sock': cannot connect"
"$POPEK" ctl --sock "$S" stop
check ctl_stop "$?" 0
wait_exit "$PA" 20
check stop_exit_status "$STATUS" 0
[ -e "$S" ] && echo "FAIL api/socket_removed: $S still exists" || echo "PASS api/socket_removed"
check metrics_file_lines "$(wc -l <"$TMP/metrics.json")" 2
# The failed start logged one error; nothing else may have gone wrong.
grep -av "popek: error: .*junk" "$OUT" | grep -aqE 'ERROR|AddressSanitizer|runtime error|popek: error' &&
	echo "FAIL api/clean_log: $(grep -aE 'ERROR|Sanitizer|runtime error|popek: error' "$OUT" | head -3)" ||
	echo "PASS api/clean_log"

# === 2. --kernel with --api-sock: running at once; a signal stops it.
S=$TMP/b.sock OUT=$TMP/b.out
"$POPEK" run --kernel "$GUEST" --engine soft --mem 32M --api-sock "$S" >"$OUT" 2>&1 </dev/null &
PB=$!
PIDS+=("$PB")
wait_sock "$S"
expect autostart_running "$S" GET / 200 '"state":"Running"'
expect autostart_no_instance_start "$S" PUT /actions '{"action_type": "InstanceStart"}' 400 "already running"
expect autostart_no_metrics_file "$S" PUT /actions '{"action_type": "FlushMetrics"}' 400 "no metrics file"
kill -TERM "$PB"
wait_exit "$PB" 20
check sigterm_status "$STATUS" 143

# A signal while waiting for the configuration.
S=$TMP/c.sock
"$POPEK" run --api-sock "$S" >"$TMP/c.out" 2>&1 </dev/null &
PC=$!
PIDS+=("$PC")
wait_sock "$S"
kill -INT "$PC"
wait_exit "$PC" 20
check sigint_before_start "$STATUS $([ -e "$S" ] && echo kept || echo removed)" "130 removed"
"$POPEK" run --api-sock "$TMP/d.sock" --api-sock "$TMP" >"$TMP/d.out" 2>&1 </dev/null
check api_sock_not_socket "$? $(cat "$TMP/d.out")" "1 popek: error: --api-sock '$TMP': exists and is not a socket"
"$POPEK" run --api-sock "$TMP/f.sock" --id 'bad id' >"$TMP/f.out" 2>&1 </dev/null
check bad_id "$? $(cat "$TMP/f.out")" "1 popek: error: --id 'bad id': must be 1 to 64 letters, digits, '-' or '_'"

# === 3. --config-file (Firecracker's layout), and its errors.
cat >"$TMP/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$GUEST", "boot_args": "quiet"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 48, "engine": "soft"},
  "drives": [],
  "network-interfaces": []
}
EOF
S=$TMP/e.sock
"$POPEK" run --config-file "$TMP/vm.json" --api-sock "$S" --id from-file >"$TMP/e.out" 2>&1 </dev/null &
PE=$!
PIDS+=("$PE")
wait_sock "$S"
expect config_file_running "$S" GET / 200 '"id":"from-file","state":"Running"'
expect config_file_machine "$S" GET /machine-config 200 '"vcpu_count":1,"mem_size_mib":48'
expect config_file_vm_config "$S" GET /vm/config 200 '"boot_args":"quiet"'
"$POPEK" ctl --sock "$S" stop
wait_exit "$PE" 20
check config_file_stop "$STATUS" 0

config_error() { # name json want
	printf '%s\n' "$2" >"$TMP/bad.json"
	"$POPEK" run --config-file "$TMP/bad.json" >"$TMP/bad.out" 2>&1 </dev/null
	check "config_file_$1" "$? $(wc -l <"$TMP/bad.out") $(cat "$TMP/bad.out")" \
		"1 1 popek: error: --config-file '$TMP/bad.json': $3"
}
config_error unknown_key '{"boot-source": {"kernel_image_path": "'"$GUEST"'"}, "logging": {}}' \
	"logging: unknown key"
config_error wrong_type '{"machine-config": {"vcpu_count": true, "mem_size_mib": 64}}' \
	"machine-config.vcpu_count: must be an integer, not a boolean"
config_error out_of_range '{"machine-config": {"vcpu_count": 1, "mem_size_mib": 4}}' \
	"machine-config.mem_size_mib: must be an integer from 16 to 1048576 (got 4)"
config_error nested_key '{"drives": [{"drive_id": "d", "path_on_host": "'"$GUEST"'", "is_root_device": false, "speed": 1}]}' \
	"drives[0].speed: unknown key"
config_error malformed '{"machine-config": {"vcpu_count": 1,}}' "malformed JSON at line 1, column 38"

# === 4. Four VMs at once, each with its own socket, stopped cleanly.
VMS=()
for n in 1 2 3 4; do
	"$POPEK" run --kernel "$GUEST" --engine soft --mem 32M --api-sock "$TMP/vm$n.sock" \
		--id "vm$n" >"$TMP/vm$n.out" 2>&1 </dev/null &
	VMS+=("$!")
	PIDS+=("$!")
done
ok=0
for n in 1 2 3 4; do
	wait_sock "$TMP/vm$n.sock"
	api "$TMP/vm$n.sock" GET /
	[ "$(jq_body .id) $(jq_body .state)" = "vm$n Running" ] && ok=$((ok + 1))
done
check four_vms_running "$ok" 4
ok=0
for n in 1 2 3 4; do wait_text "$TMP/vm$n.out" "tick 2" 60 && ok=$((ok + 1)); done
check four_vms_ticking "$ok" 4
expect four_vms_pause_one "$TMP/vm2.sock" PATCH /vm '{"state": "Paused"}' 204
expect four_vms_others_run "$TMP/vm3.sock" GET / 200 '"state":"Running"'
for n in 1 2 3 4; do "$POPEK" ctl --sock "$TMP/vm$n.sock" stop >/dev/null; done
st=""
for n in 1 2 3 4; do
	wait_exit "${VMS[$((n - 1))]}" 20
	st="$st$STATUS"
	[ -e "$TMP/vm$n.sock" ] && st="${st}s"
done
check four_vms_stopped "$st" 0000

# === 4b. Pause and resume on the KVM engine (the vCPUs leave KVM_RUN and park).
if [ -w /dev/kvm ]; then
	K=$TMP/k.sock
	"$POPEK" run --kernel "$GUEST" --engine kvm --mem 32M --api-sock "$K" >"$TMP/k.out" 2>&1 </dev/null &
	PK=$!
	PIDS+=("$PK")
	wait_sock "$K"
	expect kvm_running "$K" GET /popek/machine-config 200 '"engine":"kvm"'
	wait_text "$TMP/k.out" "tick 3" 60 || echo "  (the KVM guest did not tick: $(tail -2 "$TMP/k.out"))"
	expect kvm_pause "$K" PATCH /vm '{"state": "Paused"}' 204
	sleep 0.3
	k1=$(ticks "$TMP/k.out")
	sleep 1.5
	check_unchanged kvm_paused_no_ticks "$k1" "$(ticks "$TMP/k.out")"
	expect kvm_resume "$K" PATCH /vm '{"state": "Resumed"}' 204
	wait_text "$TMP/k.out" "tick $((k1 + 3))" 20 && echo "PASS api/kvm_resumed_ticks" ||
		echo "FAIL api/kvm_resumed_ticks: still $(ticks "$TMP/k.out") ticks"
	"$POPEK" ctl --sock "$K" stop >/dev/null
	wait_exit "$PK" 20
	check kvm_stopped "$STATUS" 0
else
	echo "SKIP api/kvm_pause: no /dev/kvm"
fi

# === 5. A real Linux guest through the API: pause and resume while it prints.
KERNEL=build/guest/vmlinuz INITRD=build/guest/initramfs.cpio.gz
if [ "${POPEK_API_LINUX:-1}" = 0 ] || [ ! -f "$KERNEL" ] || [ ! -x "$POPEK_LINUX" ]; then
	echo "SKIP api/linux: no default guest or POPEK_API_LINUX=0"
	exit 0
fi
S=$TMP/l.sock OUT=$TMP/l.out
mkfifo "$TMP/l.in"
"$POPEK_LINUX" run --api-sock "$S" <"$TMP/l.in" >"$OUT" 2>&1 &
PL=$!
PIDS+=("$PL")
exec {LIN}>"$TMP/l.in"
wait_sock "$S"
expect linux_machine "$S" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256, "engine": "soft"}' 204
expect linux_boot_source "$S" PUT /boot-source "{\"kernel_image_path\": \"$KERNEL\", \"initrd_path\": \"$INITRD\", \"boot_args\": \"console=ttyS0 panic=-1\"}" 204
expect linux_start "$S" PUT /actions '{"action_type": "InstanceStart"}' 204
if ! wait_text "$OUT" "popek:/root# " 300; then
	echo "FAIL api/linux_boot: no shell prompt: $(tail -3 "$OUT" | tr -d '\r')"
	exit 0
fi
echo "PASS api/linux_boot"
printf 'while :; do echo "UP $(cut -d" " -f1 /proc/uptime)"; sleep 0.2; done &\n' >&"$LIN"
wait_text "$OUT" "UP " 30
sleep 1
expect linux_pause "$S" PATCH /vm '{"state": "Paused"}' 204
sleep 0.3
u1=$(grep -ac '^UP ' "$OUT")
sleep 3
u2=$(grep -ac '^UP ' "$OUT")
check_unchanged linux_paused_silent "$u1" "$u2"
expect linux_resume "$S" PATCH /vm '{"state": "Resumed"}' 204
sleep 2
[ "$(grep -ac '^UP ' "$OUT")" -gt "$u2" ] && echo "PASS api/linux_resumed" || echo "FAIL api/linux_resumed"
# Guest time is not frozen over a pause (documented): uptime jumps by it, and
# never goes back. Look at the largest step between complete lines rather than
# at the line printed last before the pause, which may have been cut mid-line.
jump=$(tr -d '\r' <"$OUT" | grep -aE '^UP [0-9]+\.[0-9]+$' | awk '
	NR > 1 { d = $2 - p; if (d < 0) back = 1; if (d > max) max = d }
	{ p = $2 }
	END { print (!back && max >= 2.5) ? "yes" : "no (largest step " max ", back " back + 0 ")" }')
check linux_time_jumps_over_pause "$jump" yes
expect linux_metrics "$S" GET /metrics 200 '"interrupts":{"total":'
[ "$(jq_body '.vcpus[0].instructions')" -gt 100000000 ] && echo "PASS api/linux_instructions" ||
	echo "FAIL api/linux_instructions: $(jq_body '.vcpus[0]')"
[ "$(jq_body '.interrupts.total')" -gt 0 ] && echo "PASS api/linux_interrupts" ||
	echo "FAIL api/linux_interrupts: $(jq_body .interrupts)"
# Per-device counters: the kernel's hwrng core reads the virtio-rng at once.
rng=$(jq_body '[.devices[] | select(.type == "rng")][0]')
[ "$(jq -r .requests <<<"$rng")" -gt 0 ] && [ "$(jq -r .bytes_to_guest <<<"$rng")" -gt 0 ] &&
	[ "$(jq -r .errors <<<"$rng")" = 0 ] && echo "PASS api/linux_device_counters" ||
	echo "FAIL api/linux_device_counters: $rng"
# Before Ctrl+Alt+Del: stop the UP loop (its lines could cut the kernel's),
# and have the guest's i8042 driver log every byte it takes, keyboard data
# unmasked, at a console level that shows KERN_DEBUG: the keys can then be
# seen arriving, after the action only.
printf 'kill $!; echo 1 >/sys/module/i8042/parameters/debug; echo 1 >/sys/module/i8042/parameters/unmask_kbd_data; echo 8 >/proc/sys/kernel/printk; echo "RESULT i8042_""debug"\n' >&"$LIN"
wait_text "$OUT" "RESULT i8042_debug" 30 || echo "  (the guest did not confirm the i8042 debug log)"
sleep 0.5
before=$(wc -c <"$OUT")
t0=$(date +%s%N)
expect linux_stop "$S" PUT /actions '{"action_type": "SendCtrlAltDel"}' 204
wait_exit "$PL" 30
ms=$((($(date +%s%N) - t0) / 1000000))
check linux_stop_status "$STATUS" 0
exec {LIN}>&-
# The keys went through the i8042 to the guest by interrupt (scan code set 1,
# as the i8042 translates: Ctrl, Alt, E0 Delete pressed, then released), the
# kernel sent SIGINT to /init, which powered off: well before the 10 s after
# which popek stops hard.
log=$(tr -d '\r' <"$OUT")
after=$(tail -c +$((before + 1)) "$OUT" | tr -d '\r')
keys=$(sed -nE 's/.*i8042: \[[0-9]+\] ([0-9a-f]{2}) <- i8042 \(interrupt, 0, .*/\1/p' <<<"$after" |
	head -n 8 | paste -sd ' ')
check linux_cad_keyboard "$keys" "1d 38 e0 53 e0 d3 b8 9d"
check_has linux_cad_init "$after" "popek guest: ctrl-alt-del: sync, unmount, poweroff"
check_has linux_cad_poweroff "$after" "reboot: Power down"
[ "$ms" -lt 5000 ] && echo "PASS api/linux_cad_in_time" || echo "FAIL api/linux_cad_in_time: ${ms} ms"
bad=$(grep -aiE 'did not shut down|i8042.*(fail|error|timeout)|atkbd|keyboard.*fail' <<<"$log" | head -3)
check linux_cad_clean_log "$bad" ""
