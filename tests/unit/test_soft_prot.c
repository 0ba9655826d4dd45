/* Soft engine access-rights features (Intel SDM Vol. 3A 4.6, 4.7): SMEP,
 * SMAP with EFLAGS.AC, STAC/CLAC and implicit supervisor accesses; that the
 * software TLB never lets through what these deny; CR4 and CPUID for both
 * vendor models. */
#include "cpu/soft/vendor.h"
#include "soft_fixture.h"

#define CHECK_PF(f, stmt, err, addr)                                                               \
	do {                                                                                       \
		CHECK(FX_FAULTS(&(f)->cpu, stmt));                                                 \
		CHECK_EQ((f)->cpu.pending_vector, EXC_PF);                                         \
		CHECK_EQ((f)->cpu.pending_error, (err));                                           \
		CHECK_EQ((f)->cpu.cr2, (addr));                                                    \
	} while (0)
#define CHECK_FAULT(f, stmt, vec, err)                                                             \
	do {                                                                                       \
		CHECK(FX_FAULTS(&(f)->cpu, stmt));                                                 \
		CHECK_EQ((f)->cpu.pending_vector, (vec));                                          \
		CHECK_EQ((f)->cpu.pending_error, (err));                                           \
	} while (0)
#define OK(f, stmt) CHECK(!FX_FAULTS(&(f)->cpu, stmt))

/* #PF error code bits (SDM Vol. 3A 4.7). */
#define E_P  0x1u
#define E_W  0x2u
#define E_U  0x4u
#define E_ID 0x10u

#define GDT   0x8000
#define CODE  0x400000ULL   /* supervisor code page */
#define UCODE 0x401000ULL   /* user code page */
#define UDATA 0x10000000ULL /* user, writable */
#define URO   0x10001000ULL /* user, read-only */
#define KDATA 0x10002000ULL /* supervisor, writable */

static const u8 stac[] = {0x0f, 0x01, 0xcb}, clac[] = {0x0f, 0x01, 0xca};

/* 64-bit mode, CPL 0, CR0.WP, NXE, the pages above. */
static struct fx *machine_for(enum cpu_vendor vendor)
{
	struct fx *f = fx_new_vendor(vendor);
	u64 pml4 = fx_long(f, GDT);

	fx_map4(f, pml4, CODE, CODE, PTE_P | PTE_W, 12);
	fx_map4(f, pml4, UCODE, UCODE, PTE_P | PTE_W | PTE_U, 12);
	fx_map4(f, pml4, UDATA, 0x500000, PTE_P | PTE_W | PTE_U, 12);
	fx_map4(f, pml4, URO, 0x501000, PTE_P | PTE_U, 12);
	fx_map4(f, pml4, KDATA, 0x502000, PTE_P | PTE_W, 12);
	soft_tlb_flush(&f->cpu, false);
	return f;
}

static void kernel64(struct fx *f)
{
	fx_seg(&f->cpu, X86_CS, 0x08, fx_desc(0, 0xfffff, 0xb, 0, true, false, true));
	fx_seg(&f->cpu, X86_SS, 0x10, fx_desc(0, 0xfffff, 0x3, 0, false, true, true));
	soft_mode_update(&f->cpu);
}

static void set_ac(struct soft_cpu *cpu, bool ac)
{
	soft_flags_set(cpu, ac ? X86_RFLAGS_AC : 0, X86_RFLAGS_AC);
}

static void cr4_set(struct fx *f, u64 bits, bool on)
{
	struct soft_cpu *cpu = &f->cpu;

	OK(f, soft_write_cr(cpu, 4, on ? cpu->cr4 | bits : cpu->cr4 & ~bits));
}

/* Runs the instruction bytes at CODE (CPL 0-2) or UCODE (CPL 3); returns
 * the pending vector or -1. */
static int run_insn(struct fx *f, const u8 *bytes, unsigned len)
{
	struct soft_cpu *cpu = &f->cpu;
	u64 at = cpu->cpl == 3 ? UCODE : CODE;

	memcpy(fx_ptr(f, at), bytes, len);
	fx_ptr(f, at)[len] = 0xf4; /* HLT */
	cpu->rip = at;
	cpu->pending_vector = -1;
	cpu->pending_error = 0;
	soft_exec(cpu, 1);
	return cpu->pending_vector;
}

