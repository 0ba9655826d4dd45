/* Two address spaces with different code at the same virtual address, as
 * two processes have: a hot function at one linear address is a different
 * physical page in each, and the vCPU switches CR3 between them over and
 * over. A translation (and every link into it) made in one space must never
 * run in the other (SDM Vol. 3A 4.10.4.1: a CR3 write invalidates the
 * non-global translations). */
#include "guest.h"

extern u64 pd[];

static u8 code[3][4096] __attribute__((aligned(4096)));
static u64 pml4_b[512] __attribute__((aligned(4096)));
static u64 pdpt_b[512] __attribute__((aligned(4096)));
static u64 pd_b[512] __attribute__((aligned(4096)));
static u64 pt_b[512] __attribute__((aligned(4096)));

typedef u32 (*fn_t)(void);

/* mov ecx, 20; 1: dec ecx; jnz 1b; mov eax, v; ret: a loop to get hot. */
static void emit(u8 *p, u32 v)
{
	static const u8 head[] = {0xb9, 20, 0, 0, 0, 0xff, 0xc9, 0x75, 0xfc, 0xb8};

	memcpy(p, head, sizeof(head));
	memcpy(p + sizeof(head), &v, 4);
	p[sizeof(head) + 4] = 0xc3;
	asm volatile("" ::: "memory");
}

