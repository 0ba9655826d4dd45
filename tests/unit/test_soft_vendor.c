/* The vendor models against written-down values: for every difference in
 * the vendor table (src/cpu/soft/vendor.c) what the Intel model and the AMD
 * model must do, whatever the host is. The differential tests
 * (test_soft_alu, tests/oracle) compare the host's vendor with the host
 * itself; these cover the other vendor. The values follow each manual where
 * it defines them; where both say "undefined", they are what the processors
 * do (AMD rows measured on family 1Ah, Intel rows on the Intel hosts the
 * differential tests ran on before the AMD model existed). */
#include "cpu/soft/exec/exec.h"
#include "cpu/soft/vendor.h"
#include "soft_fixture.h"

#define ARITH 0x8d5ULL

#define CHECK_FAULT(cpu, stmt, vec, err)                                                           \
	do {                                                                                       \
		CHECK(FX_FAULTS(cpu, stmt));                                                       \
		CHECK_EQ((cpu)->pending_vector, (vec));                                            \
		CHECK_EQ((cpu)->pending_error, (err));                                             \
	} while (0)
#define OK(cpu, stmt) CHECK(!FX_FAULTS(cpu, stmt))

/* ---- undefined flags and results of the integer cores ------------------- */

enum kind { K_SHIFT, K_SHLD, K_SHRD, K_MULDIV, K_SCAN };

struct vec {
	enum kind kind;
	unsigned op, size;
	u64 a, b, c, fin;     /* c: count (shifts) or RDX (divides) */
	u64 intel[2], amd[2]; /* result, arithmetic flags */
};

/* op: group 2 /op for shifts (0 ROL 1 ROR 2 RCL 3 RCR 4 SHL 5 SHR 7 SAR),
 * 4 MUL 5 IMUL 6 DIV 7 IDIV (RDX:RAX by b, 64-bit), 2 TZCNT 3 LZCNT of b. */
