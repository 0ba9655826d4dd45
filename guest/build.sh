#!/bin/sh
# Builds popek's default guest (Debian cloud kernel + busybox initramfs) into OUTDIR.
#
# Usage: guest/build.sh OUTDIR        (make guest runs: guest/build.sh build/guest)
#
# Produces, from Debian packages only (see guest/README.md):
#   OUTDIR/vmlinuz             the kernel's bzImage, as Debian ships it
#   OUTDIR/vmlinux             the uncompressed ELF kernel (LZ4 payload unpacked)
#   OUTDIR/initramfs.cpio.gz   busybox, guest/init as /init, the virtio modules
#   OUTDIR/kernel-release      the kernel release string (e.g. 6.1.0-56-cloud-amd64)
# Work files: OUTDIR/dl (downloaded .deb), OUTDIR/kernel-root (unpacked package),
# OUTDIR/initramfs-root (the initramfs tree), OUTDIR/.stamp.
#
# Needs busybox-static, cpio, gzip and lz4 (installed by scripts/deps.sh). The
# kernel package is downloaded and unpacked, never installed. Re-running is
# quick: nothing is rebuilt while the kernel package version, this script and
# guest/init are unchanged.
set -eu

META_PKG=linux-image-cloud-amd64
# Modules the guest needs; their dependencies are added from modules.dep.
MODULES="virtio_mmio virtio virtio_ring virtio_blk virtio_net net_failover failover
virtio_console virtio-rng virtio_balloon vsock vmw_vsock_virtio_transport
vmw_vsock_virtio_transport_common virtio_pmem nd_pmem virtio_mem"

die() {
	echo "guest/build.sh: error: $*" >&2
	exit 1
}

step() {
	echo "guest: $*"
}

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
OUT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
INIT_SRC=$HERE/init
[ -f "$INIT_SRC" ] || die "missing $INIT_SRC"

for tool in apt-cache apt-get dpkg-deb cpio gzip sha256sum; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' not found; run scripts/deps.sh (needs Debian's apt)"
done
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found; install busybox-static (scripts/deps.sh)"
# The initramfs has no libc: only the static busybox will run there.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" ||
	die "package busybox-static is not installed (scripts/deps.sh installs it)"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
APT_OPTS=""
# apt drops to user _apt for downloads, which cannot write into OUTDIR/dl.
[ "$(id -u)" -eq 0 ] && APT_OPTS="-o APT::Sandbox::User=root"

# Prints the versioned image package the metapackage depends on, or nothing.
resolve_pkg() {
	apt-cache depends "$META_PKG" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}

# Prints the candidate version of package $1, or nothing.
candidate_version() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '^(none)$' || true
}

