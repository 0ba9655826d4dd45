/* The translator tier (src/cpu/soft/jit/, interp.c): a guest loop run with
 * the translator and without ends in exactly the same state, hot blocks do
 * get translated, a fault inside translated code is precise (same RIP,
 * registers and retired-instruction count as the interpreter), a branch out
 * of the middle of a block leaves it there, and a full code cache is flushed
 * and refilled. */
#include <stdlib.h>

#include "cpu/soft/exec/exec.h"
#include "cpu/soft/jit/jit.h"
#include "cpu/soft/vendor.h"
#include "soft_fixture.h"

#define GDT  0x8000
#define CODE 0x400000
#define DATA 0x500000
#define RDATA 0x600000      /* test_jit_random_blocks' data page, 4 KiB mappings */
#define RDATA_NEXT 0x608000 /* where the linear page after it is */

/* sum = 0; for (i = 1000; i; i--) { data[i & 15] += i; sum ^= i * 3; }
 * then a division by rbx = 0 at the end (#DE, with RIP on the div). */
static const u8 loop[] = {
    0x48, 0xc7, 0xc1, 0xe8, 0x03, 0x00, 0x00, /* mov rcx, 1000 */
    0x31, 0xc0,                               /* xor eax, eax */
    0x48, 0xc7, 0xc6, 0x00, 0x00, 0x50, 0x00, /* mov rsi, DATA */
    /* top: */
    0x48, 0x89, 0xca,                         /* mov rdx, rcx */
    0x48, 0x83, 0xe2, 0x0f,                   /* and rdx, 15 */
    0x48, 0x01, 0x0c, 0xd6,                   /* add [rsi + rdx * 8], rcx */
    0x48, 0x8d, 0x14, 0x49,                   /* lea rdx, [rcx + rcx * 2] */
    0x48, 0x31, 0xd0,                         /* xor rax, rdx */
    0x48, 0xff, 0xc9,                         /* dec rcx */
    0x75, 0xe9,                               /* jnz top */
    0x31, 0xdb,                               /* xor ebx, ebx */
    0x48, 0xf7, 0xf3,                         /* div rbx: #DE */
    0xf4,                                     /* hlt (not reached) */
};
#define DIV_OFFSET 41

/* The codemap of each machine (as the soft engine's VM has one): translated
 * code is linked under its epoch; DMA goes through guest_mem's notifier. */
static struct soft_codemap maps[8];
static unsigned nr_maps;

static struct fx *machine_vendor(bool jit, enum cpu_vendor vendor)
{
	struct fx *f = fx_new_vendor(vendor);
	u64 pml4 = fx_long(f, GDT);
	struct soft_codemap *map = &maps[nr_maps++ % ARRAY_SIZE(maps)];

	soft_codemap_destroy(map);
	CHECK_EQ(soft_codemap_init(map, &f->m.mem, soft_codemap_code_written, map), 0);
	CHECK_EQ(soft_tlb_init(&f->cpu.tlb, map), 0);
	f->m.mem.dma_written = soft_codemap_dma_written;
	f->m.mem.dma_opaque = map;
	fx_map4(f, pml4, CODE, CODE, PTE_P | PTE_W, 21);
	soft_tlb_flush(&f->cpu, false);
	f->cpu.dcache = soft_dcache_new();
	CHECK(f->cpu.dcache != NULL);
	if (jit)
		CHECK_EQ(soft_dcache_jit(f->cpu.dcache, 1 * MiB), 0);
	memcpy(fx_ptr(f, CODE), loop, sizeof(loop));
	f->cpu.rip = CODE;
	return f;
}

static struct fx *machine(bool jit)
{
	return machine_vendor(jit, CPU_VENDOR_HOST);
}

/* A machine() taken apart, its decoded-block cache (and translations) too. */
static void machine_free(struct fx *f)
{
	soft_dcache_free(f->cpu.dcache);
	fx_free(f);
}

/* Runs until the #DE; returns the instructions retired. */
static u64 run_to_fault(struct fx *f)
{
	u64 n = 0;

	for (unsigned i = 0; i < 1000 && f->cpu.pending_vector < 0; i++)
		n += soft_exec(&f->cpu, 100000);
	return n;
}

static void test_jit_same_state(void)
{
	struct fx *a = machine(false), *b = machine(true);
	u64 na, nb;

	a->cpu.pending_vector = b->cpu.pending_vector = -1;
	na = run_to_fault(a);
	nb = run_to_fault(b);
	CHECK_EQ(a->cpu.pending_vector, EXC_DE);
	CHECK_EQ(b->cpu.pending_vector, EXC_DE);
	CHECK_EQ(a->cpu.rip, CODE + DIV_OFFSET);
	CHECK_EQ(b->cpu.rip, CODE + DIV_OFFSET);
	CHECK_EQ(na, nb);
	CHECK_EQ(a->cpu.stat_insns, b->cpu.stat_insns);
	for (unsigned r = 0; r < 16; r++)
		CHECK_EQ(a->cpu.gpr[r], b->cpu.gpr[r]);
	CHECK_EQ(soft_flags_get(&a->cpu), soft_flags_get(&b->cpu));
	CHECK(!memcmp(fx_ptr(a, DATA), fx_ptr(b, DATA), 16 * 8));
	CHECK(soft_dcache_jit_blocks(b->cpu.dcache) > 0);
	/* The loop (top to the DIV) is one block whose back edge stays in its
	 * own code: no link is ever made. */
	CHECK_EQ(soft_dcache_jit_links(b->cpu.dcache), 0);
	CHECK_EQ(soft_dcache_jit_blocks(a->cpu.dcache), 0);
	machine_free(a);
	machine_free(b);
}

/* A page fault inside a hot, translated block: the loop reads one qword at
 * a time up to an unmapped page; the #PF must come with the RIP of the load,
 * the address in CR2 and the same counts as in the interpreter. */
static const u8 walk[] = {
    0x48, 0xc7, 0xc6, 0x00, 0x00, 0x60, 0x00, /* mov rsi, 0x600000 */
    0x31, 0xc9,                               /* xor ecx, ecx */
    /* top (9): */
    0x48, 0x8b, 0x06,                         /* mov rax, [rsi] */
    0x48, 0x01, 0xc1,                         /* add rcx, rax */
    0x48, 0x83, 0xc6, 0x08,                   /* add rsi, 8 */
    0xeb, 0xf2,                               /* jmp top */
};
#define WALK_LOAD 9

static void test_jit_precise_fault(void)
{
	struct fx *f[2];

	for (unsigned j = 0; j < 2; j++) {
		f[j] = machine(j == 1);
		fx_map4(f[j], f[j]->cpu.cr3, 0x600000, 0x600000, PTE_P | PTE_W, 12);
		soft_tlb_flush(&f[j]->cpu, false);
		for (unsigned q = 0; q < 512; q++)
			fx_wr64(f[j], 0x600000 + 8 * q, q * 7 + 1);
		memcpy(fx_ptr(f[j], CODE), walk, sizeof(walk));
		f[j]->cpu.pending_vector = -1;
		run_to_fault(f[j]);
		CHECK_EQ(f[j]->cpu.pending_vector, EXC_PF);
		CHECK_EQ(f[j]->cpu.rip, CODE + WALK_LOAD);
		CHECK_EQ(f[j]->cpu.cr2, 0x601000);
		CHECK_EQ(f[j]->cpu.gpr[X86_RSI], 0x601000);
	}
	CHECK_EQ(f[0]->cpu.gpr[X86_RCX], f[1]->cpu.gpr[X86_RCX]);
	CHECK_EQ(f[0]->cpu.stat_insns, f[1]->cpu.stat_insns);
	CHECK(soft_dcache_jit_blocks(f[1]->cpu.dcache) > 0);
	for (unsigned j = 0; j < 2; j++)
		machine_free(f[j]);
}

/* A cache that holds only a few blocks: flushed, refilled, same result. */
/* A load across a page boundary from translated code, while the TLB slot of
 * its first page holds the second page: 0x7ffff000 and 0x80000000 are
 * consecutive pages at the same TLB index under an XOR fold of the page
 * number, and they map to physical pages far apart. The load must read 4
 * bytes of each, not 8 bytes before the second page's frame. */
#define CROSS_P0 0x620000 /* frame of the page at 0x7ffff000 */
#define CROSS_P1 0x640000 /* frame of the page at 0x80000000 */
static const u8 crossing[] = {
    0xbf, 0x00, 0x00, 0x00, 0x80,             /* mov edi, 0x80000000 */
    0xbe, 0xfc, 0xff, 0xff, 0x7f,             /* mov esi, 0x7ffffffc */
    0x41, 0xb8, 0x64, 0x00, 0x00, 0x00,       /* mov r8d, 100 */
    /* top (16): */
    0x48, 0x8b, 0x0f,                         /* mov rcx, [rdi]: the second page */
    0x48, 0x8b, 0x06,                         /* mov rax, [rsi]: across both */
    0x48, 0x01, 0xc2,                         /* add rdx, rax */
    0x41, 0xff, 0xc8,                         /* dec r8d */
    0x75, 0xf2,                               /* jnz top */
    0xf4,                                     /* hlt */
};