static const struct vec vecs[] = {
    {K_SHIFT, 0, 1, 0x81, 0, 1, 0x2, {0x3, 0x801}, {0x3, 0x801}},
    {K_SHIFT, 0, 1, 0x81, 0, 2, 0x8d7, {0x6, 0x8d4}, {0x6, 0xd4}},
    {K_SHIFT, 0, 2, 0x4001, 0, 8, 0x2, {0x140, 0x800}, {0x140, 0}},
    {K_SHIFT, 0, 4, 0x80000001, 0, 16, 0x8d7, {0x18000, 0x8d4}, {0x18000, 0xd4}},
    {K_SHIFT,
     0,
     8,
     0xc000000000000001,
     0,
     63,
     0x2,
     {0xe000000000000000, 0},
     {0xe000000000000000, 0x800}},
    {K_SHIFT, 0, 1, 0x81, 0, 8, 0x2, {0x81, 0x801}, {0x81, 0x1}},
    {K_SHIFT, 1, 1, 0x81, 0, 1, 0x8d7, {0xc0, 0xd5}, {0xc0, 0xd5}},
    {K_SHIFT, 1, 1, 0x81, 0, 2, 0x2, {0x60, 0}, {0x60, 0x800}},
    {K_SHIFT, 1, 2, 0x8003, 0, 5, 0x8d7, {0x1c00, 0xd4}, {0x1c00, 0xd4}},
    {K_SHIFT, 1, 4, 0x12345678, 0, 31, 0x2, {0x2468acf0, 0}, {0x2468acf0, 0}},
    {K_SHIFT, 1, 8, 0x8000000000000003, 0, 33, 0x8d7, {0x1c0000000, 0xd4}, {0x1c0000000, 0xd4}},
    {K_SHIFT, 2, 1, 0x81, 0, 1, 0x2, {0x2, 0x801}, {0x2, 0x801}},
    {K_SHIFT, 2, 1, 0x81, 0, 8, 0x8d7, {0xc0, 0x8d5}, {0xc0, 0xd5}},
    {K_SHIFT, 2, 1, 0x81, 0, 9, 0x2, {0x81, 0}, {0x81, 0x800}}, /* 9 mod 9: AMD still sets OF */
    {K_SHIFT, 2, 2, 0xc001, 0, 17, 0x8d7, {0xc001, 0x8d5}, {0xc001, 0xd5}},
    {K_SHIFT, 2, 4, 0x40000000, 0, 3, 0x3, {0x5, 0x800}, {0x5, 0}},
    {K_SHIFT, 2, 8, 0x4000000000000000, 0, 2, 0x2, {0, 0x801}, {0, 0x801}},
    {K_SHIFT, 3, 1, 0x81, 0, 1, 0x3, {0xc0, 0x1}, {0xc0, 0x1}},
    {K_SHIFT, 3, 1, 0x81, 0, 3, 0x2, {0x50, 0x800}, {0x50, 0x800}},
    {K_SHIFT, 3, 1, 0x81, 0, 9, 0x8d7, {0x81, 0x8d5}, {0x81, 0x8d5}},
    {K_SHIFT, 3, 2, 0x8001, 0, 17, 0x2, {0x8001, 0}, {0x8001, 0x800}},
    {K_SHIFT, 3, 4, 0x80000001, 0, 4, 0x8d7, {0x38000000, 0xd4}, {0x38000000, 0xd4}},
    {K_SHIFT, 3, 8, 0x1, 0, 40, 0x3, {0x3000000, 0x800}, {0x3000000, 0}},
    {K_SHIFT, 4, 1, 0x81, 0, 1, 0x2, {0x2, 0x801}, {0x2, 0x811}},
    {K_SHIFT, 4, 1, 0x81, 0, 7, 0x8d7, {0x80, 0x880}, {0x80, 0x890}},
    {K_SHIFT, 4, 1, 0x81, 0, 8, 0x2, {0, 0x845}, {0, 0x855}},
    {K_SHIFT, 4, 1, 0x81, 0, 9, 0x8d7, {0, 0x844}, {0, 0x54}},
    {K_SHIFT, 4, 2, 0x4001, 0, 2, 0x2, {0x4, 0x801}, {0x4, 0x811}},
    {K_SHIFT, 4, 4, 0x60000000, 0, 1, 0x2, {0xc0000000, 0x884}, {0xc0000000, 0x894}},
    {K_SHIFT,
     4,
     8,
     0x3000000000000001,
     0,
     3,
     0x8d7,
     {0x8000000000000008, 0x81},
     {0x8000000000000008, 0x91}},
    {K_SHIFT, 5, 1, 0x81, 0, 1, 0x2, {0x40, 0x801}, {0x40, 0x811}},
    {K_SHIFT, 5, 1, 0x81, 0, 2, 0x8d7, {0x20, 0x800}, {0x20, 0x10}},
    {K_SHIFT, 5, 2, 0xc000, 0, 1, 0x2, {0x6000, 0x804}, {0x6000, 0x814}},
    {K_SHIFT, 5, 4, 0x80000000, 0, 31, 0x2, {0x1, 0x800}, {0x1, 0x10}},
    {K_SHIFT, 5, 8, 0x8000000000000000, 0, 63, 0x8d7, {0x1, 0x800}, {0x1, 0x10}},
    {K_SHIFT, 7, 1, 0x81, 0, 1, 0x2, {0xc0, 0x85}, {0xc0, 0x95}},
    {K_SHIFT, 7, 1, 0x81, 0, 3, 0x8d7, {0xf0, 0x84}, {0xf0, 0x94}},
    {K_SHIFT, 7, 2, 0x8000, 0, 15, 0x2, {0xffff, 0x84}, {0xffff, 0x94}},
    {K_SHIFT, 7, 4, 0x40000000, 0, 30, 0x8d7, {0x1, 0}, {0x1, 0x10}},
    {K_SHIFT,
     7,
     8,
     0x8000000000000001,
     0,
     1,
     0x2,
     {0xc000000000000000, 0x85},
     {0xc000000000000000, 0x95}},
    /* 16-bit SHLD/SHRD by 16 or more: the result itself is undefined. */
    {K_SHLD, 0, 2, 0x41f2, 0x7c, 20, 0x2, {0x7c4, 0x800}, {0x7c0, 0x14}},
    {K_SHLD, 0, 2, 0xc70c, 0xffff, 16, 0x8d7, {0xffff, 0x84}, {0xffff, 0x94}},
    {K_SHLD, 0, 2, 0x8001, 0x4000, 3, 0x2, {0xa, 0x804}, {0xa, 0x14}},
    {K_SHLD, 0, 4, 0x40000001, 0x80000000, 2, 0x8d7, {0x6, 0x805}, {0x6, 0x815}},
    {K_SHLD,
     0,
     8,
     0xc000000000000000,
     0x1,
     1,
     0x2,
     {0x8000000000000000, 0x85},
     {0x8000000000000000, 0x95}},
    {K_SHRD, 0, 2, 0x45, 0x10, 21, 0x2, {0x2800, 0x5}, {0x8000, 0x894}},
    {K_SHRD, 0, 2, 0x8001, 0x1234, 16, 0x8d7, {0x1234, 0x801}, {0x1234, 0x11}},
    {K_SHRD, 0, 2, 0x3, 0x8000, 2, 0x8d7, {0, 0x45}, {0, 0x55}},
    {K_SHRD, 0, 4, 0x80000003, 0x1, 3, 0x2, {0x30000000, 0x4}, {0x30000000, 0x14}},
    {K_SHRD, 0, 8, 0x2, 0x8000000000000000, 2, 0x8d7, {0, 0x45}, {0, 0x55}},
    {K_MULDIV,
     4,
     8,
     0xffffffffffffffff,
     0x3,
     0,
     0x8d7,
     {0xfffffffffffffffd, 0x881},
     {0xfffffffffffffffd, 0x8d5}},
    {K_MULDIV, 4, 8, 0x5, 0x7, 0, 0x2, {0x23, 0}, {0x23, 0}},
    {K_MULDIV,
     5,
     8,
     0xfffffffffffffffe,
     0x3,
     0,
     0xc2,
     {0xfffffffffffffffa, 0x84},
     {0xfffffffffffffffa, 0xc0}},
    {K_MULDIV, 5, 8, 0x4000000000000000, 0x4, 0, 0x14, {0, 0x805}, {0, 0x815}},
    {K_MULDIV, 6, 8, 0x64, 0x7, 0, 0x8d7, {0xe, 0x8d5}, {0xe, 0x811}},
    {K_MULDIV, 6, 8, 0, 0x9, 0, 0x2, {0, 0}, {0, 0x10}},
    {K_MULDIV,
     7,
     8,
     0xffffffffffffff9c,
     0x7,
     0xffffffffffffffff,
     0x8c5,
     {0xfffffffffffffff2, 0x8c5},
     {0xfffffffffffffff2, 0x811}},
    {K_MULDIV, 7, 8, 0x32, 0x5, 0, 0x41, {0xa, 0x41}, {0xa, 0x11}},
    {K_SCAN, 2, 8, 0x1111, 0x100, 0, 0x8d7, {0x8, 0}, {0x8, 0x800}},
    {K_SCAN, 2, 8, 0x1111, 0, 0, 0x802, {0x40, 0x1}, {0x40, 0x801}},
    {K_SCAN, 3, 8, 0x1111, 0x100, 0, 0xd7, {0x37, 0}, {0x37, 0}},
    {K_SCAN, 3, 8, 0x1111, 0, 0, 0x8c6, {0x40, 0x1}, {0x40, 0x801}},
};

