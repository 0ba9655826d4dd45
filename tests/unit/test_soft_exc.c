/* Soft engine exception and interrupt delivery: IA-32e frames (same
 * privilege, privilege change, IST), protected mode, real mode, #DF, triple
 * fault, INT n DPL check, IRET back. */
#include "soft_fixture.h"

#define GDT        0x1000
#define IDT        0x2000
#define TSS        0x3000
#define RSP0       0x9000
#define IST1       0xa008
#define HANDLER(v) (0x400000ULL + (v)*0x10)

static void idt64_set(struct fx *f, unsigned vec, u16 sel, u64 target, unsigned type, unsigned dpl,
		      unsigned ist, bool present)
{
	u64 lo = (target & 0xffff) | ((u64)sel << 16) | ((u64)ist << 32) | ((u64)type << 40) |
		 ((u64)dpl << 45) | ((u64)present << 47) | (((target >> 16) & 0xffff) << 48);

	fx_wr64(f, IDT + vec * 16, lo);
	fx_wr64(f, IDT + vec * 16 + 8, target >> 32);
}

static u64 pop64(struct fx *f, unsigned i)
{
	return fx_rd64(f, f->cpu.gpr[X86_RSP] + 8 * i);
}

/* 64-bit mode, CPL 0, identity-mapped first 2 MiB, IDT with interrupt
 * gates for every vector, TR loaded (RSP0, IST1). */
static struct fx *long_setup(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 pml4 = fx_long(f, GDT);

	fx_map4(f, pml4, 0, 0, PTE_P | PTE_W, 21);
	fx_wr64(f, GDT + 0x28, fx_desc(TSS, 0x67, 0x9, 0, false, false, false) & ~(1ULL << 44));
	fx_wr64(f, GDT + 0x30, 0);
	memset(fx_ptr(f, TSS), 0, 0x68);
	fx_wr64(f, TSS + 4, RSP0);
	fx_wr64(f, TSS + 0x24, IST1);
	for (unsigned v = 0; v < 256; v++)
		idt64_set(f, v, 0x08, HANDLER(v), 0xe, 0, 0, true);
	cpu->idt = (struct x86_dtable){IDT, 256 * 16 - 1};
	CHECK(!FX_FAULTS(cpu, soft_ltr(cpu, 0x28)));
	CHECK_EQ((fx_rd64(f, GDT + 0x28) >> 40) & 0xf, 0xb); /* busy */
	cpu->gpr[X86_RSP] = 0x7ff8;
	cpu->rip = cpu->insn_rip = 0x1234;
	cpu->rflags = 0x202;
	return f;
}

static void test_long_same_cpl(void)
{
	struct fx *f = long_setup();
	struct soft_cpu *cpu = &f->cpu;

	CHECK(FX_FAULTS(cpu, soft_read(cpu, X86_DS, 0x12345000, 8)));
	CHECK_EQ(cpu->pending_vector, EXC_PF);
	soft_deliver_exception(cpu);
	CHECK_EQ(cpu->pending_vector, -1);
	CHECK_EQ(cpu->rip, HANDLER(14));
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x08);
	CHECK_EQ(cpu->gpr[X86_RSP], 0x7ff0 - 48);
	CHECK_EQ(pop64(f, 0), 0);      /* error code */
	CHECK_EQ(pop64(f, 1), 0x1234); /* RIP */
	CHECK_EQ(pop64(f, 2), 0x08);
	CHECK_EQ(pop64(f, 3), 0x10202); /* RF: a fault (SDM Vol. 3B 18.3.1.1) */
	CHECK_EQ(pop64(f, 4), 0x7ff8);
	CHECK_EQ(pop64(f, 5), 0x10);
	CHECK(!(cpu->rflags & X86_RFLAGS_IF));
	CHECK_EQ(cpu->cr2, 0x12345000);
	fx_free(f);
}

