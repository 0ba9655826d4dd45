#!/bin/bash
# virtio-balloon free page hinting (virtio 1.2 5.5.6.7) with the default
# guest on the soft engine, configured and started through the API as
# Firecracker's clients do it: a 512 MiB VM whose balloon has statistics
# and hinting. The guest fills a tmpfs with 300 MiB and removes it; popek's
# anonymous RSS (RssAnon: guest RAM is a private anonymous mapping) stays up
# until PATCH /balloon/hinting/start: the guest's driver then hints its free
# pages, ends with STOP (GET /balloon/hinting/status shows guest_cmd 0),
# popek answers DONE (acknowledge_on_stop, the default) and RssAnon has
# fallen by at least 200 MiB; the guest uses the memory again. With
# acknowledge_on_stop false the guest holds the hinted memory (its MemFree
# stays low) until PATCH /balloon/hinting/stop. A snapshot keeps the run's
# ids: restored, the status says DONE and a new run gives memory back
# again. Also the refusals of bad start bodies, and a VM from the command
# line (--balloon=stats=1,reporting,hinting) whose driver has all three
# optional queues (statsq 2, free_page_vq 3, reporting_vq 4, 5.5.2): free
# page reporting still gives memory back, and a hinting run still ends.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
. tests/e2e/lib/scratch.sh
. tests/e2e/lib/api_curl.sh
. tests/e2e/lib/balloon.sh
vm_default_guest balloon_hinting
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
FILL_MIB=300
S=$TMP/api.sock

check() {
	if [ "$2" = "$3" ]; then echo "PASS $1"; else echo "FAIL $1: got '$2', wanted '$3'"; fi
}
res() {
	tr -d '\r' <"$VM_OUT" | sed -n "s/^RESULT $1 //p" | sed 's/popek: .*$//' | tail -1
}
req() { # METHOD PATH [BODY]: "CODE BODY", the body without blanks
	api "$@"
	echo "$CODE $(echo "$BODY" | tr -d '[:space:]')"
}
fault() { # METHOD PATH [BODY]: the fault message of the answer
	api "$@"
	echo "$CODE $(echo "$BODY" | sed -n 's/.*"fault_message": *"\(.*\)".*/\1/p')"
}
# hint_wait: polls the status until the driver has sent STOP (guest_cmd 0)
# after a run; prints the last status.
hint_wait() {
	local st=""
	for _ in $(seq 120); do
		st=$(req GET /balloon/hinting/status)
		case "$st" in *'"guest_cmd":0}') break ;; esac
		sleep 0.5
	done
	echo "$st"
}
# fill_and_free NAME: 300 MiB into the guest's tmpfs and out again.
fill_and_free() {
	vm_send "dd if=/dev/zero of=/mnt/fill/f bs=1M count=$FILL_MIB 2>/dev/null; sync; echo \"\$R filled$1 \$?\""
	vm_wait "RESULT filled$1" 120
	vm_send "rm /mnt/fill/f; echo \"\$R removed$1 \$?\""
	vm_wait "RESULT removed$1" 60
	sleep 1
}
memfree_kib() { # NAME: the guest's MemFree, as it says it
	vm_send "echo \"\$R memfree$1 \$(awk '/^MemFree:/ { print \$2 }' /proc/meminfo)\""
	vm_wait "RESULT memfree$1" 30
	res "memfree$1"
}

# --- configured and started through the API
vm_start run --engine soft --api-sock "$S"
for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.1; done
codes="$(req PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 512}')"
codes+=" $(req PUT /boot-source "{\"kernel_image_path\": \"$(realpath "$KERNEL")\",
	\"initrd_path\": \"$(realpath "$INITRD")\", \"boot_args\": \"console=ttyS0 panic=-1\"}")"
codes+=" $(req PUT /balloon '{"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 1, "free_page_hinting": true}')"
check balloon_hinting/pre_status "$(fault GET /balloon/hinting/status)" \
	"400 The requested operation is not supported before starting the microVM."