stamp_ok() {
	[ -f "$OUT/.stamp" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initramfs.cpio.gz" ]
}

# --- 1. Which kernel package? ---
PKG=$(resolve_pkg)
if [ -z "$PKG" ]; then
	step "apt knows no $META_PKG: running apt-get update"
	if $SUDO apt-get update -qq; then
		PKG=$(resolve_pkg)
	fi
fi
if [ -z "$PKG" ]; then
	if stamp_ok; then
		echo "guest: warning: cannot resolve $META_PKG (offline?); keeping the existing $OUT" >&2
		exit 0
	fi
	die "cannot resolve $META_PKG to a versioned linux-image package (apt-cache depends $META_PKG)"
fi
VERSION=$(candidate_version "$PKG")
[ -n "$VERSION" ] || die "apt has no candidate version for $PKG"
KREL=${PKG#linux-image-}
step "kernel package $PKG $VERSION"

STAMP="kernel=$PKG $VERSION
build=$(sha256sum "$HERE/build.sh" | cut -d' ' -f1)
init=$(sha256sum "$INIT_SRC" | cut -d' ' -f1)
dhcp=$(sha256sum "$HERE/udhcpc.script" | cut -d' ' -f1)
tools=$(cat "$HERE"/tools/*.c 2>/dev/null | sha256sum | cut -d' ' -f1)"
if stamp_ok && [ "$(cat "$OUT/.stamp")" = "$STAMP" ]; then
	step "up to date in $OUT"
	exit 0
fi
rm -f "$OUT/.stamp"
mkdir -p "$OUT/dl"

# --- 2. Download the .deb (kept in OUTDIR/dl across rebuilds). ---
# Prints the path of a downloaded .deb of $PKG $VERSION in OUTDIR/dl, or nothing.
find_deb() {
	for f in "$OUT"/dl/*.deb; do
		[ -f "$f" ] || continue
		if [ "$(dpkg-deb -f "$f" Package 2>/dev/null)" = "$PKG" ] &&
			[ "$(dpkg-deb -f "$f" Version 2>/dev/null)" = "$VERSION" ]; then
			echo "$f"
			return 0
		fi
	done
}
DEB=$(find_deb)
if [ -z "$DEB" ]; then
	step "downloading $PKG=$VERSION into $OUT/dl"
	# Drop .debs of older kernels.
	rm -f "$OUT"/dl/*.deb
	# shellcheck disable=SC2086
	if ! (cd "$OUT/dl" && apt-get download -q $APT_OPTS "$PKG=$VERSION" >/dev/null); then
		# Stale lists name a file the mirror no longer has: refresh once.
		step "download failed: running apt-get update and retrying"
		$SUDO apt-get update -qq || die "apt-get update failed"
		(cd "$OUT/dl" && apt-get download -q $APT_OPTS "$PKG=$VERSION" >/dev/null) ||
			die "apt-get download $PKG=$VERSION failed"
	fi
	DEB=$(find_deb)
	[ -n "$DEB" ] || die "downloaded file for $PKG $VERSION not found in $OUT/dl"
fi

# --- 3. Unpack it (never installed). ---
step "unpacking $(basename "$DEB") into $OUT/kernel-root"
rm -rf "$OUT/kernel-root"
dpkg-deb -x "$DEB" "$OUT/kernel-root"
MODDIR=$OUT/kernel-root/lib/modules/$KREL
[ -d "$MODDIR" ] || die "$DEB has no lib/modules/$KREL"
[ -f "$OUT/kernel-root/boot/vmlinuz-$KREL" ] || die "$DEB has no boot/vmlinuz-$KREL"

# --- 4. The bzImage. ---
step "copying boot/vmlinuz-$KREL to $OUT/vmlinuz"
cp "$OUT/kernel-root/boot/vmlinuz-$KREL" "$OUT/vmlinuz.tmp"
mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
printf '%s\n' "$KREL" >"$OUT/kernel-release"

# --- 5. The uncompressed vmlinux (optional). ---
# Reads an unsigned little-endian integer of $3 bytes at offset $2 of file $1.
read_le() {
	od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' '
}
# Documentation/arch/x86/boot.rst: setup_sects at 0x1f1, payload_offset (0x248)
# and payload_length (0x24c) from boot protocol 2.08 on. The protected-mode part
# starts at (setup_sects + 1) * 512; the payload is relative to it. The kernel's
# build appends the uncompressed size as 4 bytes after the LZ4 legacy frame
# (magic 0x184C2102), which lz4 would take as a bad block: cut it off.
extract_vmlinux() {
	img=$OUT/vmlinuz
	if ! command -v lz4 >/dev/null 2>&1; then
		echo "guest: warning: lz4 not installed (scripts/deps.sh); no $OUT/vmlinux" >&2
		return 0
	fi
	proto=$(read_le "$img" $((0x206)) 2)
	if [ "$proto" -lt $((0x208)) ]; then
		echo "guest: warning: boot protocol $proto has no payload fields; no $OUT/vmlinux" >&2
		return 0
	fi
	setup_sects=$(read_le "$img" $((0x1f1)) 1)
	[ "$setup_sects" -eq 0 ] && setup_sects=4
	poff=$(((setup_sects + 1) * 512 + $(read_le "$img" $((0x248)) 4)))
	plen=$(read_le "$img" $((0x24c)) 4)
	magic=$(od -An -tx1 -j "$poff" -N 4 "$img" | tr -d ' ')
	if [ "$magic" != "02214c18" ]; then
		echo "guest: warning: payload is not LZ4 (magic $magic); no $OUT/vmlinux" >&2
		return 0
	fi
	want=$(read_le "$img" $((poff + plen - 4)) 4)
	tail -c +$((poff + 1)) "$img" | head -c $((plen - 4)) | lz4 -dc >"$OUT/vmlinux.tmp" ||
		die "lz4 failed to unpack the payload of $img"
	got=$(wc -c <"$OUT/vmlinux.tmp")
	[ "$got" -eq "$want" ] || die "vmlinux is $got bytes, the bzImage says $want"
	[ "$(od -An -c -j 1 -N 3 "$OUT/vmlinux.tmp" | tr -d ' ')" = "ELF" ] ||
		die "the unpacked payload of $img is not an ELF file"
	mv "$OUT/vmlinux.tmp" "$OUT/vmlinux"
}
step "extracting the ELF vmlinux to $OUT/vmlinux"
rm -f "$OUT/vmlinux"
extract_vmlinux

# --- 6. Module dependencies. ---
if command -v depmod >/dev/null 2>&1; then
	DEPMOD=depmod
else
	DEPMOD="$BUSYBOX depmod" # kmod is not needed on the host
fi
step "running $DEPMOD -b kernel-root $KREL"
$DEPMOD -b "$OUT/kernel-root" "$KREL"
[ -f "$MODDIR/modules.dep" ] || die "depmod wrote no $MODDIR/modules.dep"

# --- 7. The initramfs tree. ---
ROOT=$OUT/initramfs-root
step "assembling $ROOT"
rm -rf "$ROOT"
mkdir -p "$ROOT/bin" "$ROOT/sbin" "$ROOT/usr/bin" "$ROOT/usr/sbin" "$ROOT/dev" \
	"$ROOT/proc" "$ROOT/sys" "$ROOT/tmp" "$ROOT/run" "$ROOT/root" "$ROOT/etc" \
	"$ROOT/mnt" "$ROOT/lib/modules/$KREL"
chmod 1777 "$ROOT/tmp"
chmod 0700 "$ROOT/root"

# Busybox and one symlink per applet, at the path busybox itself names.
cp "$BUSYBOX" "$ROOT/bin/busybox"
applets=$("$BUSYBOX" --list-full 2>/dev/null) ||
	applets=$("$BUSYBOX" --list | sed 's|^|bin/|')
for a in $applets; do
	case $a in
	bin/busybox) continue ;;
	esac
	mkdir -p "$ROOT/$(dirname "$a")"
	[ -e "$ROOT/$a" ] || ln -s /bin/busybox "$ROOT/$a"
done
[ -e "$ROOT/bin/sh" ] || die "busybox has no sh applet"

cp "$INIT_SRC" "$ROOT/init"
chmod 0755 "$ROOT/init"
# Test tools busybox lacks (AF_VSOCK): static C programs from guest/tools/.
for src in "$HERE"/tools/*.c; do
	[ -f "$src" ] || continue
	gcc -static -O2 -s -o "$ROOT/usr/bin/$(basename "$src" .c)" "$src" ||
		die "cannot build $src (needs gcc and libc6-dev)"
done
# The udhcpc event script, at the path guest/init names and at Debian's default.
mkdir -p "$ROOT/usr/share/udhcpc" "$ROOT/etc/udhcpc"
cp "$HERE/udhcpc.script" "$ROOT/usr/share/udhcpc/default.script"
chmod 0755 "$ROOT/usr/share/udhcpc/default.script"
ln -s /usr/share/udhcpc/default.script "$ROOT/etc/udhcpc/default.script"
echo popek >"$ROOT/etc/hostname"

# Modules: the listed ones plus everything they depend on (modules.dep lines
# are "path: dep-path..."; module names treat '-' and '_' alike).
norm() {
	echo "$1" | tr - _
}
want_paths=""
for m in $MODULES; do
	n=$(norm "$m")
	line=$(awk -F: -v n="$n" '{ f = $1; sub(".*/", "", f); sub("\\.ko$", "", f);
		gsub("-", "_", f); if (f == n) { print; exit } }' "$MODDIR/modules.dep")
	if [ -z "$line" ]; then
		echo "guest: warning: module $m is not in $KREL; skipped" >&2
		continue
	fi
	want_paths="$want_paths ${line%%:*} ${line#*:}"
done
count=0
# shellcheck disable=SC2086 # split on purpose
for p in $(printf '%s\n' $want_paths | sort -u); do
	case $p in
	*.ko) ;;
	*) die "module $p is compressed or unexpected; only plain .ko is handled" ;;
	esac
	mkdir -p "$ROOT/lib/modules/$KREL/$(dirname "$p")"
	cp "$MODDIR/$p" "$ROOT/lib/modules/$KREL/$p"
	count=$((count + 1))
