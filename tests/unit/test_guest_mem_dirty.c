/* The dirty log of guest RAM (core/guest_mem_dirty.c): which page bits a
 * mark sets (ranges clipped to RAM, the MMIO hole skipped, RAM above 4 GiB
 * after low RAM), take and merge, the writers that mark (guest_mem_write,
 * guest_mem_dma_written), and the Diff memory file guest_mem_save_pages
 * writes. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/guest_mem.h"
#include "popek/layout.h"
#include "test.h"

/* 513 pages: the last bitmap word has bits past RAM that must stay clear. */
#define RAM   (2 * MiB + 4096)
#define PAGES (RAM / 4096)

static bool marked(const struct guest_mem *m, u64 pg)
{
	return m->dirty[pg / 64] >> (pg % 64) & 1;
}

/* Takes the log; returns the pages that were set (out is freed). */
static u64 take_count(struct guest_mem *m)
{
	u64 *out = calloc(guest_mem_dirty_words(m), 8), n = guest_mem_dirty_take(m, out);

	free(out);
	return n;
}

static void logged(struct guest_mem *m, u64 ram)
{
	CHECK_EQ(guest_mem_init(m, ram), 0);
	CHECK_EQ(guest_mem_dirty_start(m), 0);
}

static void test_mark_ranges(void)
{
	struct guest_mem m;

	logged(&m, RAM);
	CHECK_EQ(guest_mem_dirty_words(&m), 9);
	guest_mem_dirty_mark(&m, 0x5123, 1);
	CHECK(marked(&m, 5));
	CHECK_EQ(take_count(&m), 1);
	/* Across a boundary: both pages; a whole page: that page only. */
	guest_mem_dirty_mark(&m, 0x5ff0, 0x20);
	CHECK(marked(&m, 5) && marked(&m, 6));
	CHECK_EQ(take_count(&m), 2);
	guest_mem_dirty_mark(&m, 0x7000, 0x1000);
	CHECK(marked(&m, 7));
	CHECK_EQ(take_count(&m), 1);
	/* len 0 is one byte: the last byte of page 11 marks page 11 alone. */
	guest_mem_dirty_mark(&m, 0xbfff, 0);
	CHECK(marked(&m, 11));
	CHECK_EQ(take_count(&m), 1);
	guest_mem_dirty_mark(&m, 0xa064, 0);
	CHECK(marked(&m, 10));
	CHECK_EQ(take_count(&m), 1);
	/* Wholly in one word's high bit and the next word's low bit. */
	guest_mem_dirty_mark(&m, 63 * 4096 + 4095, 2);
	CHECK(marked(&m, 63) && marked(&m, 64));
	CHECK_EQ(take_count(&m), 2);
	guest_mem_destroy(&m);
}

static void test_mark_outside_ram(void)
{
	struct guest_mem m;

	logged(&m, RAM);
	/* Running past the end: the last page only, never bit 513 (a word
	 * still in the bitmap, so only this check would see it). */
	guest_mem_dirty_mark(&m, RAM - 4096, 3 * 4096);
	CHECK(marked(&m, PAGES - 1));
	CHECK(!marked(&m, PAGES));
	CHECK_EQ(take_count(&m), 1);
	guest_mem_dirty_mark(&m, RAM, 4096);
	guest_mem_dirty_mark(&m, RAM + 64 * 4096, 1);
	guest_mem_dirty_mark(&m, LAYOUT_MMIO_HOLE_START, 4096); /* no RAM above 2 MiB here */
	guest_mem_dirty_mark(&m, LAYOUT_HIGH_RAM_START, 4096);
	CHECK_EQ(take_count(&m), 0);
	/* Ranges whose end overflows u64: nothing past RAM, the RAM part marked. */
	guest_mem_dirty_mark(&m, UINT64_MAX - 10, 100);
	guest_mem_dirty_mark(&m, UINT64_MAX, 0);
	CHECK_EQ(take_count(&m), 0);
	guest_mem_dirty_mark(&m, RAM - 4096, UINT64_MAX);
	CHECK(marked(&m, PAGES - 1));
	CHECK_EQ(take_count(&m), 1);
	guest_mem_dirty_mark(&m, 0, UINT64_MAX);
	CHECK_EQ(take_count(&m), PAGES);
	guest_mem_destroy(&m);
}

