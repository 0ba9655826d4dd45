#!/bin/bash
# Bad --disk images: each must stop popek before boot with exit status 1 and
# one error line naming the option and the path. Also the image lock: a
# second popek may not open an image that another one has open read-write.
set -u
cd "$(dirname "$0")/../.."
POPEK=${POPEK:-build/popek}
PROG=tests/guest/build/pio.elf  # any kernel will do: the disk fails first
LINUX=build/guest/vmlinuz
T=$(mktemp -d)
HOLDER=
trap '[ -n "$HOLDER" ] && kill -9 "$HOLDER" 2>/dev/null; rm -rf "$T"' EXIT

if [ ! -x "$POPEK" ] || [ ! -f "$PROG" ]; then
	echo "SKIP virtio_blk_cli: no $POPEK or $PROG (make test)"
	exit 0
fi

# expect_error NAME WANTED-TEXT popek-args...: exit 1 and the text in one line.
expect_error() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(timeout 20 "$@" </dev/null 2>&1)
	rc=$?
	if [ $rc -ne 1 ]; then
		echo "FAIL virtio_blk_cli/$name: exit status $rc, wanted 1 ($(echo "$out" | head -n 2 | paste -sd ' '))"
	elif ! echo "$out" | grep -qF -- "$want"; then
		echo "FAIL virtio_blk_cli/$name: no line with '$want' in: $(echo "$out" | head -n 3 | paste -sd ' ')"
	elif [ "$(echo "$out" | grep -c '^popek: error')" -ne 1 ]; then
		echo "FAIL virtio_blk_cli/$name: not exactly one error line: $(echo "$out" | head -n 3 | paste -sd ' ')"
	else
		echo "PASS virtio_blk_cli/$name"
	fi
}

run=("$POPEK" run --kernel "$PROG" --engine soft --mem 64M)

expect_error missing "--disk $T/none.img: cannot open: No such file or directory" \
	"${run[@]}" --disk "$T/none.img"
mkdir "$T/dir"
expect_error directory "--disk $T/dir: is a directory" "${run[@]}" --disk "$T/dir"
expect_error directory_ro "--disk $T/dir: is a directory" "${run[@]}" --disk "$T/dir,ro"
expect_error char_device "--disk /dev/null: not a regular file or block device" \
	"${run[@]}" --disk /dev/null
head -c 1000 /dev/zero >"$T/odd.img"
expect_error odd_size "--disk $T/odd.img: size 1000 bytes is not a multiple of 512" \
	"${run[@]}" --disk "$T/odd.img"
: >"$T/empty.img"
expect_error empty "--disk $T/empty.img: the image is empty" "${run[@]}" --disk "$T/empty.img"

# Unreadable: root reads anything, so drop to nobody when we are root.
head -c 1M /dev/zero >"$T/secret.img"
chmod 000 "$T/secret.img"
chmod 755 "$T"
if [ "$(id -u)" -ne 0 ]; then
	expect_error unreadable "--disk $T/secret.img: cannot open read-write: Permission denied" \
		"${run[@]}" --disk "$T/secret.img"
elif command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups \
	test -r "$PROG"; then
	expect_error unreadable "--disk $T/secret.img: cannot open read-write: Permission denied" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "${run[@]}" --disk "$T/secret.img"
	expect_error unreadable_ro "--disk $T/secret.img: cannot open: Permission denied" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "${run[@]}" --disk "$T/secret.img,ro"
else
	echo "SKIP virtio_blk_cli/unreadable: running as root without setpriv, or $PROG unreadable by nobody"
fi

# The same image twice in one popek: the second open finds it locked.
head -c 1M /dev/zero >"$T/disk.img"
expect_error same_twice "--disk $T/disk.img: the image is in use by another process" \
	"${run[@]}" --disk "$T/disk.img" --disk "$T/disk.img"
expect_error rw_then_ro "--disk $T/disk.img: the image is open read-write by another process" \
	"${run[@]}" --disk "$T/disk.img" --disk "$T/disk.img,ro"
# Read-only twice is fine: a guest program that ends at once exits 33 (PASS).
out=$(timeout 20 "${run[@]}" --test-device --disk "$T/disk.img,ro" --disk "$T/disk.img,ro" </dev/null 2>&1)
rc=$?
if [ $rc -eq 33 ]; then
	echo "PASS virtio_blk_cli/ro_twice"
else
	echo "FAIL virtio_blk_cli/ro_twice: exit $rc: $(echo "$out" | grep '^popek' | head -n 2 | paste -sd ' ')"
fi

# Another popek holds the image read-write (a Linux boot takes long enough).
if [ ! -f "$LINUX" ]; then
	echo "SKIP virtio_blk_cli/locked_by_other_popek: default guest not built (make guest)"
	exit 0
fi
"$POPEK" run --kernel "$LINUX" --engine soft --mem 128M --no-rng --disk "$T/disk.img" \
	</dev/null >"$T/holder.log" 2>&1 &
HOLDER=$!
for _ in $(seq 50); do
	ls -l "/proc/$HOLDER/fd" 2>/dev/null | grep -q "$T/disk.img" && break
	sleep 0.1
done
expect_error locked_by_other_popek "--disk $T/disk.img: the image is in use by another process" \
	"${run[@]}" --disk "$T/disk.img"
expect_error locked_by_other_popek_ro \
	"--disk $T/disk.img: the image is open read-write by another process" \
	"${run[@]}" --disk "$T/disk.img,ro"
kill -9 "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
HOLDER=
out=$(timeout 20 "${run[@]}" --test-device --disk "$T/disk.img" </dev/null 2>&1)
rc=$?
if [ $rc -eq 33 ]; then
	echo "PASS virtio_blk_cli/lock_released_when_popek_dies"
else
	echo "FAIL virtio_blk_cli/lock_released_when_popek_dies: exit $rc: $(echo "$out" | grep '^popek' | head -n 2 | paste -sd ' ')"
fi
