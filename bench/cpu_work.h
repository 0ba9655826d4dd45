/* The CPU-bound benchmark workload, shared by the guest program and the
 * native build so both run exactly the same code: integer hashing, a
 * shell sort and a small matrix multiply over a fixed-size buffer. */
#ifndef POPEK_BENCH_CPU_WORK_H
#define POPEK_BENCH_CPU_WORK_H

#define BENCH_N 4096

static unsigned long long bench_work(unsigned rounds, unsigned *buf)
{
	unsigned long long h = 1469598103934665603ULL;

	for (unsigned r = 0; r < rounds; r++) {
		unsigned x = 2463534242u + r;
		for (unsigned i = 0; i < BENCH_N; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = x;
		}
		for (unsigned gap = BENCH_N / 2; gap; gap /= 2)
			for (unsigned i = gap; i < BENCH_N; i++) {
				unsigned v = buf[i], j = i;
				for (; j >= gap && buf[j - gap] > v; j -= gap)
					buf[j] = buf[j - gap];
				buf[j] = v;
			}
		for (unsigned i = 0; i < 16; i++)
			for (unsigned j = 0; j < 16; j++) {
				unsigned s = 0;
				for (unsigned k = 0; k < 16; k++)
					s += buf[i * 16 + k] * buf[k * 16 + j];
				h = (h ^ s) * 1099511628211ULL;
			}
		for (unsigned i = 0; i < BENCH_N; i += 64)
			h = (h ^ buf[i]) * 1099511628211ULL;
	}
	return h;
}

#endif
