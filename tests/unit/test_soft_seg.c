/* Soft engine segmentation: descriptor loads and their faults, limit and
 * rights checks (expand-down too), 64-bit canonical checks and FS base,
 * SYSCALL/SYSRET, far JMP/CALL/RET (with a 64-bit call gate), the TSS I/O
 * bitmap and LAR/LSL/VERR. */
#include "soft_fixture.h"

#define GDT 0x1000
#define TSS 0x3000

#define CHECK_FAULT(cpu, stmt, vec, err)                                                           \
	do {                                                                                       \
		CHECK(FX_FAULTS(cpu, stmt));                                                       \
		CHECK_EQ((cpu)->pending_vector, (vec));                                            \
		CHECK_EQ((cpu)->pending_error, (err));                                             \
	} while (0)
#define OK(cpu, stmt) CHECK(!FX_FAULTS(cpu, stmt))

static void test_real_load(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;

	OK(cpu, soft_load_seg(cpu, X86_DS, 0x1234));
	CHECK_EQ(cpu->seg[X86_DS].base, 0x12340);
	CHECK_EQ(cpu->seg[X86_DS].limit, 0xffff);
	fx_free(f);
}

static void test_prot_load(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;

	fx_prot32(f, GDT);
	fx_wr64(f, GDT + 0x18, fx_desc(0x12345678, 0xfff, 0x2, 0, false, true, false));
	fx_wr64(f, GDT + 0x20, fx_desc(0, 0xfff, 0x2, 0, false, true, false) & ~(1ULL << 47));
	fx_wr64(f, GDT + 0x28, fx_desc(0, 0xfffff, 0x0, 0, false, true, true)); /* read-only */
	fx_wr64(f, GDT + 0x30, fx_desc(0, 0xfffff, 0x8, 0, false, true, true)); /* exec-only */
	fx_wr64(f, GDT + 0x38, fx_desc(0, 0xfffff, 0x2, 3, false, true, true)); /* DPL 3 */
	OK(cpu, soft_load_seg(cpu, X86_DS, 0x18));
	CHECK_EQ(cpu->seg[X86_DS].base, 0x12345678);
	CHECK_EQ(cpu->seg[X86_DS].limit, 0xfff);
	CHECK_EQ(cpu->seg[X86_DS].type, 0x3);
	CHECK((fx_rd64(f, GDT + 0x18) >> 40) & 1); /* accessed bit written back */

	CHECK_FAULT(cpu, soft_load_seg(cpu, X86_DS, 0x80), EXC_GP, 0x80); /* beyond limit */
	CHECK_FAULT(cpu, soft_load_seg(cpu, X86_ES, 0x20), EXC_NP, 0x20); /* not present */
	CHECK_FAULT(cpu, soft_load_seg(cpu, X86_ES, 0x1b), EXC_GP, 0x18); /* RPL 3 > DPL 0 */
	CHECK_FAULT(cpu, soft_load_seg(cpu, X86_ES, 0x30), EXC_GP, 0x30); /* exec-only code */
	CHECK_FAULT(cpu, soft_load_seg(cpu, X86_SS, 0), EXC_GP, 0);       /* null SS */
	CHECK_FAULT(cpu, soft_load_seg(cpu, X86_SS, 0x28), EXC_GP, 0x28); /* read-only SS */
	CHECK_FAULT(cpu, soft_load_seg(cpu, X86_SS, 0x38), EXC_GP, 0x38); /* DPL != CPL */
	CHECK_FAULT(cpu, soft_load_seg(cpu, X86_SS, 0x20), EXC_SS, 0x20); /* not present */
	/* A null selector loads into DS; using it faults. */
	OK(cpu, soft_load_seg(cpu, X86_DS, 0));
	CHECK(cpu->seg[X86_DS].unusable);
	CHECK_FAULT(cpu, soft_read(cpu, X86_DS, 0, 1), EXC_GP, 0);
	fx_free(f);
}

