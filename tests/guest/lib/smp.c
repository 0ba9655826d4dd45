/* Guest runtime SMP: starts the other CPUs (INIT-SIPI-SIPI) into long mode with their own TSS. */
#include "guest.h"

/* Startup vector 0x10: low RAM popek leaves free (include/popek/layout.h),
 * unless the program itself is linked there (multiboot_low.c is). */
#define TRAMPOLINE  0x10000UL
#define STACK_WORDS 2048

extern char smp_tramp[], smp_tramp_gdtr[], smp_tramp_end[];
extern u64 gdt[8 + 2 * SMP_MAX_CPUS];

/* What the AP start-up code (lib/smp_boot.S) loads: the BSP's state. */
u32 smp_boot_cr0, smp_boot_cr3, smp_boot_cr4, smp_boot_efer;
u64 smp_boot_rsp;
volatile u64 smp_done;

static volatile unsigned booting; /* the CPU being started */
static volatile bool up[SMP_MAX_CPUS];
static smp_fn ap_fn;
static struct tss64 ap_tss[SMP_MAX_CPUS];
static u64 ap_stack[SMP_MAX_CPUS][STACK_WORDS] __attribute__((aligned(16)));
static u64 ap_ist1[SMP_MAX_CPUS][1024] __attribute__((aligned(16)));
static u64 ap_rsp0[SMP_MAX_CPUS][1024] __attribute__((aligned(16)));

void lapic_ipi(u32 dest, u32 icr_lo)
{
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo);
	for (int i = 0; i < 1000000 && (lapic_read(LAPIC_ICR_LO) & ICR_BUSY); i++)
		pause();
}

static void tsc_wait(u64 cycles)
{
	u64 t0 = rdtsc();

	while (rdtsc() - t0 < cycles)
		pause();
}

void smp_ap_main(void);
void smp_ap_main(void)
{
	unsigned cpu = booting;

	cpu_tables_load(cpu, &ap_tss[cpu], &ap_ist1[cpu][1024], &ap_rsp0[cpu][1024]);
	lapic_enable();
	__atomic_store_n(&up[cpu], true, __ATOMIC_RELEASE);
	ap_fn(cpu);
	__atomic_fetch_add(&smp_done, 1, __ATOMIC_RELEASE);
}

/* INIT, then up to two startup IPIs 1 ms apart (at 1 GHz), the sequence
 * of the SDM's example; gives up after about a second. */
static bool start_one(unsigned cpu)
{
	booting = cpu;
	smp_boot_rsp = (u64)&ap_stack[cpu][STACK_WORDS];
	lapic_ipi(cpu, ICR_INIT | ICR_ASSERT);
	tsc_wait(1000000);
	for (int sipi = 0; sipi < 2 && !up[cpu]; sipi++) {
		lapic_ipi(cpu, ICR_SIPI | ICR_ASSERT | (TRAMPOLINE >> 12));
		tsc_wait(1000000);
	}
	for (u64 t0 = rdtsc(); !__atomic_load_n(&up[cpu], __ATOMIC_ACQUIRE);) {
		if (rdtsc() - t0 > 2000000000ULL)
			return false;
		pause();
	}
	return true;
}

unsigned smp_start(unsigned n, smp_fn fn)
{
	struct __attribute__((packed)) {
		u16 limit;
		u32 base;
	} gdtr = {sizeof(gdt) - 1, (u32)(u64)gdt};
	u64 cr0, cr3;
	unsigned cpu;

	if (n > SMP_MAX_CPUS)
		n = SMP_MAX_CPUS;
	memcpy((void *)TRAMPOLINE, smp_tramp, smp_tramp_end - smp_tramp);
	memcpy((void *)(TRAMPOLINE + (smp_tramp_gdtr - smp_tramp)), &gdtr, sizeof(gdtr));
	asm volatile("mov %%cr0, %0; mov %%cr3, %1" : "=r"(cr0), "=r"(cr3));
	smp_boot_cr0 = (u32)cr0;
	smp_boot_cr3 = (u32)cr3;
	smp_boot_cr4 = (u32)read_cr4();
	smp_boot_efer = (u32)rdmsr(MSR_EFER) & ~(u32)EFER_LMA;
	ap_fn = fn;
	lapic_enable();
	for (cpu = 1; cpu < n; cpu++) {
		if (!start_one(cpu)) {
			printf("# CPU %u (APIC id %u) did not start\n", cpu, cpu);
			break;
		}
	}
	return cpu;
}