static void test_jit_tlb_crossing(void)
{
	const u64 want = 0x4433221188776655ULL;

	for (unsigned j = 0; j < 2; j++) {
		struct fx *f = machine(j == 1);

		fx_map4(f, f->cpu.cr3, 0x7ffff000, CROSS_P0, PTE_P | PTE_W, 12);
		fx_map4(f, f->cpu.cr3, 0x80000000, CROSS_P1, PTE_P | PTE_W, 12);
		soft_tlb_flush(&f->cpu, false);
		fx_wr64(f, CROSS_P0 + 0xff8, 0x8877665500000000ULL);
		fx_wr64(f, CROSS_P1, 0x44332211);
		fx_wr64(f, CROSS_P1 - 8, 0xbad0bad0bad0bad0ULL); /* what the wrong frame gives */
		memcpy(fx_ptr(f, CODE), crossing, sizeof(crossing));
		f->cpu.gpr[X86_RDX] = 0;
		f->cpu.pending_vector = -1;
		soft_exec(&f->cpu, 10000);
		CHECK_EQ(f->cpu.gpr[X86_R8], 0);
		CHECK_EQ(f->cpu.gpr[X86_RAX], want);
		CHECK_EQ(f->cpu.gpr[X86_RDX], 100 * want);
		if (j == 1)
			CHECK(soft_dcache_jit_blocks(f->cpu.dcache) > 0);
		machine_free(f);
	}
}

static void test_jit_flush(void)
{
	struct fx *a = machine(false), *b = machine(true);

	soft_dcache_free(b->cpu.dcache);
	b->cpu.dcache = soft_dcache_new();
	CHECK_EQ(soft_dcache_jit(b->cpu.dcache, 4096), 0);
	a->cpu.pending_vector = b->cpu.pending_vector = -1;
	/* The loop at many places: more blocks than fit. */
	for (unsigned k = 1; k < 64; k++) {
		memcpy(fx_ptr(a, CODE + k * 0x1000), loop, sizeof(loop));
		memcpy(fx_ptr(b, CODE + k * 0x1000), loop, sizeof(loop));
	}
	for (unsigned k = 0; k < 64; k++) {
		a->cpu.rip = b->cpu.rip = CODE + k * 0x1000;
		a->cpu.pending_vector = b->cpu.pending_vector = -1;
		run_to_fault(a);
		run_to_fault(b);
	}
	CHECK_EQ(a->cpu.stat_insns, b->cpu.stat_insns);
	CHECK(!memcmp(fx_ptr(a, DATA), fx_ptr(b, DATA), 16 * 8));
	CHECK(soft_dcache_jit_flushes(b->cpu.dcache) > 0);
	machine_free(a);
	machine_free(b);
}

/* ---- code written while it is translated and linked ----------------------
 * Two blocks in a loop, A: add rax, imm8; jmp B and B: add rbx, rax; a store
 * of CL & 0xc0 into A's imm8 (a new value every 64 times round); dec rcx;
 * jnz A, run by the interpreter and by linked translated code in batches.
 * Between batches (a device) or inside one (the loop's own store) code
 * changes; both must run the new code from the same instruction on. */
static const u8 two[] = {
    0x48, 0x83, 0xc0, 0x01,             /* A: add rax, 1 (imm8 at +3) */
    0xeb, 0x0a,                         /* jmp B */
    0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4,
    0x48, 0x01, 0xc3,                   /* B (16): add rbx, rax */
    0x89, 0xca,                         /* mov edx, ecx */
    0x81, 0xe2, 0xc0, 0x00, 0x00, 0x00, /* and edx, 0xc0 */
    0x88, 0x15, 0xe2, 0xff, 0xff, 0xff, /* mov [rip - 30], dl: A's imm8 */
    0x48, 0xff, 0xc9,                   /* dec rcx */
    0x0f, 0x85, 0xd6, 0xff, 0xff, 0xff, /* jnz A */
    0xf4,                               /* hlt */
};
#define TWO_B     16
#define TWO_STORE 27

static void two_state_same(struct fx *a, struct fx *b, const char *what)
{
	bool same = a->cpu.rip == b->cpu.rip && a->cpu.stat_insns == b->cpu.stat_insns &&
		    !memcmp(a->cpu.gpr, b->cpu.gpr, sizeof(a->cpu.gpr));

	if (!same)
		printf("  %s: interpreter rip %#llx rax %#llx rbx %#llx n %llu, translator rip %#llx "
		       "rax %#llx rbx %#llx n %llu\n",
		       what, (unsigned long long)a->cpu.rip, (unsigned long long)a->cpu.gpr[X86_RAX],
		       (unsigned long long)a->cpu.gpr[X86_RBX], (unsigned long long)a->cpu.stat_insns,
		       (unsigned long long)b->cpu.rip, (unsigned long long)b->cpu.gpr[X86_RAX],
		       (unsigned long long)b->cpu.gpr[X86_RBX], (unsigned long long)b->cpu.stat_insns);
	CHECK(same);
}

enum writer { NONE, DMA, OTHER_VCPU };

/* store: keep the loop's own store (else it becomes a 6-byte NOP); writer:
 * a device or another vCPU's store (mmu.c calls the codemap's written_fn
 * on that vCPU's thread) changes the block not at RIP between batches. */
static void test_jit_code_written(bool store, enum writer writer)
{
	const bool dma = writer != NONE;

	struct fx *f[2] = {machine(false), machine(true)};

	for (unsigned j = 0; j < 2; j++) {
		u8 *c = fx_ptr(f[j], CODE);
		memcpy(c, two, sizeof(two));
		if (!store)
			memcpy(c + TWO_STORE, (const u8[]){0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00}, 6);
		f[j]->cpu.gpr[X86_RCX] = 1000000;
		f[j]->cpu.pending_vector = -1;
	}
	for (unsigned batch = 0; batch < 40; batch++) {
		for (unsigned j = 0; j < 2; j++) {
			if (dma && batch == 20) {
				/* add rbx, rax -> sub rbx, rax in the block not at RIP:
				 * reached through a link, not checked at entry. */
				u64 at = f[j]->cpu.rip == CODE + TWO_B ? CODE + 3 : CODE + TWO_B + 1;
				u8 *p = fx_ptr(f[j], at);
				struct soft_codemap *map = f[j]->cpu.tlb.code;
				*p = at == CODE + 3 ? 7 : 0x29;
				if (writer == DMA)
					guest_mem_dma_written(&f[j]->m.mem, at, 1);
				else if (soft_codemap_test(map, at))
					map->written(map->opaque, at, 1);
			}
			soft_exec(&f[j]->cpu, 997);
		}
		two_state_same(f[0], f[1], writer == DMA ? "dma" : dma ? "other vCPU" : store ? "store" : "plain");
	}
	CHECK(soft_dcache_jit_blocks(f[1]->cpu.dcache) > 0);
	CHECK(soft_dcache_jit_links(f[1]->cpu.dcache) > 0);
	for (unsigned j = 0; j < 2; j++)
		machine_free(f[j]);
}

static void test_jit_links(void)
{
	test_jit_code_written(false, NONE);
}

static void test_jit_smc_store(void)
{
	test_jit_code_written(true, NONE);
}

static void test_jit_smc_dma(void)
{
	test_jit_code_written(false, DMA);
}

static void test_jit_xmc_other_vcpu(void)
{
	test_jit_code_written(false, OTHER_VCPU);
}

/* A decoded block's slot rebuilt for other code (another address that
 * hashes to it) while a link points at the old block's translation: the
 * link must die with the slot, whose decoded instructions the old
 * translation's handler calls use. CODE + 0x8001 shares A's slot. */
static void test_jit_slot_reused(void)
{
	static const u8 a[] = {0x48, 0x83, 0xc0, 0x01, 0xeb, 0x0a};  /* A: add rax, 1; jmp A+16 */
	static const u8 b[] = {0x48, 0xff, 0xc9, 0x75, 0xeb};        /* dec rcx; jnz A */
	static const u8 x[] = {0x48, 0x83, 0xc3, 0x05, 0x90, 0xf4}; /* add rbx, 5; nop; hlt */
	struct fx *f[2] = {machine(false), machine(true)};

	for (unsigned j = 0; j < 2; j++) {
		memcpy(fx_ptr(f[j], CODE), a, sizeof(a));
		memcpy(fx_ptr(f[j], CODE + 16), b, sizeof(b));
		memcpy(fx_ptr(f[j], CODE + 0x8001), x, sizeof(x));
		f[j]->cpu.gpr[X86_RCX] = 1000000;
		f[j]->cpu.pending_vector = -1;
		soft_exec(&f[j]->cpu, 2000);     /* the loop: translated, linked */
		f[j]->cpu.rip = CODE + 0x8001; /* X takes A's slot */
		soft_exec(&f[j]->cpu, 3);
		f[j]->cpu.rip = CODE + 16;     /* back into the loop through B */
		soft_exec(&f[j]->cpu, 2000);
	}
	two_state_same(f[0], f[1], "slot reused");
	CHECK(soft_dcache_jit_links(f[1]->cpu.dcache) > 0);
	for (unsigned j = 0; j < 2; j++)
		machine_free(f[j]);
}

