/* Guest program: RAM above the 4 GiB boundary (popek puts RAM beyond 3 GiB
 * after the MMIO hole; on KVM it is a second memory slot). Run with --mem
 * above 3 GiB (test_guest_programs.sh gives 3328M: 256 MiB above 4 GiB). The
 * multiboot memory map must show it; writes there read back and do not land
 * in low memory (no aliasing to the same offset below 4 GiB). */
#include "guest.h"

#define HIGH_BASE   0x100000000ULL
#define ALIAS_PROBE 0x4000000ULL /* 64 MiB: free low RAM, the same offset */

/* Multiboot information, memory map (Multiboot Specification 0.6.96, 3.3). */
struct mb_mmap_entry {
	u32 size;
	u64 addr, len;
	u32 type;
} __attribute__((packed));

static u64 ram_above_4g(void)
{
	const u32 *info = (const u32 *)(u64)mb_info;
	u64 top = 0;

	if (!(info[0] & (1u << 6)))
		return 0; /* no memory map */
	for (u64 p = info[12]; p < (u64)info[12] + info[11];) {
		const struct mb_mmap_entry *e = (const void *)p;
		if (e->type == 1 && e->addr + e->len > HIGH_BASE && e->addr + e->len > top)
			top = e->addr + e->len;
		p += e->size + 4;
	}
	return top > HIGH_BASE ? top - HIGH_BASE : 0;
}

/* Maps 4 GiB .. 5 GiB with a 1 GiB page in the runtime's PDPT. */
static void map_high(void)
{
	u64 *pml4, *pdpt;

	asm volatile("mov %%cr3, %0" : "=r"(pml4));
	pdpt = (u64 *)(pml4[0] & 0x000ffffffffff000ULL);
	pdpt[4] = HIGH_BASE | PTE_P | PTE_RW | (1ULL << 7);
	paging_flush();
}

void test_main(void)
{
	u32 r[4];
	u64 size = ram_above_4g(), offsets[3];
	volatile u64 *low = (volatile u64 *)ALIAS_PROBE;
	bool ok = true;

	check(size >= 64 * 1024 * 1024, "the memory map shows %lu MiB above 4 GiB",
	      size >> 20);
	cpuid(0x80000001, 0, r);
	if (size < 64 * 1024 * 1024 || !check(r[3] & (1u << 26), "1 GiB pages"))
		return;
	map_high();
	offsets[0] = 0;
	offsets[1] = ALIAS_PROBE;
	offsets[2] = (size < (1ULL << 30) ? size : (1ULL << 30)) - 8;
	*low = 0x1111111111111111ULL;
	for (unsigned i = 0; i < 3; i++)
		*(volatile u64 *)(HIGH_BASE + offsets[i]) = 0xfeedf00d00000000ULL | i;
	for (unsigned i = 0; i < 3; i++)
		ok &= *(volatile u64 *)(HIGH_BASE + offsets[i]) == (0xfeedf00d00000000ULL | i);
	check(ok, "writes at 4 GiB + 0, 64 MiB and the end read back");
	check_eq("low memory at the same offset is untouched", *low, 0x1111111111111111ULL);
}