codes+=" $(req PUT /actions '{"action_type": "InstanceStart"}')"
check balloon_hinting/setup "$codes" "204  204  204  204 "
vm_booted balloon_hinting "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "FAIL balloon_hinting/ready: the shell takes no input"

check balloon_hinting/get_balloon "$(req GET /balloon)" \
	'200 {"amount_mib":0,"deflate_on_oom":false,"stats_polling_interval_s":1,"free_page_hinting":true,"free_page_reporting":false}'
check balloon_hinting/status_idle "$(req GET /balloon/hinting/status)" '200 {"host_cmd":0,"guest_cmd":null}'
check balloon_hinting/start_bad_type "$(fault PATCH /balloon/hinting/start '{"acknowledge_on_stop": 1}')" \
	"400 acknowledge_on_stop: must be true or false"
check balloon_hinting/start_bad_key "$(fault PATCH /balloon/hinting/start '{"acknowledge": true}')" \
	"400 acknowledge: unknown key"
check balloon_hinting/stop_bad_key "$(fault PATCH /balloon/hinting/stop '{"now": true}')" "400 now: unknown key"

# --- a run acknowledged on STOP (the default, no body)
vm_send 'R=RESULT; mkdir -p /mnt/fill && mount -t tmpfs -o size=90% fill /mnt/fill; echo "$R mounted $?"'
vm_wait "RESULT mounted" 30
rss0=$(rss_anon_kib)
fill_and_free 1
rss1=$(rss_anon_kib)
sleep 4
rss2=$(rss_anon_kib)
echo "  (RssAnon ${rss0} KiB at start, ${rss1} KiB after fill and rm, ${rss2} KiB 4 s later)"
check balloon_hinting/freed_stays "$((rss1 - rss2 < 50 * 1024 && rss1 - rss0 >= (FILL_MIB - 50) * 1024))" 1
t0=$SECONDS
check balloon_hinting/start "$(req PATCH /balloon/hinting/start)" "204 "
check balloon_hinting/run_done "$(hint_wait)" '200 {"host_cmd":1,"guest_cmd":0}'
rss3=$(rss_after_drop "$rss2")
echo "  (RssAnon ${rss2} KiB -> ${rss3} KiB with a hinting run, $((SECONDS - t0)) s)"
check balloon_hinting/hinting_drops_rss "$((rss2 - rss3 >= 200 * 1024))" 1
# DONE gave the guest its pages back: it fills the memory again.
vm_send "dd if=/dev/zero of=/mnt/fill/g bs=1M count=$FILL_MIB 2>/dev/null; cmp -n 1048576 /mnt/fill/g /dev/zero; echo \"\$R refilled \$?\""
vm_wait "RESULT refilled" 120
check balloon_hinting/refill "$(res refilled)" 0
vm_send 'rm /mnt/fill/g; echo "$R removed2 $?"'
vm_wait "RESULT removed2" 60

# --- acknowledge_on_stop false: the guest holds the hinted pages until stop
free0=$(memfree_kib 0)
check balloon_hinting/start_no_ack "$(req PATCH /balloon/hinting/start '{"acknowledge_on_stop": false}')" "204 "
check balloon_hinting/run_held "$(hint_wait)" '200 {"host_cmd":3,"guest_cmd":0}'
free1=$(memfree_kib 1)
check balloon_hinting/stop "$(req PATCH /balloon/hinting/stop)" "204 "
check balloon_hinting/status_stopped "$(req GET /balloon/hinting/status)" '200 {"host_cmd":1,"guest_cmd":0}'
free2=0
for i in $(seq 2 20); do
	free2=$(memfree_kib "$i")
	[ "$((free2 - free1))" -ge $((200 * 1024)) ] && break
	sleep 0.5
