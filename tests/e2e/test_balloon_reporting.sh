#!/bin/bash
# virtio-balloon free page reporting (virtio 1.2 5.5.6.8) with the default
# guest on the soft engine: a 512 MiB VM whose config file turns reporting
# and statistics on. The guest fills a tmpfs with 300 MiB and removes it:
#   - with virtio_balloon unloaded (nobody reports), popek's anonymous RSS
#     (RssAnon: guest RAM is a private anonymous mapping) stays up;
#   - once the driver is loaded, it reports the free pages and RssAnon falls
#     by at least 200 MiB.
# The same after a snapshot is restored in a new popek. Also, through the
# API of that VM: GET /balloon shows the configuration,
# GET /balloon/statistics the guest's numbers, PATCH /balloon/statistics
# changes the interval but cannot turn statistics off; and, before a start,
# Firecracker's refusals (a target above the memory, PATCH before the
# start, memory shrunk below the target); the /balloon/hinting paths
# refused as Firecracker refuses them when hinting is off (its own test:
# test_balloon_hinting.sh).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
. tests/e2e/lib/scratch.sh
. tests/e2e/lib/balloon.sh
vm_default_guest balloon_reporting
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
FILL_MIB=300

check() {
	if [ "$2" = "$3" ]; then echo "PASS $1"; else echo "FAIL $1: got '$2', wanted '$3'"; fi
}
res() {
	tr -d '\r' <"$VM_OUT" | sed -n "s/^RESULT $1 //p" | sed 's/popek: .*$//' | tail -1
}
SOCK=$TMP/api.sock
api() { # method path [json]: the answer without blanks, or the fault message
	build/popek ctl --sock "$SOCK" request "$@" 2>&1 | tr -d '[:space:]'
}
fault() { # method path json: the fault message of a refused request
	build/popek ctl --sock "$SOCK" request "$@" 2>&1 | sed 's/^popek: error: ctl: [A-Z]* [^ ]*: 400: //'
}

# --- before a start (a popek waiting for its configuration)
SOCK=$TMP/pre.sock
build/popek run --api-sock "$SOCK" >"$TMP/pre.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
PRE="The requested operation is not supported before starting the microVM."
check balloon_reporting/pre_no_balloon "$(fault GET /balloon)" "Balloon config error: No balloon device found."
check balloon_reporting/pre_over_ram "$(fault PUT /balloon '{"amount_mib": 300, "deflate_on_oom": false}')" \
	"amount_mib: Amount of pages requested is too large (300 MiB, the guest has 256 MiB)"
check balloon_reporting/pre_hinting "$(api PUT /balloon '{"amount_mib": 0, "deflate_on_oom": false, "free_page_hinting": true}')" ""
check balloon_reporting/pre_get_hinting "$(api GET /balloon)" \
	'{"amount_mib":0,"deflate_on_oom":false,"stats_polling_interval_s":0,"free_page_hinting":true,"free_page_reporting":false}'
api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 512}' >/dev/null
check balloon_reporting/pre_put "$(api PUT /balloon '{"amount_mib": 300, "deflate_on_oom": false, "free_page_reporting": true}')" ""
check balloon_reporting/pre_shrink "$(fault PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}')" \
	"mem_size_mib: The memory size (MiB) is smaller than the previously set balloon device target size."
check balloon_reporting/pre_patch "$(fault PATCH /balloon '{"amount_mib": 1}')" "$PRE"
check balloon_reporting/pre_patch_stats "$(fault PATCH /balloon/statistics '{"stats_polling_interval_s": 1}')" "$PRE"
check balloon_reporting/pre_stats "$(fault GET /balloon/statistics)" "$PRE"
check balloon_reporting/pre_hint_status "$(fault GET /balloon/hinting/status)" "$PRE"
check balloon_reporting/pre_hint_start "$(fault PATCH /balloon/hinting/start)" "$PRE"
check balloon_reporting/pre_unknown "$(fault GET /balloon/nothing)" 'Unrecognized GET request path `nothing`.'
check balloon_reporting/pre_get "$(api GET /balloon)" \
	'{"amount_mib":300,"deflate_on_oom":false,"stats_polling_interval_s":0,"free_page_hinting":false,"free_page_reporting":true}'
kill "${PIDS[-1]}" 2>/dev/null
SOCK=$TMP/api.sock

cat >"$TMP/vm.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$KERNEL", "initrd_path": "$INITRD",
                  "boot_args": "console=ttyS0 panic=-1"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 512},
  "balloon": {"amount_mib": 0, "deflate_on_oom": true, "stats_polling_interval_s": 1,
              "free_page_reporting": true}
}
JSON
vm_start run --config-file "$TMP/vm.json" --engine soft --api-sock "$TMP/api.sock"
vm_booted balloon_reporting "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "FAIL balloon_reporting/ready: the shell takes no input"

# --- the API's view
cfg=$(api GET /balloon)
check balloon_reporting/get_balloon "$cfg" \
	'{"amount_mib":0,"deflate_on_oom":true,"stats_polling_interval_s":1,"free_page_hinting":false,"free_page_reporting":true}'
total=""
for _ in $(seq 20); do
	total=$(api GET /balloon/statistics | grep -o '"total_memory":[0-9]*' | cut -d: -f2)
	[ -n "$total" ] && break
	sleep 0.5
done
check balloon_reporting/stats_total_memory "$((${total:-0} > 400 * 1024 * 1024))" 1
check balloon_reporting/stats_off_refused "$(fault PATCH /balloon/statistics '{"stats_polling_interval_s": 0}')" \
	"Balloon update error: Balloon: Statistics cannot be enabled/disabled after activation."