/* A block whose first instruction straddles two pages (add rax, imm32, 3
 * bytes before a page boundary), reached through a link from A: jmp G. A
 * write into the instruction's second page (a store on another vCPU: the
 * codemap's written_fn if the page is tracked) must reach the translated
 * block all the same. G: add rax, 1; dec rcx; jnz A; hlt. */
static void test_jit_straddling(void)
{
	static const u8 g[] = {0x48, 0x05, 0x01, 0x00, 0x00, 0x00, 0x48, 0xff,
			       0xc9, 0x0f, 0x85, 0x00, 0x00, 0x00, 0x00, 0xf4};
	const u64 at_g = CODE + 0x1000 - 3, at_imm2 = at_g + 4; /* in the second page */
	const s32 to_a = (s32)((s64)CODE - (s64)(at_g + 15)), to_g = (s32)(at_g - (CODE + 5));
	struct fx *f[2] = {machine(false), machine(true)};

	for (unsigned j = 0; j < 2; j++) {
		u8 *a = fx_ptr(f[j], CODE), *p = fx_ptr(f[j], at_g);
		memcpy(p, g, sizeof(g));
		memcpy(p + 11, &to_a, 4);
		a[0] = 0xe9;
		memcpy(a + 1, &to_g, 4);
		f[j]->cpu.gpr[X86_RCX] = 1000000;
		f[j]->cpu.pending_vector = -1;
	}
	for (unsigned batch = 0; batch < 40; batch++) {
		for (unsigned j = 0; j < 2; j++) {
			struct soft_codemap *map = f[j]->cpu.tlb.code;
			if (batch == 20) {
				*fx_ptr(f[j], at_imm2) = 7;
				if (soft_codemap_test(map, at_imm2))
					map->written(map->opaque, at_imm2, 1);
			}
			soft_exec(&f[j]->cpu, 997);
		}
		two_state_same(f[0], f[1], "straddling");
	}
	CHECK(f[1]->cpu.gpr[X86_RAX] > 20 * 997 / 3 + 7 * 65536); /* the new immediate ran */
	CHECK(soft_dcache_jit_links(f[1]->cpu.dcache) > 0);
	for (unsigned j = 0; j < 2; j++)
		machine_free(f[j]);
}

/* Two address spaces with different code at the same linear page L, and a
 * global page G (the kernel's, kept across CR3 writes) whose jmp L is linked
 * to L's code: after a CR3 write that keeps global entries, G's link must
 * not lead into the old address space's code, while L's links to G may
 * stay. L: add rax, K; dec rcx; jnz G; hlt. G: jmp L. */
#define LPAGE 0x700000
#define GPAGE 0x800000
static void test_jit_cr3_switch(void)
{
	struct fx *f[2] = {machine(false), machine(true)};

	for (unsigned j = 0; j < 2; j++) {
		struct fx *x = f[j];
		u64 as2 = fx_page(x), back = (u64)GPAGE - (LPAGE + 13);
		s32 to_l = (s32)((s64)LPAGE - (GPAGE + 5));

		x->cpu.cr4 |= X86_CR4_PGE;
		fx_map4(x, x->cpu.cr3, LPAGE, 0x710000, PTE_P | PTE_W, 12);
		fx_map4(x, x->cpu.cr3, GPAGE, GPAGE, PTE_P | PTE_W | PTE_G, 12);
		fx_map4(x, as2, LPAGE, 0x720000, PTE_P | PTE_W, 12);
		fx_map4(x, as2, GPAGE, GPAGE, PTE_P | PTE_W | PTE_G, 12);
		for (unsigned k = 0; k < 2; k++) {
			u8 *l = fx_ptr(x, k ? 0x720000 : 0x710000);
			memcpy(l, (const u8[]){0x48, 0x83, 0xc0, (u8)(k + 1), 0x48, 0xff, 0xc9, 0x0f, 0x85},
			       9);
			memcpy(l + 9, &back, 4);
			l[13] = 0xf4;
		}
		fx_ptr(x, GPAGE)[0] = 0xe9;
		memcpy(fx_ptr(x, GPAGE) + 1, &to_l, 4);
		soft_tlb_flush(&x->cpu, false);
		x->cpu.rip = GPAGE;
		x->cpu.gpr[X86_RCX] = 1000000;
		x->cpu.pending_vector = -1;
		soft_exec(&x->cpu, 3001);
		/* What a MOV to CR3 does with CR4.PGE set (SDM Vol. 3A 4.10.4.1). */
		x->cpu.cr3 = as2;
		soft_tlb_flush(&x->cpu, true);
		soft_exec(&x->cpu, 3000);
	}
	two_state_same(f[0], f[1], "CR3 switch");
	CHECK(f[1]->cpu.gpr[X86_RAX] > 1000 + 900); /* version 2 ran too */
	CHECK(soft_dcache_jit_links(f[1]->cpu.dcache) > 0);
	for (unsigned j = 0; j < 2; j++)
		machine_free(f[j]);
}

/* ---- a load's site (jit/native.c) --------------------------------------
 * A loop of loads from one linear page (rbx += [rsi * 1], 1000 times), run hot
 * so that the load reads through its site's page; between runs the page
 * changes under it as the guest can change it: remapped (INVLPG), a user
 * page at CPL 0 read with EFLAGS.AC = 1 and then 0 under SMAP (#PF), and a
 * misaligned address. Each run must see what the interpreter sees. */
#define SITE_LIN 0x900000
#define SITE_P1  0x910000
#define SITE_P2  0x920000
static void site_run(struct fx *f, u64 rsi)
{
	f->cpu.rip = CODE;
	f->cpu.gpr[X86_RBX] = 0;
	f->cpu.gpr[X86_RCX] = 1000;
	f->cpu.gpr[X86_RSI] = rsi;
	f->cpu.pending_vector = -1;
	f->cpu.halted = false;
	soft_exec(&f->cpu, 100000);
}

static void test_jit_load_site(void)
{
	static const u8 code[] = {
	    0x48, 0x8b, 0x04, 0x35, 0, 0, 0, 0, /* top: mov rax, [rsi * 1]: no base, a site */
	    0x48, 0x01, 0xc3,                   /* add rbx, rax */
	    0x48, 0xff, 0xc9,                   /* dec rcx */
	    0x75, 0xf0,                         /* jnz top */
	    0xf4,                               /* hlt */
	};
	struct fx *f[2] = {machine(false), machine(true)};

	for (unsigned j = 0; j < 2; j++) {
		struct fx *x = f[j];

		memcpy(fx_ptr(x, CODE), code, sizeof(code));
		fx_wr64(x, SITE_P1, 1);
		fx_wr64(x, SITE_P1 + 8, 5);
		fx_wr64(x, SITE_P2, 2);
		fx_map4(x, x->cpu.cr3, SITE_LIN, SITE_P1, PTE_P | PTE_W, 12);
		soft_tlb_flush(&x->cpu, false);
		site_run(x, SITE_LIN);
		CHECK_EQ(x->cpu.gpr[X86_RBX], 1000);
		site_run(x, SITE_LIN);
		CHECK_EQ(x->cpu.gpr[X86_RBX], 1000);
		/* Remapped, and the page flushed as INVLPG does. */
		fx_map4(x, x->cpu.cr3, SITE_LIN, SITE_P2, PTE_P | PTE_W, 12);
		soft_tlb_flush_page(&x->cpu, SITE_LIN);
		site_run(x, SITE_LIN);
		CHECK_EQ(x->cpu.gpr[X86_RBX], 2000);
		/* Misaligned: bytes 4-11 of the first page, 5 << 32. */
		fx_map4(x, x->cpu.cr3, SITE_LIN, SITE_P1, PTE_P | PTE_W, 12);
		soft_tlb_flush_page(&x->cpu, SITE_LIN);
		site_run(x, SITE_LIN + 4);
		CHECK_EQ(x->cpu.gpr[X86_RBX], 1000 * (5ULL << 32));
		/* A user page at CPL 0 under SMAP: readable with AC = 1 only. */
		fx_map4(x, x->cpu.cr3, SITE_LIN, SITE_P2, PTE_P | PTE_W | PTE_U, 12);
		x->cpu.cr4 |= X86_CR4_SMAP;
		soft_tlb_flush(&x->cpu, false);
		x->cpu.rflags |= X86_RFLAGS_AC;
		soft_priv_update(&x->cpu);
		site_run(x, SITE_LIN);
		CHECK_EQ(x->cpu.gpr[X86_RBX], 2000);
		CHECK_EQ(x->cpu.pending_vector, -1);
		x->cpu.rflags &= ~X86_RFLAGS_AC;
		soft_priv_update(&x->cpu);
		site_run(x, SITE_LIN);
		CHECK_EQ(x->cpu.pending_vector, EXC_PF);
		CHECK_EQ(x->cpu.rip, CODE);
		CHECK_EQ(x->cpu.gpr[X86_RBX], 0);
	}
	CHECK(soft_dcache_jit_blocks(f[1]->cpu.dcache) > 0);
	for (unsigned j = 0; j < 2; j++)
		machine_free(f[j]);
}

