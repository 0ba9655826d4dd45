/* Soft engine MMU/TLB: page walks in every paging mode with accessed/dirty
 * updates and #PF error codes, TLB hits and flushes, MMIO, page crossing. */
#include "soft_fixture.h"

/* Expects stmt to raise #PF with error code err and CR2 = addr. */
#define CHECK_PF(f, stmt, err, addr)                                                               \
	do {                                                                                       \
		CHECK(FX_FAULTS(&(f)->cpu, stmt));                                                 \
		CHECK_EQ((f)->cpu.pending_vector, EXC_PF);                                         \
		CHECK_EQ((f)->cpu.pending_error, (err));                                           \
		CHECK_EQ((f)->cpu.cr2, (addr));                                                    \
	} while (0)

#define OK(f, stmt) CHECK(!FX_FAULTS(&(f)->cpu, stmt))

static void test_no_paging(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 v = 0;

	fx_prot32(f, 0x1000);
	OK(f, soft_write(cpu, X86_DS, 0x5000, 4, 0xcafef00d));
	CHECK_EQ(fx_rd32(f, 0x5000), 0xcafef00d);
	OK(f, v = soft_read(cpu, X86_DS, 0x5002, 2));
	CHECK_EQ(v, 0xcafe);
	/* Real mode: DS base = selector << 4. */
	soft_reset(cpu);
	soft_seg_load_real(cpu, X86_DS, 0x500);
	OK(f, v = soft_read(cpu, X86_DS, 0, 4));
	CHECK_EQ(v, 0xcafef00d);
	fx_free(f);
}

static void test_paging32(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 cr3, pte, v = 0;

	fx_prot32(f, 0x1000);
	cr3 = fx_page(f);
	pte = fx_map32(f, cr3, 0x400000, 0x200000, PTE_P | PTE_W, 12);
	fx_wr32(f, 0x200010, 0x12345678);
	OK(f, soft_write_cr(cpu, 3, cr3));
	OK(f, soft_write_cr(cpu, 0, cpu->cr0 | X86_CR0_PG));
	OK(f, v = soft_read(cpu, X86_DS, 0x400010, 4));
	CHECK_EQ(v, 0x12345678);
	CHECK(fx_rd32(f, cr3 + 4) & PTE_A);
	CHECK(fx_rd32(f, pte) & PTE_A);
	CHECK(!(fx_rd32(f, pte) & PTE_D));
	OK(f, soft_write(cpu, X86_DS, 0x400020, 4, 0xdeadbeef));
	CHECK(fx_rd32(f, pte) & PTE_D);
	CHECK_EQ(fx_rd32(f, 0x200020), 0xdeadbeef);

	/* 4 MiB page (CR4.PSE), then a reserved bit (21) in one. */
	OK(f, soft_write_cr(cpu, 4, X86_CR4_PSE));
	fx_map32(f, cr3, 0x800000, 0x400000, PTE_P | PTE_W, 22);
	fx_wr32(f, 0x401234, 0xabcd);
	OK(f, v = soft_read(cpu, X86_DS, 0x801234, 2));
	CHECK_EQ(v, 0xabcd);
	fx_map32(f, cr3, 0xc00000, 0x400000 | (1u << 21), PTE_P | PTE_W, 22);
	CHECK_PF(f, soft_read(cpu, X86_DS, 0xc00004, 4), 0x9, 0xc00004);
	/* Not present, user write (CPL 3 data access). */
	CHECK_PF(f, soft_lin_write_slow(cpu, 0x1000000, 4, 0, true), 0x6, 0x1000000);
	fx_free(f);
}

static void test_pae(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 pdpt, v = 0;
	u8 buf[4];

	fx_prot32(f, 0x1000);
	pdpt = fx_page(f);
	fx_map_pae(f, pdpt, 0x40000000, 0x300000, PTE_P | PTE_W, 12);
	fx_map_pae(f, pdpt, 0x80200000, 0x400000, PTE_P | PTE_W | PTE_NX, 21);
	fx_wr64(f, 0x300008, 0x1122334455667788ULL);
	fx_wr32(f, 0x401234, 0x99);
	OK(f, soft_wrmsr(cpu, 0xc0000080, X86_EFER_NXE));
	OK(f, soft_write_cr(cpu, 4, X86_CR4_PAE));
	OK(f, soft_write_cr(cpu, 3, pdpt));
	OK(f, soft_write_cr(cpu, 0, cpu->cr0 | X86_CR0_PG));
	OK(f, v = soft_read(cpu, X86_DS, 0x40000008, 8));
	CHECK_EQ(v, 0x1122334455667788ULL);
	OK(f, v = soft_read(cpu, X86_DS, 0x80201234, 4));
	CHECK_EQ(v, 0x99);
	/* Fetch from an NX page: P | I/D. */
	CHECK_PF(f, soft_fetch(cpu, 0x80201000, buf, 1), 0x11, 0x80201000);
	/* PDPTE 3 not present: supervisor read, error code 0. */
	CHECK_PF(f, soft_read(cpu, X86_DS, 0xc0000000, 1), 0, 0xc0000000);
	/* A reserved PDPTE bit makes the CR3 load itself fail (#GP). */
	fx_wr64(f, pdpt + 16, fx_page(f) | PTE_P | 0x2);
	CHECK(FX_FAULTS(cpu, soft_write_cr(cpu, 3, pdpt)));
	CHECK_EQ(cpu->pending_vector, EXC_GP);
	fx_free(f);
}

