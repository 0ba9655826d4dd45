/* Soft engine system state: reset/INIT/SIPI, control-register rules and
 * IA-32e activation, MSRs (EFER, PAT, MTRR, TSC, kvmclock), CPUID leaves
 * (of the Intel model where the vendors differ). */
#include "soft_fixture.h"

#define CHECK_FAULT(cpu, stmt, vec, err)                                                           \
	do {                                                                                       \
		CHECK(FX_FAULTS(cpu, stmt));                                                       \
		CHECK_EQ((cpu)->pending_vector, (vec));                                            \
		CHECK_EQ((cpu)->pending_error, (err));                                             \
	} while (0)
#define OK(cpu, stmt) CHECK(!FX_FAULTS(cpu, stmt))

static void test_reset(void)
{
	struct fx *f = fx_new_vendor(CPU_VENDOR_INTEL);
	struct soft_cpu *cpu = &f->cpu;

	CHECK_EQ(cpu->mode, SOFT_MODE_REAL);
	CHECK_EQ(cpu->rip, 0xfff0);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0xf000);
	CHECK_EQ(cpu->seg[X86_CS].base, 0xffff0000);
	CHECK_EQ(cpu->cr0, 0x60000010);
	CHECK_EQ(cpu->rflags, 2);
	CHECK_EQ(cpu->gpr[X86_RDX] >> 8 & 0xf, 6); /* family 6 */
	CHECK_EQ(cpu->pending_vector, -1);
	cpu->msr.lstar = 0x1234;
	soft_init(cpu);
	CHECK_EQ(cpu->msr.lstar, 0x1234); /* INIT keeps MSRs */
	soft_sipi(cpu, 0x9a);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x9a00);
	CHECK_EQ(cpu->seg[X86_CS].base, 0x9a000);
	CHECK_EQ(cpu->rip, 0);
	fx_free(f);
}

static void test_cr_rules(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u64 pml4;

	CHECK_FAULT(cpu, soft_write_cr(cpu, 0, X86_CR0_PG), EXC_GP, 0);     /* PG without PE */
	CHECK_FAULT(cpu, soft_write_cr(cpu, 0, X86_CR0_NW | 1), EXC_GP, 0); /* NW without CD */
	CHECK_FAULT(cpu, soft_write_cr(cpu, 0, 1ULL << 32), EXC_GP, 0);
	CHECK_FAULT(cpu, soft_write_cr(cpu, 4, 1ULL << 13), EXC_GP, 0); /* VMXE */
	CHECK_FAULT(cpu, soft_write_cr(cpu, 8, 16), EXC_GP, 0);
	CHECK_FAULT(cpu, soft_write_cr(cpu, 5, 0), EXC_UD, 0);
	/* IA-32e activation: LME + PAE + PG sets LMA. */
	fx_prot32(f, 0x1000);
	pml4 = fx_page(f);
	fx_map4(f, pml4, 0, 0, PTE_P | PTE_W, 21);
	OK(cpu, soft_wrmsr(cpu, 0xc0000080, X86_EFER_LME));
	CHECK_FAULT(cpu, soft_write_cr(cpu, 0, cpu->cr0 | X86_CR0_PG), EXC_GP, 0); /* no PAE */
	OK(cpu, soft_write_cr(cpu, 4, X86_CR4_PAE));
	OK(cpu, soft_write_cr(cpu, 3, pml4));
	OK(cpu, soft_write_cr(cpu, 0, cpu->cr0 | X86_CR0_PG));
	CHECK(cpu->efer & X86_EFER_LMA);
	CHECK_EQ(cpu->mode, SOFT_MODE_COMPAT);
	CHECK_FAULT(cpu, soft_write_cr(cpu, 4, 0), EXC_GP, 0);          /* PAE off in IA-32e */
	CHECK_FAULT(cpu, soft_write_cr(cpu, 3, 1ULL << 40), EXC_GP, 0); /* beyond MAXPHYADDR */
	CHECK_FAULT(cpu, soft_wrmsr(cpu, 0xc0000080, 0), EXC_GP, 0);    /* LME with PG on */
	/* Leaving: PG off clears LMA (from compatibility mode). */
	OK(cpu, soft_write_cr(cpu, 0, cpu->cr0 & ~X86_CR0_PG));
	CHECK(!(cpu->efer & X86_EFER_LMA));
	/* CPL 3 may not touch CRs. */
	fx_seg(cpu, X86_SS, 0x23, fx_desc(0, 0xfffff, 0x3, 3, false, true, true));
	soft_mode_update(cpu);
	CHECK_FAULT(cpu, soft_read_cr(cpu, 0), EXC_GP, 0);
	fx_free(f);
}