/* A guest with RAM above 4 GiB: page n of high RAM is bit low_pages + n,
 * the hole marks nothing. */
static void test_mark_high_ram(void)
{
	const u64 low_pages = LAYOUT_MMIO_HOLE_START / 4096, ram = LAYOUT_MMIO_HOLE_START + 8 * MiB;
	const u64 high_end = LAYOUT_HIGH_RAM_START + 8 * MiB;
	struct guest_mem m;

	logged(&m, ram);
	CHECK_EQ(m.nr_regions, 2);
	guest_mem_dirty_mark(&m, LAYOUT_HIGH_RAM_START + 0x3010, 8);
	CHECK(marked(&m, low_pages + 3));
	CHECK_EQ(take_count(&m), 1);
	/* From the last low page across the whole hole into high RAM. */
	guest_mem_dirty_mark(&m, LAYOUT_MMIO_HOLE_START - 4096,
			     LAYOUT_HIGH_RAM_START - LAYOUT_MMIO_HOLE_START + 2 * 4096);
	CHECK(marked(&m, low_pages - 1) && marked(&m, low_pages));
	CHECK_EQ(take_count(&m), 2);
	guest_mem_dirty_mark(&m, LAYOUT_VIRTIO_MMIO_BASE, 4096);
	guest_mem_dirty_mark(&m, LAYOUT_MMIO_HOLE_END - 1, 1);
	CHECK_EQ(take_count(&m), 0);
	guest_mem_dirty_mark(&m, high_end - 4096, 2 * 4096);
	CHECK(marked(&m, ram / 4096 - 1));
	CHECK_EQ(take_count(&m), 1);
	guest_mem_dirty_mark(&m, high_end - 4096, UINT64_MAX);
	CHECK(marked(&m, ram / 4096 - 1));
	CHECK_EQ(take_count(&m), 1);
	/* Host pointers: high RAM follows low RAM in the mapping. */
	guest_mem_dirty_mark_host(&m, m.regions[1].host + 0x5000, 1);
	CHECK(marked(&m, low_pages + 5));
	CHECK_EQ(take_count(&m), 1);
	/* What guest_mem_write marks, it marks at the same bit. */
	CHECK_EQ(guest_mem_write(&m, LAYOUT_HIGH_RAM_START + 0x7ffe, "high", 4), 0);
	CHECK(marked(&m, low_pages + 7) && marked(&m, low_pages + 8));
	CHECK_EQ(take_count(&m), 2);
	guest_mem_destroy(&m);
}

static void test_mark_host(void)
{
	struct guest_mem m;

	logged(&m, RAM);
	guest_mem_dirty_mark_host(&m, m.base + 0x3005, 10);
	CHECK(marked(&m, 3));
	CHECK_EQ(take_count(&m), 1);
	guest_mem_dirty_mark_host(&m, m.base + 0x3ffe, 4);
	CHECK(marked(&m, 3) && marked(&m, 4));
	CHECK_EQ(take_count(&m), 2);
	/* Outside RAM: ignored. */
	u8 local[16];
	guest_mem_dirty_mark_host(&m, local, sizeof(local));
	guest_mem_dirty_mark_host(&m, m.base - 1, 1);
	guest_mem_dirty_mark_host(&m, m.base + RAM, 1);
	CHECK_EQ(take_count(&m), 0);
	/* Running past RAM: never a bit past its last page. */
	guest_mem_dirty_mark_host(&m, m.base + RAM - 4096, 2 * 4096);
	CHECK(!marked(&m, PAGES));
	CHECK(take_count(&m) <= 1);
	guest_mem_destroy(&m);
}