done
# modules.builtin lets modprobe of a built-in driver succeed quietly.
if [ -f "$MODDIR/modules.builtin" ]; then
	cp "$MODDIR/modules.builtin" "$ROOT/lib/modules/$KREL/"
fi
# modules.dep etc. describing exactly the modules shipped.
$DEPMOD -b "$ROOT" "$KREL"
step "copied $count modules with their modules.dep"

# The kernel opens /dev/console before /init runs; its built-in initramfs has
# the node, but ship one too where we can (mknod needs root).
[ "$(id -u)" -eq 0 ] && mknod -m 600 "$ROOT/dev/console" c 5 1

# --- 8. The archive. ---
step "writing $OUT/initramfs.cpio.gz"
# The kernel keeps cpio mtimes (CONFIG_INITRAMFS_PRESERVE_MTIME): pin them to the
# kernel's date (or SOURCE_DATE_EPOCH) so equal inputs give an equal archive.
epoch=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$OUT/kernel-root/boot/vmlinuz-$KREL")}
find "$ROOT" -exec touch -h -d "@$epoch" {} +
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc --owner=0:0 --reproducible --quiet) |
	gzip -9 -n >"$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"

printf '%s\n' "$STAMP" >"$OUT/.stamp"
step "done: $OUT/vmlinuz $OUT/initramfs.cpio.gz ($(wc -c <"$OUT/initramfs.cpio.gz") bytes)"
