#!/bin/sh
# Installs the Debian packages popek needs to build, test and boot its default
# guest, only when one is missing. Needs root (or sudo) and Debian's apt.
set -e
# libzydis-dev: unit/test_soft_decode compares the soft decoder with Zydis 4.
# liblz4-dev, liblzma-dev, zlib1g-dev, libzstd-dev: a bzImage's LZ4, XZ, gzip or
# zstd payload is unpacked on the host (src/boot/unpack*.c).
PKGS="gcc make libc6-dev liblz4-dev liblzma-dev zlib1g-dev libzstd-dev busybox-static cpio gzip e2fsprogs clang libclang-rt-14-dev qemu-system-x86 lz4 acpica-tools bc libslirp-dev libcjson-dev libseccomp-dev curl python3 jq libzydis-dev gdb"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "popek: installing missing packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