/* The Intel model's MSRs; test_soft_vendor has the AMD model's. */
static void test_msrs(void)
{
	struct fx *f = fx_new_vendor(CPU_VENDOR_INTEL);
	struct soft_cpu *cpu = &f->cpu;
	u64 v = 0, t0 = 0;

	CHECK_FAULT(cpu, soft_rdmsr(cpu, 0x12345, &v), EXC_GP, 0);
	CHECK_FAULT(cpu, soft_wrmsr(cpu, 0xc0000080, 1ULL << 9), EXC_GP, 0);
	CHECK_FAULT(cpu, soft_wrmsr(cpu, 0x277, 0x0000000000000002ULL), EXC_GP, 0); /* PAT type 2 */
	CHECK_FAULT(cpu, soft_rdmsr(cpu, 0x49, &v), EXC_GP, 0); /* PRED_CMD is write-only */
	OK(cpu, soft_wrmsr(cpu, 0x277, 0x0007040600070406ULL));
	OK(cpu, soft_rdmsr(cpu, 0xfe, &v));
	CHECK_EQ(v & 0xff, 8);
	OK(cpu, soft_rdmsr(cpu, 0x2ff, &v));
	CHECK_EQ(v & 0xcff, 0xc06);
	OK(cpu, soft_wrmsr(cpu, 0x201, ((1ULL << 39) - 1) & ~0xfffULL & ~(1ULL * GiB - 1)));
	CHECK_FAULT(cpu, soft_wrmsr(cpu, 0x200, 2), EXC_GP, 0);
	OK(cpu, soft_rdmsr(cpu, 0x10a, &v));
	CHECK(v & 1); /* RDCL_NO */
	/* TSC: 1 GHz from the host clock; a write moves it. */
	OK(cpu, soft_wrmsr(cpu, 0x10, 1000000000000ULL));
	OK(cpu, t0 = soft_rdtsc(cpu));
	CHECK(t0 >= 1000000000000ULL && t0 < 1000000000000ULL + 1000000000ULL);
	OK(cpu, soft_rdmsr(cpu, 0x10, &v));
	CHECK(v >= t0);
	fx_free(f);
}

/* A CPU template's MSR modifiers (cpu/msr_mods.h) over the reset values;
 * those that IA32_ARCH_CAPABILITIES then names exist. */
static void test_msr_template(void)
{
	struct fx *f = fx_new_vendor(CPU_VENDOR_INTEL);
	struct soft_cpu *cpu = &f->cpu;
	struct vm_config *cfg = &f->m.cfg;
	u64 v = 0;

	CHECK_FAULT(cpu, soft_rdmsr(cpu, 0x122, &v), EXC_GP, 0); /* no TSX_CTRL by default */
	CHECK_FAULT(cpu, soft_rdmsr(cpu, 0xbc, &v), EXC_GP, 0);
	cfg->msr_mods[0] = (struct msr_mod){0x10a, .mask = 0xfff, .value = 0xc84}; /* 2 7 10 11 */
	cfg->msr_mods[1] = (struct msr_mod){0x1a0, .mask = 1ULL << 16, .value = 1ULL << 16};
	cfg->msr_mods[2] = (struct msr_mod){0x277, .mask = 0xffULL << 56, .value = 1ULL << 56};
	cfg->msr_mods[3] = (struct msr_mod){0x10a, .mask = 1ULL << 62, .value = 0};
	cfg->nr_msr_mods = 4;
	soft_reset(cpu);
	OK(cpu, soft_rdmsr(cpu, 0x10a, &v));
	CHECK_EQ(v, 0xc84ULL | (0x7ULL << 13) | (1ULL << 20) | (1ULL << 24) | (0x3ULL << 26));
	OK(cpu, soft_rdmsr(cpu, 0x1a0, &v));
	CHECK_EQ(v, 0x1801ULL | (1ULL << 16));
	OK(cpu, soft_rdmsr(cpu, 0x277, &v));
	CHECK_EQ(v, 0x0107040600070406ULL);
	CHECK_FAULT(cpu, soft_wrmsr(cpu, 0x10a, 0), EXC_GP, 0); /* read-only */
	/* TSX_CTRL: RTM_DISABLE and TSX_CPUID_CLEAR, nothing else. */
	OK(cpu, soft_wrmsr(cpu, 0x122, 3));
	OK(cpu, soft_rdmsr(cpu, 0x122, &v));
	CHECK_EQ(v, 3);
	CHECK_FAULT(cpu, soft_wrmsr(cpu, 0x122, 4), EXC_GP, 0);
	/* MISC_PACKAGE_CTLS: ENERGY_FILTERING_ENABLE only with ARCH_CAPS bit 11. */
	OK(cpu, soft_wrmsr(cpu, 0xbc, 1));
	CHECK_FAULT(cpu, soft_wrmsr(cpu, 0xbc, 2), EXC_GP, 0);
	cfg->msr_mods[0].value = 0x484; /* bit 11 clear */
	soft_reset(cpu);
	CHECK_FAULT(cpu, soft_wrmsr(cpu, 0xbc, 1), EXC_GP, 0);
	OK(cpu, soft_rdmsr(cpu, 0xbc, &v));
	CHECK_EQ(v, 0);
	fx_free(f);
}