/* SMEP (SDM Vol. 3A 4.6.1): no supervisor fetch from a user-mode address;
 * I/D is set in the error code even without NX paging (4.7). */
static void test_smep(void)
{
	struct fx *f = machine_for(CPU_VENDOR_HOST);
	struct soft_cpu *cpu = &f->cpu;
	u8 b;

	OK(f, soft_fetch(cpu, UCODE, &b, 1)); /* SMEP off: fills the fetch tag */
	cr4_set(f, X86_CR4_SMEP, true);
	CHECK_PF(f, soft_fetch(cpu, UCODE, &b, 1), E_P | E_ID, UCODE);
	CHECK_PF(f, soft_fetch(cpu, UDATA + 5, &b, 1), E_P | E_ID, UDATA + 5);
	OK(f, soft_fetch(cpu, CODE, &b, 1));
	OK(f, soft_read(cpu, X86_DS, UDATA, 8)); /* data accesses are SMAP's business */
	set_ac(cpu, true);
	CHECK_PF(f, soft_fetch(cpu, UCODE, &b, 1), E_P | E_ID, UCODE); /* AC: no matter */
	/* Executing there: the fetch faults before anything runs. */
	fx_ptr(f, UCODE)[0] = 0x90;
	cpu->rip = UCODE;
	cpu->pending_vector = -1;
	soft_exec(cpu, 1);
	CHECK_EQ(cpu->pending_vector, EXC_PF);
	CHECK_EQ(cpu->pending_error, E_P | E_ID);
	CHECK_EQ(cpu->cr2, UCODE);
	/* CPL 3 fetches user pages as before. */
	fx_user64(f);
	OK(f, soft_fetch(cpu, UCODE, &b, 1));
	kernel64(f);
	cr4_set(f, X86_CR4_SMEP, false);
	OK(f, soft_fetch(cpu, UCODE, &b, 1));
	fx_free(f);

	/* 32-bit paging, no NX: SMEP still sets I/D. */
	f = fx_new();
	cpu = &f->cpu;
	fx_prot32(f, 0x1000);
	u64 cr3 = fx_page(f);
	fx_map32(f, cr3, 0x400000, 0x200000, PTE_P | PTE_W | PTE_U, 12);
	OK(f, soft_write_cr(cpu, 3, cr3));
	OK(f, soft_write_cr(cpu, 0, cpu->cr0 | X86_CR0_PG | X86_CR0_WP));
	OK(f, soft_fetch(cpu, 0x400000, &b, 1));
	CHECK_PF(f, soft_fetch(cpu, 0x1000000, &b, 1), 0, 0x1000000); /* no I/D without SMEP */
	cr4_set(f, X86_CR4_SMEP, true);
	CHECK_PF(f, soft_fetch(cpu, 0x400000, &b, 1), E_P | E_ID, 0x400000);
	CHECK_PF(f, soft_fetch(cpu, 0x1000000, &b, 1), E_ID, 0x1000000);
	fx_free(f);
}

/* SMAP (SDM Vol. 3A 4.6.1): supervisor data accesses to user-mode
 * addresses fault unless EFLAGS.AC = 1 and the access is explicit. */