static void test_long_errors(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 pml4 = fx_long(f, 0x1000), ro, sup, v = 0;
	u8 buf[2];

	fx_map4(f, pml4, 0x10000000, 0x200000, PTE_P | PTE_W | PTE_U, 12);
	ro = fx_map4(f, pml4, 0x10001000, 0x201000, PTE_P | PTE_U, 12);
	sup = fx_map4(f, pml4, 0x10002000, 0x202000, PTE_P | PTE_W, 12);
	fx_map4(f, pml4, 0x10003000, 0x203000, PTE_P | PTE_W | PTE_U | PTE_NX, 12);
	fx_map4(f, pml4, 0x10004000, 0x204000 | (1ULL << 45), PTE_P | PTE_W, 12);
	fx_map4(f, pml4, 0x7fff00000000ULL, 0, PTE_P | PTE_W | PTE_U, 30);

	/* Supervisor: not present read 0, not present write 2, fetch 0x10. */
	CHECK_PF(f, soft_read(cpu, X86_DS, 0x20000000, 8), 0x0, 0x20000000);
	CHECK_PF(f, soft_write(cpu, X86_DS, 0x20000000, 8, 0), 0x2, 0x20000000);
	CHECK_PF(f, soft_fetch(cpu, 0x20000000, buf, 1), 0x10, 0x20000000);
	/* Supervisor write to a read-only page: faults with CR0.WP, not without. */
	CHECK_PF(f, soft_write(cpu, X86_DS, 0x10001008, 4, 1), 0x3, 0x10001008);
	CHECK(!(fx_rd64(f, ro) & PTE_D)); /* no D on a faulting write */
	OK(f, soft_write_cr(cpu, 0, cpu->cr0 & ~X86_CR0_WP));
	OK(f, soft_write(cpu, X86_DS, 0x10001008, 4, 1));
	CHECK(fx_rd64(f, ro) & PTE_D);
	OK(f, soft_write_cr(cpu, 0, cpu->cr0 | X86_CR0_WP));
	/* Reserved bits: above MAXPHYADDR (P|RSVD), and PS in a PML4E. */
	CHECK_PF(f, soft_read(cpu, X86_DS, 0x10004000, 1), 0x9, 0x10004000);
	fx_wr64(f, pml4 + 8 * 2, fx_page(f) | PTE_P | PTE_W | PTE_PS);
	CHECK_PF(f, soft_read(cpu, X86_DS, 0x10000000000ULL, 1), 0x9, 0x10000000000ULL);
	/* NX fetch: P | I/D; reads of that page are fine. */
	CHECK_PF(f, soft_fetch(cpu, 0x10003000, buf, 1), 0x11, 0x10003000);
	OK(f, soft_read(cpu, X86_DS, 0x10003000, 1));
	/* 1 GiB page. */
	fx_wr64(f, 0x12340, 0x5555);
	OK(f, v = soft_read(cpu, X86_DS, 0x7fff00012340ULL, 8));
	CHECK_EQ(v, 0x5555);

	/* User: supervisor page read 5, read-only write 7, not present 4/6. */
	fx_user64(f);
	CHECK_EQ(cpu->cpl, 3);
	CHECK_PF(f, soft_read(cpu, X86_DS, 0x10002000, 4), 0x5, 0x10002000);
	CHECK_PF(f, soft_write(cpu, X86_DS, 0x10001000, 4, 0), 0x7, 0x10001000);
	CHECK_PF(f, soft_read(cpu, X86_DS, 0x30000000, 4), 0x4, 0x30000000);
	CHECK_PF(f, soft_write(cpu, X86_DS, 0x30000000, 4, 0), 0x6, 0x30000000);
	CHECK_PF(f, soft_fetch(cpu, 0x10003000, buf, 1), 0x15, 0x10003000);
	OK(f, soft_write(cpu, X86_DS, 0x10000010, 4, 0x77));
	CHECK_EQ(fx_rd32(f, 0x200010), 0x77);
	/* The supervisor leaf stays unaccessed after the user's fault. */
	CHECK(!(fx_rd64(f, sup) & PTE_A));
	/* Non-canonical in 64-bit mode is #GP(0), not #PF. */
	CHECK(FX_FAULTS(cpu, soft_read(cpu, X86_DS, 0x0000800000000000ULL, 1)));
	CHECK_EQ(cpu->pending_vector, EXC_GP);
	CHECK(FX_FAULTS(cpu, soft_read(cpu, X86_SS, 0x0000800000000000ULL, 1)));
	CHECK_EQ(cpu->pending_vector, EXC_SS);
	fx_free(f);
}

