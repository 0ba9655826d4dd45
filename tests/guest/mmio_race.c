/* Guest program: MMIO accesses that an engine completes in more than one step
 * (a read-modify-write, a 16-byte SSE access split in two) while the host
 * kicks the vCPU again and again (tests/e2e/test_kick_race.sh pauses and
 * resumes it through the API; each pause kicks): no access may be lost or
 * done twice. The test device's scratch qword 0 counts the RMW increments;
 * qwords 2-3 take a 16-byte pattern that must read back whole. */
#include "guest.h"

#define S       (TESTDEV_MMIO + TESTDEV_SCRATCH)
#define ROUNDS  1000000 /* at most; and at most RUN_MS of TSC time */
#define RUN_MS  2000
#define CR4_OSFXSR (1UL << 9)

void test_main(void)
{
	u64 r, torn = 0, i, stop;
	u32 leaf[4];

	cpuid(0x40000010, 0, leaf); /* TSC kHz, on both engines */
	stop = rdtsc() + (u64)leaf[0] * RUN_MS;
	write_cr4(read_cr4() | CR4_OSFXSR);
	asm volatile("mov %%cr0, %0; and $~0xC, %0; or $2, %0; mov %0, %%cr0" : "=&r"(r));
	mmio_write64(S, 0);
	for (i = 1; i <= ROUNDS && (i & 1023 || rdtsc() < stop); i++) {
		u64 pat[2] __attribute__((aligned(16))) = {i * 0x0101010101010101ULL, ~i};
		/* The read-modify-write: one instruction, a read and a write. */
		asm volatile("lock incq (%0)" ::"r"(S) : "memory", "cc");
		/* 16 bytes at once: two 8-byte pieces for the device. */
		asm volatile("movdqu (%1), %%xmm0; movdqu %%xmm0, (%0)" ::"r"(S + 16), "r"(pat)
			     : "memory"); /* xmm0: the compiler uses no SSE here (-mno-sse) */
		if (mmio_read64(S + 16) != pat[0] || mmio_read64(S + 24) != pat[1])
			torn++;
	}
	printf("# %lu rounds\n", i - 1);
	check_eq("every read-modify-write counted once", mmio_read64(S), i - 1);
	check_eq("no 16-byte write torn or lost", torn, 0);
}
