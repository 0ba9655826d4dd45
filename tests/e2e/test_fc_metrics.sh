#!/bin/bash
# The metrics file in Firecracker's format (docs/api.md "Metrics"): the
# default guest started as Firecracker users start it (popek named
# `firecracker`, a config file with "metrics", the API), then FlushMetrics
# around a write by the guest to its disk. Every line parses as one JSON
# object with Firecracker's groups; counters that Firecracker resets at each
# flush are deltas (put_api_requests.actions_count is 1 in each
# FlushMetrics line, block write_bytes moves only in the line after the
# write), uart write_count counts the boot's console output, popek's own
# counters sit under "popek", and the last line is written at exit.
# A second run with --net user: net_eth0 and "net" count the DHCP frames.
# Environment: POPEK (default build/popek), POPEK_BOOT_LIMIT (s), KEEP=1
# keeps the work directory.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
vm_default_guest fc_metrics
BIN=${POPEK:-build/popek}

T=$(mktemp -d)
trap 'vm_cleanup 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
[ -n "${KEEP:-}" ] && echo "kept in $T"
check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS fc_metrics/$1"; else echo "FAIL fc_metrics/$1: got '$2', wanted '$3'"; fi
}
mkdir -p "$T/bin"
ln -s "$(realpath "$BIN")" "$T/bin/firecracker"
truncate -s 4M "$T/disk.img"
M=$T/metrics.json
S=$T/fc.sock
cat >"$T/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$(realpath "$KERNEL")",
                  "initrd_path": "$(realpath "$INITRD")",
                  "boot_args": "console=ttyS0 panic=-1 cryptomgr.notests"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
  "drives": [{"drive_id": "data", "path_on_host": "$T/disk.img", "is_root_device": false,
              "is_read_only": false}],
  "metrics": {"metrics_path": "$M"}
}
EOF
POPEK=$T/bin/firecracker vm_start --api-sock "$S" --config-file "$T/vm.json" --id fc-metrics
vm_booted fc_metrics "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "FAIL fc_metrics/shell: the shell does not answer"

flush() {
	curl -s -m 20 --unix-socket "$S" -X PUT -o /dev/null -w '%{http_code}' \
		-d '{"action_type": "FlushMetrics"}' http://localhost/actions
}
# line N EXPR: jq EXPR on line N of the metrics file (compact output).
line() { sed -n "$1p" "$M" | jq -c "$2" 2>&1; }

# Requests the first line counts: two GETs, and a PUT refused after the start.
api() { curl -s -m 20 --unix-socket "$S" -o /dev/null -w '%{http_code}' "$@"; }
check get_root "$(api http://localhost/)" 200
check get_machine "$(api http://localhost/machine-config)" 200
check put_machine_late "$(api -X PUT -d '{"vcpu_count": 1, "mem_size_mib": 128}' \
	http://localhost/machine-config)" 400
check flush1 "$(flush)" 204
# 64 KiB written by the guest, straight to the device.
# (The marker waited for is computed, so the echo of the typed line is not it.)
vm_send 'dd if=/dev/zero of=/dev/vda bs=4k count=16 oflag=direct 2>/dev/null; echo "RESULT dd $?"; echo "DD$((6 * 7))"'
vm_wait "DD42" 60 || echo "FAIL fc_metrics/dd: the guest did not write"
check guest_write "$(vm_result dd)" 0
check flush2 "$(flush)" 204
check flush3 "$(flush)" 204

# objects LINES: how many of the file's lines are each one JSON object.
objects() { while IFS= read -r l; do jq -e 'type == "object"' <<<"$l" 2>/dev/null; done <"$M" | grep -c true; }
check lines_are_json "$(wc -l <"$M") $(objects)" "3 3"
check groups "$(line 1 '[has("utc_timestamp_ms", "put_api_requests", "get_api_requests",
	"patch_api_requests", "deprecated_api", "block", "block_data", "vcpu", "uart", "vmm",
	"seccomp", "logger", "interrupts", "popek")] | all')" true
check block_names "$(line 1 '.block | [has("read_bytes", "write_bytes", "read_count",
	"write_count", "flush_count", "queue_event_count", "rate_limiter_throttled_events")] | all')" true