static void test_accessed_dirty(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 pml4 = fx_long(f, 0x1000), leaf, big;

	leaf = fx_map4(f, pml4, 0x10000000, 0x200000, PTE_P | PTE_W, 12);
	big = fx_map4(f, pml4, 0x40000000, 0x400000, PTE_P | PTE_W, 21);
	OK(f, soft_read(cpu, X86_DS, 0x10000000, 4));
	CHECK_EQ(fx_rd64(f, leaf) & (PTE_A | PTE_D), PTE_A);
	CHECK(fx_rd64(f, pml4) & PTE_A);
	/* A read fills only the read tag: the first write walks and sets D. */
	OK(f, soft_write(cpu, X86_DS, 0x10000000, 4, 1));
	CHECK_EQ(fx_rd64(f, leaf) & (PTE_A | PTE_D), PTE_A | PTE_D);
	OK(f, soft_write(cpu, X86_DS, 0x40001000, 8, 1));
	CHECK_EQ(fx_rd64(f, big) & (PTE_A | PTE_D), PTE_A | PTE_D);
	fx_free(f);
}

static void test_tlb_flush(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 pml4 = fx_long(f, 0x1000), leaf, gleaf, v = 0;

	fx_wr64(f, 0x200000, 1);
	fx_wr64(f, 0x201000, 2);
	fx_wr64(f, 0x202000, 3);
	leaf = fx_map4(f, pml4, 0x10000000, 0x200000, PTE_P | PTE_W, 12);
	gleaf = fx_map4(f, pml4, 0x20001000, 0x200000, PTE_P | PTE_W | PTE_G, 12);
	OK(f, soft_write_cr(cpu, 4, cpu->cr4 | X86_CR4_PGE));
	OK(f, v = soft_read(cpu, X86_DS, 0x10000000, 8));
	CHECK_EQ(v, 1);
	OK(f, v = soft_read(cpu, X86_DS, 0x20001000, 8));
	CHECK_EQ(v, 1);
	u64 misses = cpu->stat_tlb_misses;
	/* Remap both without telling the TLB: stale hits, as on hardware. */
	fx_wr64(f, leaf, 0x201000 | PTE_P | PTE_W);
	fx_wr64(f, gleaf, 0x201000 | PTE_P | PTE_W | PTE_G);
	OK(f, v = soft_read(cpu, X86_DS, 0x10000000, 8));
	CHECK_EQ(v, 1);
	CHECK_EQ(cpu->stat_tlb_misses, misses);
	/* INVLPG drops one page. */
	OK(f, soft_invlpg(cpu, 0x10000abc));
	OK(f, v = soft_read(cpu, X86_DS, 0x10000000, 8));
	CHECK_EQ(v, 2);
	/* CR3 reload keeps the global entry, drops the others. */
	fx_wr64(f, leaf, 0x202000 | PTE_P | PTE_W);
	OK(f, soft_write_cr(cpu, 3, cpu->cr3));
	OK(f, v = soft_read(cpu, X86_DS, 0x10000000, 8));
	CHECK_EQ(v, 3);
	OK(f, v = soft_read(cpu, X86_DS, 0x20001000, 8));
	CHECK_EQ(v, 1);
	/* Toggling CR4.PGE flushes global entries too. */
	OK(f, soft_write_cr(cpu, 4, cpu->cr4 & ~X86_CR4_PGE));
	OK(f, v = soft_read(cpu, X86_DS, 0x20001000, 8));
	CHECK_EQ(v, 2);
	/* A 2 MiB mapping cached as 4 KiB pieces: INVLPG anywhere in it drops all. */
	u64 big = fx_map4(f, pml4, 0x40000000, 0x200000, PTE_P | PTE_W, 21);
	OK(f, v = soft_read(cpu, X86_DS, 0x40001000, 8));
	CHECK_EQ(v, 2);
	fx_wr64(f, big, 0x400000 | PTE_P | PTE_W | PTE_PS);
	fx_wr64(f, 0x401000, 9);
	OK(f, soft_invlpg(cpu, 0x40100000));
	OK(f, v = soft_read(cpu, X86_DS, 0x40001000, 8));
	CHECK_EQ(v, 9);
	/* More large mappings than the TLB tracks: INVLPG still finds them. */
	for (u64 i = 0; i < SOFT_TLB_LARGE_MAX + 4; i++) {
		fx_map4(f, pml4, 0x80000000ULL + (i << 21), 0x200000, PTE_P | PTE_W, 21);
		OK(f, soft_read(cpu, X86_DS, 0x80000000ULL + (i << 21) + 0x1000, 8));
	}
	CHECK(cpu->tlb.list[0].large_overflow);
	big = fx_map4(f, pml4, 0x80000000ULL, 0x400000, PTE_P | PTE_W, 21);
	OK(f, soft_invlpg(cpu, 0x80000000ULL + 0x1ff000));
	OK(f, v = soft_read(cpu, X86_DS, 0x80001000ULL, 8));
	CHECK_EQ(v, 9);
	/* A global 2 MiB mapping's pieces outlive a CR3 reload, and INVLPG
	 * anywhere in it still drops them all afterwards. */
	OK(f, soft_write_cr(cpu, 4, cpu->cr4 | X86_CR4_PGE));
	big = fx_map4(f, pml4, 0xc0000000ULL, 0x400000, PTE_P | PTE_W | PTE_G, 21);
	OK(f, v = soft_read(cpu, X86_DS, 0xc0001000ULL, 8));
	CHECK_EQ(v, 9);
	OK(f, soft_write_cr(cpu, 3, cpu->cr3));
	CHECK(!cpu->tlb.list[0].large_overflow);
	fx_wr64(f, big, 0x200000 | PTE_P | PTE_W | PTE_PS | PTE_G);
	fx_wr64(f, 0x201000, 0x77);
	OK(f, v = soft_read(cpu, X86_DS, 0xc0001000ULL, 8));
	CHECK_EQ(v, 9); /* still the cached translation */
	OK(f, soft_invlpg(cpu, 0xc0100000ULL));
	OK(f, v = soft_read(cpu, X86_DS, 0xc0001000ULL, 8));
	CHECK_EQ(v, 0x77);
	fx_free(f);
}

