/* Native run of the CPU benchmark workload: prints the hash and the seconds taken. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cpu_work.h"

int main(int argc, char **argv)
{
	static unsigned buf[BENCH_N];
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 200;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	unsigned long long h = bench_work(rounds, buf);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("hash %llx\n%.6f\n", h, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