static void test_long_user(void)
{
	struct fx *f = long_setup();
	struct soft_cpu *cpu = &f->cpu;

	idt64_set(f, 0x80, 0x08, HANDLER(0x80), 0xf, 3, 0, true); /* trap gate, DPL 3 */
	fx_user64(f);
	cpu->gpr[X86_RSP] = 0x7000;
	cpu->insn_rip = 0x5000;
	cpu->rip = 0x5002;
	soft_deliver_interrupt(cpu, 0x80, SOFT_INT_SOFTWARE);
	CHECK_EQ(cpu->cpl, 0);
	CHECK_EQ(cpu->rip, HANDLER(0x80));
	CHECK_EQ(cpu->seg[X86_SS].selector, 0);
	CHECK_EQ(cpu->gpr[X86_RSP], RSP0 - 40);
	CHECK_EQ(pop64(f, 0), 0x5002);
	CHECK_EQ(pop64(f, 1), 0x23);
	CHECK_EQ(pop64(f, 2), 0x202);
	CHECK_EQ(pop64(f, 3), 0x7000);
	CHECK_EQ(pop64(f, 4), 0x1b);
	CHECK(cpu->rflags & X86_RFLAGS_IF); /* trap gate keeps IF */
	/* IRETQ back to CPL 3. */
	cpu->insn_rip = cpu->rip;
	CHECK(!FX_FAULTS(cpu, soft_iret(cpu, 8)));
	CHECK_EQ(cpu->cpl, 3);
	CHECK_EQ(cpu->rip, 0x5002);
	CHECK_EQ(cpu->gpr[X86_RSP], 0x7000);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x23);
	CHECK_EQ(cpu->seg[X86_SS].selector, 0x1b);
	CHECK_EQ(cpu->mode, SOFT_MODE_LONG64);

	/* INT 0x81 through a DPL-0 gate from CPL 3: #GP(0x81*8+2) at the INT. */
	cpu->insn_rip = 0x6000;
	cpu->rip = 0x6002;
	soft_deliver_interrupt(cpu, 0x81, SOFT_INT_SOFTWARE);
	CHECK_EQ(cpu->rip, HANDLER(13));
	CHECK_EQ(pop64(f, 0), 0x81 * 8 + 2);
	CHECK_EQ(pop64(f, 1), 0x6000);
	/* A hardware interrupt on the same gate ignores the DPL. */
	fx_user64(f);
	cpu->gpr[X86_RSP] = 0x7000;
	cpu->rip = 0x6100;
	soft_deliver_interrupt(cpu, 0x81, SOFT_INT_HW);
	CHECK_EQ(cpu->rip, HANDLER(0x81));
	CHECK_EQ(pop64(f, 0), 0x6100);
	fx_free(f);
}

static void test_long_ist(void)
{
	struct fx *f = long_setup();
	struct soft_cpu *cpu = &f->cpu;

	idt64_set(f, 2, 0x08, HANDLER(2), 0xe, 0, 1, true);
	soft_deliver_interrupt(cpu, 2, SOFT_INT_HW);
	CHECK_EQ(cpu->rip, HANDLER(2));
	CHECK_EQ(cpu->gpr[X86_RSP], (IST1 & ~0xfULL) - 40); /* aligned to 16 */
	CHECK_EQ(pop64(f, 3), 0x7ff8);
	CHECK(cpu->nmi_blocked);
	CHECK(!FX_FAULTS(cpu, soft_iret(cpu, 8)));
	CHECK(!cpu->nmi_blocked);
	CHECK_EQ(cpu->rip, 0x1234);
	CHECK_EQ(cpu->gpr[X86_RSP], 0x7ff8);
	fx_free(f);
}

static void test_double_fault(void)
{
	struct fx *f = long_setup();
	struct soft_cpu *cpu = &f->cpu;

	/* #GP whose gate is not present: #NP (contributory) -> #DF. */
	idt64_set(f, 13, 0x08, HANDLER(13), 0xe, 0, 0, false);
	CHECK(FX_FAULTS(cpu, soft_raise(cpu, EXC_GP, 0x18)));
	soft_deliver_exception(cpu);
	CHECK_EQ(cpu->rip, HANDLER(8));
	CHECK_EQ(pop64(f, 0), 0); /* #DF error code */
	CHECK_EQ(pop64(f, 1), 0x1234);
	CHECK(!cpu->shutdown);
	fx_free(f);

	/* #PF while pushing the #PF frame (unmapped stack) -> #DF on IST1. */
	f = long_setup();
	cpu = &f->cpu;
	idt64_set(f, 8, 0x08, HANDLER(8), 0xe, 0, 1, true);
	cpu->gpr[X86_RSP] = 0x300000;
	CHECK(FX_FAULTS(cpu, soft_read(cpu, X86_DS, 0x12345000, 8)));
	soft_deliver_exception(cpu);
	CHECK_EQ(cpu->rip, HANDLER(8));
	CHECK_EQ(cpu->gpr[X86_RSP], (IST1 & ~0xfULL) - 48);
	CHECK_EQ(pop64(f, 4), 0x300000);
	CHECK_EQ(cpu->cr2, 0x300000 - 48); /* the frame's first byte */
	fx_free(f);

	/* #PF while delivering #DE (contributory): handled serially, no #DF
	 * (SDM Vol. 3A Table 6-5). */
	f = long_setup();
	cpu = &f->cpu;
	idt64_set(f, 14, 0x08, HANDLER(14), 0xe, 0, 1, true);
	cpu->gpr[X86_RSP] = 0x300000;
	CHECK(FX_FAULTS(cpu, soft_raise_noerr(cpu, EXC_DE)));
	soft_deliver_exception(cpu);
	CHECK_EQ(cpu->rip, HANDLER(14));
	fx_free(f);
}

static void test_triple_fault(void)
{
	struct fx *f = long_setup();
	struct soft_cpu *cpu = &f->cpu;

	cpu->idt.limit = 0;
	CHECK(FX_FAULTS(cpu, soft_raise(cpu, EXC_GP, 0)));
	soft_deliver_exception(cpu);
	CHECK(cpu->shutdown);
	CHECK_EQ(cpu->rip, 0x1234); /* nothing was delivered */
	fx_free(f);
}