struct mmio_dev {
	unsigned reads, writes;
	u64 last_off, last_val;
	unsigned last_size;
};

static u64 dev_read(void *opaque, u64 off, unsigned size)
{
	struct mmio_dev *d = opaque;

	d->reads++;
	d->last_off = off;
	d->last_size = size;
	return 0x1000 + off;
}

static void dev_write(void *opaque, u64 off, unsigned size, u64 v)
{
	struct mmio_dev *d = opaque;

	d->writes++;
	d->last_off = off;
	d->last_size = size;
	d->last_val = v;
}

static const struct bus_ops dev_ops = {"testdev", dev_read, dev_write};

static void test_mmio(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 pml4 = fx_long(f, 0x1000), v = 0;
	struct mmio_dev d = {0};

	CHECK_EQ(bus_register(&f->m.mmio, 0xd0000000, 0x1000, &dev_ops, &d), 0);
	fx_map4(f, pml4, 0x10000000, 0xd0000000, PTE_P | PTE_W, 12);
	OK(f, v = soft_read(cpu, X86_DS, 0x10000010, 4));
	CHECK_EQ(v, 0x1010);
	OK(f, v = soft_read(cpu, X86_DS, 0x10000010, 4));
	CHECK_EQ(d.reads, 2); /* never cached */
	CHECK_EQ(d.last_size, 4);
	CHECK(soft_tlb_slot(cpu, 0x10000000, false)->tag[SOFT_ACC_READ] != 0x10000000);
	OK(f, soft_write(cpu, X86_DS, 0x10000020, 2, 0xbeef));
	CHECK_EQ(d.writes, 1);
	CHECK_EQ(d.last_off, 0x20);
	CHECK_EQ(d.last_size, 2);
	CHECK_EQ(d.last_val, 0xbeef);
	/* A probe touches no device. */
	OK(f, soft_check_access(cpu, X86_DS, 0x10000010, 8, SOFT_ACC_WRITE));
	CHECK_EQ(d.reads, 2);
	CHECK_EQ(d.writes, 1);
	CHECK_PF(f, soft_check_access(cpu, X86_DS, 0x10000ffc, 8, SOFT_ACC_READ), 0, 0x10001000);
	/* A 16-byte access is split into 8-byte device accesses. */
	u8 buf[16];
	OK(f, soft_read_buf(cpu, X86_DS, 0x10000100, buf, 16));
	CHECK_EQ(d.reads, 4);
	CHECK_EQ(d.last_off, 0x108);
	fx_free(f);
}