static void test_take_and_merge(void)
{
	struct guest_mem m;
	u64 out[9] = {0}, again[9] = {0};

	logged(&m, RAM);
	guest_mem_dirty_mark(&m, 1 * 4096, 1);
	guest_mem_dirty_mark(&m, 70 * 4096, 1);
	out[0] = 1ULL << 3; /* already in out: kept, and counted */
	CHECK_EQ(guest_mem_dirty_take(&m, out), 3);
	CHECK_EQ(out[0], (1ULL << 1) | (1ULL << 3));
	CHECK_EQ(out[1], 1ULL << 6);
	/* The log is empty now. */
	CHECK_EQ(guest_mem_dirty_take(&m, again), 0);
	CHECK_EQ(again[0] | again[1], 0);
	/* A save that failed puts them back; new marks stay. */
	guest_mem_dirty_mark(&m, 512 * 4096, 1);
	guest_mem_dirty_merge(&m, out);
	CHECK_EQ(guest_mem_dirty_take(&m, again), 4);
	CHECK_EQ(again[0], out[0]);
	CHECK_EQ(again[1], out[1]);
	CHECK_EQ(again[8], 1);
	/* Starting again keeps the log. */
	guest_mem_dirty_mark(&m, 2 * 4096, 1);
	CHECK_EQ(guest_mem_dirty_start(&m), 0);
	CHECK(marked(&m, 2));
	guest_mem_destroy(&m);
}

static void test_log_off(void)
{
	struct guest_mem m;
	u64 out[9] = {5};
	u8 b = 1;

	CHECK_EQ(guest_mem_init(&m, RAM), 0);
	guest_mem_dirty_mark(&m, 0x1000, 1);
	guest_mem_dirty_mark_host(&m, m.base, 1);
	CHECK_EQ(guest_mem_write(&m, 0x1000, &b, 1), 0);
	guest_mem_dma_written(&m, 0x1000, 1);
	guest_mem_dirty_merge(&m, out);
	CHECK(m.dirty == NULL);
	/* Taking nothing leaves out as it was. */
	CHECK_EQ(guest_mem_dirty_take(&m, out), 2);
	CHECK_EQ(out[0], 5);
	guest_mem_destroy(&m);
}

static unsigned dma_calls;

static void count_dma(void *opaque, gpa_t gpa, u64 len)
{
	(void)opaque, (void)gpa, (void)len;
	dma_calls++;
}

static void test_writers_mark(void)
{
	struct guest_mem m;

	logged(&m, RAM);
	CHECK_EQ(guest_mem_write(&m, 0x7ffe, "abcd", 4), 0);
	CHECK(marked(&m, 7) && marked(&m, 8));
	CHECK_EQ(take_count(&m), 2);
	CHECK_EQ(guest_mem_write(&m, RAM - 2, "abcd", 4), -EFAULT); /* wrote nothing */
	CHECK_EQ(take_count(&m), 0);
	m.dma_written = count_dma;
	guest_mem_dma_written(&m, 0x9ff0, 0x20);
	CHECK(marked(&m, 9) && marked(&m, 10));
	CHECK_EQ(take_count(&m), 2);
	/* gpa 0, len 0: "somewhere"; the caller marks what it wrote itself. */
	guest_mem_dma_written(&m, 0, 0);
	CHECK_EQ(take_count(&m), 0);
	CHECK_EQ(dma_calls, 2);
	guest_mem_destroy(&m);
}

/* Where fd holds data (not holes): [start, end) pairs, up to max of them. */
static unsigned data_extents(int fd, u64 size, u64 (*ext)[2], unsigned max)
{
	unsigned n = 0;
	off_t off = 0;

	while (n < max && (u64)off < size) {
		off = lseek(fd, off, SEEK_DATA);
		if (off < 0)
			break;
		off_t end = lseek(fd, off, SEEK_HOLE);
		ext[n][0] = (u64)off;
		ext[n][1] = (u64)end;
		n++;
		off = end;
	}
	return n;
}

