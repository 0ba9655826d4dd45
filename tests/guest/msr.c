/* Guest program: RDMSR/WRMSR of EFER and the syscall MSRs; unknown MSRs raise #GP. */
#include "guest.h"

#define MSR_UNKNOWN 0x12345

static void round_trip(const char *name, u32 msr, u64 v)
{
	u64 old = rdmsr(msr);

	wrmsr(msr, v);
	check(rdmsr(msr) == v, "%s: write %#lx reads back (got %#lx)", name, v, rdmsr(msr));
	wrmsr(msr, old);
	check(rdmsr(msr) == old, "%s: the old value %#lx is restored", name, old);
}

void test_main(void)
{
	u64 efer = rdmsr(MSR_EFER), t0, tsc;

	check((efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA),
	      "EFER %#lx has LME and LMA", efer);
	wrmsr(MSR_EFER, efer | EFER_SCE);
	check_eq("EFER.SCE can be set", rdmsr(MSR_EFER), efer | EFER_SCE);
	wrmsr(MSR_EFER, efer);
	check_eq("EFER.SCE can be cleared", rdmsr(MSR_EFER), efer);

	round_trip("KERNEL_GS_BASE", MSR_KERNEL_GS_BASE, 0xFFFF888012345678ULL);
	round_trip("STAR", MSR_STAR, 0x0023001000080000ULL);
	round_trip("LSTAR", MSR_LSTAR, 0xFFFFFFFF81000000ULL);
	round_trip("SFMASK", MSR_SFMASK, 0x47700);

	/* swapgs exchanges GS.base with KERNEL_GS_BASE (Intel SDM Vol. 2B). */
	wrmsr(MSR_KERNEL_GS_BASE, 0x1000);
	wrmsr(0xC0000101, 0x2000); /* GS.base */
	asm volatile("swapgs" ::: "memory");
	check(rdmsr(0xC0000101) == 0x1000 && rdmsr(MSR_KERNEL_GS_BASE) == 0x2000,
	      "swapgs exchanges GS.base and KERNEL_GS_BASE");
	asm volatile("swapgs" ::: "memory");
	wrmsr(0xC0000101, 0);
	wrmsr(MSR_KERNEL_GS_BASE, 0);

	check(rdmsr(MSR_APIC_BASE) == (LAPIC_BASE | (1 << 11) | (1 << 8)),
	      "APIC_BASE %#lx: 0xFEE00000, enabled, BSP", rdmsr(MSR_APIC_BASE));
	t0 = rdtsc();
	tsc = rdmsr(0x10);
	check(t0 <= tsc && tsc <= rdtsc(), "IA32_TIME_STAMP_COUNTER %#lx agrees with RDTSC", tsc);

	/* Intel SDM Vol. 2B RDMSR/WRMSR: #GP(0) for reserved or unimplemented
	 * MSRs and for non-canonical addresses in the *_BASE/LSTAR MSRs. */
	check(msr_access_faults(MSR_UNKNOWN, false, 0),
	      "rdmsr %#x (unknown) raises #GP(0) at rdmsr", MSR_UNKNOWN);
	check(msr_access_faults(MSR_UNKNOWN, true, 1), "wrmsr %#x (unknown) raises #GP(0) at wrmsr",
	      MSR_UNKNOWN);
	check(msr_access_faults(MSR_LSTAR, true, 0x8000000000000000ULL),
	      "wrmsr LSTAR with a non-canonical address raises #GP(0)");
	check(msr_access_faults(MSR_EFER, true, efer | (1ULL << 63)),
	      "wrmsr EFER with a reserved bit raises #GP(0)");
	check_eq("EFER unchanged after the faulting writes", rdmsr(MSR_EFER), efer);
}