/* ---- flags saved only on a miss (translate.c flags_redo) ------------------
 * A loop whose load follows a flag-setting instruction and a MOV and whose
 * next ALU op replaces the flags: run hot from the same state with the
 * translator and without, then with the load's page gone: the #PF at the
 * load must find the flags the first instruction left (computed again on
 * the translation's miss path), for each form that can be recomputed and
 * for one that cannot (saved before the load, as always). */
#define REDO_LIN 0xa00000
#define REDO_P   0xa10000
static void redo_run(struct fx *f, u64 rax, u64 rbx, unsigned iters)
{
	f->cpu.rip = CODE;
	f->cpu.gpr[X86_RAX] = rax;
	f->cpu.gpr[X86_RBX] = rbx;
	f->cpu.gpr[X86_RSI] = REDO_LIN;
	f->cpu.gpr[X86_R8] = iters;
	f->cpu.pending_vector = -1;
	f->cpu.halted = false;
	soft_exec(&f->cpu, 100000);
}

static void test_jit_flags_redo(void)
{
	static const struct {
		u8 len, b[6];
	} first[] = {
	    {2, {0x29, 0xd8}},                         /* sub eax, ebx */
	    {3, {0x48, 0x01, 0xd8}},                   /* add rax, rbx */
	    {2, {0x31, 0xd8}},                         /* xor eax, ebx */
	    {3, {0x48, 0x39, 0xd8}},                   /* cmp rax, rbx */
	    {3, {0x48, 0x85, 0xd8}},                   /* test rax, rbx */
	    {4, {0x48, 0x83, 0xe8, 0x07}},             /* sub rax, 7 */
	    {5, {0x2d, 0x01, 0x00, 0x00, 0x80}},       /* sub eax, 0x80000001 */
	    {6, {0x48, 0x81, 0xc0, 0xff, 0xff, 0xff}}, /* add rax, -0x8000001 (sign-extended) */
	    {2, {0x29, 0xc0}},                         /* sub eax, eax */
	    {3, {0x48, 0x01, 0xc0}},                   /* add rax, rax: saved first */
	    {3, {0x48, 0x21, 0xd8}},                   /* and rax, rbx: saved first */
	    {2, {0x29, 0xd9}}, /* sub ecx, ebx: saved first (the MOV writes rcx) */
	};
	static const u8 rest[] = {
	    0x48, 0x89, 0xc1, /* mov rcx, rax */
	    0x8b, 0x16,       /* mov edx, [rsi] */
	    0x01, 0xd7,       /* add edi, edx */
	    0x49, 0xff, 0xc8, /* dec r8 */
	    0x75, 0x00,       /* jnz top (rel8 set below) */
	    0xf4,             /* hlt */
	};
	static const u64 vals[][2] = {
	    {0x7fffffff80000000ULL, 0x8000000000000001ULL},
	    {0x0000000080000000ULL, 0x0000000000000001ULL},
	    {0xffffffffffffffffULL, 0x0000000000000001ULL},
	};

	for (unsigned k = 0; k < sizeof(first) / sizeof(first[0]); k++) {
		struct fx *f[2] = {machine(false), machine(true)};
		u8 code[32];
		unsigned n = first[k].len;

		f[0]->cpu.gpr[X86_RCX] = f[1]->cpu.gpr[X86_RCX] = 0x123456789;
		memcpy(code, first[k].b, n);
		memcpy(code + n, rest, sizeof(rest));
		code[n + 11] = (u8)-(int)(n + 12);
		for (unsigned j = 0; j < 2; j++) {
			memcpy(fx_ptr(f[j], CODE), code, n + sizeof(rest));
			fx_wr64(f[j], REDO_P, 3);
			fx_map4(f[j], f[j]->cpu.cr3, REDO_LIN, REDO_P, PTE_P | PTE_W, 12);
			soft_tlb_flush(&f[j]->cpu, false);
			redo_run(f[j], 1, 2, 1000); /* hot: translated */
			fx_map4(f[j], f[j]->cpu.cr3, REDO_LIN, REDO_P, 0, 12);
			soft_tlb_flush_page(&f[j]->cpu, REDO_LIN);
		}
		for (unsigned v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
			for (unsigned j = 0; j < 2; j++)
				redo_run(f[j], vals[v][0], vals[v][1], 5);
			CHECK_EQ(f[0]->cpu.pending_vector, EXC_PF);
			CHECK_EQ(f[1]->cpu.pending_vector, EXC_PF);
			CHECK_EQ(f[1]->cpu.rip, CODE + n + 3);
			two_state_same(f[0], f[1], "a #PF after flags computed again");
			if (soft_flags_get(&f[0]->cpu) != soft_flags_get(&f[1]->cpu))
				printf("  form %u values %u: interpreter flags %#llx, translator %#llx\n", k, v,
				       (unsigned long long)soft_flags_get(&f[0]->cpu),
				       (unsigned long long)soft_flags_get(&f[1]->cpu));
			CHECK_EQ(soft_flags_get(&f[0]->cpu), soft_flags_get(&f[1]->cpu));
		}
		CHECK(soft_dcache_jit_blocks(f[1]->cpu.dcache) > 0);
		for (unsigned j = 0; j < 2; j++)
			machine_free(f[j]);
	}
}

/* ---- a loop's flags in their host form (translate.c block_loops) ---------
 * A loop whose jump back follows flags a handler left in its own form (SBB
 * with memory) and whose next round saves a native's flags (ADD) before
 * that handler: the jump back must not stay inside with the handler's form,
 * or the save's word alone would not be the flags SBB reads. */
static void test_jit_loop_flags_form(void)
{
	static const u8 code[] = {
	    0x83, 0xc3, 0x01, /* top: add ebx, 1 */
	    0x1b, 0x0e,       /* sbb ecx, [rsi] (a handler) */
	    0x74, 0x02,       /* jz out */
	    0xeb, 0xf7,       /* jmp top */
	    0xf4,             /* out: hlt */
	};
	struct fx *f[2] = {machine(false), machine(true)};

	for (unsigned j = 0; j < 2; j++) {
		memcpy(fx_ptr(f[j], CODE), code, sizeof(code));
		fx_wr64(f[j], REDO_P, 1);
		fx_map4(f[j], f[j]->cpu.cr3, REDO_LIN, REDO_P, PTE_P | PTE_W, 12);
		soft_tlb_flush(&f[j]->cpu, false);
		for (unsigned r = 0; r < 40; r++) { /* hot, then translated */
			f[j]->cpu.rip = CODE;
			f[j]->cpu.gpr[X86_RBX] = 0xfffffff0u + r;
			f[j]->cpu.gpr[X86_RCX] = 50;
			f[j]->cpu.gpr[X86_RSI] = REDO_LIN;
			f[j]->cpu.pending_vector = -1;
			f[j]->cpu.halted = false;
			soft_exec(&f[j]->cpu, 1000);
		}
	}
	two_state_same(f[0], f[1], "a loop on a handler's flags");
	CHECK_EQ(soft_flags_get(&f[0]->cpu), soft_flags_get(&f[1]->cpu));
	CHECK(soft_dcache_jit_blocks(f[1]->cpu.dcache) > 0);
	for (unsigned j = 0; j < 2; j++)
		machine_free(f[j]);
}

/* ---- random blocks: the translator against the interpreter ----------------
 * A loop of random instructions (the forms the translator runs natively and
 * neighbours it calls handlers for, so that flags cross between the two;
 * loads and stores at r15 + disp8, some across a page boundary, some with
 * FS's base; PUSH, POP and calls of a RET at RFUNC with RSP near the end of
 * the data page, some misaligned, running on into the page below and
 * faulting there), a conditional branch, maybe a conditional branch back
 * and a jump back (a block of up to 16 loops inside its code), run from the same
 * random state with the translator and without for the same budget:
 * registers, flags, RIP, counts, a pending fault and the data must agree. */
#define RFUNC 0xc0 /* offset in the code of the function the loop calls: ret */
static unsigned rnd(unsigned n)
{
	return (unsigned)rand() % n;
}

/* op /reg [r15 + disp8 (random)], then immn bytes of imm: its length. */
static unsigned r15_imm(u8 *p, u8 op, unsigned reg, s32 imm, unsigned immn)
{
	p[0] = op;
	p[1] = (u8)(0x47 | reg << 3);
	p[2] = (u8)rnd(128);
	memcpy(p + 3, &imm, immn);
	return 3 + immn;
}