static void vecs_for(enum cpu_vendor vendor)
{
	struct soft_cpu *cpu = aligned_alloc(_Alignof(struct soft_cpu), sizeof(*cpu));
	unsigned bad = 0;

	memset(cpu, 0, sizeof(*cpu)); /* aligned for the TLB's lines */
	cpu->mode = SOFT_MODE_LONG64;
	soft_vendor_set(cpu, vendor);
	for (unsigned i = 0; i < ARRAY_SIZE(vecs); i++) {
		const struct vec *v = &vecs[i];
		const u64 *want = vendor == CPU_VENDOR_AMD ? v->amd : v->intel;
		u64 f, res;
		unsigned count = (unsigned)(v->c & (v->size == 8 ? 63 : 31));
		u64 ax = v->a, dx = v->c;

		cpu->rflags = v->fin | X86_RFLAGS_FIXED;
		cpu->lazy.op = 0;
		switch (v->kind) {
		case K_SHIFT:
			res = soft_shift(cpu, v->op, v->size, v->a, count);
			break;
		case K_SHLD:
		case K_SHRD:
			res = soft_shxd(cpu, v->kind == K_SHLD, v->size, v->a, v->b, count);
			break;
		case K_MULDIV:
			CHECK(soft_muldiv_core(cpu, v->op, 8, &ax, &dx, v->b));
			res = ax;
			break;
		default:
			res = soft_bitscan(cpu, v->op, 8, v->b, v->a);
			break;
		}
		res &= soft_size_mask(v->size);
		f = soft_flags_get(cpu) & ARITH;
		if (res != want[0] || f != want[1]) {
			printf("  row %u: got %#llx flags %#llx, want %#llx flags %#llx\n", i,
			       (unsigned long long)res, (unsigned long long)f,
			       (unsigned long long)want[0], (unsigned long long)want[1]);
			bad++;
		}
	}
	CHECK_EQ(bad, 0);
	free(cpu);
}

