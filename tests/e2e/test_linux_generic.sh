#!/bin/bash
# Boots Debian's generic kernel (linux-image-amd64: an XZ payload, unlike the
# cloud kernel's LZ4) with the default initramfs on the soft engine: popek must
# unpack the payload on the host and enter it through PVH (its info line says
# so), the guest must reach its shell and power off with status 0. The initramfs's
# modules belong to the cloud kernel and do not load here; /init goes on without
# them. The package is downloaded once (apt-get download, never installed) and
# only its boot/vmlinuz is kept, in build/generic/; SKIP when apt cannot get it.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/vm_console.sh
INITRD=build/guest/initramfs.cpio.gz
DIR=build/generic
BOOT_LIMIT=${POPEK_BOOT_LIMIT:-300}
if [ ! -f "$INITRD" ]; then
	echo "SKIP linux_generic: default guest not built (make guest)"
	exit 0
fi

# The versioned package behind the metapackage, e.g. linux-image-6.1.0-57-amd64.
PKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
VERSION=$([ -n "$PKG" ] && apt-cache policy "$PKG" 2>/dev/null | sed -n 's/^ *Candidate: //p' |
	grep -v '^(none)$')
if [ -z "$PKG" ] || [ -z "$VERSION" ]; then
	echo "SKIP linux_generic: apt knows no linux-image-amd64 package (apt-get update?)"
	exit 0
fi
KREL=${PKG#linux-image-}
KERNEL=$DIR/vmlinuz-$KREL
if [ ! -f "$KERNEL" ] || [ "$(cat "$DIR/vmlinuz-$KREL.version" 2>/dev/null)" != "$VERSION" ]; then
	mkdir -p "$DIR"
	tmp=$(mktemp -d "$DIR/dl.XXXXXX")
	apt_opts=()
	# apt drops to user _apt for downloads, which cannot write into build/.
	[ "$(id -u)" -eq 0 ] && apt_opts=(-o APT::Sandbox::User=root)
	if ! (cd "$tmp" && apt-get download -q "${apt_opts[@]}" "$PKG=$VERSION" >/dev/null 2>&1); then
		rm -rf "$tmp"
		echo "SKIP linux_generic: apt-get download $PKG=$VERSION failed (offline?)"
		exit 0
	fi
	# Only the bzImage: the package's modules are not needed.
	if ! dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" "./boot/vmlinuz-$KREL"; then
		rm -rf "$tmp"
		echo "FAIL linux_generic/package: no boot/vmlinuz-$KREL in the $PKG package"
		exit 1
	fi
	rm -f "$DIR"/vmlinuz-* # older kernels
	mv "$tmp/boot/vmlinuz-$KREL" "$KERNEL"
	echo "$VERSION" >"$DIR/vmlinuz-$KREL.version"
	rm -rf "$tmp"
fi

check() { # name got want
	if [ "$2" = "$3" ]; then echo "PASS $1"; else echo "FAIL $1: got '$2', wanted '$3'"; fi
}

# The payload's format from its magic bytes (boot.rst: setup_sects at 0x1f1,
# payload_offset at 0x248 relative to the protected-mode code).
read_le() { od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' '; }
sects=$(read_le "$KERNEL" $((0x1f1)) 1)
[ "$sects" -eq 0 ] && sects=4
magic=$(od -An -tx1 -j $(((sects + 1) * 512 + $(read_le "$KERNEL" $((0x248)) 4))) -N 6 "$KERNEL" |
	tr -d ' ')
case $magic in
fd377a585a00) format=XZ ;;
02214c18*) format=LZ4 ;;
1f8b08*) format=gzip ;;
28b52ffd*) format=zstd ;;
*) format="unknown ($magic)" ;;
esac
echo "linux_generic: $PKG $VERSION, $format payload"
check linux_generic/xz_payload "$format" XZ

export POPEK_LOG=info # the unpack path's report
t0=$SECONDS
vm_start run --kernel "$KERNEL" --initrd "$INITRD" --engine soft --mem 512M
vm_booted linux_generic "$BOOT_LIMIT" || exit 1
echo "linux_generic: shell after $((SECONDS - t0)) s"
unpacked=$(tr -d '\r' <"$VM_OUT" | grep -ac "popek: info: kernel '$KERNEL': $format payload unpacked on the host (.*), PVH entry 0x")
check linux_generic/unpacked_on_host "$unpacked" 1
# A line typed while the shell is still setting up its terminal can be lost
# (seen under heavy load): type until the shell answers.
for i in 1 2 3 4 5; do
	vm_send 'echo "RESULT rea""dy"' # the typed line must not match the marker
	vm_wait "RESULT ready" 20 && break
done
vm_send 'echo "RESULT uname $(uname -r)"'
vm_send 'echo "RESULT do""ne"' # the typed line must not match the marker
vm_wait "RESULT done" 60 || echo "  (commands did not finish)"
check linux_generic/uname "$(vm_result uname)" "$KREL"
vm_send poweroff
vm_wait_exit 120
check linux_generic/poweroff_status "$VM_STATUS" 0
bad=$(tr -d '\r' <"$VM_OUT" | grep -aE 'BUG|WARNING|Oops|Kernel panic|popek: (error|warning)' | head -3)
check linux_generic/clean_log "$bad" ""
vm_cleanup
