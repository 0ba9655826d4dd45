/* Guest program for the GDB stub's end-to-end test (tests/e2e/test_gdb.sh):
 * a function to break on, a counter to watch, and an exit status that
 * shows what the debugger changed: debug_exit(gdb_add(20, 1)), so status
 * (2 * 21) | 1 = 43 untouched; a debugger that sets rdi to 40 at gdb_add
 * makes it (2 * 41) | 1 = 83. Also runs (exit 43) without a debugger.
 * With "spin=1" on its command line it never ends. With "smp=1" (and 2
 * vCPUs) vCPU 1 first runs gdb_ap_work(1), which adds its argument to
 * gdb_ap_runs, the b of gdb_add: a debugger that sets rdi to 5 there, on
 * thread 2, makes the status (2 * 25) | 1 = 51 (tests/e2e/test_gdb_smp.sh).
 * With "race=1" as well, both vCPUs meet at a barrier and then add to
 * gdb_race at the same moment: a watchpoint on it fires on both at once. */
#include "guest.h"

volatile u64 gdb_counter;

__attribute__((noinline)) u64 gdb_add(u64 a, u64 b)
{
	gdb_counter += a;
	return a + b;
}

volatile u64 gdb_ap_runs, gdb_ap_loops, gdb_bsp_spins;
volatile u64 gdb_race, gdb_race_ready;

/* Both vCPUs write gdb_race right after the last of them arrives. */
static void race(void)
{
	__atomic_fetch_add(&gdb_race_ready, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&gdb_race_ready, __ATOMIC_ACQUIRE) < 2)
		;
	__atomic_fetch_add(&gdb_race, 1, __ATOMIC_SEQ_CST);
}

__attribute__((noinline)) void gdb_ap_work(u64 n)
{
	gdb_ap_runs += n;
}

/* Reached by vCPU 1 after a loop long enough for vCPU 0 to run meanwhile,
 * if a debugger let it. */
__attribute__((noinline)) void gdb_ap_done(void)
{
	asm volatile("" ::: "memory");
}

static void ap_main(unsigned cpu)
{
	if (cmdline_u64("race", 0)) {
		race();
		return;
	}
	gdb_ap_work(cpu);
	for (int i = 0; i < 100000; i++)
		gdb_ap_loops++;
	gdb_ap_done();
}

void test_main(void)
{
	u64 b = 1;

	if (cmdline_u64("smp", 0)) {
		if (smp_start(2, ap_main) != 2)
			printf("not ok - vCPU 1 did not start\n");
		if (cmdline_u64("race", 0)) {
			race();
			gdb_ap_runs = 1;
		}
		while (__atomic_load_n(&smp_done, __ATOMIC_ACQUIRE) < 1)
			gdb_bsp_spins++; /* shows whether vCPU 0 ran */
		b = gdb_ap_runs;
	}
	/* spin=1: runs until stopped from outside (Ctrl-C, kill). */
	while (cmdline_u64("spin", 0))
		pause();
	for (int i = 0; i < 3; i++)
		gdb_counter++;
	debug_exit((u8)gdb_add(20, b));
}