check no_popek_shape_at_top "$(line 1 '[has("engine"), has("vcpus"), has("devices")] | any')" false
check popek_group "$(line 1 '.popek | [.engine != null, (.vcpus | length)]')" '[true,1]'
# FlushMetrics is counted by the request that writes the line, once per line.
check api_counts "$(line 1 '[.get_api_requests.instance_info_count, .get_api_requests.machine_cfg_count,
	.put_api_requests.machine_cfg_count, .put_api_requests.machine_cfg_fails, .put_api_requests.actions_fails]')" \
	'[1,1,1,1,0]'
check api_counts_delta "$(line 2 '[.get_api_requests.instance_info_count, .put_api_requests.machine_cfg_fails]')" '[0,0]'
check actions_delta "$(jq -c -s '[.[].put_api_requests.actions_count]' "$M")" '[1,1,1]'
check uart_writes "$(line 1 '.uart.write_count > 100')" true
check uart_is_delta "$(jq -s '.[2].uart.write_count < .[0].uart.write_count' "$M")" true
check write_bytes_after_dd "$(line 2 '[.block_data.write_bytes >= 65536,
	.block.write_bytes == .block_data.write_bytes, .block_data.write_count > 0]')" '[true,true,true]'
check write_bytes_is_delta "$(line 3 '.block_data.write_bytes')" 0
check virtio_interrupts "$(line 2 '.interrupts.triggers > 0')" true
check read_bytes_at_boot "$(line 1 '.block_data.read_bytes > 0')" true

code=$(curl -s -m 20 --unix-socket "$S" -X PUT -o /dev/null -w '%{http_code}' \
	-d '{"action_type": "SendCtrlAltDel"}' http://localhost/actions)
check ctrl_alt_del "$code" 204
vm_wait_exit 60
check exit_status "$VM_STATUS" 0
check exit_line "$(jq -c -s '[length, .[3].put_api_requests.actions_count]' "$M" 2>&1)" '[4,1]'

# A network interface (--net user: no tap needed; popek's own command line,
# the same file format, no API): once the guest has its DHCP lease, net_eth0
# and the "net" sum count frames both ways, summed over the lines (deltas):
# periodic ones (every 300 ms here, Firecracker's minute otherwise) and the
# one at exit.
M2=$T/net-metrics.json
POPEK_METRICS_PERIOD_MS=300 vm_start run --kernel "$KERNEL" --initrd "$INITRD" --mem 128M \
	--net user --metrics-file "$M2"
vm_booted fc_metrics_net "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "FAIL fc_metrics/net_shell: the shell does not answer"
vm_send 'for i in $(seq 100); do ip -4 addr show eth0 | grep -q inet && break; sleep 0.1; done; echo "NET$((6 * 7))"'
vm_wait "NET42" 30 || echo "FAIL fc_metrics/net_lease: no DHCP lease"
vm_send poweroff
vm_wait_exit 60
check net_exit_status "$VM_STATUS" 0
check net_frames "$(jq -c -s 'def sum(f): [.[] | f] | add;
	[sum(.net_eth0.rx_packets_count) > 0, sum(.net_eth0.tx_packets_count) > 0,
	sum(.net_eth0.rx_bytes_count) > sum(.net_eth0.rx_packets_count) * 60,
	sum(.net.tx_bytes_count) == sum(.net_eth0.tx_bytes_count),
	sum(.net_eth0.rx_rate_limiter_throttled)]' "$M2" 2>&1)" '[true,true,true,true,0]'
check periodic_lines "$(jq -s 'length > 2' "$M2")" true

# The same periodic line with the API (written by its thread).
M3=$T/api-periodic.json
sed "s|$M|$M3|" "$T/vm.json" >"$T/vm3.json"
S=$T/fc3.sock
POPEK=$T/bin/firecracker POPEK_METRICS_PERIOD_MS=300 vm_start --api-sock "$S" \
	--config-file "$T/vm3.json" --id fc-metrics-periodic
vm_booted fc_metrics_periodic "$BOOT_LIMIT" || exit 0
for i in $(seq 50); do [ "$(wc -l <"$M3")" -ge 2 ] && break; sleep 0.2; done
check api_periodic_lines "$(jq -s 'length >= 2 and (map(has("put_api_requests")) | all)' "$M3")" true
vm_cleanup
