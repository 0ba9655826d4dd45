/* Guest program: LAPIC timer (one-shot, periodic) and IOAPIC routing of the test device's
 * GSI as an edge interrupt (level-triggered: ioapic_level.c). */
#include "guest.h"

#define VEC_ONESHOT 0x40
#define VEC_PERIODIC 0x41
#define VEC_EDGE 0x50
#define RTE_MASKED (1u << 16)

static volatile u64 count[256];

static void on_timer(struct trap_frame *f)
{
	count[f->vector]++;
	lapic_eoi();
}

/* sti; hlt until count[vec] reaches n; each wake-up needs an interrupt. */
static void halt_until(unsigned vec, u64 n)
{
	while (count[vec] < n)
		asm volatile("sti; hlt; cli" ::: "memory");
}

static void lapic_timer(void)
{
	u32 ver = lapic_read(LAPIC_VERSION);

	check((ver & 0xFF) >= 0x10 && (ver & 0xFF) <= 0x15 && ((ver >> 16) & 0xFF) >= 3,
	      "LAPIC version %#x: integrated APIC with at least 4 LVT entries", ver);
	lapic_enable();
	check_eq("SVR reads back enabled, vector 0xFF", lapic_read(LAPIC_SVR) & 0x1FF, 0x1FF);

	printf("# one-shot timer, vector %#x\n", VEC_ONESHOT);
	lapic_write(LAPIC_TIMER_DIV, 0xB); /* divide by 1 (Intel SDM Vol. 3A 11.5.4) */
	lapic_write(LAPIC_LVT_TIMER, VEC_ONESHOT);
	lapic_write(LAPIC_TIMER_INIT, 100000);
	halt_until(VEC_ONESHOT, 1);
	check_eq("one-shot timer: the handler ran once", count[VEC_ONESHOT], 1);
	check_eq("one-shot timer: current count is 0 after expiry", lapic_read(LAPIC_TIMER_CUR), 0);
	wait_count(&count[VEC_ONESHOT], 2, WAIT_SHORT);
	check_eq("one-shot timer: no second interrupt", count[VEC_ONESHOT], 1);

	printf("# periodic timer, vector %#x\n", VEC_PERIODIC);
	lapic_write(LAPIC_LVT_TIMER, VEC_PERIODIC | LVT_PERIODIC);
	lapic_write(LAPIC_TIMER_INIT, 50000);
	halt_until(VEC_PERIODIC, 5);
	check(lapic_read(LAPIC_TIMER_CUR) != 0, "periodic timer reloads its count");
	lapic_write(LAPIC_LVT_TIMER, VEC_PERIODIC | LVT_PERIODIC | LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0);
	check(count[VEC_PERIODIC] >= 5, "periodic timer fired %lu times (>= 5)",
	      count[VEC_PERIODIC]);
	check_eq("one-shot vector untouched by the periodic timer", count[VEC_ONESHOT], 1);
}

static void ioapic(void)
{
	u32 ver = ioapic_read(1), apic_id = lapic_read(LAPIC_ID) >> 24;

	check_eq("IOAPIC: 24 redirection entries", (ver >> 16) & 0xFF, 23);
	check(ioapic_read(IOREDTBL(TESTDEV_GSI)) & RTE_MASKED, "IOAPIC pin 10 starts masked");

	printf("# IOAPIC pin %u edge -> vector %#x\n", TESTDEV_GSI, VEC_EDGE);
	ioapic_write(IOREDTBL(TESTDEV_GSI) + 1, apic_id << 24);
	ioapic_write(IOREDTBL(TESTDEV_GSI), VEC_EDGE);
	check_eq("IOAPIC redirection entry reads back", ioapic_read(IOREDTBL(TESTDEV_GSI)),
		 VEC_EDGE);
	mmio_write32(TESTDEV_MMIO + TESTDEV_PULSE, 1);
	check(wait_count(&count[VEC_EDGE], 1, WAIT_LONG), "edge: pulse on GSI 10 delivers vector %#x",
	      VEC_EDGE);
	wait_count(&count[VEC_EDGE], 2, WAIT_SHORT);
	check_eq("edge: exactly one interrupt per pulse", count[VEC_EDGE], 1);
	mmio_write32(TESTDEV_MMIO + TESTDEV_PULSE, 1);
	check(wait_count(&count[VEC_EDGE], 2, WAIT_LONG), "edge: a second pulse, a second interrupt");

	ioapic_write(IOREDTBL(TESTDEV_GSI), RTE_MASKED);
}

void test_main(void)
{
	trap_set_handler(VEC_ONESHOT, on_timer);
	trap_set_handler(VEC_PERIODIC, on_timer);
	trap_set_handler(VEC_EDGE, on_timer);
	lapic_timer();
	if (testdev_present())
		ioapic();
	else
		skip("IOAPIC routing of GSI 10", "no test device to drive the line");
}