done
echo "  (guest MemFree ${free0} KiB before, ${free1} KiB while it holds the hints, ${free2} KiB after stop)"
check balloon_hinting/held_until_stop "$((free0 - free1 >= 200 * 1024 && free2 - free1 >= 200 * 1024))" 1

# --- a snapshot: the restored device says DONE and runs again
balloon_restart balloon_hinting "$S" "$TMP/api2.sock" || exit 0
S=$TMP/api2.sock
check balloon_hinting/restored_status "$(req GET /balloon/hinting/status)" '200 {"host_cmd":1,"guest_cmd":0}'
check balloon_hinting/restored_config "$(req GET /balloon)" \
	'200 {"amount_mib":0,"deflate_on_oom":false,"stats_polling_interval_s":1,"free_page_hinting":true,"free_page_reporting":false}'
fill_and_free 3
rss4=$(rss_anon_kib)
check balloon_hinting/restored_start "$(req PATCH /balloon/hinting/start)" "204 "
check balloon_hinting/restored_run_done "$(hint_wait)" '200 {"host_cmd":1,"guest_cmd":0}'
rss5=$(rss_after_drop "$rss4")
echo "  (restored: RssAnon ${rss4} KiB -> ${rss5} KiB with a hinting run)"
check balloon_hinting/restored_drops_rss "$((rss4 - rss5 >= 200 * 1024))" 1

vm_send 'poweroff'
vm_wait_exit 60
check balloon_hinting/poweroff_status "$VM_STATUS" 0
bad=$(tr -d '\r' <"$VM_OUT" | grep -aE 'needs reset|BUG|WARNING|Oops|Kernel panic|is not a head|out of range' | head -3)
check balloon_hinting/clean_log "$bad" ""
vm_cleanup

# --- statistics, hinting and reporting together
S=$TMP/api3.sock
vm_start run --engine soft --kernel "$KERNEL" --initrd "$INITRD" --mem 512M \
	--balloon=stats=1,reporting,hinting --api-sock "$S"
vm_booted balloon_hinting/all "$BOOT_LIMIT" || exit 0
vm_ready 60 || echo "FAIL balloon_hinting/all_ready: the shell takes no input"
check balloon_hinting/all_config "$(req GET /balloon)" \
	'200 {"amount_mib":0,"deflate_on_oom":false,"stats_polling_interval_s":1,"free_page_hinting":true,"free_page_reporting":true}'
vm_send 'R=RESULT; mkdir -p /mnt/fill && mount -t tmpfs -o size=90% fill /mnt/fill; echo "$R mounted $?"'
vm_wait "RESULT mounted" 30
vm_send "dd if=/dev/zero of=/mnt/fill/f bs=1M count=$FILL_MIB 2>/dev/null; sync; echo \"\$R filled4 \$?\""
vm_wait "RESULT filled4" 120
rss6=$(rss_anon_kib)
vm_send "rm /mnt/fill/f; echo \"\$R removed4 \$?\""
vm_wait "RESULT removed4" 60
rss7=$(rss_after_drop "$rss6") # reported 2 s after the pages are freed
echo "  (all queues: RssAnon ${rss6} KiB filled -> ${rss7} KiB freed with reporting)"
check balloon_hinting/all_reporting "$((rss6 - rss7 >= 200 * 1024))" 1
check balloon_hinting/all_start "$(req PATCH /balloon/hinting/start)" "204 "
check balloon_hinting/all_run_done "$(hint_wait)" '200 {"host_cmd":1,"guest_cmd":0}'
vm_send 'poweroff'
vm_wait_exit 60
check balloon_hinting/all_poweroff_status "$VM_STATUS" 0
bad=$(tr -d '\r' <"$VM_OUT" | grep -aE 'needs reset|BUG|WARNING|Oops|Kernel panic|is not a head|out of range' | head -3)
check balloon_hinting/all_clean_log "$bad" ""
vm_cleanup