/* Group 1 (a random operation) on register rm with an imm8 (83) or an
 * immediate of immn bytes (81): its length. */
static unsigned grp1_imm(u8 *p, unsigned rm, s32 imm, unsigned immn)
{
	p[0] = immn == 1 ? 0x83 : 0x81;
	p[1] = (u8)(0xc0 | rnd(8) << 3 | (rm & 7));
	memcpy(p + 2, &imm, immn);
	return 2 + immn;
}

static unsigned gen_insn(u8 *p, unsigned at)
{
	static const u8 alu_ops[] = {0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38};
	unsigned n = 0, a = rnd(15), b = rnd(16), w = rnd(2); /* w: 64-bit; r15: the data base */

	if (a == X86_RSP) /* written by PUSH, POP and CALL only */
		a = X86_RBP;
	u8 rex = (u8)(0x40 | (w ? 8 : 0) | (a & 8 ? 1 : 0) | (b & 8 ? 4 : 0));
	s32 imm = rnd(4) ? (s32)(rnd(256) - 128) : (s32)((u32)rand() * 2654435761u);

	switch (rnd(32)) {
	case 31: /* word forms: ALU, TEST, MOV, NOT/NEG, INC/DEC with registers,
		  * immediates and [r15 + disp8]; ADC/SBB and shifts (handlers) */
	{
		u8 r16 = (u8)(rex & ~8), m16 = (u8)(0x41 | (a & 8 ? 4 : 0));
		p[n++] = 0x66;
		switch (rnd(8)) {
		case 0: /* op r/m16, r16 or r16, r/m16 */
			p[n++] = r16;
			p[n++] = (u8)(alu_ops[rnd(8)] + (rnd(2) ? 1 : 3));
			p[n++] = (u8)(0xc0 | (a & 7) << 3 | (b & 7));
			break;
		case 1: /* op AX, imm16; TEST AX, imm16 */
			p[n++] = rnd(4) ? (u8)(alu_ops[rnd(8)] + 5) : 0xa9;
			p[n++] = (u8)imm;
			p[n++] = (u8)(imm >> 8);
			break;
		case 2: /* group 1 r16, imm8 / imm16 */
			p[n++] = (u8)(rex & ~(8 | 4));
			n += grp1_imm(p + n, a, imm, rnd(2) ? 1 : 2);
			break;
		case 3: /* TEST r16, r16; NOT, NEG r16; INC, DEC r16 */
			p[n++] = r16;
			if (rnd(2)) {
				p[n++] = 0x85;
				p[n++] = (u8)(0xc0 | (a & 7) << 3 | (b & 7));
			} else if (rnd(2)) {
				p[n++] = 0xf7;
				p[n++] = (u8)(0xc0 | (2 + rnd(2)) << 3 | (b & 7));
			} else {
				p[n++] = 0xff;
				p[n++] = (u8)(0xc0 | rnd(2) << 3 | (b & 7));
			}
			break;
		case 4: /* MOV r16, r16 */
			p[n++] = r16;
			p[n++] = rnd(2) ? 0x89 : 0x8b;
			p[n++] = (u8)(0xc0 | (a & 7) << 3 | (b & 7));
			break;
		case 5: /* MOV r16, [r15 + disp8] or [r15 + disp8], r16 */
			p[n++] = m16;
			p[n++] = rnd(2) ? 0x8b : 0x89;
			p[n++] = (u8)(0x47 | (a & 7) << 3);
			p[n++] = (u8)rnd(128);
			break;
		case 6: /* op [r15 + disp8], r16 or r16, [r15 + disp8] */
			p[n++] = m16;
			p[n++] = (u8)(alu_ops[rnd(8)] + (rnd(2) ? 1 : 3));
			p[n++] = (u8)(0x47 | (a & 7) << 3);
			p[n++] = (u8)rnd(128);
			break;
		default: /* group 1 [r15 + disp8], imm8; TEST [r15 + disp8], imm16 */
			p[n++] = 0x41;
			if (rnd(2))
				n += r15_imm(p + n, 0x83, rnd(8), imm, 1);
			else
				n += r15_imm(p + n, 0xf7, 0, imm, 2);
			break;
		}
		break;
	}
	case 30: /* INC or DEC byte/dword/qword [r15 + disp8] (CF kept), some with FS */
		if (rnd(4) == 0)
			p[n++] = 0x64;
		p[n++] = (u8)(0x41 | (w ? 8 : 0));
		p[n++] = rnd(3) ? 0xff : 0xfe;
		p[n++] = (u8)(0x47 | rnd(2) << 3);
		p[n++] = (u8)rnd(128);
		break;
	case 29: /* CALL r / [r15 + disp8] to RFUNC, or JMP r / [r15 + disp8] to the
		  * next instruction: the target from LEA r, [RIP + disp32] (and
		  * stored at r15 + disp8 for the memory forms, some across a page) */
	{
		bool call = rnd(2), mem = rnd(2);
		u8 d8 = (u8)rnd(128), rx = (u8)((a & 8) ? 0x41 : 0);
		unsigned tail = (mem ? 8u : 2u + (rx != 0));
		s32 rel = call ? (s32)(RFUNC - (at + 7)) : (s32)tail;
		p[n++] = (u8)(0x48 | (a & 8 ? 4 : 0));
		p[n++] = 0x8d;
		p[n++] = (u8)(0x05 | (a & 7) << 3);
		memcpy(p + n, &rel, 4);
		n += 4;
		if (mem) {
			p[n++] = (u8)(0x49 | (a & 8 ? 4 : 0)); /* mov [r15 + d8], r */
			p[n++] = 0x89;
			p[n++] = (u8)(0x47 | (a & 7) << 3);
			p[n++] = d8;
			p[n++] = 0x41;
			p[n++] = 0xff;
			p[n++] = call ? 0x57 : 0x67;
			p[n++] = d8;
		} else {
			if (rx)
				p[n++] = rx;
			p[n++] = 0xff;
			p[n++] = (u8)((call ? 0xd0 : 0xe0) | (a & 7));
		}
		break;
	}
	case 26: /* NOT r, NEG r; MUL r, often followed by an ALU op that makes
		  * its flags dead (host code), else live (the handler); CWDE, CDQE */
		if (rnd(4) == 0) {
			p[n++] = (u8)(rex & ~(4 | 1));
			p[n++] = 0x98;
			break;
		}
		p[n++] = (u8)(rex & ~4);
		p[n++] = 0xf7;
		if (rnd(2)) {
			p[n++] = (u8)(0xc0 | (2 + rnd(2)) << 3 | (a & 7));
			break;
		}
		p[n++] = (u8)(0xc0 | 4 << 3 | (a & 7));
		if (rnd(3)) {
			p[n++] = rex;
			p[n++] = (u8)(alu_ops[rnd(8)] + 1);
			p[n++] = (u8)(0xc0 | (b & 7) << 3 | (a & 7));
		}
		break;
	case 27: /* rotate or shift by CL (the count any byte), often followed by
		  * an ALU op that makes its flags dead (host code), else live
		  * (the handler); 32-bit ones: the handler */
	{
		static const u8 grp2[] = {0, 1, 4, 5, 7}; /* ROL ROR SHL SHR SAR */
		p[n++] = (u8)(rex & ~4);
		p[n++] = 0xd3;
		p[n++] = (u8)(0xc0 | grp2[rnd(5)] << 3 | (a & 7));
		if (rnd(3)) {
			p[n++] = rex;
			p[n++] = (u8)(alu_ops[rnd(8)] + 1);
			p[n++] = (u8)(0xc0 | (b & 7) << 3 | (a & 7));
		}
		break;
	}
	case 28: /* MOV word [r15 + disp8], r16 / imm16 */
		p[n++] = 0x66;
		p[n++] = (u8)(0x41 | (a & 8 ? 4 : 0));
		if (rnd(2))
			n += r15_imm(p + n, 0x89, a & 7, 0, 0);
		else
			n += r15_imm(p + n, 0xc7, 0, imm, 2);
		break;
	case 21: /* byte ALU r/m8, r8 or r8, r/m8 (AH..BH without REX) */
		if (rnd(2))
			p[n++] = (u8)(0x40 | (a & 8 ? 4 : 0) | (b & 8 ? 1 : 0));
		p[n++] = (u8)(alu_ops[rnd(8)] + (rnd(2) ? 0 : 2));
		p[n++] = (u8)(0xc0 | (a & 7) << 3 | (b & 7));
		break;
	case 22: /* byte forms: TEST r8, r8; MOV r8, r8; group 1 r8, imm8; TEST r8, imm8;
		  * MOV r8, imm8; CMP AL, imm8; and with [r15 + disp8] */
	{
		static const u8 ops[] = {0x84, 0x88, 0x8a, 0x80, 0xf6, 0xc6, 0xb0, 0x3c};
		u8 o = ops[rnd(8)];
		bool mem = o != 0xb0 && o != 0x3c && rnd(2);
		if (mem)
			p[n++] = (u8)(0x41 | (a & 8 ? 4 : 0));
		else if (rnd(2))
			p[n++] = (u8)(0x40 | (a & 8 ? 4 : 0) | (b & 8 ? 1 : 0));
		if (o == 0xb0) {
			p[n++] = (u8)(0xb0 | (b & 7));
		} else if (o == 0x3c) {
			p[n++] = 0x3c;
		} else {
			u8 r = o == 0x80 ? (u8)rnd(8) : o == 0xf6 || o == 0xc6 ? 0 : (u8)(a & 7);
			p[n++] = o;
			p[n++] = mem ? (u8)(0x47 | r << 3) : (u8)(0xc0 | r << 3 | (b & 7));
			if (mem)
				p[n++] = (u8)rnd(128);
		}
		if (o == 0x80 || o == 0xf6 || o == 0xc6 || o == 0xb0 || o == 0x3c)
			p[n++] = (u8)imm;
		break;
	}
	case 23: /* MOVZX or MOVSX r, r8 / r16; IMUL r, r or r, [r15 + disp8] (its
		  * flags sometimes pushed: the handler for the memory form; often
		  * replaced by an ALU op's: host code) */
	{
		bool imul = rnd(3) == 0, mem = imul && rnd(2), dead = mem && rnd(2);
		p[n++] = mem ? (u8)(0x41 | (w ? 8 : 0) | (a & 8 ? 4 : 0)) : rex;
		p[n++] = 0x0f;
		p[n++] = (u8)(imul ? 0xaf : 0xb6 | rnd(2) | rnd(2) << 3);
		if (mem) {
			p[n++] = (u8)(0x47 | (a & 7) << 3);
			p[n++] = (u8)rnd(128);
		} else {
			p[n++] = (u8)(0xc0 | (a & 7) << 3 | (b & 7));
		}
		if (dead) {
			p[n++] = rex;
			p[n++] = (u8)(alu_ops[rnd(8)] + 1);
			p[n++] = (u8)(0xc0 | (b & 7) << 3 | (a & 7));
		} else if (imul && rnd(2)) {
			p[n++] = 0x9c;
			p[n++] = (u8)(0x58 | ((b & 7) == 4 ? 5 : b & 7)); /* not POP RSP */
		}
		break;
	}
	case 24: /* CMOVcc r, r */
		p[n++] = rex;
		p[n++] = 0x0f;
		p[n++] = (u8)(0x40 | rnd(16));
		p[n++] = (u8)(0xc0 | (a & 7) << 3 | (b & 7));
		break;
	case 25: /* NOP r/m, NOP */
		if (rnd(2)) {
			memcpy(p + n, (const u8[]){0x0f, 0x1f, 0x44, 0x00, 0x00}, 5);
			n += 5;
		} else {
			p[n++] = 0x90;
		}
		break;
	case 18: /* ALU [r15 + disp8], r or r, [r15 + disp8] (01/03 + op; ADC/SBB: handlers) */
		if (rnd(4) == 0)
			p[n++] = 0x64;
		p[n++] = (u8)(0x41 | (w ? 8 : 0) | (a & 8 ? 4 : 0));
		p[n++] = (u8)(alu_ops[rnd(8)] + (rnd(2) ? 1 : 3));
		p[n++] = (u8)(0x47 | (a & 7) << 3);
		p[n++] = (u8)rnd(128);
		break;
	case 19: /* group 1 [r15 + disp8], imm8, or TEST [r15 + disp8], r / imm32 */
		p[n++] = (u8)(0x41 | (w ? 8 : 0) | (a & 8 ? 4 : 0));
		if (rnd(2)) {
			n += r15_imm(p + n, 0x83, rnd(8), imm, 1);
		} else if (rnd(2)) {
			n += r15_imm(p + n, 0x85, a & 7, 0, 0);
		} else {
			p[n - 1] &= (u8)~4;
			n += r15_imm(p + n, 0xf7, 0, imm, 4);
		}
		break;
	case 20: /* MOVSXD r64, r32 or r64, [r15 + disp8] */
		if (rnd(2)) {
			p[n++] = (u8)(0x48 | (a & 8 ? 4 : 0) | (b & 8 ? 1 : 0));
			p[n++] = 0x63;
			p[n++] = (u8)(0xc0 | (a & 7) << 3 | (b & 7));
		} else {
			p[n++] = (u8)(0x49 | (a & 8 ? 4 : 0));
			p[n++] = 0x63;
			p[n++] = (u8)(0x47 | (a & 7) << 3);
			p[n++] = (u8)rnd(128);
		}
		break;
	case 15: /* PUSH r, PUSH imm8, PUSH imm32 */
		if (rnd(3) == 0) {
			bool i8 = rnd(2);
			p[n++] = i8 ? 0x6a : 0x68;
			memcpy(p + n, &imm, i8 ? 1 : 4);
			n += i8 ? 1 : 4;
			break;
		}
		if (a & 8)
			p[n++] = 0x41;
		p[n++] = (u8)(0x50 | (a & 7));
		break;
	case 16: /* POP r */
		if (a & 8)
			p[n++] = 0x41;
		p[n++] = (u8)(0x58 | (a & 7));
		break;
	case 17: /* CALL RFUNC (a RET) */
	{
		s32 rel = (s32)(RFUNC - (at + 5));
		p[n++] = 0xe8;
		memcpy(p + n, &rel, 4);
		n += 4;
		break;
	}
	case 12: /* MOV r, [r15 + disp8] / MOV [r15 + disp8], r (some cross a page) */
	case 13:
		if (rnd(4) == 0)
			p[n++] = 0x64; /* FS: its base is added */
		p[n++] = (u8)(0x41 | (w ? 8 : 0) | (a & 8 ? 4 : 0));
		p[n++] = rnd(2) ? 0x8b : 0x89;
		p[n++] = (u8)(0x47 | (a & 7) << 3); /* mod 01, rm r15 */
		p[n++] = (u8)rnd(128);
		break;
	case 14: /* MOVZX or MOVSX r, byte/word [r15 + disp8], or MOV [r15 + disp8], imm32 */
		if (rnd(2)) {
			p[n++] = (u8)(0x41 | (w ? 8 : 0) | (a & 8 ? 4 : 0));
			p[n++] = 0x0f;
			p[n++] = (u8)(0xb6 | rnd(2) | rnd(2) << 3);
			p[n++] = (u8)(0x47 | (a & 7) << 3);
			p[n++] = (u8)rnd(128);
		} else {
			p[n++] = (u8)(0x41 | (w ? 8 : 0));
			p[n++] = 0xc7;
			p[n++] = 0x47;
			p[n++] = (u8)rnd(128);
			memcpy(p + n, &imm, 4);
			n += 4;
		}
		break;
	case 0: /* ALU r/m, r: op a, b (01 + op) */
	case 1:
		p[n++] = rex;
		p[n++] = (u8)(alu_ops[rnd(8)] + 1);
		p[n++] = (u8)(0xc0 | (b & 7) << 3 | (a & 7));
		break;
	case 2: /* ALU r, r/m (03 + op) */
		p[n++] = rex;
		p[n++] = (u8)(alu_ops[rnd(8)] + 3);
		p[n++] = (u8)(0xc0 | (b & 7) << 3 | (a & 7));
		break;
	case 3: /* group 1 r, imm8 / imm32 */
		p[n++] = (u8)(rex & ~4);
		n += grp1_imm(p + n, a, imm, imm >= -128 && imm <= 127 ? 1 : 4);
		break;
	case 4: /* TEST r, r */
		p[n++] = rex;
		p[n++] = 0x85;
		p[n++] = (u8)(0xc0 | (b & 7) << 3 | (a & 7));
		break;
	case 5: /* MOV r, r (89 or 8B) */
		p[n++] = rex;
		p[n++] = rnd(2) ? 0x89 : 0x8b;
		p[n++] = (u8)(0xc0 | (b & 7) << 3 | (a & 7));
		break;
	case 6: /* MOV r, imm32 / imm64 */
		p[n++] = (u8)(rex & ~4);
		p[n++] = (u8)(0xb8 | (a & 7));
		memcpy(p + n, &imm, 4);
		n += 4;
		if (w) {
			memcpy(p + n, &imm, 4);
			n += 4;
		}
		break;
	case 7: /* LEA r, [b + index * scale + disp8] (no RSP index) */
	{
		unsigned idx = rnd(16);
		if ((idx & 7) == 4 && !(idx & 8))
			idx = 5;
		p[n++] = (u8)(0x40 | (w ? 8 : 0) | (a & 8 ? 4 : 0) | (idx & 8 ? 2 : 0) | (b & 8 ? 1 : 0));
		p[n++] = 0x8d;
		p[n++] = (u8)(0x44 | (a & 7) << 3); /* mod 01, SIB */
		p[n++] = (u8)(rnd(4) << 6 | (idx & 7) << 3 | (b & 7));
		p[n++] = (u8)imm;
		break;
	}
	case 8: /* INC/DEC r: a handler that keeps CF */
		p[n++] = (u8)(rex & ~4);
		p[n++] = 0xff;
		p[n++] = (u8)(0xc0 | rnd(2) << 3 | (a & 7));
		break;
	case 9: /* rotate or shift by imm8 or 1 (flags the manuals leave undefined:
		 * as modelled), sometimes with all its flags pushed and popped
		 * into a register (PUSHF; POP r) */
		p[n++] = (u8)(rex & ~4);
		static const u8 grp2[] = {0, 1, 4, 5, 6, 7}; /* ROL ROR SHL SHR SAL SAR */
		if (rnd(4)) {
			p[n++] = 0xc1;
			p[n++] = (u8)(0xc0 | grp2[rnd(6)] << 3 | (a & 7));
			p[n++] = (u8)rnd(64);
		} else {
			p[n++] = 0xd1;
			p[n++] = (u8)(0xc0 | grp2[rnd(6)] << 3 | (a & 7));
		}
		if (rnd(2)) {
			p[n++] = 0x9c;
			p[n++] = (u8)(0x58 | ((b & 7) == 4 ? 5 : b & 7)); /* not POP RSP */
		}
		break;
	case 10: /* SETcc r8 reads flags through a handler */
		p[n++] = (u8)(0x40 | (a & 8 ? 1 : 0));
		p[n++] = 0x0f;
		p[n++] = (u8)(0x90 | rnd(16));
		p[n++] = (u8)(0xc0 | (a & 7));
		break;
	default: /* TEST r, imm32 (F7 /0) */
		p[n++] = (u8)(rex & ~4);
		p[n++] = 0xf7;
		p[n++] = (u8)(0xc0 | (a & 7));
		memcpy(p + n, &imm, 4);
		n += 4;
		break;
	}
	return n;
}