static void test_smap(void)
{
	struct fx *f = machine_for(CPU_VENDOR_HOST);
	struct soft_cpu *cpu = &f->cpu;
	u64 v = 0;

	/* Off: user pages are the kernel's; these fill bank 0's tags. */
	OK(f, soft_write(cpu, X86_DS, UDATA, 8, 0x1122334455667788ULL));
	OK(f, v = soft_read(cpu, X86_DS, UDATA, 8));
	CHECK_EQ(v, 0x1122334455667788ULL);
	cr4_set(f, X86_CR4_SMAP, true);
	CHECK_EQ(cpu->dpriv, SOFT_PRIV_SUP);
	CHECK_PF(f, soft_read(cpu, X86_DS, UDATA + 8, 8), E_P, UDATA + 8);
	CHECK_PF(f, soft_write(cpu, X86_DS, UDATA + 16, 4, 1), E_P | E_W, UDATA + 16);
	CHECK_PF(f, soft_read_for_write(cpu, X86_DS, UDATA, 4), E_P | E_W, UDATA);
	CHECK(soft_tlb_slot(cpu, UDATA, SOFT_PRIV_SUP)->tag[SOFT_ACC_READ] != UDATA);
	OK(f, soft_read(cpu, X86_DS, KDATA, 8)); /* supervisor pages as ever */
	/* A user page reached through a supervisor-only upper level is not a
	 * user-mode address (U/S = 0 somewhere): no SMAP. */
	u64 split = 0x8000000000ULL; /* PML4E 1, made supervisor below */
	fx_map4(f, cpu->cr3, split, 0x506000, PTE_P | PTE_W | PTE_U, 12);
	fx_wr64(f, cpu->cr3 + 8 * (split >> 39), fx_rd64(f, cpu->cr3 + 8 * (split >> 39)) & ~PTE_U);
	OK(f, soft_read(cpu, X86_DS, split, 8));

	/* AC = 1: explicit accesses pass, through the fast path too. */
	set_ac(cpu, true);
	CHECK_EQ(cpu->dpriv, SOFT_PRIV_SUP_AC);
	OK(f, v = soft_read(cpu, X86_DS, UDATA, 8));
	CHECK_EQ(v, 0x1122334455667788ULL);
	OK(f, soft_write(cpu, X86_DS, UDATA + 8, 8, 7));
	CHECK_EQ(soft_tlb_slot(cpu, UDATA, SOFT_PRIV_SUP_AC)->tag[SOFT_ACC_WRITE], UDATA);
	u64 misses = cpu->stat_tlb_misses;
	OK(f, soft_write(cpu, X86_DS, UDATA + 16, 8, 9));
	CHECK_EQ(cpu->stat_tlb_misses, misses);
	/* ... but not implicit ones (descriptor tables, TSS, IDT). */
	CHECK_PF(f, soft_read_sys(cpu, UDATA, 8), E_P, UDATA);
	CHECK_PF(f, soft_write_sys(cpu, UDATA, 1, 0), E_P | E_W, UDATA);
	/* R/W still counts with CR0.WP. */
	CHECK_PF(f, soft_write(cpu, X86_DS, URO, 4, 1), E_P | E_W, URO);
	OK(f, soft_write_cr(cpu, 0, cpu->cr0 & ~X86_CR0_WP));
	OK(f, soft_write(cpu, X86_DS, URO, 4, 1));
	OK(f, soft_write_cr(cpu, 0, cpu->cr0 | X86_CR0_WP));

	/* AC = 0 again: the entries AC = 1 filled do not serve. */
	set_ac(cpu, false);
	CHECK_PF(f, soft_read(cpu, X86_DS, UDATA, 8), E_P, UDATA);
	CHECK_PF(f, soft_write(cpu, X86_DS, UDATA + 16, 8, 0), E_P | E_W, UDATA + 16);

	/* CPL 3: explicit accesses are user accesses; implicit ones stay
	 * supervisor accesses under SMAP whatever AC says (U/S = 0 in the
	 * error code). */
	set_ac(cpu, true);
	fx_user64(f);
	CHECK_EQ(cpu->dpriv, SOFT_PRIV_USER);
	OK(f, soft_read(cpu, X86_DS, UDATA, 8));
	CHECK_PF(f, soft_read_sys(cpu, UDATA, 8), E_P, UDATA);
	CHECK_PF(f, soft_read(cpu, X86_DS, KDATA, 8), E_P | E_U, KDATA);
	kernel64(f);
	CHECK_EQ(cpu->dpriv, SOFT_PRIV_SUP_AC);

	/* Turning SMAP off and on flushes what the other setting allowed. */
	set_ac(cpu, false);
	cr4_set(f, X86_CR4_SMAP, false);
	CHECK_EQ(cpu->dpriv, SOFT_PRIV_SUP);
	OK(f, soft_read(cpu, X86_DS, UDATA, 8));
	cr4_set(f, X86_CR4_SMAP, true);
	CHECK_PF(f, soft_read(cpu, X86_DS, UDATA, 8), E_P, UDATA);
	/* AC set while SMAP is off: the bank follows CR4.SMAP as well. */
	cr4_set(f, X86_CR4_SMAP, false);
	set_ac(cpu, true);
	CHECK_EQ(cpu->dpriv, SOFT_PRIV_SUP);
	cr4_set(f, X86_CR4_SMAP, true);
	CHECK_EQ(cpu->dpriv, SOFT_PRIV_SUP_AC);
	OK(f, soft_read(cpu, X86_DS, UDATA, 8));
	fx_free(f);
}

