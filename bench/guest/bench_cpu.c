/* Guest program: the CPU benchmark workload (bench/cpu_work.h), timed with the
 * TSC (1 GHz on the soft engine) and printed; exits with the PASS status. */
#include "guest.h"

#include "../cpu_work.h"

static unsigned bench_buf[BENCH_N];

void test_main(void)
{
	u64 t0 = rdtsc();
	unsigned long long h = bench_work(BENCH_ROUNDS, bench_buf);
	u64 t1 = rdtsc();

	printf("hash %lx\ntsc %lu\n", (unsigned long)h, (unsigned long)(t1 - t0));
	guest_exit(true);
}