/* A random loop at CODE: returns its length. */
static unsigned gen_loop(u8 *p)
{
	unsigned n = 0, count = 1 + rnd(10);

	for (unsigned i = 0; i < count; i++)
		n += gen_insn(p + n, n);
	p[n++] = (u8)(0x70 | rnd(16)); /* Jcc over the next instruction */
	p[n++] = 3;
	p[n++] = 0x48, p[n++] = 0x31, p[n++] = 0xc0; /* xor rax, rax: skipped or not */
	if (rnd(2)) { /* Jcc back to the start: a loop's conditional back edge */
		p[n++] = (u8)(0x70 | rnd(16));
		p[n] = (u8)(-(s32)(n + 1));
		n++;
	}
	p[n++] = 0xeb; /* jmp back to the start */
	p[n] = (u8)(-(s32)(n + 1));
	n++;
	return n;
}

/* vendor: the model whose undefined flags (shifts) both tiers must give. */
static void random_blocks(enum cpu_vendor vendor)
{
	unsigned rounds = getenv("POPEK_TEST_LONG") ? 20000 : 1000, bad = 0;
	struct fx *f[2] = {machine_vendor(false, vendor), machine_vendor(true, vendor)};

	/* The data page and the next linear page, which is elsewhere in RAM:
	 * an access across them must not run on into the wrong memory. */
	for (unsigned j = 0; j < 2; j++) {
		fx_map4(f[j], f[j]->cpu.cr3, RDATA, RDATA, PTE_P | PTE_W, 12);
		fx_map4(f[j], f[j]->cpu.cr3, RDATA + 0x1000, RDATA_NEXT, PTE_P | PTE_W, 12);
		soft_tlb_flush(&f[j]->cpu, false);
	}
	srand(1234);
	for (unsigned r = 0; r < rounds && bad < 5; r++) {
		u8 code[256];
		u64 gpr[16], fl = ((u64)rand() & 0x8d5) | X86_RFLAGS_FIXED;
		unsigned len = (memset(code, 0xf4, sizeof(code)), gen_loop(code));
		static u8 data[0x1080]; /* the data page, then the next one's start */

		code[RFUNC] = 0xc3;
		len = RFUNC + 1;
		for (unsigned i = 0; i < 16; i++)
			gpr[i] = ((u64)rand() << 40) ^ ((u64)rand() << 20) ^ (u64)rand();
		gpr[15] = RDATA + 0xfc0;
		gpr[X86_RSP] = RDATA + 0x1000 + 8 * rnd(8) + (rnd(4) ? 0 : 4);
		for (unsigned i = 0; i < sizeof(data); i++)
			data[i] = (u8)rand();
		for (unsigned j = 0; j < 2; j++) {
			struct soft_cpu *cpu = &f[j]->cpu;
			memcpy(fx_ptr(f[j], RDATA), data, 0x1000);
			memcpy(fx_ptr(f[j], RDATA_NEXT), data + 0x1000, 0x80);
			cpu->seg[X86_FS].base = 0x10;
			/* Fresh code: the block cache sees new bytes and rebuilds;
			 * written as a device (a loader) writes it, so links go. */
			memcpy(fx_ptr(f[j], CODE), code, len);
			guest_mem_dma_written(&f[j]->m.mem, CODE, len);
			memcpy(cpu->gpr, gpr, sizeof(gpr));
			cpu->rflags = fl;
			cpu->lazy.op = 0;
			cpu->rip = CODE;
			cpu->pending_vector = -1;
			cpu->stat_insns = 0;
			soft_exec(cpu, 3000);
		}
		struct soft_cpu *a = &f[0]->cpu, *b = &f[1]->cpu;
		bool same = a->rip == b->rip && a->stat_insns == b->stat_insns &&
			    !memcmp(a->gpr, b->gpr, sizeof(a->gpr)) &&
			    soft_flags_get(a) == soft_flags_get(b) &&
			    a->pending_vector == b->pending_vector &&
			    !memcmp(fx_ptr(f[0], RDATA), fx_ptr(f[1], RDATA), 0x1000) &&
			    !memcmp(fx_ptr(f[0], RDATA_NEXT), fx_ptr(f[1], RDATA_NEXT), 0x80);
		if (!same) {
			printf("  round %u: interpreter rip %#llx n %llu flags %#llx, translator rip "
			       "%#llx n %llu flags %#llx; code:",
			       r, (unsigned long long)a->rip, (unsigned long long)a->stat_insns,
			       (unsigned long long)soft_flags_get(a), (unsigned long long)b->rip,
			       (unsigned long long)b->stat_insns, (unsigned long long)soft_flags_get(b));
			for (unsigned i = 0; i < len; i++)
				printf(" %02x", code[i]);
			printf("\n");
			for (unsigned i = 0; i < 16; i++)
				if (a->gpr[i] != b->gpr[i])
					printf("    r%u: %#llx vs %#llx\n", i, (unsigned long long)a->gpr[i],
					       (unsigned long long)b->gpr[i]);
			bad++;
		}
	}
	CHECK(soft_dcache_jit_blocks(f[1]->cpu.dcache) > 0);
	CHECK_EQ(bad, 0);
	for (unsigned j = 0; j < 2; j++)
		machine_free(f[j]);
}

