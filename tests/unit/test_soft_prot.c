/* Soft engine access-rights features (Intel SDM Vol. 3A 4.6, 4.7): SMEP,
 * SMAP with EFLAGS.AC, STAC/CLAC and implicit supervisor accesses,
 * protection keys (PKRU, RDPKRU/WRPKRU, #PF's PK bit), UMIP; that the
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
#define E_PK 0x20u

#define GDT     0x8000
#define CODE    0x400000ULL   /* supervisor code page */
#define UCODE   0x401000ULL   /* user code page */
#define UDATA   0x10000000ULL /* user, writable */
#define URO     0x10001000ULL /* user, read-only */
#define KDATA   0x10002000ULL /* supervisor, writable */
#define UKEY5   0x10003000ULL /* user, writable, protection key 5 */
#define KKEY5   0x10004000ULL /* supervisor, writable, key bits 5 (no effect) */
#define UKEY0   0x10005000ULL /* user, writable, key 0 */
#define PKEY(k) ((u64)(k) << 59)

static const u8 stac[] = {0x0f, 0x01, 0xcb}, clac[] = {0x0f, 0x01, 0xca};
static const u8 rdpkru[] = {0x0f, 0x01, 0xee}, wrpkru[] = {0x0f, 0x01, 0xef};

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
	fx_map4(f, pml4, UKEY5, 0x503000, PTE_P | PTE_W | PTE_U | PKEY(5), 12);
	fx_map4(f, pml4, KKEY5, 0x504000, PTE_P | PTE_W | PKEY(5), 12);
	fx_map4(f, pml4, UKEY0, 0x505000, PTE_P | PTE_W | PTE_U, 12);
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

/* Protection keys (SDM Vol. 3A 4.6.2, 4.7): PKRU's AD/WD bits for the key
 * in bits 62:59 of a user-mode address's leaf, data accesses of either
 * privilege, WD binding supervisor writes only with CR0.WP; PK in #PF. */
static void test_pkeys(void)
{
	struct fx *f = machine_for(CPU_VENDOR_HOST);
	struct soft_cpu *cpu = &f->cpu;
	u8 b;

	/* CR4.PKE = 0: keys mean nothing, PKRU is not there. */
	cpu->pkru = 3u << 10; /* AD5 | WD5 */
	OK(f, soft_write(cpu, X86_DS, UKEY5, 8, 1));
	CHECK_EQ(run_insn(f, rdpkru, sizeof(rdpkru)), EXC_UD);
	CHECK_EQ(run_insn(f, wrpkru, sizeof(wrpkru)), EXC_UD);
	cr4_set(f, X86_CR4_PKE, true);

	/* AD5: no data access of either privilege; fetches are not data. */
	CHECK_PF(f, soft_read(cpu, X86_DS, UKEY5, 8), E_P | E_PK, UKEY5);
	CHECK_PF(f, soft_write(cpu, X86_DS, UKEY5, 8, 1), E_P | E_W | E_PK, UKEY5);
	OK(f, soft_read(cpu, X86_DS, KKEY5, 8)); /* supervisor page: keys do not apply */
	OK(f, soft_read(cpu, X86_DS, UKEY0, 8)); /* key 0 allows everything */
	fx_user64(f);
	CHECK_PF(f, soft_read(cpu, X86_DS, UKEY5 + 8, 8), E_P | E_U | E_PK, UKEY5 + 8);
	CHECK_PF(f, soft_write(cpu, X86_DS, UKEY5, 1, 1), E_P | E_W | E_U | E_PK, UKEY5);
	OK(f, soft_fetch(cpu, UKEY5, &b, 1));
	/* A user access to a supervisor page faults without PK. */
	CHECK_PF(f, soft_read(cpu, X86_DS, KKEY5, 8), E_P | E_U, KKEY5);

	/* WD5 only: reads pass; user writes fault, supervisor ones with WP. */
	cpu->pkru = 2u << 10;
	soft_tlb_flush(cpu, false);
	OK(f, soft_read(cpu, X86_DS, UKEY5, 8));
	CHECK_PF(f, soft_write(cpu, X86_DS, UKEY5, 8, 1), E_P | E_W | E_U | E_PK, UKEY5);
	kernel64(f);
	OK(f, soft_read(cpu, X86_DS, UKEY5, 8));
	CHECK_PF(f, soft_write(cpu, X86_DS, UKEY5, 8, 1), E_P | E_W | E_PK, UKEY5);
	OK(f, soft_write_cr(cpu, 0, cpu->cr0 & ~X86_CR0_WP));
	OK(f, soft_write(cpu, X86_DS, UKEY5, 8, 2));
	OK(f, soft_write_cr(cpu, 0, cpu->cr0 | X86_CR0_WP));
	/* PK is set whenever the key forbids the access, whatever else does:
	 * a read-only user page with WD, SMAP with AD. */
	fx_map4(f, cpu->cr3, URO, 0x501000, PTE_P | PTE_U | PKEY(5), 12);
	soft_tlb_flush(cpu, false);
	fx_user64(f);
	CHECK_PF(f, soft_write(cpu, X86_DS, URO, 4, 1), E_P | E_W | E_U | E_PK, URO);
	kernel64(f);
	cpu->pkru = 1u << 10;
	soft_tlb_flush(cpu, false);
	cr4_set(f, X86_CR4_SMAP, true);
	CHECK_PF(f, soft_read(cpu, X86_DS, UKEY5, 8), E_P | E_PK, UKEY5);
	CHECK_PF(f, soft_read(cpu, X86_DS, UKEY0, 8), E_P, UKEY0);
	set_ac(cpu, true);
	CHECK_PF(f, soft_read(cpu, X86_DS, UKEY5, 8), E_P | E_PK, UKEY5);
	OK(f, soft_read(cpu, X86_DS, UKEY0, 8));
	set_ac(cpu, false);
	cr4_set(f, X86_CR4_SMAP, false);
	/* Not present: no key, no PK. */
	CHECK_PF(f, soft_read(cpu, X86_DS, 0x30000000, 8), 0, 0x30000000);
	fx_free(f);
}