check balloon_reporting/stats_interval "$(api PATCH /balloon/statistics '{"stats_polling_interval_s": 2}')" ""
# GET /vm/config shows the device as it is now: PATCHed target and interval.
check balloon_reporting/patch_amount "$(api PATCH /balloon '{"amount_mib": 16}')" ""
check balloon_reporting/vm_config "$(api GET /vm/config | grep -o '"balloon":{[^}]*}')" \
	'"balloon":{"amount_mib":16,"deflate_on_oom":true,"stats_polling_interval_s":2,"free_page_hinting":false,"free_page_reporting":true}'
api PATCH /balloon '{"amount_mib": 0}' >/dev/null
check balloon_reporting/amount_over_ram "$(fault PATCH /balloon '{"amount_mib": 513}')" \
	"Balloon update error: Balloon: Requested memory should be less than 512MiB"
check balloon_reporting/hinting_off "$(fault PATCH /balloon/hinting/start)" \
	"Balloon update error: Balloon: Attempting to use hinting when not enabled"
check balloon_reporting/hinting_off_status "$(fault GET /balloon/hinting/status)" \
	"Balloon update error: Balloon: Attempting to use hinting when not enabled"
check balloon_reporting/hinting_off_stop "$(fault PATCH /balloon/hinting/stop)" \
	"Balloon update error: Balloon: Attempting to use hinting when not enabled"

# --- no reporting: the driver is unloaded while the guest fills and frees.
vm_send 'R=RESULT; mkdir -p /mnt/fill && mount -t tmpfs -o size=90% fill /mnt/fill'
vm_send 'rmmod virtio_balloon; echo "$R unloaded $?"'
vm_wait "RESULT unloaded" 60
check balloon_reporting/rmmod "$(res unloaded)" 0
sleep 1
rss0=$(rss_anon_kib)
vm_send "dd if=/dev/zero of=/mnt/fill/f bs=1M count=$FILL_MIB 2>/dev/null; sync; echo \"\$R filled \$?\""
vm_wait "RESULT filled" 120
rss1=$(rss_anon_kib)
vm_send 'rm /mnt/fill/f; echo "$R removed $?"'
vm_wait "RESULT removed" 60
sleep 8 # Linux reports 2 s after pages are freed: four times that
rss2=$(rss_anon_kib)
echo "  (RssAnon ${rss0} KiB at start, ${rss1} KiB filled, ${rss2} KiB freed without reporting)"
check balloon_reporting/fill_grows_rss "$((rss1 - rss0 >= (FILL_MIB - 50) * 1024))" 1
check balloon_reporting/no_reporting_no_drop "$((rss1 - rss2 < 50 * 1024))" 1

# --- reporting: the driver comes back and reports what is free.
t0=$SECONDS
vm_send 'modprobe virtio_balloon; echo "$R loaded $?"'
vm_wait "RESULT loaded" 60
rss3=$(rss_after_drop "$rss2")
echo "  (RssAnon ${rss2} KiB -> ${rss3} KiB with reporting, $((SECONDS - t0)) s)"
check balloon_reporting/reporting_drops_rss "$((rss2 - rss3 >= 200 * 1024))" 1

# The guest still works with the reported memory: fill it again.
vm_send "dd if=/dev/zero of=/mnt/fill/g bs=1M count=$FILL_MIB 2>/dev/null; cmp -n 1048576 /mnt/fill/g /dev/zero; echo \"\$R refilled \$?\""
vm_wait "RESULT refilled" 120
check balloon_reporting/refill "$(res refilled)" 0

vm_send 'rm /mnt/fill/g; echo "$R removed2 $?"'
vm_wait "RESULT removed2" 60

# --- a snapshot keeps the balloon's configuration and queues: the restored
# guest's reports still reach popek (new writes are private copies of the
# memory file's pages, in RssAnon, and reported free they go again).
balloon_restart balloon_reporting "$SOCK" "$TMP/api2.sock" || exit 0
SOCK=$TMP/api2.sock
cfg=$(api GET /balloon)
check balloon_reporting/restored_config "$cfg" \
	'{"amount_mib":0,"deflate_on_oom":true,"stats_polling_interval_s":2,"free_page_hinting":false,"free_page_reporting":true}'
check balloon_reporting/restored_vm_config "$(api GET /vm/config | grep -o '"balloon":{[^}]*}')" "\"balloon\":$cfg"
vm_send "dd if=/dev/zero of=/mnt/fill/h bs=1M count=$FILL_MIB 2>/dev/null; echo \"\$R filled3 \$?\""
vm_wait "RESULT filled3" 120
rss4=$(rss_anon_kib)
vm_send 'rm /mnt/fill/h; echo "$R removed3 $?"'
vm_wait "RESULT removed3" 60
rss5=$(rss_after_drop "$rss4")
echo "  (restored: RssAnon ${rss4} KiB filled -> ${rss5} KiB freed with reporting)"
check balloon_reporting/restored_reporting "$((rss4 - rss5 >= 200 * 1024))" 1

vm_send 'poweroff'
vm_wait_exit 60
check balloon_reporting/poweroff_status "$VM_STATUS" 0
bad=$(tr -d '\r' <"$VM_OUT" | grep -aE 'needs reset|BUG|WARNING|Oops|Kernel panic|is not a head|out of range' | head -3)
check balloon_reporting/clean_log "$bad" ""
[ -n "$bad" ] && tr -d '\r' <"$VM_OUT" | grep -a -B12 -m1 -E 'needs reset|BUG|WARNING|Oops|Kernel panic|is not a head|out of range' | sed 's/^/    | /'
vm_cleanup