static void test_jit_random_blocks_intel(void)
{
	random_blocks(CPU_VENDOR_INTEL);
}

static void test_jit_random_blocks_amd(void)
{
	random_blocks(CPU_VENDOR_AMD);
}

/* ---- the indirect table -------------------------------------------------
 * One function F (add rax, rcx; ret) called from five places in a loop: its
 * RET's link site sees a new next block each time, so the blocks after the
 * calls go to the vCPU's indirect table. Half-way, a device rewrites the
 * code after one call (its add rbx, 3 becomes add rbx, 0x30): the table's
 * entry for it must die with the code epoch. Same state as the interpreter
 * after every batch. */
#define IND_F 0x100
static void test_jit_indirect(void)
{
	u8 code[64];
	unsigned n = 0;
	struct fx *f[2] = {machine(false), machine(true)};

	for (unsigned k = 0; k < 5; k++) {
		s32 rel = (s32)(IND_F - (n + 5));
		code[n++] = 0xe8; /* call F */
		memcpy(code + n, &rel, 4);
		n += 4;
		memcpy(code + n, (const u8[]){0x48, 0x83, 0xc3, (u8)(k + 1)}, 4); /* add rbx, k + 1 */
		n += 4;
	}
	memcpy(code + n, (const u8[]){0x48, 0xff, 0xc9, 0x0f, 0x85}, 5); /* dec rcx; jnz top */
	n += 5;
	s32 back = -(s32)(n + 4);
	memcpy(code + n, &back, 4);
	n += 4;
	code[n++] = 0xf4;
	for (unsigned j = 0; j < 2; j++) {
		memcpy(fx_ptr(f[j], CODE), code, n);
		memcpy(fx_ptr(f[j], CODE + IND_F), (const u8[]){0x48, 0x01, 0xc8, 0xc3}, 4);
		f[j]->cpu.gpr[X86_RCX] = 1000000;
		f[j]->cpu.gpr[X86_RSP] = 0x580000;
		f[j]->cpu.pending_vector = -1;
	}
	for (unsigned batch = 0; batch < 60; batch++) {
		for (unsigned j = 0; j < 2; j++) {
			if (batch == 30) { /* the third call's add rbx, 3 (imm8 at 2 * 9 + 8) */
				fx_ptr(f[j], CODE)[26] = 0x30;
				guest_mem_dma_written(&f[j]->m.mem, CODE + 26, 1);
			}
			soft_exec(&f[j]->cpu, 997);
		}
		two_state_same(f[0], f[1], "indirect");
	}
	CHECK(soft_dcache_jit_ind_fills(f[1]->cpu.dcache) > 0);
	CHECK_EQ(f[0]->cpu.pending_vector, -1);
	for (unsigned j = 0; j < 2; j++)
		machine_free(f[j]);
}