/* RDPKRU/WRPKRU (SDM Vol. 2B, 2D) and the TLB: a PKRU write drops the
 * entries of the keys whose bits changed, and only those. */
static void test_rdpkru_wrpkru(void)
{
	static const u8 wrpkru66[] = {0x66, 0x0f, 0x01, 0xef};
	struct fx *f = machine_for(CPU_VENDOR_HOST);
	struct soft_cpu *cpu = &f->cpu;
	u64 v = 0;

	cr4_set(f, X86_CR4_PKE, true);
	CHECK_EQ(cpu->pkru, 0);     /* reset value */
	fx_user64(f);               /* any CPL */
	cpu->gpr[X86_RAX] = 0x0c00; /* AD5 | WD5 */
	cpu->gpr[X86_RCX] = 0;
	cpu->gpr[X86_RDX] = 1;
	CHECK_EQ(run_insn(f, wrpkru, sizeof(wrpkru)), EXC_GP);
	CHECK_EQ(cpu->pending_error, 0);
	cpu->gpr[X86_RDX] = 0xffffffff00000000ULL; /* only EDX counts */
	cpu->gpr[X86_RCX] = 1;
	CHECK_EQ(run_insn(f, wrpkru, sizeof(wrpkru)), EXC_GP);
	CHECK_EQ(run_insn(f, rdpkru, sizeof(rdpkru)), EXC_GP);
	cpu->gpr[X86_RCX] = 0xffffffff00000000ULL;
	CHECK_EQ(run_insn(f, wrpkru66, sizeof(wrpkru66)), EXC_UD);
	CHECK_EQ(cpu->pkru, 0);

	/* Fill entries for key 5 and key 0 pages while PKRU allows all. */
	OK(f, soft_write(cpu, X86_DS, UKEY5, 8, 0x55));
	OK(f, soft_write(cpu, X86_DS, UKEY0, 8, 0x66));
	u64 gen = cpu->tlb.gen;
	CHECK_EQ(run_insn(f, wrpkru, sizeof(wrpkru)), -1);
	CHECK_EQ(cpu->pkru, 0x0c00);
	CHECK(cpu->tlb.gen != gen);
	CHECK_PF(f, soft_read(cpu, X86_DS, UKEY5, 8), E_P | E_U | E_PK, UKEY5);
	u64 misses = cpu->stat_tlb_misses;
	OK(f, v = soft_read(cpu, X86_DS, UKEY0, 8)); /* key 0's entry stayed */
	CHECK_EQ(v, 0x66);
	CHECK_EQ(cpu->stat_tlb_misses, misses);
	cpu->gpr[X86_RAX] = 0xdeadbeefdeadbeefULL;
	cpu->gpr[X86_RDX] = 0x1234;
	CHECK_EQ(run_insn(f, rdpkru, sizeof(rdpkru)), -1);
	CHECK_EQ(cpu->gpr[X86_RAX], 0x0c00);
	CHECK_EQ(cpu->gpr[X86_RDX], 0);
	/* The same value again drops nothing. */
	cpu->gpr[X86_RAX] = 0x0c00;
	gen = cpu->tlb.gen;
	CHECK_EQ(run_insn(f, wrpkru, sizeof(wrpkru)), -1);
	CHECK_EQ(cpu->tlb.gen, gen);
	/* WD5 alone: reads come back. */
	cpu->gpr[X86_RAX] = 0x0800;
	CHECK_EQ(run_insn(f, wrpkru, sizeof(wrpkru)), -1);
	OK(f, v = soft_read(cpu, X86_DS, UKEY5, 8));
	CHECK_EQ(v, 0x55);
	CHECK_PF(f, soft_write(cpu, X86_DS, UKEY5, 8, 0), E_P | E_W | E_U | E_PK, UKEY5);
	/* Turning CR4.PKE off drops the key's rights from the TLB. */
	kernel64(f);
	cr4_set(f, X86_CR4_PKE, false);
	OK(f, soft_write(cpu, X86_DS, UKEY5, 8, 0));
	/* INIT keeps PKRU, power-on clears it. */
	soft_init(cpu);
	CHECK_EQ(cpu->pkru, 0x0800);
	soft_reset(cpu);
	CHECK_EQ(cpu->pkru, 0);
	fx_free(f);
}