static void test_real_mode(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;

	fx_wr32(f, 0x10 * 4, (0x1234u << 16) | 0x5678);
	soft_seg_load_real(cpu, X86_CS, 0x2000);
	soft_seg_load_real(cpu, X86_SS, 0);
	cpu->gpr[X86_RSP] = 0x1000;
	cpu->rip = 0x102;
	cpu->insn_rip = 0x100;
	cpu->rflags = 0x202;
	cpu->idt = (struct x86_dtable){0, 0x3ff};
	soft_deliver_interrupt(cpu, 0x10, SOFT_INT_SOFTWARE);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x1234);
	CHECK_EQ(cpu->seg[X86_CS].base, 0x12340);
	CHECK_EQ(cpu->rip, 0x5678);
	CHECK_EQ(cpu->gpr[X86_RSP], 0xffa);
	CHECK_EQ(fx_rd32(f, 0xffa) & 0xffff, 0x102);
	CHECK_EQ(fx_rd32(f, 0xffc) & 0xffff, 0x2000);
	CHECK_EQ(fx_rd32(f, 0xffe) & 0xffff, 0x202);
	CHECK(!(cpu->rflags & X86_RFLAGS_IF));
	/* An exception never pushes an error code in real mode. */
	fx_wr32(f, 13 * 4, (0x3000u << 16) | 0x10);
	cpu->insn_rip = cpu->rip;
	CHECK(FX_FAULTS(cpu, soft_raise(cpu, EXC_GP, 0)));
	soft_deliver_exception(cpu);
	CHECK_EQ(cpu->gpr[X86_RSP], 0xffa - 6);
	CHECK(!FX_FAULTS(cpu, soft_iret(cpu, 2)));
	CHECK(!FX_FAULTS(cpu, soft_iret(cpu, 2)));
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x2000);
	CHECK_EQ(cpu->rip, 0x102);
	CHECK_EQ(cpu->gpr[X86_RSP], 0x1000);
	CHECK(cpu->rflags & X86_RFLAGS_IF);
	fx_free(f);
}

static void test_prot32_privilege(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 gate;

	fx_prot32(f, GDT);
	fx_wr64(f, GDT + 0x18, fx_desc(0, 0xfffff, 0xb, 3, false, true, true));
	fx_wr64(f, GDT + 0x20, fx_desc(0, 0xfffff, 0x3, 3, false, true, true));
	fx_wr64(f, GDT + 0x28, fx_desc(TSS, 0x67, 0x9, 0, false, false, false) & ~(1ULL << 44));
	fx_wr32(f, TSS + 4, RSP0);
	fx_wr32(f, TSS + 8, 0x10);
	gate = 0x4000 | (0x08ULL << 16) | (0xeULL << 40) | (3ULL << 45) | (1ULL << 47);
	fx_wr64(f, IDT + 0x80 * 8, gate);
	cpu->idt = (struct x86_dtable){IDT, 256 * 8 - 1};
	CHECK(!FX_FAULTS(cpu, soft_ltr(cpu, 0x28)));
	fx_seg(cpu, X86_CS, 0x1b, fx_desc(0, 0xfffff, 0xb, 3, false, true, true));
	fx_seg(cpu, X86_SS, 0x23, fx_desc(0, 0xfffff, 0x3, 3, false, true, true));
	soft_mode_update(cpu);
	CHECK_EQ(cpu->cpl, 3);
	cpu->gpr[X86_RSP] = 0x7000;
	cpu->rip = 0x5002;
	cpu->rflags = 0x202;
	soft_deliver_interrupt(cpu, 0x80, SOFT_INT_SOFTWARE);
	CHECK_EQ(cpu->cpl, 0);
	CHECK_EQ(cpu->rip, 0x4000);
	CHECK_EQ(cpu->seg[X86_SS].selector, 0x10);
	CHECK_EQ(cpu->gpr[X86_RSP], RSP0 - 20);
	CHECK_EQ(fx_rd32(f, RSP0 - 20), 0x5002);
	CHECK_EQ(fx_rd32(f, RSP0 - 16), 0x1b);
	CHECK_EQ(fx_rd32(f, RSP0 - 12), 0x202);
	CHECK_EQ(fx_rd32(f, RSP0 - 8), 0x7000);
	CHECK_EQ(fx_rd32(f, RSP0 - 4), 0x23);
	CHECK(!FX_FAULTS(cpu, soft_iret(cpu, 4)));
	CHECK_EQ(cpu->cpl, 3);
	CHECK_EQ(cpu->gpr[X86_RSP], 0x7000);
	CHECK_EQ(cpu->rip, 0x5002);
	CHECK_EQ(cpu->seg[X86_SS].selector, 0x23);
	/* Data segments with DPL 0 become null on the way out (SDM IRET). */
	CHECK(cpu->seg[X86_DS].unusable);
	fx_free(f);
}

int main(void)
{
	TEST_RUN(test_long_same_cpl);
	TEST_RUN(test_long_user);
	TEST_RUN(test_long_ist);
	TEST_RUN(test_double_fault);
	TEST_RUN(test_triple_fault);
	TEST_RUN(test_real_mode);
	TEST_RUN(test_prot32_privilege);
	return test_done();
}
