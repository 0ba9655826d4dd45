#!/bin/bash
# What KVM's paravirtual features buy on the soft engine (issue 15, item 5):
# the default guest on 2 vCPUs, with PV (the default) and with --no-pv, runs
# alternating. Each run times the boot to the shell prompt, then an SMP
# workload typed at the prompt: two CPU-bound pipelines (sha256 of a long
# sequence) beside a lock- and IPI-heavy loop of short-lived processes joined
# by pipes (fork, exec, exit, wake-ups and TLB shootdowns across the vCPUs).
# Reports wall time and popek's CPU time (user + system), medians of RUNS
# (default 3), and checks the guest's answers against the host's.
# Measures and prints; never fails on speed.
# usage: RUNS=N bench/pv.sh [POPEK]
set -u
cd "$(dirname "$0")/.."
POPEK=${1:-build/popek}
RUNS=${RUNS:-3}
KERNEL=build/guest/vmlinuz INITRD=build/guest/initramfs.cpio.gz
FORKS=${FORKS:-400}
if [ ! -x "$POPEK" ] || [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then
	echo "bench/pv.sh: needs $POPEK, $KERNEL and $INITRD (make build/popek guest)" >&2
	exit 2
fi
. tests/e2e/lib/vm_console.sh
export POPEK

host_sha=$(seq 1 200000 | sha256sum | cut -d' ' -f1)
. bench/lib.sh
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc | awk '{ printf "%.2f", $1 }'; }
cpu_of() { # user + system seconds of a live process
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null |
		awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($12 + $13) / hz }'
}

# The workload: prints "RESULT work SHA SHA N" when all three parts ended.
WORK='a=$(mktemp); b=$(mktemp); (seq 1 200000 | sha256sum >$a) & (seq 1 200000 | sha256sum >$b) & '
WORK+='n=0; i=0; while [ $i -lt '$FORKS' ]; do n=$((n + $(echo x | cat | wc -c))); i=$((i + 1)); done; wait; '
WORK+='echo "RESULT wo""rk $(cut -d" " -f1 $a) $(cut -d" " -f1 $b) $n"'

one_run() { # label [popek options...]: prints "boot_wall boot_cpu work_wall work_cpu ok"
	local label=$1 t0 boot bcpu w0 work wcpu ok=bad res
	shift
	t0=$(now)
	vm_start run --kernel "$KERNEL" --initrd "$INITRD" --engine soft --mem 512M --cpus 2 "$@"
	if ! vm_wait "popek:/root# " 600; then
		echo "$label: no shell prompt" >&2
		vm_cleanup
		echo "failed failed failed failed bad"
		return
	fi
	boot=$(since "$t0") bcpu=$(cpu_of "$VM_PID")
	vm_ready 60 >/dev/null
	w0=$(now)
	vm_send "$WORK"
	until tr -d '\r' <"$VM_OUT" | grep -aq "^RESULT work "; do
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.05
	done
	work=$(since "$w0")
	wcpu=$(echo "$(cpu_of "$VM_PID") - $bcpu" | bc | awk '{ printf "%.2f", $1 }')
	res=$(vm_result work)
	[ "$res" = "$host_sha $host_sha $((FORKS * 2))" ] && ok=ok
	vm_cleanup
	echo "$boot $bcpu $work $wcpu $ok"
}

declare -A col
labels=(pv nopv)
for i in $(seq "$RUNS"); do
	for label in "${labels[@]}"; do
		opts=()
		[ "$label" = nopv ] && opts=(--no-pv)
		read -r bw bc ww wc ok < <(one_run "$label" "${opts[@]}")
		echo "run $i $label: boot ${bw}s wall ${bc}s CPU, workload ${ww}s wall ${wc}s CPU, answers $ok"
		col[$label.bw]+="$bw"$'\n' col[$label.bc]+="$bc"$'\n'
		col[$label.ww]+="$ww"$'\n' col[$label.wc]+="$wc"$'\n'
	done
done
med() { printf '%s' "${col[$1]}" | grep -E '^[0-9.]+$' | median; }
echo
printf '%-34s %10s %10s %14s\n' "median of $RUNS, 2 vCPUs" "PV" "--no-pv" "no-pv / PV"
for m in "bw:boot to prompt, wall s" "bc:boot to prompt, CPU s" \
	"ww:workload, wall s" "wc:workload, CPU s"; do
	k=${m%%:*}
	printf '%-34s %10s %10s %14s\n' "${m#*:}" "$(med pv.$k)" "$(med nopv.$k)" \
		"$(ratio "$(med nopv.$k)" "$(med pv.$k)")"
done