/* JMP [m] and CALL [m] (JN_IND): targets stored by the loop itself, a
 * target read across a page boundary at times; against the interpreter. */
static void test_jit_ind_branch(void)
{
	static const u8 code[] = {
	    0x48, 0x8d, 0x2d, 0x05, 0, 0, 0, /* top: lea rbp, [rip + 5] (tgt) */
	    0x48, 0x89, 0x2e,                /* mov [rsi], rbp */
	    0xff, 0x26,                      /* jmp [rsi] */
	    0x48, 0x8d, 0x2d, 0x11, 0, 0, 0, /* tgt: lea rbp, [rip + 0x11] (F) */
	    0x48, 0x89, 0x6e, 0x08,          /* mov [rsi + 8], rbp */
	    0xff, 0x56, 0x08,                /* call [rsi + 8] */
	    0x48, 0x83, 0xc3, 0x01,          /* add rbx, 1 */
	    0x48, 0xff, 0xc9,                /* dec rcx */
	    0x75, 0xdd,                      /* jnz top */
	    0xf4,                            /* hlt */
	    0x48, 0x01, 0xc8,                /* F: add rax, rcx */
	    0xc3,                            /* ret */
	};
	struct fx *f[2] = {machine(false), machine(true)};

	for (unsigned j = 0; j < 2; j++) {
		memcpy(fx_ptr(f[j], CODE), code, sizeof(code));
		f[j]->cpu.gpr[X86_RCX] = 1000000;
		f[j]->cpu.gpr[X86_RSP] = 0x580000;
		f[j]->cpu.gpr[X86_RSI] = 0x570000;
		f[j]->cpu.pending_vector = -1;
	}
	for (unsigned batch = 0; batch < 40; batch++) {
		for (unsigned j = 0; j < 2; j++) {
			if (batch == 20) /* the targets across a page boundary */
				f[j]->cpu.gpr[X86_RSI] = 0x570ffc;
			soft_exec(&f[j]->cpu, 997);
		}
		two_state_same(f[0], f[1], "JMP and CALL [m]");
	}
	CHECK(soft_dcache_jit_blocks(f[1]->cpu.dcache) > 0);
	CHECK_EQ(f[0]->cpu.pending_vector, -1);
	for (unsigned j = 0; j < 2; j++)
		machine_free(f[j]);
}

/* The lockstep check (jit/lockstep.h): the loop above, every translated
 * run checked against the interpreter, ends as without the check and finds
 * nothing; a translation that no longer agrees with the interpreter stops
 * the vCPU at its first run, with the block's RIP in the message. */
static struct soft_lockstep_turn turn;

static struct fx *lockstep_machine(enum cpu_vendor vendor)
{
	struct fx *f = machine_vendor(true, vendor);

	CHECK_EQ(soft_dcache_lockstep(f->cpu.dcache, &turn), 0);
	f->cpu.pending_vector = -1;
	return f;
}

static void test_jit_lockstep_same(void)
{
	struct fx *a = machine(false), *b = lockstep_machine(CPU_VENDOR_HOST);
	u64 checked, unchecked;

	a->cpu.pending_vector = -1;
	run_to_fault(a);
	run_to_fault(b);
	CHECK(soft_dcache_lockstep_failed(b->cpu.dcache) == NULL);
	soft_dcache_lockstep_counts(b->cpu.dcache, &checked, &unchecked);
	CHECK(checked > 900); /* the loop ran 1000 times, translated after 32 */
	CHECK_EQ(unchecked, 0);
	CHECK_EQ(b->cpu.pending_vector, EXC_DE);
	CHECK_EQ(a->cpu.rip, b->cpu.rip);
	CHECK_EQ(a->cpu.stat_insns, b->cpu.stat_insns);
	CHECK(!memcmp(a->cpu.gpr, b->cpu.gpr, sizeof(a->cpu.gpr)));
	CHECK(!memcmp(fx_ptr(a, DATA), fx_ptr(b, DATA), 16 * 8));
	machine_free(a);
	machine_free(b);
}

/* A conditional branch to the next instruction goes there taken or not:
 * the interpreter's run of the block goes on, and so must the translated
 * run (found by the fuzz target under the lockstep check: JP +0 after ADD
 * BL, BH). */
static void test_jit_jcc_to_next(void)
{
	static const u8 code[] = {
	    0x01, 0xd8,       /* top: add eax, ebx */
	    0x7a, 0x00,       /* jp next: taken where the sum's parity is even */
	    0x48, 0xff, 0xc9, /* next: dec rcx */
	    0x75, 0xf7,       /* jnz top */
	    0xf4,             /* hlt */
	};
	struct fx *f = lockstep_machine(CPU_VENDOR_HOST);
	u64 checked, unchecked;

	memcpy(fx_ptr(f, CODE), code, sizeof(code));
	f->cpu.rip = CODE;
	f->cpu.gpr[X86_RBX] = 0x30;
	f->cpu.gpr[X86_RCX] = 1000;
	soft_exec(&f->cpu, 100000);
	CHECK(soft_dcache_lockstep_failed(f->cpu.dcache) == NULL);
	soft_dcache_lockstep_counts(f->cpu.dcache, &checked, &unchecked);
	CHECK(checked > 900);
	CHECK_EQ(f->cpu.gpr[X86_RCX], 0);
	machine_free(f);
}

/* for (ecx = 100; ecx; ecx--) eax = ecx << 3 (LOOP leaves the flags alone,
 * so the shift's are live where the block is left), then #DE. */
static const u8 shifts[] = {
    0xb9, 0x64, 0x00, 0x00, 0x00, /* mov ecx, 100 */
    0x89, 0xc8,                   /* top: mov eax, ecx */
    0xc1, 0xe0, 0x03,             /* shl eax, 3 */
    0xe2, 0xf9,                   /* loop top */
    0x31, 0xdb,                   /* xor ebx, ebx */
    0xf7, 0xf3,                   /* div ebx: #DE */
};

static void test_jit_lockstep_finds(void)
{
	struct fx *f = lockstep_machine(CPU_VENDOR_INTEL);
	u64 checked, unchecked;
	const char *why;

	memcpy(fx_ptr(f, CODE), shifts, sizeof(shifts));
	soft_exec(&f->cpu, 40 * 3); /* 40 rounds: the block is translated */
	CHECK(soft_dcache_jit_blocks(f->cpu.dcache) > 0);
	CHECK(soft_dcache_lockstep_failed(f->cpu.dcache) == NULL);
	/* The interpreter now sets the flags a shift leaves undefined as AMD
	 * does; the translation still does it Intel's way: as if the
	 * translator had a bug. */
	f->cpu.quirks ^= 1u << SQ_SHIFT_OF_FROM_RESULT;
	u64 n = soft_exec(&f->cpu, 100000);
	why = soft_dcache_lockstep_failed(f->cpu.dcache);
	CHECK(why != NULL);
	CHECK(why && strstr(why, "0x400005") != NULL);
	CHECK(n <= 3); /* stopped after the first translated run */
	soft_dcache_lockstep_counts(f->cpu.dcache, &checked, &unchecked);
	CHECK(checked > 0);
	machine_free(f);
}

int main(void)
{
	TEST_RUN(test_jit_same_state);
	TEST_RUN(test_jit_precise_fault);
	TEST_RUN(test_jit_flush);
	TEST_RUN(test_jit_tlb_crossing);
	TEST_RUN(test_jit_load_site);
	TEST_RUN(test_jit_flags_redo);
	TEST_RUN(test_jit_loop_flags_form);
	TEST_RUN(test_jit_random_blocks_intel);
	TEST_RUN(test_jit_random_blocks_amd);
	TEST_RUN(test_jit_indirect);
	TEST_RUN(test_jit_ind_branch);
	TEST_RUN(test_jit_links);
	TEST_RUN(test_jit_smc_store);
	TEST_RUN(test_jit_smc_dma);
	TEST_RUN(test_jit_xmc_other_vcpu);
	TEST_RUN(test_jit_slot_reused);
	TEST_RUN(test_jit_cr3_switch);
	TEST_RUN(test_jit_straddling);
	TEST_RUN(test_jit_lockstep_same);
	TEST_RUN(test_jit_lockstep_finds);
	TEST_RUN(test_jit_jcc_to_next);
	return test_done();
}
