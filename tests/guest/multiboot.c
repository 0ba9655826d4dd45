/* Guest program: the multiboot v1 contract (Multiboot Specification 0.6.96, 3.2-3.3).
 * lib/entry.S saved EAX, EBX, CR0 and EFLAGS at the 32-bit entry. */
#include "guest.h"

#define CMDLINE_ARGS " popek-multiboot-test arg=1" /* what the runner passes */
#define MOD1_LINE "popek-module-one 0123456789abcdef\n" /* lib Makefile: 4100 bytes */
#define MOD1_SIZE 4100
#define MOD2 "popek-module-two"

struct mb_info {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	u32 syms[4], mmap_length, mmap_addr;
};
struct mb_mod {
	u32 start, end, string, reserved;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static void modules(const struct mb_info *mb)
{
	const struct mb_mod *m = (const struct mb_mod *)(u64)mb->mods_addr;
	const u8 *p;
	u32 sum = 0;
	bool same = true;

	if (!check(mb->mods_count == 2, "2 modules (got %u)", mb->mods_count))
		return;
	check(ends_with((const char *)(u64)m[0].string, "mod1.bin mod-one"),
	      "module 1 string '%s' is 'PATH mod-one'", (const char *)(u64)m[0].string);
	check(ends_with((const char *)(u64)m[1].string, "mod2.bin mod-two"),
	      "module 2 string '%s' is 'PATH mod-two'", (const char *)(u64)m[1].string);
	check(!(m[0].start & 0xFFF) && !(m[1].start & 0xFFF),
	      "modules are page aligned (%#x, %#x; header flag 0)", m[0].start, m[1].start);
	check(m[0].start >= (u64)__image_end && m[1].start >= m[0].end,
	      "modules lie after the image end %#lx and do not overlap", (u64)__image_end);
	check(m[1].end <= 64 << 20, "modules end below 64 MiB (%#x)", m[1].end);
	check_eq("module 1 size", m[0].end - m[0].start, MOD1_SIZE);
	check_eq("module 2 size", m[1].end - m[1].start, sizeof(MOD2) - 1);
	p = (const u8 *)(u64)m[0].start;
	for (u32 i = 0; i < MOD1_SIZE; i++) {
		same &= p[i] == (u8)MOD1_LINE[i % (sizeof(MOD1_LINE) - 1)];
		sum += p[i];
	}
	check(same, "module 1 contents (byte sum %u)", sum);
	check(!memcmp((const void *)(u64)m[1].start, MOD2, sizeof(MOD2) - 1),
	      "module 2 contents");
}

static void memory_map(const struct mb_info *mb)
{
	u64 at = mb->mmap_addr, end = at + mb->mmap_length;
	bool found = false;
	unsigned n = 0;

	/* Entries: u32 size (not counting itself), u64 base, u64 length, u32 type. */
	while (at < end && n < 64) {
		u32 size = *(u32 *)at;
		u64 base = *(u64 *)(at + 4), len = *(u64 *)(at + 12);
		u32 type = *(u32 *)(at + 20);

		printf("# mmap: %#lx-%#lx type %u\n", base, base + len - 1, type);
		if (type == 1 && base <= 1 << 20 && base + len >= (u64)__image_end)
			found = true;
		at += size + 4;
		n++;
	}
	check(n > 0 && at == end, "memory map: %u entries fill mmap_length %u exactly", n,
	      mb->mmap_length);
	check(found, "memory map: an available entry covers 1 MiB up to the image end");
}

void test_main(void)
{
	const struct mb_info *mb = (const struct mb_info *)(u64)mb_info;
	const char *cmd;

	check_eq("EAX held the boot loader magic 0x2BADB002", mb_magic, 0x2BADB002);
	check((mb_entry_cr0 & 0x80000001) == 1, "CR0 at entry %#x: PE set, PG clear",
	      mb_entry_cr0);
	check(!(mb_entry_eflags & ((1 << 9) | (1 << 17))), "EFLAGS at entry %#x: IF and VM clear",
	      mb_entry_eflags);
	check(mb_info && mb_info < 1 << 20, "EBX %#x points to the info structure below 1 MiB",
	      mb_info);
	printf("# info flags %#x\n", mb->flags);
	check(mb->flags & (1 << 0), "flags: MEM (bit 0)");
	check(mb->flags & (1 << 2), "flags: CMDLINE (bit 2)");
	check(mb->flags & (1 << 3), "flags: MODS (bit 3)");
	check(mb->flags & (1 << 6), "flags: MMAP (bit 6)");

	check(mb->mem_lower >= 600 && mb->mem_lower <= 640, "mem_lower %u KiB", mb->mem_lower);
	check(mb->mem_upper >= 60 * 1024 && mb->mem_upper <= 63 * 1024,
	      "mem_upper %u KiB for 64 MiB of RAM", mb->mem_upper);
	cmd = (const char *)(u64)mb->cmdline;
	check(ends_with(cmd, "multiboot.elf" CMDLINE_ARGS),
	      "command line '%s' is 'PATH/multiboot.elf" CMDLINE_ARGS "'", cmd);
	if (mb->flags & (1 << 3))
		modules(mb);
	if (mb->flags & (1 << 6))
		memory_map(mb);
}
