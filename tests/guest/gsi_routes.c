/* Guest program: every interrupt line reaches the IOAPIC pin popek's MADT
 * says: GSI 0 (the PIT's IRQ0) pin 2, by the interrupt source override; GSI
 * 2 nowhere; GSI n pin n otherwise. The test device pulses each line in
 * turn (testdev.h, PULSE_GSI) with every pin unmasked and edge-triggered to
 * its own vector: each pulse must bring exactly one interrupt, on its pin.
 * The routes are KVM's table on KVM (kvm.c) and irq_route.c on the soft
 * engine: one machine on both. */
#include "guest.h"

#define NR_PINS 24
#define VEC_BASE 0x60
#define RTE_MASKED (1u << 16)
#define PULSE_GSI (TESTDEV_MMIO + 0x118)

static volatile u64 count[NR_PINS];

static void on_pin(struct trap_frame *f)
{
	count[f->vector - VEC_BASE]++;
	lapic_eoi();
}

/* The pin a GSI is wired to, or NR_PINS for none. */
static unsigned pin_of(unsigned gsi)
{
	if (gsi == 0)
		return 2;
	return gsi == 2 ? NR_PINS : gsi;
}

static u64 total(void)
{
	u64 n = 0;

	for (unsigned p = 0; p < NR_PINS; p++)
		n += count[p];
	return n;
}

/* Pulses gsi; true when exactly one interrupt came, on the right pin. */
static bool pulse_one(unsigned gsi)
{
	unsigned want = pin_of(gsi);
	u64 before = total(), pin_before = want < NR_PINS ? count[want] : 0;

	mmio_write32(PULSE_GSI, gsi);
	if (want < NR_PINS)
		wait_count(&count[want], pin_before + 1, WAIT_LONG);
	wait_count(&count[want < NR_PINS ? want : 0], ~0ull, WAIT_SHORT); /* a second? */
	if (want == NR_PINS)
		return check_eq("GSI 2 is routed nowhere: no interrupt", total() - before, 0);
	return check(count[want] == pin_before + 1 && total() == before + 1,
		     "GSI %u: one interrupt on pin %u (got %lu there, %lu in all)", gsi, want,
		     count[want] - pin_before, total() - before);
}

void test_main(void)
{
	u32 apic_id;
	unsigned ok = 0;

	if (!testdev_present()) {
		skip("every GSI's route", "no test device to pulse the lines");
		return;
	}
	lapic_enable();
	apic_id = lapic_read(LAPIC_ID) >> 24;
	for (unsigned p = 0; p < NR_PINS; p++) {
		trap_set_handler(VEC_BASE + p, on_pin);
		ioapic_write(IOREDTBL(p) + 1, apic_id << 24);
		ioapic_write(IOREDTBL(p), VEC_BASE + p); /* fixed, physical, edge, high */
	}
	/* Nothing may come before a pulse (the machine's own devices are quiet). */
	wait_count(&count[0], ~0ull, WAIT_SHORT);
	check_eq("no interrupt before the first pulse", total(), 0);
	for (unsigned gsi = 0; gsi < NR_PINS; gsi++)
		ok += pulse_one(gsi);
	check_eq("every GSI routed as the MADT says", ok, NR_PINS);

	/* A masked pin takes nothing, and does not deliver on unmasking
	 * (an edge is not remembered: 82093AA datasheet 3.2.4). */
	ioapic_write(IOREDTBL(TESTDEV_GSI), (VEC_BASE + TESTDEV_GSI) | RTE_MASKED);
	u64 before = total();
	mmio_write32(PULSE_GSI, TESTDEV_GSI);
	ioapic_write(IOREDTBL(TESTDEV_GSI), VEC_BASE + TESTDEV_GSI);
	wait_count(&count[0], ~0ull, WAIT_SHORT);
	check_eq("a pulse on a masked pin is lost", total() - before, 0);
	for (unsigned p = 0; p < NR_PINS; p++)
		ioapic_write(IOREDTBL(p), RTE_MASKED);
}