static void test_limits(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;

	fx_prot32(f, GDT);
	fx_seg(cpu, X86_DS, 0x18, fx_desc(0, 0xfff, 0x3, 0, false, true, false));
	fx_seg(cpu, X86_SS, 0x10, fx_desc(0, 0xfff, 0x3, 0, false, true, false));
	OK(cpu, soft_read(cpu, X86_DS, 0xffc, 4));
	CHECK_FAULT(cpu, soft_read(cpu, X86_DS, 0xffd, 4), EXC_GP, 0);
	CHECK_FAULT(cpu, soft_write(cpu, X86_SS, 0xfff, 2, 0), EXC_SS, 0);
	/* Expand-down, 32-bit: valid offsets are limit+1 .. 0xffffffff. */
	fx_seg(cpu, X86_ES, 0x20, fx_desc(0, 0xfff, 0x7, 0, false, true, false));
	CHECK_FAULT(cpu, soft_read(cpu, X86_ES, 0xfff, 1), EXC_GP, 0);
	CHECK_FAULT(cpu, soft_read(cpu, X86_ES, 0xfffffffd, 4), EXC_GP, 0);
	OK(cpu, soft_read(cpu, X86_ES, 0x1000, 4));
	/* Expand-down, 16-bit (B=0): the top is 0xffff. */
	fx_seg(cpu, X86_FS, 0x20, fx_desc(0, 0xfff, 0x7, 0, false, false, false));
	OK(cpu, soft_read(cpu, X86_FS, 0xfffc, 4));
	CHECK_FAULT(cpu, soft_read(cpu, X86_FS, 0xfffd, 4), EXC_GP, 0);
	/* Writes need a writable data segment; reads of code need R. */
	fx_seg(cpu, X86_GS, 0x28, fx_desc(0, 0xfffff, 0x1, 0, false, true, true));
	OK(cpu, soft_read(cpu, X86_GS, 0x100, 4));
	CHECK_FAULT(cpu, soft_write(cpu, X86_GS, 0x100, 4, 0), EXC_GP, 0);
	fx_seg(cpu, X86_GS, 0x30, fx_desc(0, 0xfffff, 0x9, 0, false, true, true));
	CHECK_FAULT(cpu, soft_read(cpu, X86_GS, 0x100, 4), EXC_GP, 0);
	fx_free(f);
}

static void test_long_fs(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 pml4 = fx_long(f, GDT), v = 0;

	fx_map4(f, pml4, 0x10000000, 0x200000, PTE_P | PTE_W, 12);
	fx_wr64(f, 0x200010, 0x42);
	OK(cpu, soft_wrmsr(cpu, 0xc0000100, 0x10000000));
	OK(cpu, v = soft_read(cpu, X86_FS, 0x10, 8));
	CHECK_EQ(v, 0x42);
	/* DS base is ignored in 64-bit mode. */
	cpu->seg[X86_DS].base = 0x1000;
	OK(cpu, v = soft_read(cpu, X86_DS, 0x10000010, 8));
	CHECK_EQ(v, 0x42);
	CHECK_FAULT(cpu, soft_wrmsr(cpu, 0xc0000100, 0x0000800000000000ULL), EXC_GP, 0);
	/* Null SS is fine at CPL 0 in 64-bit mode. */
	OK(cpu, soft_load_seg(cpu, X86_SS, 0));
	CHECK_EQ(cpu->cpl, 0);
	fx_free(f);
}

/* SYSCALL/SYSRET in 64-bit mode; where the vendors differ (a non-canonical
 * SYSRET target, SYSCALL from compatibility mode) each model as its manual
 * says: SDM Vol. 2B SYSRET/SYSCALL, APM Vol. 3 SYSRET/SYSCALL. */
