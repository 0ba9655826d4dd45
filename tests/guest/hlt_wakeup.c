/* Guest program: HLT with IF=1 sleeps until the LAPIC timer interrupt, and time advances. */
#include "guest.h"

#define VEC 0x40

static volatile u64 count, frame_rip;

static void on_timer(struct trap_frame *f)
{
	count++;
	frame_rip = f->rip;
	lapic_eoi();
}

void test_main(void)
{
	u64 t0, t1, hlt_end, cur;

	trap_set_handler(VEC, on_timer);
	lapic_enable();
	lapic_write(LAPIC_TIMER_DIV, 0xB); /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, VEC);

	/* 2,000,000 ticks: long enough that the timer is still running when
	 * HLT starts, even on a slow engine. */
	t0 = rdtsc();
	lapic_write(LAPIC_TIMER_INIT, 2000000);
	asm volatile("sti\n\thlt\n1:\tcli\n\tlea 1b(%%rip), %0" : "=r"(hlt_end)::"memory");
	t1 = rdtsc();
	cur = lapic_read(LAPIC_TIMER_CUR);
	check_eq("HLT woke up on the timer interrupt (handler ran once)", count, 1);
	check_eq("the interrupt frame's RIP is after HLT", frame_rip, hlt_end);
	check_eq("the timer expired while halted (current count 0)", cur, 0);
	check(t1 > t0, "TSC advanced across HLT (%lu -> %lu, +%lu)", t0, t1, t1 - t0);

	/* A second sleep: HLT again waits for the next interrupt. */
	t0 = rdtsc();
	lapic_write(LAPIC_TIMER_INIT, 1000000);
	asm volatile("sti; hlt; cli" ::: "memory");
	t1 = rdtsc();
	check_eq("a second HLT wakes on the second timer interrupt", count, 2);
	check(t1 > t0, "TSC advanced across the second HLT (+%lu)", t1 - t0);
	check_eq("the timer expired again", lapic_read(LAPIC_TIMER_CUR), 0);
}