/* UMIP (SDM Vol. 3A 2.5): SGDT SIDT SLDT SMSW STR raise #GP(0) at CPL > 0. */
static void test_umip(void)
{
	static const struct {
		u8 b[4];
		unsigned len;
	} insns[] = {
	    {{0x0f, 0x01, 0x03}, 3}, /* sgdt [rbx] */
	    {{0x0f, 0x01, 0x0b}, 3}, /* sidt [rbx] */
	    {{0x0f, 0x00, 0xc0}, 3}, /* sldt eax */
	    {{0x0f, 0x00, 0xc8}, 3}, /* str eax */
	    {{0x0f, 0x01, 0xe0}, 3}, /* smsw eax */
	    {{0x0f, 0x01, 0x23}, 3}, /* smsw [rbx] */
	    {{0x0f, 0x00, 0x03}, 3}, /* sldt [rbx] */
	};
	struct fx *f = machine_for(CPU_VENDOR_HOST);
	struct soft_cpu *cpu = &f->cpu;

	cpu->gpr[X86_RBX] = UDATA;
	cr4_set(f, X86_CR4_UMIP, true);
	for (unsigned i = 0; i < ARRAY_SIZE(insns); i++) /* CPL 0: as ever */
		CHECK_EQ(run_insn(f, insns[i].b, insns[i].len), -1);
	fx_user64(f);
	for (unsigned i = 0; i < ARRAY_SIZE(insns); i++) {
		cpu->gpr[X86_RAX] = 0x77;
		CHECK_EQ(run_insn(f, insns[i].b, insns[i].len), EXC_GP);
		CHECK_EQ(cpu->pending_error, 0);
		CHECK_EQ(cpu->gpr[X86_RAX], 0x77);
	}
	/* The #GP comes before the memory operand is looked at. */
	cpu->gpr[X86_RBX] = KDATA;
	CHECK_EQ(run_insn(f, insns[0].b, insns[0].len), EXC_GP);
	/* Without UMIP, CPL 3 may. */
	kernel64(f);
	cr4_set(f, X86_CR4_UMIP, false);
	fx_user64(f);
	cpu->gpr[X86_RBX] = UDATA;
	for (unsigned i = 0; i < ARRAY_SIZE(insns); i++)
		CHECK_EQ(run_insn(f, insns[i].b, insns[i].len), -1);
	CHECK_EQ(cpu->gpr[X86_RAX], cpu->cr0 & 0xffffffff); /* smsw eax */
	fx_free(f);
}

/* CR4 takes exactly the bits CPUID announces; leaf 7 shows SMEP, SMAP,
 * UMIP, PKU on both vendor models, OSPKE following CR4.PKE. */
static void cpuid_for(enum cpu_vendor vendor)
{
	struct fx *f = fx_new_vendor(vendor);
	struct soft_cpu *cpu = &f->cpu;
	u32 r[4];

	soft_cpuid(cpu, 7, 0, r);
	CHECK(r[1] & (1u << 7));     /* SMEP */
	CHECK(r[1] & (1u << 20));    /* SMAP */
	CHECK(r[2] & (1u << 2));     /* UMIP */
	CHECK(r[2] & (1u << 3));     /* PKU */
	CHECK(!(r[2] & (1u << 4)));  /* OSPKE: CR4.PKE = 0 */
	CHECK(!(r[1] & (1u << 0)));  /* no FSGSBASE */
	CHECK(!(r[2] & (1u << 16))); /* no LA57 */
	CHECK(!(r[2] & (1u << 31))); /* no PKS */
	OK(f, soft_write_cr(cpu, 4, X86_CR4_UMIP | X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE));
	soft_cpuid(cpu, 7, 0, r);
	CHECK(r[2] & (1u << 4));
	OK(f, soft_write_cr(cpu, 4, 0));
	soft_cpuid(cpu, 7, 0, r);
	CHECK(!(r[2] & (1u << 4)));
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
	TEST_RUN(test_pkeys);
	TEST_RUN(test_rdpkru_wrpkru);
	TEST_RUN(test_umip);
	TEST_RUN(test_cpuid_cr4_intel);
	TEST_RUN(test_cpuid_cr4_amd);
	return test_done();
}
