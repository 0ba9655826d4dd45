/* Guest program: a multiboot kernel linked at 0x8000, below 1 MiB (lib/link.ld with
 * IMAGE_BASE, see the Makefile). The loader must place it there, in RAM the memory map
 * shows as available, and put nothing of its own over it (Multiboot Specification 0.6.96,
 * 3.1.3 and 3.3). */
#include "guest.h"

#define BASE 0x8000UL

struct mb_info {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	u32 syms[4], mmap_length, mmap_addr;
};

/* Data the loader copies from the file: any byte written over the image by
 * the loader's own structures shows here. */
#define PATTERN_WORDS 4096
static const u32 pattern[PATTERN_WORDS] = {[0 ... PATTERN_WORDS - 1] = 0x5eed1234};
static u32 zeroes[PATTERN_WORDS];

static bool inside_image(u64 a, u64 len)
{
	return a < (u64)__image_end && a + len > (u64)__image_start;
}

/* The memory map entry that holds [a, a + len), or 0 (type 1: RAM). */
static u32 mmap_type(const struct mb_info *mb, u64 a, u64 len)
{
	for (u64 at = mb->mmap_addr; at < (u64)mb->mmap_addr + mb->mmap_length;) {
		const u8 *e = (const u8 *)at;
		u32 size = *(const u32 *)e;
		u64 base = *(const u64 *)(e + 4), n = *(const u64 *)(e + 12);

		if (a >= base && a + len <= base + n)
			return *(const u32 *)(e + 20);
		at += size + 4;
	}
	return 0;
}

void test_main(void)
{
	const struct mb_info *mb = (const struct mb_info *)(u64)mb_info;
	u64 size = (u64)__image_end - (u64)__image_start;
	const char *cmd = (const char *)(u64)mb->cmdline;
	bool same = true;

	check_eq("EAX at entry: multiboot magic", mb_magic, 0x2BADB002);
	check_eq("the image starts at 0x8000", (u64)__image_start, BASE);
	check((u64)__image_end <= 0x100000, "the image [%#lx, %#lx) lies below 1 MiB",
	      (u64)__image_start, (u64)__image_end);
	check((u64)test_main > BASE && (u64)test_main < (u64)__image_end,
	      "running from low memory (test_main at %p)", (void *)test_main);
	for (unsigned i = 0; i < PATTERN_WORDS; i++)
		same &= pattern[i] == 0x5eed1234 && zeroes[i] == 0;
	check(same, "the loaded data and bss are intact (%lu bytes of image)", size);

	if (!check(mb->flags & (1 << 6), "the info has a memory map"))
		return;
	check_eq("the memory map shows the image as RAM", mmap_type(mb, BASE, size), 1);
	check(!inside_image(mb_info, sizeof(*mb)),
	      "the multiboot information (%#x) is not in the image", mb_info);
	check(!inside_image(mb->mmap_addr, mb->mmap_length),
	      "the memory map (%#x) is not in the image", mb->mmap_addr);
	check((mb->flags & (1 << 2)) && !inside_image(mb->cmdline, strlen(cmd) + 1),
	      "the command line (%#x) is not in the image", mb->cmdline);
}
