/* Guest program for the API tests (tests/e2e/test_api.sh): runs until popek
 * stops it, sleeping in HLT between LAPIC timer interrupts (periodic mode)
 * and printing "tick N" every 8 interrupts, so that a paused VM is visible
 * as ticks that stop and a counter of instructions that stands still.
 * Built by the test with tests/guest/lib (make guest-programs). */
#include "guest.h"

#define VEC 0x40
#define LVT_PERIODIC (1u << 17)

static volatile u64 count;

static void on_timer(struct trap_frame *f)
{
	(void)f;
	count++;
	lapic_eoi();
}

void test_main(void)
{
	u64 seen = 0;

	trap_set_handler(VEC, on_timer);
	lapic_enable();
	lapic_write(LAPIC_TIMER_DIV, 0xB); /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, VEC | LVT_PERIODIC);
	lapic_write(LAPIC_TIMER_INIT, 12500000); /* 80 Hz at 1 GHz: 10 ticks a second */
	printf("api_guest: running\n");
	for (;;) {
		asm volatile("sti; hlt; cli" ::: "memory");
		if (count / 8 != seen / 8)
			printf("tick %lu\n", count / 8);
		seen = count;
	}
}