static void syscall_for(enum cpu_vendor vendor)
{
	struct fx *f = fx_new_vendor(vendor);
	struct soft_cpu *cpu = &f->cpu;
	bool amd = vendor == CPU_VENDOR_AMD;

	fx_long(f, GDT);
	cpu->msr.star = (0x10ULL << 48) | (0x08ULL << 32);
	cpu->msr.lstar = 0xffffffff81000000ULL;
	cpu->msr.cstar = 0xffffffff82000000ULL;
	cpu->msr.sfmask = X86_RFLAGS_IF | X86_RFLAGS_TF;
	fx_user64(f);
	cpu->rip = 0x400100;
	cpu->rflags = 0x302;
	OK(cpu, soft_syscall(cpu));
	CHECK_EQ(cpu->cpl, 0);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x08);
	CHECK_EQ(cpu->seg[X86_SS].selector, 0x10);
	CHECK_EQ(cpu->rip, 0xffffffff81000000ULL);
	CHECK_EQ(cpu->gpr[X86_RCX], 0x400100);
	CHECK_EQ(cpu->gpr[X86_R11], 0x302);
	CHECK_EQ(soft_flags_get(cpu) & (X86_RFLAGS_IF | X86_RFLAGS_TF), 0);
	OK(cpu, soft_sysret(cpu, 8));
	CHECK_EQ(cpu->cpl, 3);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x23);
	CHECK_EQ(cpu->seg[X86_SS].selector, 0x1b);
	CHECK_EQ(cpu->rip, 0x400100);
	CHECK_EQ(soft_flags_get(cpu), 0x302);
	CHECK_EQ(cpu->mode, SOFT_MODE_LONG64);
	/* SYSRET at CPL 3: #GP(0). */
	CHECK_FAULT(cpu, soft_sysret(cpu, 8), EXC_GP, 0);
	OK(cpu, soft_syscall(cpu));
	/* A non-canonical RCX: Intel #GP(0) at CPL 0; AMD returns (the fetch
	 * at CPL 3 faults later). */
	cpu->gpr[X86_RCX] = 0x0000800000000000ULL;
	if (amd) {
		OK(cpu, soft_sysret(cpu, 8));
		CHECK_EQ(cpu->rip, 0x0000800000000000ULL);
		CHECK_EQ(cpu->cpl, 3);
		OK(cpu, soft_syscall(cpu));
	} else {
		CHECK_FAULT(cpu, soft_sysret(cpu, 8), EXC_GP, 0);
	}
	/* SYSRET to compatibility mode. */
	cpu->gpr[X86_RCX] = 0x1234;
	OK(cpu, soft_sysret(cpu, 4));
	CHECK_EQ(cpu->mode, SOFT_MODE_COMPAT);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x13);
	/* SYSCALL from compatibility mode: Intel #UD; AMD enters at CSTAR. */
	cpu->rip = 0x1236;
	if (amd) {
		OK(cpu, soft_syscall(cpu));
		CHECK_EQ(cpu->rip, 0xffffffff82000000ULL);
		CHECK_EQ(cpu->gpr[X86_RCX], 0x1236);
		CHECK_EQ(cpu->mode, SOFT_MODE_LONG64);
		CHECK_EQ(cpu->cpl, 0);
	} else {
		CHECK_FAULT(cpu, soft_syscall(cpu), EXC_UD, 0);
	}
	/* EFER.SCE off: #UD. */
	cpu->efer &= ~X86_EFER_SCE;
	fx_user64(f);
	CHECK_FAULT(cpu, soft_syscall(cpu), EXC_UD, 0);
	fx_free(f);
}

static void test_syscall_intel(void)
{
	syscall_for(CPU_VENDOR_INTEL);
}

static void test_syscall_amd(void)
{
	syscall_for(CPU_VENDOR_AMD);
}

static void test_call_gate64(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 pml4 = fx_long(f, GDT), sp;
	u64 target = 0x500000;

	fx_map4(f, pml4, 0, 0, PTE_P | PTE_W, 21);
	fx_wr64(f, GDT + 0x28, fx_desc(TSS, 0x67, 0x9, 0, false, false, false) & ~(1ULL << 44));
	fx_wr64(f, TSS + 4, 0x9000);
	OK(cpu, soft_ltr(cpu, 0x28));
	/* 64-bit call gate at 0x38 (16 bytes), DPL 3, to 0x08:target. */
	fx_wr64(f, GDT + 0x38,
		(target & 0xffff) | (0x08ULL << 16) | (0xcULL << 40) | (3ULL << 45) | (1ULL << 47) |
		    (((target >> 16) & 0xffff) << 48));
	fx_wr64(f, GDT + 0x40, target >> 32);
	fx_user64(f);
	cpu->gpr[X86_RSP] = 0x7000;
	cpu->rip = 0x400200;
	OK(cpu, soft_far_call(cpu, 0x3b, 0, 8));
	CHECK_EQ(cpu->cpl, 0);
	CHECK_EQ(cpu->rip, target);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x08);
	CHECK_EQ(cpu->seg[X86_SS].selector, 0);
	sp = cpu->gpr[X86_RSP];
	CHECK_EQ(sp, 0x9000 - 32);
	CHECK_EQ(fx_rd64(f, sp), 0x400200);
	CHECK_EQ(fx_rd64(f, sp + 8), 0x23);
	CHECK_EQ(fx_rd64(f, sp + 16), 0x7000);
	CHECK_EQ(fx_rd64(f, sp + 24), 0x1b);
	OK(cpu, soft_far_ret(cpu, 8, 0));
	CHECK_EQ(cpu->cpl, 3);
	CHECK_EQ(cpu->rip, 0x400200);
	CHECK_EQ(cpu->gpr[X86_RSP], 0x7000);
	CHECK_EQ(cpu->seg[X86_SS].selector, 0x1b);
	/* A far JMP through it cannot change privilege: #GP(target). */
	CHECK_FAULT(cpu, soft_far_jump(cpu, 0x3b, 0, 8), EXC_GP, 0x08);
	/* Task gates are refused. */
	fx_wr64(f, GDT + 0x48, (5ULL << 40) | (3ULL << 45) | (1ULL << 47));
	CHECK_FAULT(cpu, soft_far_jump(cpu, 0x4b, 0, 8), EXC_GP, 0x48);
	fx_free(f);
}