static void test_flags_intel(void)
{
	vecs_for(CPU_VENDOR_INTEL);
}

static void test_flags_amd(void)
{
	vecs_for(CPU_VENDOR_AMD);
}

/* ---- whole instructions on a machine in 64-bit mode ----------------------
 * Code at CODE, data at DATA (identity-mapped 2 MiB pages), a 4 KiB page at
 * EDGE with nothing mapped after it. */
#define GDT  0x8000
#define CODE 0x400000
#define DATA 0x500000
#define EDGE 0x600000

static struct fx *machine_for(enum cpu_vendor vendor)
{
	struct fx *f = fx_new_vendor(vendor);
	u64 pml4 = fx_long(f, GDT);

	fx_map4(f, pml4, CODE, CODE, PTE_P | PTE_W, 21);
	fx_map4(f, pml4, EDGE, EDGE, PTE_P | PTE_W, 12);
	soft_tlb_flush(&f->cpu, false);
	f->cpu.cr4 |= X86_CR4_OSFXSR;
	return f;
}

/* Runs the instruction bytes at CODE; returns the pending vector or -1. */
static int run_insn(struct fx *f, const u8 *bytes, unsigned len)
{
	struct soft_cpu *cpu = &f->cpu;

	memcpy(fx_ptr(f, CODE), bytes, len);
	fx_ptr(f, CODE)[len] = 0xf4; /* HLT */
	cpu->rip = CODE;
	cpu->pending_vector = -1;
	soft_exec(cpu, 1);
	return cpu->pending_vector;
}

/* REP MOVSB with a 32-bit address size and ECX = 0: Intel still writes
 * RCX, RSI and RDI (zero-extended); AMD leaves them (SQ_STR_A32_LAZY_WRITE). */
static void rep_a32_for(enum cpu_vendor vendor)
{
	static const u8 insn[] = {0x67, 0xf3, 0xa4};
	struct fx *f = machine_for(vendor);
	struct soft_cpu *cpu = &f->cpu;
	bool amd = vendor == CPU_VENDOR_AMD;

	cpu->gpr[X86_RCX] = 0xdead000000000000ULL;
	cpu->gpr[X86_RSI] = 0xbeef000000000000ULL | DATA;
	cpu->gpr[X86_RDI] = 0xf00d000000000000ULL | (DATA + 0x100);
	CHECK_EQ(run_insn(f, insn, sizeof(insn)), -1);
	CHECK_EQ(cpu->gpr[X86_RCX], amd ? 0xdead000000000000ULL : 0);
	CHECK_EQ(cpu->gpr[X86_RSI], amd ? 0xbeef000000000000ULL | DATA : DATA);
	CHECK_EQ(cpu->gpr[X86_RDI], amd ? 0xf00d000000000000ULL | (DATA + 0x100) : DATA + 0x100);
	/* With iterations both vendors zero-extend. */
	cpu->gpr[X86_RCX] = 0xdead000000000002ULL;
	CHECK_EQ(run_insn(f, insn, sizeof(insn)), -1);
	CHECK_EQ(cpu->gpr[X86_RCX], 0);
	CHECK_EQ(cpu->gpr[X86_RSI], DATA + 2);
	fx_free(f);
}

/* REPNE SCASB running into an unmapped page after 3 bytes: RCX and RDI show
 * the progress on both; the flags are those from before the instruction
 * on Intel, those of the last comparison on AMD (SQ_REP_CMP_FAULT_NEW_FLAGS). */