static void test_cross_page(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 pml4 = fx_long(f, 0x1000), v = 0;

	fx_map4(f, pml4, 0x10000000, 0x200000, PTE_P | PTE_W, 12);
	fx_map4(f, pml4, 0x10001000, 0x300000, PTE_P, 12); /* read-only */
	fx_wr64(f, 0x200ff8, 0x8877665544332211ULL);
	fx_wr64(f, 0x300000, 0xffeeddccbbaa9988ULL);
	OK(f, v = soft_read(cpu, X86_DS, 0x10000ffc, 8));
	CHECK_EQ(v, 0xbbaa998888776655ULL);
	/* The second page refuses the write: nothing of the first changes. */
	CHECK_PF(f, soft_write(cpu, X86_DS, 0x10000ffc, 8, 0), 0x3, 0x10001000);
	CHECK_EQ(fx_rd64(f, 0x200ff8), 0x8877665544332211ULL);
	/* Not-present second page. */
	fx_map4(f, pml4, 0x10002000, 0x400000, PTE_P | PTE_W, 12);
	CHECK_PF(f, soft_write(cpu, X86_DS, 0x10002ffe, 4, 0), 0x2, 0x10003000);
	fx_free(f);
}

static unsigned code_writes;
static u64 code_gpa;

static void code_written(void *opaque, gpa_t gpa, unsigned len)
{
	(void)opaque;
	(void)len;
	code_writes++;
	code_gpa = gpa;
}

static void test_code_pages(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 pml4 = fx_long(f, 0x1000);
	struct soft_codemap map;

	CHECK_EQ(soft_codemap_init(&map, &f->m.mem, code_written, NULL), 0);
	soft_tlb_init(&cpu->tlb, &map);
	fx_map4(f, pml4, 0x10000000, 0x200000, PTE_P | PTE_W, 12);
	OK(f, soft_write(cpu, X86_DS, 0x10000000, 4, 1)); /* fills a write tag */
	CHECK_EQ(soft_tlb_slot(cpu, 0x10000000, false)->tag[SOFT_ACC_WRITE], 0x10000000);
	CHECK(soft_codemap_add(&map, 0x200000));
	CHECK(!soft_codemap_add(&map, 0x200123));
	CHECK(soft_tlb_slot(cpu, 0x10000000, false)->tag[SOFT_ACC_WRITE] != 0x10000000);
	OK(f, soft_write(cpu, X86_DS, 0x10000010, 2, 7));
	CHECK_EQ(code_writes, 1);
	CHECK_EQ(code_gpa, 0x200010);
	OK(f, soft_write(cpu, X86_DS, 0x10000010, 2, 7));
	CHECK_EQ(code_writes, 2); /* still slow: the page holds code */
	CHECK(soft_rmw_ptr(cpu, X86_DS, 0x10000010, 4) == NULL);
	soft_codemap_clear(&map, 0x200000);
	OK(f, soft_write(cpu, X86_DS, 0x10000010, 2, 7));
	CHECK_EQ(code_writes, 2);
	soft_codemap_destroy(&map);
	fx_free(f);
}

static void test_fetch_ptr(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 pml4 = fx_long(f, 0x1000);
	const u8 *p = NULL;
	unsigned avail = 0;
	gpa_t gpa = 0;

	fx_map4(f, pml4, 0x10000000, 0x200000, PTE_P, 12);
	fx_ptr(f, 0x200ff0)[0] = 0x90;
	OK(f, p = soft_fetch_ptr(cpu, 0x10000ff0, &avail, &gpa));
	CHECK(p == fx_ptr(f, 0x200ff0));
	CHECK_EQ(avail, 16);
	CHECK_EQ(gpa, 0x200ff0);
	fx_free(f);
}

int main(void)
{
	TEST_RUN(test_no_paging);
	TEST_RUN(test_paging32);
	TEST_RUN(test_pae);
	TEST_RUN(test_long_errors);
	TEST_RUN(test_accessed_dirty);
	TEST_RUN(test_tlb_flush);
	TEST_RUN(test_mmio);
	TEST_RUN(test_cross_page);
	TEST_RUN(test_code_pages);
	TEST_RUN(test_fetch_ptr);
	return test_done();
}
