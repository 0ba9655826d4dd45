/* Device DMA into a page of hot code (needs --disk IMG, a writable scratch
 * image of at least 8 KiB): a function in its own page is called until the
 * soft engine has translated it and linked the call to it; virtio-blk then
 * reads a new version of the function into that page, and the next calls
 * must run the new code. A CPU store into the page must take effect the
 * same way. On KVM the hardware does both. (Issue 11: DMA into code pages.)
 * Seen failing with links that ignore the code epoch and the block's build
 * serial; the DMA notifier alone is checked by test_jit_tier (test_jit_smc_dma),
 * since here the first call after the read already goes through soft_exec(). */
#include "virtio.h"

static struct virtio_dev blk;
static u8 buf[4096] __attribute__((aligned(512)));
static u8 fpage[4096] __attribute__((aligned(4096)));

typedef u32 fn_t(u32);

/* lea eax, [rdi + k]; ret */
static void version(u8 *p, u8 k)
{
	static const u8 code[] = {0x8d, 0x47, 0x00, 0xc3};

	memcpy(p, code, sizeof(code));
	p[2] = k;
	asm volatile("" ::: "memory");
}

/* The sum of f(i) - i over n calls: n * the version's k. */
static u32 hot(u32 n)
{
	fn_t *volatile f = (fn_t *)(void *)fpage;
	u32 s = 0;

	for (u32 i = 0; i < n; i++)
		s += f(i) - i;
	return s;
}

void test_main(void)
{
	version(fpage, 1);
	check(hot(5000) == 5000, "version 1 runs: %u", hot(1));
	if (!check(virtio_find(&blk, 2, 0) && virtio_init(&blk, 0, 1), "virtio-blk found and set up"))
		guest_exit(false);
	memset(buf, 0xf4, sizeof(buf)); /* hlt after the function */
	version(buf, 1);
	check(blk_request(&blk, BLK_T_OUT, 8, buf, sizeof(buf)) == BLK_S_OK, "version 1 written to the disk");
	version(buf, 2);
	check(blk_request(&blk, BLK_T_OUT, 0, buf, sizeof(buf)) == BLK_S_OK, "version 2 written to the disk");
	/* Once with the same code, so that everything on the way (the driver,
	 * its wait loop) is hot and translated too before the real change. */
	for (int round = 0; round < 3; round++) {
		check(blk_request(&blk, BLK_T_IN, 8, fpage, sizeof(fpage)) == BLK_S_OK, "version 1 read into the code page");
		check(hot(5000) == 5000, "version 1 still runs");
	}
	check(blk_request(&blk, BLK_T_IN, 0, fpage, sizeof(fpage)) == BLK_S_OK, "version 2 read into the code page");
	u32 got = hot(5000);
	check(got == 10000, "DMA into the hot code page: the new code runs (%u, want 10000)", got);
	fpage[2] = 3; /* a CPU store into the same page */
	asm volatile("" ::: "memory");
	got = hot(5000);
	check(got == 15000, "a store into the hot code page: the new code runs (%u, want 15000)", got);
	guest_exit(true);
}