static void rep_fault_for(enum cpu_vendor vendor)
{
	static const u8 insn[] = {0xf2, 0xae};
	struct fx *f = machine_for(vendor);
	struct soft_cpu *cpu = &f->cpu;
	u8 *edge = fx_ptr(f, EDGE + 0xffd);

	edge[0] = 1, edge[1] = 2, edge[2] = 0x90;
	cpu->gpr[X86_RAX] = 0x10; /* AL - 0x90 = 0x80: SF, OF, CF */
	cpu->gpr[X86_RCX] = 10;
	cpu->gpr[X86_RDI] = EDGE + 0xffd;
	cpu->rflags = X86_RFLAGS_FIXED | X86_RFLAGS_ZF | X86_RFLAGS_PF;
	CHECK_EQ(run_insn(f, insn, sizeof(insn)), EXC_PF);
	CHECK_EQ(cpu->gpr[X86_RCX], 7);
	CHECK_EQ(cpu->gpr[X86_RDI], EDGE + 0x1000);
	CHECK_EQ(soft_flags_get(cpu) & ARITH, vendor == CPU_VENDOR_AMD
						  ? X86_RFLAGS_SF | X86_RFLAGS_OF | X86_RFLAGS_CF
						  : X86_RFLAGS_ZF | X86_RFLAGS_PF);
	fx_free(f);
}

/* FXSAVE64 with no unmasked x87 exception pending: Intel stores FOP, FIP
 * and FDP, AMD zeros (SQ_FXSAVE_PTRS_IF_ES); with one pending both store
 * them. MXCSR_MASK is 0xffff on Intel, 0x2ffff on AMD (SQ_MXCSR_MM), and
 * LDMXCSR with bit 17 set is #GP(0) on Intel only. */
static void fxsave_for(enum cpu_vendor vendor)
{
	static const u8 fxsave64[] = {0x48, 0x0f, 0xae, 0x03}; /* fxsave64 [rbx] */
	static const u8 ldmxcsr[] = {0x0f, 0xae, 0x13};        /* ldmxcsr [rbx] */
	struct fx *f = machine_for(vendor);
	struct soft_cpu *cpu = &f->cpu;
	bool amd = vendor == CPU_VENDOR_AMD;
	u8 *img = fx_ptr(f, DATA);

	cpu->fx.fop = 0x123;
	cpu->fx.fip = 0x401000;
	cpu->fx.fdp = 0x502000;
	cpu->gpr[X86_RBX] = DATA;
	memset(img, 0xcc, 512);
	CHECK_EQ(run_insn(f, fxsave64, sizeof(fxsave64)), -1);
	CHECK_EQ(fx_rd32(f, DATA + 6) & 0xffff, amd ? 0 : 0x123);
	CHECK_EQ(fx_rd64(f, DATA + 8), amd ? 0 : 0x401000);
	CHECK_EQ(fx_rd64(f, DATA + 16), amd ? 0 : 0x502000);
	CHECK_EQ(fx_rd32(f, DATA + 28), amd ? 0x2ffff : 0xffff);
	cpu->fx.fcw &= ~1;              /* invalid operation unmasked... */
	cpu->fx.fsw |= 0x0001 | 0x0080; /* ...and pending: IE, ES */
	CHECK_EQ(run_insn(f, fxsave64, sizeof(fxsave64)), -1);
	CHECK_EQ(fx_rd32(f, DATA + 6) & 0xffff, 0x123);
	CHECK_EQ(fx_rd64(f, DATA + 8), 0x401000);
	fx_wr32(f, DATA, 0x21f80);
	CHECK_EQ(run_insn(f, ldmxcsr, sizeof(ldmxcsr)), amd ? -1 : EXC_GP);
	CHECK_EQ(cpu->fx.mxcsr, amd ? 0x21f80u : 0x1f80u);
	fx_free(f);
}

/* CVTPS2PI mm0, xmm1 with an unmasked precision exception: #XM on both;
 * AMD has already switched the x87 to MMX state (TOP 0, all tags valid),
 * Intel has not (SQ_MMX_BEFORE_XM). */
static void mmx_xm_for(enum cpu_vendor vendor)
{
	static const u8 cvtps2pi[] = {0x0f, 0x2d, 0xc1};
	static const float inexact[4] = {1.5f, 2.5f, 0, 0};
	struct fx *f = machine_for(vendor);
	struct soft_cpu *cpu = &f->cpu;
	bool amd = vendor == CPU_VENDOR_AMD;

	cpu->cr4 |= X86_CR4_OSXMMEXCPT;
	cpu->fx.mxcsr = 0x1f80 & ~0x1000u; /* precision unmasked */
	memcpy(cpu->fx.xmm[1], inexact, sizeof(inexact));
	cpu->fx.fsw = 3u << 11; /* TOP 3, x87 registers empty */
	cpu->fx.ftw_abridged = 0;
	CHECK_EQ(run_insn(f, cvtps2pi, sizeof(cvtps2pi)), EXC_XM);
	CHECK_EQ(cpu->fx.ftw_abridged, amd ? 0xff : 0);
	CHECK_EQ((cpu->fx.fsw >> 11) & 7, amd ? 0 : 3);
	fx_free(f);
}

