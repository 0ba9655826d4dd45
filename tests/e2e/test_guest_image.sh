#!/bin/sh
# Checks the default guest image built by guest/build.sh (make guest).
#
# Usage: tests/e2e/test_guest_image.sh [GUEST_DIR]   (default: build/guest)
# Prints "PASS name", "FAIL name: why" or "SKIP name: why" per check and exits
# 1 if any check failed. With POPEK_TEST_LONG=1 it also boots the image under
# QEMU TCG (the reference machine) and runs a command in the guest shell.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${1:-$ROOT/build/guest}
FAILS=0
TMP=""

pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1: $2"
	FAILS=$((FAILS + 1))
}
skip() { echo "SKIP $1: $2"; }

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	[ -n "$TMP" ] && rm -rf "$TMP"
	return 0
}
trap cleanup EXIT

if [ ! -d "$DIR" ]; then
	skip guest_image "$DIR does not exist (run make guest)"
	exit 0
fi
TMP=$(mktemp -d)

# vmlinuz: a bzImage has "HdrS" at 0x202 (Documentation/arch/x86/boot.rst).
KREL=""
if [ ! -f "$DIR/vmlinuz" ]; then
	fail vmlinuz_hdrs "$DIR/vmlinuz is missing"
else
	magic=$(dd if="$DIR/vmlinuz" bs=1 skip=$((0x202)) count=4 2>/dev/null)
	if [ "$magic" = "HdrS" ]; then
		pass vmlinuz_hdrs
		# kernel_version (0x20e): offset - 0x200 of "RELEASE (builder) #..."
		voff=$(od -An -tu2 -j $((0x20e)) -N 2 "$DIR/vmlinuz" | tr -d ' ')
		KREL=$(dd if="$DIR/vmlinuz" bs=1 skip=$((voff + 0x200)) count=128 2>/dev/null |
			tr '\0' '\n' | head -n 1 | cut -d' ' -f1)
	else
		fail vmlinuz_hdrs "$DIR/vmlinuz has '$magic' at 0x202, not 'HdrS'"
	fi
fi

# vmlinux is optional (build.sh makes it when lz4 is installed).
if [ ! -f "$DIR/vmlinux" ]; then
	skip vmlinux_elf "$DIR/vmlinux not built"
elif [ "$(od -An -c -N 4 "$DIR/vmlinux" | tr -d ' ')" = "177ELF" ]; then
	pass vmlinux_elf
else
	fail vmlinux_elf "$DIR/vmlinux does not start with the ELF magic"
fi

# initramfs: entries, ownership, modules for the kernel release.
INITRD=$DIR/initramfs.cpio.gz
if [ ! -f "$INITRD" ]; then
	fail initramfs_list "$INITRD is missing"
	exit 1
fi
if ! zcat "$INITRD" | cpio -t --quiet >"$TMP/list" 2>"$TMP/err"; then
	fail initramfs_list "cannot list $INITRD: $(head -n 1 "$TMP/err")"
	exit 1
fi
pass initramfs_list

missing=""
for f in init bin/busybox bin/sh sbin/modprobe; do
	grep -qx "$f" "$TMP/list" || missing="$missing $f"
done
if [ -z "$missing" ]; then
	pass initramfs_base
else
	fail initramfs_base "missing:$missing"
fi

if zcat "$INITRD" | cpio -tv --numeric-uid-gid --quiet 2>/dev/null |
	awk '$3 != 0 || $4 != 0 { bad = 1 } END { exit bad }'; then
	pass initramfs_root_owned
else
	fail initramfs_root_owned "some entries are not owned by 0:0"
fi

MODREL=$(sed -n 's|^lib/modules/\([^/]*\)/modules.dep$|\1|p' "$TMP/list" | head -n 1)
if [ -z "$MODREL" ]; then
	fail initramfs_modules_dep "no lib/modules/*/modules.dep"
else
	pass initramfs_modules_dep
	if [ -z "$KREL" ]; then
		skip modules_match_kernel "kernel release not readable from vmlinuz"
	elif [ "$KREL" = "$MODREL" ]; then
		pass modules_match_kernel
	else
		fail modules_match_kernel "vmlinuz is $KREL, modules are for $MODREL"
	fi
fi

missing=""
for m in virtio_mmio virtio virtio_ring virtio_blk virtio_net net_failover failover \
	virtio_console virtio-rng virtio_balloon vsock vmw_vsock_virtio_transport \
	vmw_vsock_virtio_transport_common; do
	grep -q "^lib/modules/[^/]*/kernel/.*/$m\.ko$" "$TMP/list" || missing="$missing $m"
done
if [ -z "$missing" ]; then
	pass initramfs_virtio_modules
else
	fail initramfs_virtio_modules "missing:$missing"
fi

# Boot under QEMU: wait for the banner, run one command, exit the shell and
# expect the guest to power off (which ends QEMU).
boot_qemu() {
	if [ "${POPEK_TEST_LONG:-0}" != 1 ]; then
		skip qemu_boot "set POPEK_TEST_LONG=1 to boot the image under QEMU"
		return 0
	fi
	if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
		skip qemu_boot "qemu-system-x86_64 not installed"
		return 0
	fi
	mkfifo "$TMP/in"
	timeout 120 qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on -accel tcg \
		-cpu max -m 256M -nographic -no-reboot -kernel "$DIR/vmlinuz" -initrd "$INITRD" \
		-append "console=ttyS0 quiet panic=-1 tsc_early_khz=2000000" \
		<"$TMP/in" >"$TMP/out" 2>&1 &
	qpid=$!
	exec 3>"$TMP/in"
	i=0
	while ! grep -q "popek guest ready" "$TMP/out" && [ $i -lt 600 ]; do
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	# If QEMU already died, the write fails instead of killing this script.
	trap '' PIPE
	# shellcheck disable=SC2016 # expanded by the guest's shell
	printf 'echo popek-$((6 * 7))\nexit\n' >&3 2>/dev/null || true
	rc=0
	wait "$qpid" || rc=$?
	exec 3>&-
	if ! grep -q "popek guest ready" "$TMP/out"; then
		fail qemu_boot "no banner 'popek guest ready'; last line: $(tail -n 1 "$TMP/out")"
	elif ! grep -q "^popek-42" "$TMP/out"; then
		fail qemu_boot "the guest shell did not run the command"
	elif [ "$rc" -ne 0 ]; then
		fail qemu_boot "QEMU exited with $rc (124: the guest did not power off)"
	else
		pass qemu_boot
	fi
}
boot_qemu

[ "$FAILS" -eq 0 ] || exit 1
exit 0
