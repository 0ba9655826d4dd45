/* Guest program: IA32_MISC_ENABLE (MSR 0x1A0, Intel SDM Vol. 4 Table 2-2) as KVM lets a guest
 * write it (arch/x86/kvm/x86.c, kvm_set_msr_common): BTS_UNAVAILABLE and PEBS_UNAVAILABLE
 * (bits 11, 12) are read-only and a write that changes them raises #GP; EMON (bit 7) ignores
 * writes; every other bit keeps what was written, fast strings (bit 0) included. The MSR
 * is Intel's: the soft engine's AMD model raises #GP, as AMD processors do; KVM emulates it
 * for either vendor, so elsewhere the AMD run checks the same as the Intel one. Runs once
 * per vendor model. */
#include "guest.h"

#define MSR_MISC_ENABLE 0x1A0
#define FAST_STRINGS    (1UL << 0)
#define EMON            (1UL << 7)
#define BTS_UNAVAIL     (1UL << 11)
#define PEBS_UNAVAIL    (1UL << 12)
/* The outside suite's value: fast strings, thermal control (3), both
 * "unavailable" bits, SpeedStep (16), MONITOR FSM (18), limit CPUID (22),
 * xTPR disable (23), XD disable (34). */
#define SUITE_VALUE 0x400c51809UL

/* Runs rdmsr (write false) or wrmsr; returns whether it raised #GP(0). */
static bool msr_faults(bool write, u64 v, u64 *out)
{
	u32 lo = 0, hi = 0;

	trap_reset();
	if (write)
		asm volatile(CATCH("wrmsr")::"c"(MSR_MISC_ENABLE), "a"((u32)v), "d"((u32)(v >> 32))
			     : "r11", "memory");
	else
		asm volatile(CATCH("rdmsr")
			     : "+a"(lo), "+d"(hi)
			     : "c"(MSR_MISC_ENABLE)
			     : "r11", "memory");
	if (out)
		*out = lo | (u64)hi << 32;
	return last_trap.count == 1 && last_trap.vector == 13 && last_trap.error == 0;
}

/* The soft engine's CPUID brand string (src/cpu/soft/sys/cpuid.c). */
static bool soft_engine(void)
{
	u32 r[4];

	cpuid(0x80000000, 0, r);
	if (r[0] < 0x80000002)
		return false;
	cpuid(0x80000002, 0, r);
	return !memcmp(r, "popek soft", 10);
}

static void amd_model(void)
{
	check(msr_faults(false, 0, NULL), "rdmsr IA32_MISC_ENABLE raises #GP(0) (AMD has none)");
	check(msr_faults(true, SUITE_VALUE, NULL), "wrmsr IA32_MISC_ENABLE raises #GP(0)");
}

void test_main(void)
{
	u64 old = 0;

	if (cpu_is_amd() && soft_engine()) {
		amd_model();
		return;
	}
	if (!check(!msr_faults(false, 0, &old), "rdmsr IA32_MISC_ENABLE: %#lx", old))
		return;
	check((old & (BTS_UNAVAIL | PEBS_UNAVAIL)) == (BTS_UNAVAIL | PEBS_UNAVAIL),
	      "BTS and PEBS unavailable (bits 11, 12 set)");

	check(!msr_faults(true, SUITE_VALUE, NULL), "wrmsr %#lx", SUITE_VALUE);
	check_eq("every writable bit reads back", rdmsr(MSR_MISC_ENABLE), SUITE_VALUE);

	wrmsr(MSR_MISC_ENABLE, SUITE_VALUE & ~FAST_STRINGS);
	check_eq("fast strings can be cleared", rdmsr(MSR_MISC_ENABLE),
		 SUITE_VALUE & ~FAST_STRINGS);
	wrmsr(MSR_MISC_ENABLE, SUITE_VALUE | EMON);
	check_eq("EMON (bit 7) ignores a write", rdmsr(MSR_MISC_ENABLE), SUITE_VALUE);

	check(msr_faults(true, SUITE_VALUE & ~BTS_UNAVAIL, NULL),
	      "clearing BTS_UNAVAILABLE raises #GP(0)");
	check(msr_faults(true, SUITE_VALUE & ~PEBS_UNAVAIL, NULL),
	      "clearing PEBS_UNAVAILABLE raises #GP(0)");
	check_eq("the refused writes changed nothing", rdmsr(MSR_MISC_ENABLE), SUITE_VALUE);

	wrmsr(MSR_MISC_ENABLE, old);
	check_eq("the old value is back", rdmsr(MSR_MISC_ENABLE), old);
}
