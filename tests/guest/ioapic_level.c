/* Guest program: a level-triggered IOAPIC pin (test device GSI 10): Remote IRR, EOI, masking. */
#include "guest.h"

#define VEC 0x51
#define RTE_LEVEL (1u << 15)
#define RTE_REMOTE_IRR (1u << 14)
#define RTE_MASKED (1u << 16)
#define LEVEL (TESTDEV_MMIO + TESTDEV_LEVEL)

static volatile u64 count, rte_in_handler;
static volatile bool seen_high;

/* A level-triggered handler must quiet its device before the EOI, or the
 * IOAPIC delivers again (82093AA datasheet 3.2.4, Remote IRR). */
static void on_level(struct trap_frame *f)
{
	(void)f;
	count++;
	seen_high = mmio_read32(LEVEL) == 1;
	rte_in_handler = ioapic_read(IOREDTBL(TESTDEV_GSI));
	mmio_write32(LEVEL, 0);
	lapic_eoi();
}

void test_main(void)
{
	u32 rte;

	if (!testdev_present()) {
		skip("level-triggered GSI 10", "no test device to drive the line");
		return;
	}
	trap_set_handler(VEC, on_level);
	lapic_enable();
	ioapic_write(IOREDTBL(TESTDEV_GSI) + 1, (lapic_read(LAPIC_ID) >> 24) << 24);
	ioapic_write(IOREDTBL(TESTDEV_GSI), VEC | RTE_LEVEL);
	check_eq("LEVEL reads 0 at first", mmio_read32(LEVEL), 0);

	mmio_write32(LEVEL, 1);
	check(wait_count(&count, 1, WAIT_LONG), "raising GSI 10 delivers vector %#x", VEC);
	check(seen_high, "the line reads high in the handler");
	check(rte_in_handler & RTE_REMOTE_IRR, "Remote IRR set while the handler runs (%#lx)",
	      rte_in_handler);
	wait_count(&count, 2, WAIT_SHORT);
	check_eq("one interrupt: the handler lowered the line before EOI", count, 1);
	rte = ioapic_read(IOREDTBL(TESTDEV_GSI));
	check(!(rte & RTE_REMOTE_IRR), "Remote IRR clear after EOI (entry %#x)", rte);

	/* Masked while the line is raised and lowered: nothing. Each stage
	 * counts from 0 so that one failure does not cascade. */
	count = 0;
	ioapic_write(IOREDTBL(TESTDEV_GSI), VEC | RTE_LEVEL | RTE_MASKED);
	mmio_write32(LEVEL, 1);
	mmio_write32(LEVEL, 0);
	ioapic_write(IOREDTBL(TESTDEV_GSI), VEC | RTE_LEVEL);
	wait_count(&count, 1, WAIT_SHORT);
	check_eq("a line raised and lowered while masked delivers nothing", count, 0);

	/* Masked while high, then unmasked while still high: delivered. */
	count = 0;
	ioapic_write(IOREDTBL(TESTDEV_GSI), VEC | RTE_LEVEL | RTE_MASKED);
	mmio_write32(LEVEL, 1);
	wait_count(&count, 1, WAIT_SHORT);
	check_eq("a masked pin delivers nothing", count, 0);
	ioapic_write(IOREDTBL(TESTDEV_GSI), VEC | RTE_LEVEL);
	check(wait_count(&count, 1, WAIT_LONG), "unmasking a high line delivers");
	wait_count(&count, 2, WAIT_SHORT);
	check_eq("and only once", count, 1);

	/* A pulse is a short high level: delivered once. */
	count = 0;
	mmio_write32(TESTDEV_MMIO + TESTDEV_PULSE, 1);
	check(wait_count(&count, 1, WAIT_LONG), "a pulse on the level-triggered pin delivers");
	wait_count(&count, 2, WAIT_SHORT);
	check_eq("exactly once", count, 1);
	ioapic_write(IOREDTBL(TESTDEV_GSI), RTE_MASKED);
}
