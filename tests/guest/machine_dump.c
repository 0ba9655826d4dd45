/* Guest program: dumps the CPUID leaves and MSRs a guest sees of the machine
 * ("# dump ..." lines, compared across engines and vendor models by
 * tests/e2e/test_one_machine.sh) and checks what must hold on every engine:
 * the reset MSRs both engines share (src/cpu/reset_msrs.h), the hypervisor
 * leaves and the topology of one vCPU. */
#include "guest.h"

#define MSR_MTRRCAP       0xFE
#define MSR_MISC_ENABLE   0x1A0
#define MSR_PAT           0x277
#define MSR_MTRR_DEF_TYPE 0x2FF
#define MSR_MTRR_FIX64K   0x250
#define MSR_MTRR_BASE0    0x200
#define MSR_MTRR_MASK0    0x201

/* RDMSR that reports #GP instead of taking it: false when the MSR faults. */
static bool rdmsr_safe(u32 msr, u64 *v)
{
	u32 lo = 0, hi = 0;

	trap_reset();
	asm volatile(CATCH("rdmsr") : "+a"(lo), "+d"(hi) : "c"(msr) : "r11", "memory");
	*v = lo | (u64)hi << 32;
	return last_trap.count == 0;
}

static void dump_leaf(u32 leaf, u32 sub)
{
	u32 r[4];

	cpuid(leaf, sub, r);
	printf("# dump cpuid %#x.%u: %08x %08x %08x %08x\n", leaf, sub, r[0], r[1], r[2], r[3]);
}

static void dump_msr(const char *name, u32 msr, u64 *v, bool *ok)
{
	*ok = rdmsr_safe(msr, v);
	if (*ok)
		printf("# dump msr %s %#x: %#lx\n", name, msr, *v);
	else
		printf("# dump msr %s %#x: #GP\n", name, msr);
}

void test_main(void)
{
	static const u32 leaves[] = {0, 1, 6, 7, 0xb, 0x80000000, 0x80000001, 0x80000007,
				     0x80000008, 0x40000000, 0x40000001, 0x40000010};
	u32 r[4];
	u64 v;
	bool ok, intel;

	for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		dump_leaf(leaves[i], 0);
	dump_leaf(0xb, 1);
	cpuid(0, 0, r);
	intel = r[1] == 0x756e6547; /* "Genu" */

	/* The reset MSRs both engines give a vCPU (src/cpu/reset_msrs.h). */
	dump_msr("pat", MSR_PAT, &v, &ok);
	check(ok && v == 0x0007040600070406ULL, "PAT at its power-on value (%#lx)", v);
	dump_msr("mtrr_def_type", MSR_MTRR_DEF_TYPE, &v, &ok);
	check(ok && v == 0xc06, "MTRRs on, fixed ranges on, write-back default (%#lx)", v);
	dump_msr("mtrr_fix64k", MSR_MTRR_FIX64K, &v, &ok);
	check(ok && v == 0x0606060606060606ULL, "the first 512 KiB write-back (%#lx)", v);
	dump_msr("mtrr_base0", MSR_MTRR_BASE0, &v, &ok);
	check(ok && v == 0xc0000000, "variable range 0: the MMIO hole, uncacheable (%#lx)", v);
	dump_msr("mtrr_mask0", MSR_MTRR_MASK0, &v, &ok);
	check(ok && (v & (1ULL << 11)) && (v & 0xfffff000ULL) == 0xc0000000,
	      "variable range 0 valid, 1 GiB (%#lx)", v);
	dump_msr("mtrrcap", MSR_MTRRCAP, &v, &ok);
	dump_msr("misc_enable", MSR_MISC_ENABLE, &v, &ok);
	if (intel)
		check(ok && (v & 1), "Intel: IA32_MISC_ENABLE has fast strings (%#lx)", v);
	dump_msr("apic_base", MSR_APIC_BASE, &v, &ok);
	check(ok && (v & ~0xfffULL) == LAPIC_BASE && (v & (1 << 8)) && (v & (1 << 11)),
	      "APIC base %#lx: enabled BSP at 0xfee00000", v);

	/* One vCPU: the hypervisor leaves and the topology. */
	cpuid(0x40000000, 0, r);
	check(r[1] == 0x4b4d564b && r[2] == 0x564b4d56 && r[3] == 0x4d,
	      "hypervisor signature KVMKVMKVM");
	cpuid(0x40000010, 0, r);
	check(r[0] != 0, "leaf 0x40000010: the TSC rate (%u kHz) is known", r[0]);
	cpuid(1, 0, r);
	check((r[1] >> 24) == 0, "leaf 1: initial APIC id 0");
}
