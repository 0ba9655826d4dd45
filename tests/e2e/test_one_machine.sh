#!/bin/bash
# One machine, two engines: the guest program machine_dump prints the CPUID
# leaves and MSRs a guest sees. On the soft engine, for each vendor model, its
# identity must be the model's (src/cpu/soft/vendor.c); where /dev/kvm works,
# KVM's dump must match the soft engine's for the host's vendor in everything
# that is not an inherent difference. Inherent, and so not compared: family,
# model and stepping (KVM shows the host's), feature bits (KVM offers what the
# host has, the soft engine what it implements), the TSC rate (the host's on
# KVM, 1 GHz on the soft engine) and KVM's own PV feature leaf 0x40000001.
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/asan/popek}
PROG=tests/guest/build/machine_dump.elf
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if [ ! -f "$PROG" ]; then
	echo "FAIL one_machine: $PROG is not built (make guest-programs)"
	exit 1
fi

check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS one_machine/$1"; else echo "FAIL one_machine/$1: got '$2', wanted '$3'"; fi
}

dump() { # out engine [popek options...]
	local out=$1
	shift
	timeout 60 "$POPEK" run --test-device --kernel "$PROG" --engine "$@" >"$out" 2>&1 </dev/null
}

# Field N (1-4: EAX..EDX) of a CPUID leaf in a dump.
leaf() { # file leaf.sub field
	awk -v l="# dump cpuid $2:" -v f="$3" 'index($0, l) == 1 { print $(4 + f) }' "$1"
}
msr() { # file name
	awk -v n="$2" '$1 == "#" && $2 == "dump" && $3 == "msr" && $4 == n { print $6 }' "$1"
}
vendor() { # file: leaf 0's EBX EDX ECX as the 12 characters they hold
	local w hex=
	for w in $(leaf "$1" 0x0.0 2) $(leaf "$1" 0x0.0 4) $(leaf "$1" 0x0.0 3); do
		hex+="\\x${w:6:2}\\x${w:4:2}\\x${w:2:2}\\x${w:0:2}"
	done
	printf "$hex"
}

# The vendor models: identity, highest leaves, Intel-only MSR.
for model in intel amd; do
	f=$TMP/soft-$model
	dump "$f" soft --cpu-vendor "$model"
	check "soft_${model}_program" "$(tail -1 "$f" | tr -d '\r')" PASS
	if [ "$model" = intel ]; then
		want="GenuineIntel 000806f8 00000016 80000008 0x1801"
	else
		want="AuthenticAMD 00a00f11 00000010 80000021 #GP"
	fi
	check "soft_${model}_identity" "$(vendor "$f") $(leaf "$f" 0x1.0 1) $(leaf "$f" 0x0.0 1) $(leaf "$f" 0x80000000.0 1) $(msr "$f" misc_enable)" "$want"
done

kvm_usable() {
	[ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null
}
if ! kvm_usable; then
	echo "SKIP one_machine/kvm_vs_soft: no usable /dev/kvm"
	exit 0
fi
grep -qm1 AuthenticAMD /proc/cpuinfo && host=amd || host=intel
k=$TMP/kvm s=$TMP/soft-$host
dump "$k" kvm
check kvm_program "$(tail -1 "$k" | tr -d '\r')" PASS
check kvm_vendor "$(vendor "$k")" "$(vendor "$s")"
for m in pat mtrr_def_type mtrr_fix64k mtrr_base0 mtrr_mask0 mtrrcap misc_enable apic_base; do
	check "kvm_msr_$m" "$(msr "$k" "$m")" "$(msr "$s" "$m")"
done
# Topology: leaf 1 EBX (logical count, APIC id), leaf 0xB's levels, the
# hypervisor signature.
check kvm_leaf1_ebx "$(leaf "$k" 0x1.0 2 | cut -c1-4)" "$(leaf "$s" 0x1.0 2 | cut -c1-4)"
for l in 0xb.0 0xb.1 0x40000000.0; do
	check "kvm_leaf_$l" "$(leaf "$k" "$l" 2) $(leaf "$k" "$l" 3)" "$(leaf "$s" "$l" 2) $(leaf "$s" "$l" 3)"
done