/* SYSENTER and SYSEXIT in long mode: valid on Intel, #UD on AMD
 * (SQ_SYSENTER_LONG_UD). */
static void sysenter_for(enum cpu_vendor vendor)
{
	struct fx *f = machine_for(vendor);
	struct soft_cpu *cpu = &f->cpu;

	cpu->msr.sysenter_cs = 0x08;
	cpu->msr.sysenter_eip = 0xffffffff81000000ULL;
	cpu->msr.sysenter_esp = 0xffffffff81800000ULL;
	if (vendor == CPU_VENDOR_AMD) {
		CHECK_FAULT(cpu, soft_sysenter(cpu), EXC_UD, 0);
		CHECK_FAULT(cpu, soft_sysexit(cpu, 8), EXC_UD, 0);
	} else {
		OK(cpu, soft_sysenter(cpu));
		CHECK_EQ(cpu->rip, 0xffffffff81000000ULL);
		CHECK_EQ(cpu->gpr[X86_RSP], 0xffffffff81800000ULL);
	}
	fx_free(f);
}

static void cpuid_vendor(struct soft_cpu *cpu, u32 leaf, char out[13])
{
	u32 r[4];

	soft_cpuid(cpu, leaf, 0, r);
	memcpy(out, &r[1], 4);
	memcpy(out + 4, &r[3], 4);
	memcpy(out + 8, &r[2], 4);
	out[12] = 0;
}

/* The AMD model's CPUID (APM Vol. 3 Appendix E); test_soft_sys checks the
 * Intel model's. */
static void test_cpuid_amd(void)
{
	struct fx *f = fx_new_vendor(CPU_VENDOR_AMD);
	struct soft_cpu *cpu = &f->cpu;
	char name[13];
	u32 r[4], basic_edx;

	cpuid_vendor(cpu, 0, name);
	CHECK(!strcmp(name, "AuthenticAMD"));
	cpuid_vendor(cpu, 0x80000000, name);
	CHECK(!strcmp(name, "AuthenticAMD"));
	soft_cpuid(cpu, 0x80000000, 0, r);
	CHECK_EQ(r[0], 0x80000021);
	soft_cpuid(cpu, 1, 0, r);
	CHECK_EQ(((r[0] >> 8) & 0xf) + ((r[0] >> 20) & 0xff), 0x19); /* family */
	CHECK_EQ(cpu->gpr[X86_RDX], r[0]);                           /* after reset */
	basic_edx = r[3];
	soft_cpuid(cpu, 0x80000001, 0, r);
	CHECK_EQ(r[3] & 0x0183f3ffu, basic_edx & 0x0183f3ffu); /* mirrored bits */
	CHECK(r[3] & (1u << 29));                              /* LM */
	CHECK(r[2] & (1u << 5));                               /* ABM (LZCNT) */
	CHECK(!(r[2] & (1u << 1)));                            /* CmpLegacy: one core */
	soft_cpuid(cpu, 4, 0, r); /* Intel's cache leaf: nothing on AMD */
	CHECK_EQ(r[0] | r[1] | r[2] | r[3], 0);
	soft_cpuid(cpu, 0x80000005, 0, r);
	CHECK_EQ(r[2] & 0xff, 64); /* L1d line size */
	soft_cpuid(cpu, 0x80000006, 0, r);
	CHECK_EQ(r[3] >> 18, 32); /* L3 16 MiB */
	soft_cpuid(cpu, 0x80000021, 0, r);
	CHECK(r[0] & (1u << 6));     /* null selector clears base */
	soft_cpuid(cpu, 0x15, 0, r); /* Intel's TSC leaf: above AMD's highest basic leaf */
	CHECK_EQ(r[0] | r[1] | r[2] | r[3], 0);
	f->m.cfg.nr_cpus = 4;
	soft_cpuid(cpu, 0x80000008, 0, r);
	CHECK_EQ(r[2], 3 | (2u << 12)); /* 4 cores, 2 APIC id bits */
	soft_cpuid(cpu, 0x80000001, 0, r);
	CHECK(r[2] & (1u << 1));
	fx_free(f);
}