static u64 read_cr3(void)
{
	u64 v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static void write_cr3(u64 v)
{
	asm volatile("mov %0, %%cr3" ::"r"(v) : "memory");
}

#define CR4_PCIDE (1ULL << 17)
#define NOFLUSH   (1ULL << 63)

/* PCIDs (SDM Vol. 3A 4.10.1, 4.10.4.1): CR4.PCIDE only with CR3[11:0] = 0;
 * bit 63 of a MOV to CR3 keeps the new PCID's translations and is not
 * written. Spaces A and B as PCIDs 1 and 17 (popek keeps each PCID's link
 * generation in a table of 16: the two share a slot), switched without
 * flushes: each runs its own code at the same address. B's page table
 * changed while A runs, then a switch to B that flushes: B runs the new
 * code, also after switches without flushes. */
static void pcids(u64 cr3_a, u64 cr3_b, u64 *pte_b)
{
	fn_t f = (fn_t)(void *)code[0];
	u64 cr4 = read_cr4(), old_pte = *pte_b;
	u32 r[4], got = 0, want = 0;

	cpuid(1, 0, r);
	check_eq("CPUID.1:ECX.PCID", (r[2] >> 17) & 1, 1);
	write_cr3(cr3_a | 1);
	trap_reset();
	asm volatile(CATCH("mov %0, %%cr4") ::"r"(cr4 | CR4_PCIDE) : "r11", "memory");
	check_trap("CR4.PCIDE with CR3[11:0] != 0: #GP", 13, 0, catch_start, 0);
	write_cr3(cr3_a);
	write_cr4(cr4 | CR4_PCIDE);
	write_cr3(cr3_a | 1 | NOFLUSH);
	check_eq("MOV to CR3 does not write bit 63", read_cr3(), cr3_a | 1);
	emit(code[0], 1);
	emit(code[1], 2);
	emit(code[2], 4);
	for (int i = 0; i < 400; i++) {
		bool b = i & 1;
		write_cr3(b ? cr3_b | 17 | NOFLUSH : cr3_a | 1 | NOFLUSH);
		for (int k = 0; k < 50; k++)
			got += f();
		want += 50 * (b ? 2 : 1);
	}
	write_cr3(cr3_a | 1 | NOFLUSH);
	check_eq("PCIDs 1 and 17 run their own code at one address, no flushes", got, want);
	*pte_b = (u64)code[2] | (old_pte & 0xfff);
	write_cr3(cr3_b | 17);
	got = 0;
	for (int k = 0; k < 50; k++)
		got += f();
	for (int i = 0; i < 20; i++) {
		write_cr3(cr3_a | 1 | NOFLUSH);
		got += f();
		write_cr3(cr3_b | 17 | NOFLUSH);
		got += f();
	}
	check_eq("B's new mapping after a flushing switch, and after switches without", got,
		 50 * 4 + 20 * (1 + 4));
	*pte_b = old_pte;
	write_cr3(cr3_a);
	write_cr4(cr4);
	check_eq("space A again, PCIDs off", f(), 1);
}

/* At 0x800 in both pages: mov cr3, rdi; jmp 0x840 (a direct jump within
 * the page); at 0x840: mov eax, v; mov cr3, rsi; ret. Called in space A
 * with rdi = B's CR3, the jump's target is fetched from B's page (SDM Vol.
 * 3A 4.10.4.1: the CR3 write takes effect for the next fetch), so a link
 * from the jump to the block at 0x840 holds for neither space alone. */
static void emit_switcher(u8 *p, u32 v)
{
	static const u8 head[] = {0x0f, 0x22, 0xdf, 0xeb, 0x3b};
	static const u8 tail[] = {0x0f, 0x22, 0xde, 0xc3};

	memcpy(p + 0x800, head, sizeof(head));
	p[0x840] = 0xb8;
	memcpy(p + 0x841, &v, 4);
	memcpy(p + 0x845, tail, sizeof(tail));
	asm volatile("" ::: "memory");
}

static void switch_inside(u64 cr3_a, u64 cr3_b)
{
	u32 (*sw)(u64, u64) = (u32(*)(u64, u64))(void *)(code[0] + 0x800);
	u32 got = 0, want = 0;

	emit_switcher(code[0], 1);
	emit_switcher(code[1], 2);
	for (int i = 0; i < 2000; i++) {
		bool b = (i / 3) & 1; /* runs of three: links get made and followed */
		got += sw(b ? cr3_b : cr3_a, cr3_a);
		want += b ? 2 : 1;
	}
	check_eq("a jump within a page after a CR3 write goes to the new space's code", got,
		 want);
}

void test_main(void)
{
	u64 va = (u64)code[0], cr3_a = read_cr3();
	u64 *pml4_a = (u64 *)(cr3_a & ~0xfffULL), *pdpt_a = (u64 *)(pml4_a[0] & ~0xfffULL);
	fn_t f = (fn_t)(void *)code[0];

	emit(code[0], 1);
	emit(code[1], 2);
	/* Space A is the identity map; its 4 KiB page table for va (made by
	 * paging_pte) is copied into space B, where va maps code[1] instead. */
	u64 *pte_a = paging_pte(va);
	check_eq("the code page is not global", *pte_a & (1 << 8), 0);
	u64 *pt_a = (u64 *)((u64)pte_a & ~0xfffULL);
	memcpy(pt_b, pt_a, sizeof(pt_b));
	pt_b[(va >> 12) & 511] = (u64)code[1] | (*pte_a & 0xfff);
	memcpy(pd_b, &pd[(va >> 30) * 512], sizeof(pd_b));
	pd_b[(va >> 21) & 511] = (u64)pt_b | 7;
	memcpy(pdpt_b, pdpt_a, sizeof(pdpt_b));
	pdpt_b[(va >> 30) & 511] = (u64)pd_b | 7;
	memcpy(pml4_b, pml4_a, sizeof(pml4_b));
	pml4_b[0] = (u64)pdpt_b | 7;
	const u64 cr3_b = (u64)pml4_b;

	u32 got = 0, want = 0, first_b = 0;
	for (int i = 0; i < 400; i++) {
		bool b = i & 1;
		write_cr3(b ? cr3_b : cr3_a);
		for (int k = 0; k < 50; k++)
			got += f();
		want += 50 * (b ? 2 : 1);
		if (i == 1)
			first_b = got - 50;
	}
	write_cr3(cr3_a);
	check_eq("space B runs its own code the first time", first_b, 50 * 2);
	check_eq("each space runs its own code at the same address, 400 switches", got, want);
	check_eq("space A again", f(), 1);
	/* A change of the code in one space is seen there only. */
	emit(code[1], 3);
	write_cr3(cr3_b);
	u32 in_b = f();
	write_cr3(cr3_a);
	check_eq("space B sees its code patched", in_b, 3);
	check_eq("space A does not", f(), 1);
	switch_inside(cr3_a, cr3_b);
	pcids(cr3_a, cr3_b, &pt_b[(va >> 12) & 511]);
}