static void test_kvmclock(void)
{
	struct fx *f = fx_new();
	struct soft_cpu *cpu = &f->cpu;
	u8 *p = fx_ptr(f, 0x5000);
	u64 tsc, sys;
	u32 ver, mul, wver, sec;

	OK(cpu, soft_wrmsr(cpu, 0x4b564d01, 0x5000 | 1));
	memcpy(&ver, p, 4);
	memcpy(&tsc, p + 8, 8);
	memcpy(&sys, p + 16, 8);
	memcpy(&mul, p + 24, 4);
	CHECK(ver && !(ver & 1));
	CHECK_EQ(tsc, sys);
	CHECK_EQ(mul, 0x80000000u);
	CHECK_EQ(p[28], 1); /* shift */
	CHECK_EQ(p[29], 1); /* PVCLOCK_TSC_STABLE_BIT */
	OK(cpu, soft_wrmsr(cpu, 0x4b564d01, 0x5000 | 1));
	memcpy(&wver, p, 4);
	CHECK_EQ(wver, ver + 2);
	/* A TSC write moves the TSC, not kvmclock: the page is rewritten to map
	 * the new TSC to the same time (system_time is the VM's clock). */
	OK(cpu, soft_wrmsr(cpu, 0x10, 5000000000000ULL));
	memcpy(&wver, p, 4);
	memcpy(&tsc, p + 8, 8);
	memcpy(&sys, p + 16, 8);
	CHECK_EQ(wver, ver + 4);
	CHECK(tsc >= 5000000000000ULL && tsc < 5000000000000ULL + 1000000000ULL);
	CHECK_EQ(tsc - sys, cpu->msr.tsc_offset);
	CHECK(sys <= soft_now_ns(cpu));
	OK(cpu, soft_wrmsr(cpu, 0x4b564d00, 0x6000));
	memcpy(&wver, fx_ptr(f, 0x6000), 4);
	memcpy(&sec, fx_ptr(f, 0x6004), 4);
	CHECK(wver && !(wver & 1));
	CHECK(sec > 1600000000u); /* boot time in 2020 or later */
	fx_free(f);
}

/* The Intel model's CPUID; test_soft_vendor has the AMD model's. */
static void test_cpuid(void)
{
	struct fx *f = fx_new_vendor(CPU_VENDOR_INTEL);
	struct soft_cpu *cpu = &f->cpu;
	u32 r[4];
	char s[13] = {0};

	soft_cpuid(cpu, 0, 0, r);
	memcpy(s, &r[1], 4);
	memcpy(s + 4, &r[3], 4);
	memcpy(s + 8, &r[2], 4);
	CHECK(!strcmp(s, "GenuineIntel"));
	soft_cpuid(cpu, 1, 0, r);
	CHECK(r[2] & (1u << 31));    /* hypervisor */
	CHECK(r[3] & (1u << 6));     /* PAE */
	CHECK(!(r[3] & (1u << 28))); /* no HTT with one vCPU */
	soft_cpuid(cpu, 7, 0, r);
	CHECK(r[1] & (1u << 7));     /* SMEP (test_soft_prot has the rest) */
	CHECK(!(r[2] & (1u << 16))); /* no LA57 */
	soft_cpuid(cpu, 0x80000001, 0, r);
	CHECK(r[3] & (1u << 29)); /* LM */
	CHECK(r[3] & (1u << 20)); /* NX */
	soft_cpuid(cpu, 0x80000008, 0, r);
	CHECK_EQ(r[0], 0x3027);
	soft_cpuid(cpu, 0x40000000, 0, r);
	CHECK_EQ(r[0], 0x40000010);
	CHECK(!memcmp(&r[1], "KVMK", 4) && !memcmp(&r[2], "VMKV", 4) &&
	      !memcmp(&r[3], "M\0\0\0", 4));
	soft_cpuid(cpu, 0x40000001, 0, r);
	CHECK_EQ(r[0], (1u << 3) | (1u << 24));
	soft_cpuid(cpu, 0x40000010, 0, r);
	CHECK_EQ(r[0], 1000000);
	soft_cpuid(cpu, 0x15, 0, r);
	CHECK_EQ((u64)r[2] * r[1] / r[0], 1000000000u);
	f->m.cfg.nr_cpus = 4;
	cpu->id = 2;
	soft_cpuid(cpu, 0xb, 1, r);
	CHECK_EQ(r[0], 2);
	CHECK_EQ(r[1], 4);
	CHECK_EQ(r[3], 2);
	soft_cpuid(cpu, 1, 0, r);
	CHECK(r[3] & (1u << 28));
	CHECK_EQ(r[1] >> 24, 2);
	fx_free(f);
}

int main(void)
{
	TEST_RUN(test_reset);
	TEST_RUN(test_cr_rules);
	TEST_RUN(test_msrs);
	TEST_RUN(test_msr_template);
	TEST_RUN(test_kvmclock);
	TEST_RUN(test_cpuid);
	return test_done();
}
