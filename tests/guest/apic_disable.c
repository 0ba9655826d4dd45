/* Guest program: clearing IA32_APIC_BASE.EN (bit 11) globally disables the local APIC and
 * CPUID.1:EDX.APIC[bit 9] then reads 0 on that CPU only (Intel SDM Vol. 3A 10.4.3; AMD APM
 * Vol. 3 CPUID Fn0000_0001_EDX and its copy in Fn8000_0001_EDX); setting it again brings
 * the bit back. Runs with --cpus 2, once per vendor model. */
#include "guest.h"

#define APIC_EN    (1UL << 11)
#define APIC_EXTD  (1UL << 10)
#define CPUID_APIC (1u << 9)

static volatile u64 ap_step, ap_seen;

static bool apic_bit(u32 leaf)
{
	u32 r[4];

	cpuid(leaf, 0, r);
	return r[3] & CPUID_APIC;
}

/* Leaf 1 and, on AMD, its copy in 0x8000_0001. */
static void check_apic_bit(const char *when, bool want)
{
	check(apic_bit(1) == want, "CPU %u %s: CPUID.1:EDX.APIC is %d", smp_cpu(), when, want);
	if (cpu_is_amd())
		check(apic_bit(0x80000001) == want, "CPU %u %s: CPUID.8000_0001:EDX.APIC is %d",
		      smp_cpu(), when, want);
}

static void ap_main(unsigned cpu)
{
	(void)cpu;
	while (ap_step != 1)
		pause();
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) & ~APIC_EN);
	ap_seen = apic_bit(1) ? 1 : 2;
	while (ap_step != 2)
		pause();
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_EN);
	ap_seen = apic_bit(1) ? 3 : 4;
}

void test_main(void)
{
	u64 base = rdmsr(MSR_APIC_BASE);

	cpu_vendor();
	check_apic_bit("at start", true);

	printf("# the BSP disables its APIC\n");
	wrmsr(MSR_APIC_BASE, base & ~(APIC_EN | APIC_EXTD));
	check_eq("APIC_BASE.EN reads 0", rdmsr(MSR_APIC_BASE) & APIC_EN, 0);
	check_apic_bit("with its APIC disabled", false);
	wrmsr(MSR_APIC_BASE, base);
	check_eq("APIC_BASE restored", rdmsr(MSR_APIC_BASE), base);
	check_apic_bit("with its APIC enabled again", true);
	check((lapic_read(LAPIC_VERSION) & 0xF0) == 0x10, "the LAPIC answers again (version %#x)",
	      lapic_read(LAPIC_VERSION));

	printf("# x2APIC mode\n");
	wrmsr(MSR_APIC_BASE, base | APIC_EXTD);
	check_apic_bit("in x2APIC mode", true);
	wrmsr(MSR_APIC_BASE, base & ~(APIC_EN | APIC_EXTD)); /* x2APIC -> disabled -> xAPIC */
	check_apic_bit("disabled from x2APIC mode", false);
	wrmsr(MSR_APIC_BASE, base);

	printf("# CPU 1 disables its APIC: per CPU\n");
	if (!check(smp_start(2, ap_main) == 2, "CPU 1 started"))
		return;
	ap_step = 1;
	while (!ap_seen)
		pause();
	check_eq("CPU 1 with its APIC disabled: its CPUID.1:EDX.APIC is 0", ap_seen, 2);
	check_apic_bit("while CPU 1's APIC is disabled", true);
	ap_step = 2;
	while (ap_seen < 3)
		pause();
	check_eq("CPU 1 with its APIC enabled again: its CPUID.1:EDX.APIC is 1", ap_seen, 3);
	for (int i = 0; i < 100000000 && !smp_done; i++)
		pause();
	check_eq("CPU 1 finished", smp_done, 1);
}