/* STAC/CLAC (SDM Vol. 2A CLAC, 2B STAC): CPL 0 only, no prefixes. */
static void test_stac_clac(void)
{
	static const u8 stac66[] = {0x66, 0x0f, 0x01, 0xcb}, clacf3[] = {0xf3, 0x0f, 0x01, 0xca};
	struct fx *f = machine_for(CPU_VENDOR_HOST);
	struct soft_cpu *cpu = &f->cpu;

	cr4_set(f, X86_CR4_SMAP, true);
	CHECK_EQ(run_insn(f, stac, sizeof(stac)), -1);
	CHECK(cpu->rflags & X86_RFLAGS_AC);
	CHECK_EQ(cpu->dpriv, SOFT_PRIV_SUP_AC);
	OK(f, soft_read(cpu, X86_DS, UDATA, 8));
	CHECK_EQ(run_insn(f, clac, sizeof(clac)), -1);
	CHECK(!(cpu->rflags & X86_RFLAGS_AC));
	CHECK_EQ(cpu->dpriv, SOFT_PRIV_SUP);
	CHECK_PF(f, soft_read(cpu, X86_DS, UDATA, 8), E_P, UDATA);
	CHECK_EQ(run_insn(f, stac66, sizeof(stac66)), EXC_UD);
	CHECK_EQ(run_insn(f, clacf3, sizeof(clacf3)), EXC_UD);
	/* Without CR4.SMAP they work (and AC is just AC). */
	cr4_set(f, X86_CR4_SMAP, false);
	CHECK_EQ(run_insn(f, stac, sizeof(stac)), -1);
	CHECK(cpu->rflags & X86_RFLAGS_AC);
	CHECK_EQ(cpu->dpriv, SOFT_PRIV_SUP);
	/* CPL 3: #UD, AC unchanged. */
	fx_user64(f);
	CHECK_EQ(run_insn(f, clac, sizeof(clac)), EXC_UD);
	CHECK(cpu->rflags & X86_RFLAGS_AC);
	CHECK_EQ(run_insn(f, stac, sizeof(stac)), EXC_UD);
	fx_free(f);
}

/* CR4 takes exactly the bits CPUID announces; leaf 7 shows SMEP and SMAP
 * on both vendor models. */
static void cpuid_for(enum cpu_vendor vendor)
{
	struct fx *f = fx_new_vendor(vendor);
	struct soft_cpu *cpu = &f->cpu;
	u32 r[4];

	soft_cpuid(cpu, 7, 0, r);
	CHECK(r[1] & (1u << 7));     /* SMEP */
	CHECK(r[1] & (1u << 20));    /* SMAP */
	CHECK(!(r[1] & (1u << 0)));  /* no FSGSBASE */
	CHECK(!(r[2] & (1u << 16))); /* no LA57 */
	CHECK(!(r[2] & (1u << 31))); /* no PKS */
	OK(f, soft_write_cr(cpu, 4, X86_CR4_SMEP | X86_CR4_SMAP));
	OK(f, soft_write_cr(cpu, 4, 0));
	/* Not announced: FSGSBASE (16), LA57 (12), CET (23), PKS (24). */
	CHECK_FAULT(f, soft_write_cr(cpu, 4, 1ULL << 16), EXC_GP, 0);
	CHECK_FAULT(f, soft_write_cr(cpu, 4, 1ULL << 12), EXC_GP, 0);
	CHECK_FAULT(f, soft_write_cr(cpu, 4, 1ULL << 23), EXC_GP, 0);
	CHECK_FAULT(f, soft_write_cr(cpu, 4, 1ULL << 24), EXC_GP, 0);
	fx_free(f);
}

static void test_cpuid_cr4_intel(void)
{
	cpuid_for(CPU_VENDOR_INTEL);
}

static void test_cpuid_cr4_amd(void)
{
	cpuid_for(CPU_VENDOR_AMD);
}

int main(void)
{
	TEST_RUN(test_smep);
	TEST_RUN(test_smap);
	TEST_RUN(test_stac_clac);
	TEST_RUN(test_cpuid_cr4_intel);
	TEST_RUN(test_cpuid_cr4_amd);
	return test_done();
}