/* Exactly the marked pages reach the file, at their offsets, zero pages
 * too (they may be written zeroes over a base's data); the rest are holes. */
static void test_save_pages(void)
{
	const u64 ram = 8 * MiB, last = ram / 4096 - 1;
	u64 *pages, ext[8][2], written = 0;
	struct guest_mem m;
	struct stat sb;
	u8 buf[4096];
	int fd = memfd_create("popek-diff", MFD_CLOEXEC);

	CHECK(fd >= 0);
	logged(&m, ram);
	pages = calloc(guest_mem_dirty_words(&m), 8);
	for (u64 pg = 0; pg <= last; pg += 9)
		memset(m.base + pg * 4096, 0x11, 4096); /* data everywhere, marked or not */
	CHECK_EQ(guest_mem_write(&m, 1 * 4096, "one", 3), 0);
	CHECK_EQ(guest_mem_write(&m, 2 * 4096 + 100, "two", 3), 0);
	memset(m.base + 50 * 4096, 0, 4096);
	guest_mem_dirty_mark(&m, 50 * 4096, 4096);
	CHECK_EQ(guest_mem_write(&m, 100 * 4096, "hundred", 7), 0);
	CHECK_EQ(guest_mem_write(&m, last * 4096, "last", 4), 0);
	CHECK_EQ(guest_mem_dirty_take(&m, pages), 5);
	CHECK_EQ(ftruncate(fd, 4096), 0); /* an old file's bytes go */
	CHECK_EQ(pwrite(fd, "old", 3, 0), 3);

	CHECK_EQ(guest_mem_save_pages(&m, fd, pages, &written), 0);
	CHECK_EQ(written, 5 * 4096);
	CHECK_EQ(fstat(fd, &sb), 0);
	CHECK_EQ((u64)sb.st_size, ram);
	unsigned n = data_extents(fd, ram, ext, 8);
	CHECK_EQ(n, 4);
	if (n == 4) {
		CHECK(ext[0][0] == 1 * 4096 && ext[0][1] == 3 * 4096);
		CHECK(ext[1][0] == 50 * 4096 && ext[1][1] == 51 * 4096);
		CHECK(ext[2][0] == 100 * 4096 && ext[2][1] == 101 * 4096);
		CHECK(ext[3][0] == last * 4096 && ext[3][1] == ram);
	}
	const u64 want[] = {1, 2, 50, 100, last};
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++) {
		CHECK_EQ(pread(fd, buf, 4096, (off_t)(want[i] * 4096)), 4096);
		CHECK(!memcmp(buf, m.base + want[i] * 4096, 4096));
	}
	CHECK_EQ(pread(fd, buf, 4096, 0), 4096); /* page 0 held data, unmarked: zeroes */
	CHECK(buf[0] == 0 && !memcmp(buf, buf + 1, 4095));
	/* Saved again with one page: still ram bytes long, the rest holes. */
	memset(pages, 0, guest_mem_dirty_words(&m) * 8);
	pages[0] = 1ULL << 1;
	CHECK_EQ(guest_mem_save_pages(&m, fd, pages, &written), 0);
	CHECK_EQ(written, 4096);
	CHECK_EQ(fstat(fd, &sb), 0);
	CHECK_EQ((u64)sb.st_size, ram);
	CHECK_EQ(data_extents(fd, ram, ext, 8), 1);
	CHECK(ext[0][0] == 1 * 4096 && ext[0][1] == 2 * 4096);
	free(pages);
	guest_mem_destroy(&m);
	close(fd);
}

int main(void)
{
	TEST_RUN(test_mark_ranges);
	TEST_RUN(test_mark_outside_ram);
	TEST_RUN(test_mark_high_ram);
	TEST_RUN(test_mark_host);
	TEST_RUN(test_take_and_merge);
	TEST_RUN(test_log_off);
	TEST_RUN(test_writers_mark);
	TEST_RUN(test_save_pages);
	return test_done();
}