/* Above the highest basic leaf Intel repeats that leaf (SDM Vol. 2A CPUID). */
static void test_cpuid_intel_beyond(void)
{
	struct fx *f = fx_new_vendor(CPU_VENDOR_INTEL);
	u32 r[4], top[4];

	soft_cpuid(&f->cpu, 0x16, 0, top);
	soft_cpuid(&f->cpu, 0x20, 0, r);
	CHECK(!memcmp(r, top, sizeof(r)));
	soft_cpuid(&f->cpu, 0x80000021, 0, r); /* beyond the extended maximum too */
	CHECK(!memcmp(r, top, sizeof(r)));
	fx_free(f);
}

/* MSRs of one vendor fault on the other; AMD's HWCR says the TSC counts at
 * the P0 frequency; EFER.AIBRSE is writable on AMD only. */
static void msrs_for(enum cpu_vendor vendor)
{
	struct fx *f = fx_new_vendor(vendor);
	struct soft_cpu *cpu = &f->cpu;
	static const u32 intel_only[] = {0x17, 0x3a, 0x10a, 0x1a0};
	static const u32 amd_only[] = {0xc0010010, 0xc0010015, 0xc001001f, 0xc0011029};
	bool amd = vendor == CPU_VENDOR_AMD;
	u64 v = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(intel_only); i++) {
		bool faults = FX_FAULTS(cpu, soft_rdmsr(cpu, intel_only[i], &v));
		CHECK_EQ(faults, amd);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(amd_only); i++) {
		bool faults = FX_FAULTS(cpu, soft_rdmsr(cpu, amd_only[i], &v));
		CHECK_EQ(faults, !amd);
	}
	if (amd) {
		OK(cpu, soft_rdmsr(cpu, 0xc0010015, &v));
		CHECK(v & (1ULL << 24));
		OK(cpu, soft_wrmsr(cpu, 0xc001001f, 1ULL << 46));
		OK(cpu, soft_rdmsr(cpu, 0xc001001f, &v));
		CHECK_EQ(v, 1ULL << 46);
		CHECK_FAULT(cpu, soft_wrmsr(cpu, 0xc0010010, 1), EXC_GP, 0);
		OK(cpu, soft_wrmsr(cpu, 0xc0000080, 1ULL << 21));
		OK(cpu, soft_wrmsr(cpu, 0x48, 3)); /* SPEC_CTRL: IBRS, STIBP */
	} else {
		CHECK_FAULT(cpu, soft_wrmsr(cpu, 0xc0000080, 1ULL << 21), EXC_GP, 0);
		CHECK_FAULT(cpu, soft_wrmsr(cpu, 0x48, 3), EXC_GP, 0);
	}
	fx_free(f);
}

#define BOTH(name, fn)                                                                             \
	static void name##_intel(void)                                                             \
	{                                                                                          \
		fn(CPU_VENDOR_INTEL);                                                              \
	}                                                                                          \
	static void name##_amd(void)                                                               \
	{                                                                                          \
		fn(CPU_VENDOR_AMD);                                                                \
	}
BOTH(test_rep_a32, rep_a32_for)
BOTH(test_rep_fault, rep_fault_for)
BOTH(test_fxsave, fxsave_for)
BOTH(test_sysenter, sysenter_for)
BOTH(test_mmx_xm, mmx_xm_for)
BOTH(test_msrs, msrs_for)

/* Every quirk names the manual section it follows. */
static void test_table_sources(void)
{
	for (unsigned q = 0; q < SQ_COUNT; q++)
		CHECK(strstr(soft_quirk_source(q), "SDM") || strstr(soft_quirk_source(q), "APM"));
}

int main(void)
{
	TEST_RUN(test_flags_intel);
	TEST_RUN(test_flags_amd);
	TEST_RUN(test_rep_a32_intel);
	TEST_RUN(test_rep_a32_amd);
	TEST_RUN(test_rep_fault_intel);
	TEST_RUN(test_rep_fault_amd);
	TEST_RUN(test_fxsave_intel);
	TEST_RUN(test_fxsave_amd);
	TEST_RUN(test_sysenter_intel);
	TEST_RUN(test_sysenter_amd);
	TEST_RUN(test_mmx_xm_intel);
	TEST_RUN(test_mmx_xm_amd);
	TEST_RUN(test_cpuid_amd);
	TEST_RUN(test_cpuid_intel_beyond);
	TEST_RUN(test_msrs_intel);
	TEST_RUN(test_msrs_amd);
	TEST_RUN(test_table_sources);
	return test_done();
}