static void test_far_jump(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;

	fx_prot32(f, GDT);
	fx_wr64(f, GDT + 0x18, fx_desc(0, 0xffff, 0xb, 0, false, false, false)); /* 16-bit code */
	fx_wr64(f, GDT + 0x20, fx_desc(0, 0xfffff, 0xb, 3, false, true, true));  /* DPL 3 */
	OK(cpu, soft_far_jump(cpu, 0x18, 0x1234, 4));
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x18);
	CHECK_EQ(cpu->rip, 0x1234);
	CHECK_EQ(cpu->code_size, 2);
	CHECK_FAULT(cpu, soft_far_jump(cpu, 0x18, 0x10000, 4), EXC_GP, 0); /* beyond limit */
	CHECK_FAULT(cpu, soft_far_jump(cpu, 0x10, 0, 4), EXC_GP, 0x10);    /* data segment */
	CHECK_FAULT(cpu, soft_far_jump(cpu, 0x23, 0, 4), EXC_GP, 0x20);    /* DPL != CPL */
	CHECK_FAULT(cpu, soft_far_jump(cpu, 0, 0, 4), EXC_GP, 0);
	/* Far CALL pushes CS:EIP; far RET pops them. */
	cpu->gpr[X86_RSP] = 0x8000;
	cpu->rip = 0x2222;
	OK(cpu, soft_far_call(cpu, 0x08, 0x3333, 4));
	CHECK_EQ(cpu->gpr[X86_RSP], 0x7ff8);
	CHECK_EQ(fx_rd32(f, 0x7ff8), 0x2222);
	CHECK_EQ(fx_rd32(f, 0x7ffc), 0x18);
	OK(cpu, soft_far_ret(cpu, 4, 8));
	CHECK_EQ(cpu->rip, 0x2222);
	CHECK_EQ(cpu->gpr[X86_RSP], 0x8008);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x18);
	fx_free(f);
}

static void test_io_bitmap(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;

	fx_prot32(f, GDT);
	fx_wr64(f, GDT + 0x28,
		fx_desc(TSS, 0x68 + 0x80, 0x9, 0, false, false, false) & ~(1ULL << 44));
	OK(cpu, soft_ltr(cpu, 0x28));
	fx_wr32(f, TSS + 100, 0x68u << 16); /* I/O map base */
	memset(fx_ptr(f, TSS + 0x68), 0xff, 0x80);
	fx_ptr(f, TSS + 0x68 + 0x3f8 / 8)[0] = 0xfe; /* only port 0x3f8 allowed */
	CHECK(soft_io_allowed(cpu, 0x80, 1));        /* CPL 0 <= IOPL 0 */
	fx_seg(cpu, X86_SS, 0x23, fx_desc(0, 0xfffff, 0x3, 3, false, true, true));
	soft_mode_update(cpu);
	CHECK(soft_io_allowed(cpu, 0x3f8, 1));
	CHECK(!soft_io_allowed(cpu, 0x3f8, 2));
	CHECK(!soft_io_allowed(cpu, 0x80, 1));
	CHECK(!soft_io_allowed(cpu, 0x500, 1)); /* bitmap beyond the TSS limit */
	cpu->rflags |= 3ULL << 12;              /* IOPL 3 */
	CHECK(soft_io_allowed(cpu, 0x80, 1));
	fx_free(f);
}

static void test_lar_lsl(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u32 v = 0;

	fx_prot32(f, GDT);
	CHECK(soft_lsl(cpu, 0x10, &v));
	CHECK_EQ(v, 0xffffffff);
	CHECK(soft_lar(cpu, 0x08, &v));
	CHECK_EQ(v, 0x00c09b00); /* limit 19:16 masked */
	CHECK(!soft_lar(cpu, 0, &v));
	CHECK(!soft_lsl(cpu, 0x400, &v));
	CHECK(soft_verr(cpu, 0x08, false));
	CHECK(!soft_verr(cpu, 0x08, true));
	CHECK(soft_verr(cpu, 0x10, true));
	fx_free(f);
}

int main(void)
{
	TEST_RUN(test_real_load);
	TEST_RUN(test_prot_load);
	TEST_RUN(test_limits);
	TEST_RUN(test_long_fs);
	TEST_RUN(test_syscall_intel);
	TEST_RUN(test_syscall_amd);
	TEST_RUN(test_call_gate64);
	TEST_RUN(test_far_jump);
	TEST_RUN(test_io_bitmap);
	TEST_RUN(test_lar_lsl);
	return test_done();
}
