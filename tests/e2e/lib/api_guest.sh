# Builds tests/e2e/lib/api_guest.c (a guest that runs until stopped, printing
# "tick N" ten times a second) with the guest test library. Source this file;
# api_guest_build DIR writes DIR/guest.elf and returns 1 when it cannot.
api_guest_build() {
	local g=tests/guest dir=$1
	[ -f $g/build/lib/entry.o ] && [ -f $g/build/lib/runtime.o ] || return 1
	gcc -std=gnu11 -O2 -m64 -ffreestanding -nostdlib -fno-pic -fno-pie -mno-red-zone \
		-fno-stack-protector -mno-sse -mno-sse2 -mno-mmx -mno-80387 \
		-fno-asynchronous-unwind-tables -Wall -Wextra -Werror -I$g/lib \
		-c tests/e2e/lib/api_guest.c -o "$dir/api_guest.o" &&
		ld -m elf_x86_64 -nostdlib -static -z max-page-size=0x1000 -z noexecstack \
			--no-warn-rwx-segments --build-id=none -T $g/lib/link.ld \
			-o "$dir/api_guest.elf64" "$dir/api_guest.o" $g/build/lib/entry.o \
			$g/build/lib/runtime.o &&
		objcopy -I elf64-x86-64 -O elf32-i386 "$dir/api_guest.elf64" "$dir/guest.elf"
}
