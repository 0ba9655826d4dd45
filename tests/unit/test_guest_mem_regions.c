/* Guest memory beyond RAM (core/guest_mem.c): where the hot-plug area is
 * placed and what map_size covers, the checked translation over RAM, the
 * area, pmem file regions and the gaps between them, guest_mem_add_file
 * (shared and private mappings, the padding, its refusals), region flags,
 * and the dirty log and memory file over the hot-plug area (never over a
 * file region). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/guest_mem.h"
#include "popek/layout.h"
#include "test.h"

#define RAM  (8 * MiB)
#define AREA (64 * MiB)
#define HIGH LAYOUT_HIGH_RAM_START /* 4 GiB */

/* A memfd of size bytes starting with text (the rest zeroes). */
static int pmem_file(u64 size, const char *text)
{
	int fd = memfd_create("popek-pmem", MFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)size), 0);
	if (text)
		CHECK_EQ(pwrite(fd, text, strlen(text), 0), (ssize_t)strlen(text));
	return fd;
}

static bool all_zero(const u8 *p, u64 len)
{
	for (u64 i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static u64 take_count(struct guest_mem *m)
{
	u64 *out = calloc(guest_mem_dirty_words(m), 8), n = guest_mem_dirty_take(m, out);

	free(out);
	return n;
}

static bool marked(const struct guest_mem *m, u64 pg)
{
	return m->dirty[pg / 64] >> (pg % 64) & 1;
}

/* ---- placement --------------------------------------------------------- */

/* Without an area: no hot-plug region, the mapping is RAM only. */
static void test_no_area(void)
{
	struct guest_mem m;

	CHECK_EQ(guest_mem_init(&m, RAM), 0);
	CHECK_EQ(m.hotplug, -1);
	CHECK_EQ(m.map_size, RAM);
	CHECK_EQ(m.nr_regions, 1);
	CHECK_EQ(m.nr_mapped, 1);
	CHECK(guest_mem_ptr(&m, HIGH, 1) == NULL);
	guest_mem_destroy(&m);
}

/* RAM below the MMIO hole: the area starts at 4 GiB, right after RAM in
 * the mapping, and is not RAM (ram_size, nr_regions unchanged). */
static void test_area_low_ram(void)
{
	struct guest_mem m;
	u8 buf[8];

	CHECK_EQ(guest_mem_init_hotplug(&m, RAM, AREA), 0);
	CHECK_EQ(m.ram_size, RAM);
	CHECK_EQ(m.map_size, RAM + AREA);
	CHECK_EQ(m.nr_regions, 1);
	CHECK_EQ(m.nr_mapped, 2);
	CHECK_EQ(m.hotplug, 1);
	CHECK_EQ(m.regions[1].gpa, HIGH);
	CHECK_EQ(m.regions[1].size, AREA);
	CHECK(m.regions[1].host == m.base + RAM);
	CHECK_EQ(m.regions[1].flags, 0);
	CHECK(guest_mem_in_file(&m, 1));
	CHECK_EQ(guest_mem_low_end(&m), RAM);
	/* The same bytes by gpa and by the mapping. */
	CHECK_EQ(guest_mem_write(&m, HIGH + 0x1234, "hotplug", 7), 0);
	CHECK(!memcmp(m.base + RAM + 0x1234, "hotplug", 7));
	CHECK_EQ(guest_mem_read(&m, HIGH + AREA - 8, buf, 8), 0);
	guest_mem_destroy(&m);
}

/* RAM above the hole: the area starts at the first 1 GiB boundary at or
 * after high RAM's end, exactly at it when RAM ends on one. */
static void test_area_high_ram(void)
{
	static const struct {
		u64 ram, want;
	} cases[] = {
	    {LAYOUT_MMIO_HOLE_START + 8 * MiB, HIGH + 1 * GiB},
	    {LAYOUT_MMIO_HOLE_START + 1 * GiB, HIGH + 1 * GiB},
	    {LAYOUT_MMIO_HOLE_START + 1 * GiB + 4096, HIGH + 2 * GiB},
	    {LAYOUT_MMIO_HOLE_START, HIGH}, /* RAM fills low memory exactly: no high RAM */
	};

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		struct guest_mem m;
		u64 ram = cases[i].ram, high_end = HIGH + (ram - LAYOUT_MMIO_HOLE_START);

		CHECK_EQ(guest_mem_init_hotplug(&m, ram, AREA), 0);
		CHECK_EQ(m.map_size, ram + AREA);
		CHECK_EQ(m.nr_regions, ram > LAYOUT_MMIO_HOLE_START ? 2 : 1);
		CHECK_EQ(m.hotplug, (int)m.nr_regions);
		CHECK_EQ(m.regions[m.hotplug].gpa, cases[i].want);
		CHECK(m.regions[m.hotplug].host == m.base + ram);
		/* The gap between high RAM's end and the area is nobody's. */
		if (cases[i].want > high_end) {
			CHECK(guest_mem_ptr(&m, high_end - 1, 1) != NULL);
			CHECK(guest_mem_ptr(&m, high_end, 1) == NULL);
			CHECK(guest_mem_ptr(&m, cases[i].want - 1, 1) == NULL);
		}
		CHECK(guest_mem_ptr(&m, cases[i].want, AREA) == m.base + ram);
		guest_mem_destroy(&m);
	}
}

static void test_area_bad_sizes(void)
{
	struct guest_mem m;

	CHECK_EQ(guest_mem_init_hotplug(&m, RAM, 1 * MiB), -EINVAL); /* not 2 MiB blocks */
	CHECK_EQ(guest_mem_init_hotplug(&m, RAM, 2 * MiB + 4096), -EINVAL);
	CHECK_EQ(guest_mem_init_hotplug(&m, RAM, GUEST_MEM_MAX_GPA + 2 * MiB), -EINVAL);
	CHECK_EQ(guest_mem_init_hotplug(&m, 1 * MiB, AREA), -EINVAL);
	CHECK_EQ(guest_mem_init_hotplug(&m, RAM, UINT64_MAX - (2 * MiB - 1)), -EINVAL);
	/* Up to the guest's physical address space and not a byte past it
	 * (mapped with MAP_NORESERVE: costs address space only). */
	CHECK_EQ(guest_mem_init_hotplug(&m, RAM, GUEST_MEM_MAX_GPA - HIGH + 2 * MiB), -E2BIG);
	CHECK(m.base == NULL); /* nothing left mapped */
	CHECK_EQ(guest_mem_init_hotplug(&m, RAM, GUEST_MEM_MAX_GPA - HIGH), 0);
	CHECK(guest_mem_ptr(&m, GUEST_MEM_MAX_GPA - 1, 1) != NULL);
	CHECK(guest_mem_ptr(&m, GUEST_MEM_MAX_GPA, 1) == NULL);
	guest_mem_destroy(&m);
}

/* ---- translation ------------------------------------------------------- */

/* RAM, the area, a file right after the area (a 128 MiB area ends on the
 * files' 128 MiB alignment): NULL in the gaps, across any region's end,
 * and wherever gpa + len would pass 2^64. */
static void test_ptr_bounds(void)
{
	const u64 area = 128 * MiB, file = HIGH + area;
	struct guest_mem m;
	u32 flags = 99;
	int fd = pmem_file(4096, "file");

	CHECK_EQ(guest_mem_init_hotplug(&m, RAM, area), 0);
	CHECK_EQ(guest_mem_add_file(&m, fd, 4096, false), 2);
	CHECK_EQ(m.regions[2].gpa, file);
	CHECK_EQ(m.regions[2].size, 2 * MiB);

	CHECK(guest_mem_ptr(&m, 0, RAM) == m.base);
	CHECK(guest_mem_ptr(&m, RAM - 1, 0) == m.base + RAM - 1); /* len 0 is 1 byte */
	CHECK(guest_mem_ptr(&m, RAM - 1, 2) == NULL);             /* past RAM's end */
	CHECK(guest_mem_ptr(&m, RAM, 0) == NULL);
	CHECK(guest_mem_ptr(&m, LAYOUT_MMIO_HOLE_START, 1) == NULL);
	CHECK(guest_mem_ptr(&m, HIGH - 1, 1) == NULL);
	CHECK(guest_mem_ptr(&m, HIGH - 1, 2) == NULL); /* from the hole into the area */
	CHECK(guest_mem_ptr(&m, HIGH, area) == m.base + RAM);
	CHECK(guest_mem_ptr(&m, HIGH, area + 1) == NULL);
	CHECK(guest_mem_ptr(&m, file - 1, 1) == m.base + RAM + area - 1);
	CHECK(guest_mem_ptr(&m, file - 1, 2) == NULL); /* the area into the file: two regions */
	CHECK(guest_mem_ptr(&m, file, 4) == m.regions[2].host);
	CHECK(!memcmp(guest_mem_ptr(&m, file, 4), "file", 4));
	CHECK(guest_mem_ptr(&m, file + 2 * MiB - 1, 1) != NULL);
	CHECK(guest_mem_ptr(&m, file + 2 * MiB - 1, 2) == NULL);
	CHECK(guest_mem_ptr(&m, file + 2 * MiB, 1) == NULL);
	CHECK(guest_mem_ptr(&m, GUEST_MEM_MAX_GPA, 1) == NULL);
	/* u64 overflow. */
	CHECK(guest_mem_ptr(&m, UINT64_MAX, 0) == NULL);
	CHECK(guest_mem_ptr(&m, UINT64_MAX, 2) == NULL);
	CHECK(guest_mem_ptr(&m, 0x1000, UINT64_MAX) == NULL);
	CHECK(guest_mem_ptr(&m, HIGH + 0x1000, UINT64_MAX - HIGH) == NULL);
	CHECK(guest_mem_ptr(&m, file + 16, UINT64_MAX - 15) == NULL);
	CHECK(guest_mem_ptr(&m, UINT64_MAX - area + 1, area) == NULL);

	/* Flags: RAM and the area none, a shared file FILE. */
	CHECK(guest_mem_ptr_flags(&m, 0x1000, 1, &flags) == m.base + 0x1000);
	CHECK_EQ(flags, 0);
	flags = 99;
	CHECK(guest_mem_ptr_flags(&m, HIGH + 5, 1, &flags) != NULL);
	CHECK_EQ(flags, 0);
	CHECK(guest_mem_ptr_flags(&m, file + 5, 1, &flags) != NULL);
	CHECK_EQ(flags, GUEST_MEM_FILE);
	CHECK(!guest_mem_in_file(&m, 2));
	guest_mem_destroy(&m);
	close(fd);
}

/* ---- pmem files -------------------------------------------------------- */

/* A shared file: the guest's writes reach the file; the padding to 2 MiB
 * reads as zeroes and writes there never grow the file. */
static void test_file_shared(void)
{
	const u64 size = 5000;
	struct guest_mem m;
	struct stat sb;
	char buf[16];
	u32 flags = 0;
	int fd = pmem_file(size, "pmem data"), r;
	gpa_t g;

	CHECK_EQ(guest_mem_init(&m, RAM), 0);
	r = guest_mem_add_file(&m, fd, size, false);
	CHECK_EQ(r, 1);
	if (r != 1)
		goto out;
	g = m.regions[1].gpa;
	CHECK_EQ(g, HIGH); /* the first 128 MiB boundary at or above 4 GiB */
	CHECK_EQ(m.regions[1].size, 2 * MiB);
	CHECK_EQ(m.nr_regions, 1);
	CHECK_EQ(m.nr_mapped, 2);
	CHECK_EQ(m.map_size, RAM); /* not in the memory file */
	CHECK(guest_mem_ptr_flags(&m, g, 1, &flags) != NULL);
	CHECK_EQ(flags, GUEST_MEM_FILE);
	CHECK_EQ(guest_mem_read(&m, g, buf, 9), 0);
	CHECK(!memcmp(buf, "pmem data", 9));
	CHECK_EQ(guest_mem_write(&m, g + 4000, "written", 7), 0);
	CHECK_EQ(pread(fd, buf, 7, 4000), 7);
	CHECK(!memcmp(buf, "written", 7));
	/* Past the file's end: zeroes up to 2 MiB. */
	CHECK(all_zero(guest_mem_ptr(&m, g + size, 2 * MiB - size), 2 * MiB - size));
	CHECK_EQ(guest_mem_write(&m, g + 1 * MiB, "pad", 3), 0);
	CHECK_EQ(guest_mem_write(&m, g + size, "tail", 4), 0);
	CHECK_EQ(fstat(fd, &sb), 0);
	CHECK_EQ((u64)sb.st_size, size);
	CHECK_EQ(pread(fd, buf, 16, (off_t)size), 0);
out:
	guest_mem_destroy(&m);
	close(fd);
}

/* A read-only file is mapped privately: the guest's (a device's) writes
 * land in private pages and never reach the file. */
static void test_file_read_only(void)
{
	struct guest_mem m;
	char buf[16];
	u32 flags = 0;
	int fd = pmem_file(3 * MiB, "original"), r;
	gpa_t g;

	CHECK_EQ(guest_mem_init(&m, RAM), 0);
	r = guest_mem_add_file(&m, fd, 3 * MiB, true);
	CHECK_EQ(r, 1);
	if (r != 1)
		goto out;
	g = m.regions[1].gpa;
	CHECK_EQ(m.regions[1].size, 4 * MiB);
	CHECK(guest_mem_ptr_flags(&m, g + 3 * MiB - 1, 1, &flags) != NULL);
	CHECK_EQ(flags, GUEST_MEM_FILE | GUEST_MEM_READONLY);
	CHECK_EQ(guest_mem_write(&m, g, "CHANGED!", 8), 0);
	CHECK_EQ(guest_mem_write(&m, g + 2 * MiB + 8, "second", 6), 0);
	CHECK_EQ(pread(fd, buf, 8, 0), 8);
	CHECK(!memcmp(buf, "original", 8));
	CHECK_EQ(pread(fd, buf, 6, 2 * MiB + 8), 6);
	CHECK(all_zero((u8 *)buf, 6));
	CHECK(all_zero(guest_mem_ptr(&m, g + 3 * MiB, 1 * MiB), 1 * MiB));
out:
	guest_mem_destroy(&m);
	close(fd);
}

/* Files follow each other at 128 MiB boundaries after the area; size 0,
 * a ninth file (regions full), and anything past the guest's physical
 * address space are refused and change nothing. */
static void test_file_refusals(void)
{
	const u64 area = GUEST_MEM_MAX_GPA - HIGH - 3 * GiB; /* ends 2 GiB below the limit */
	const u64 ram = LAYOUT_MMIO_HOLE_START + 8 * MiB;    /* low and high RAM */
	const gpa_t first = HIGH + 1 * GiB + area;           /* high RAM ends at 4 GiB + 8 MiB */
	struct guest_mem m;
	int fd = pmem_file(2 * MiB, "x"), r;

	CHECK_EQ(guest_mem_init_hotplug(&m, ram, area), 0);
	CHECK_EQ(m.regions[m.hotplug].gpa + area, first);
	CHECK_EQ(guest_mem_add_file(&m, fd, 0, false), -EINVAL);
	CHECK_EQ(guest_mem_add_file(&m, fd, GUEST_MEM_MAX_GPA + 1, false), -E2BIG);
	/* 2 GiB are left: a file of 2 GiB + 1 byte does not fit. */
	CHECK_EQ(guest_mem_add_file(&m, fd, 2 * GiB + 1, false), -E2BIG);
	CHECK_EQ(m.nr_mapped, 3);
	for (unsigned i = 0; i < GUEST_MEM_MAX_FILES; i++) {
		r = guest_mem_add_file(&m, fd, 2 * MiB, i & 1);
		CHECK_EQ(r, 3 + i);
		if (r >= 0)
			CHECK_EQ(m.regions[r].gpa, first + i * GUEST_MEM_FILE_ALIGN);
	}
	CHECK_EQ(m.nr_mapped, GUEST_MEM_MAX_REGIONS);
	/* A ninth file would still fit below the limit: the count stops it. */
	CHECK(first + GUEST_MEM_MAX_FILES * GUEST_MEM_FILE_ALIGN + 2 * MiB < GUEST_MEM_MAX_GPA);
	CHECK_EQ(guest_mem_add_file(&m, fd, 2 * MiB, false), -E2BIG);
	CHECK_EQ(m.nr_mapped, GUEST_MEM_MAX_REGIONS);
	guest_mem_destroy(&m);

	/* The last file that fits ends exactly at the limit; the next does not. */
	CHECK_EQ(ftruncate(fd, 128 * MiB), 0);
	CHECK_EQ(guest_mem_init_hotplug(&m, RAM, GUEST_MEM_MAX_GPA - HIGH - 128 * MiB), 0);
	r = guest_mem_add_file(&m, fd, 128 * MiB, false);
	CHECK_EQ(r, 2);
	if (r == 2)
		CHECK_EQ(m.regions[2].gpa + m.regions[2].size, GUEST_MEM_MAX_GPA);
	CHECK(guest_mem_ptr(&m, GUEST_MEM_MAX_GPA - 1, 1) != NULL);
	CHECK_EQ(guest_mem_add_file(&m, fd, 1, false), -E2BIG);
	CHECK_EQ(m.nr_mapped, 3);
	guest_mem_destroy(&m);
	close(fd);
}

/* ---- the dirty log and the memory file --------------------------------- */

/* One bit per page of RAM and the area (map_size); file regions are the
 * user's file and never marked. */
static void test_dirty_area(void)
{
	const u64 ram_pages = RAM / 4096, pages = (RAM + AREA) / 4096;
	struct guest_mem m;
	int fd = pmem_file(4096, NULL), r;
	gpa_t file;

	CHECK_EQ(guest_mem_init_hotplug(&m, RAM, AREA), 0);
	r = guest_mem_add_file(&m, fd, 4096, false);
	CHECK_EQ(r, 2);
	file = m.regions[2].gpa;
	CHECK_EQ(guest_mem_dirty_start(&m), 0);
	CHECK_EQ(guest_mem_dirty_words(&m), pages / 64);
	guest_mem_dirty_mark(&m, HIGH + 5 * 4096 + 10, 1);
	CHECK(marked(&m, ram_pages + 5));
	CHECK_EQ(take_count(&m), 1);
	CHECK_EQ(guest_mem_write(&m, HIGH + AREA - 1, "z", 1), 0);
	CHECK(marked(&m, pages - 1));
	CHECK_EQ(take_count(&m), 1);
	/* From the end of RAM across the hole into the area. */
	guest_mem_dirty_mark(&m, RAM - 4096, HIGH - RAM + 2 * 4096);
	CHECK(marked(&m, ram_pages - 1) && marked(&m, ram_pages));
	CHECK_EQ(take_count(&m), 2);
	guest_mem_dirty_mark_host(&m, m.base + RAM + 7 * 4096, 4096);
	CHECK(marked(&m, ram_pages + 7));
	CHECK_EQ(take_count(&m), 1);
	/* The file: written, marked by gpa and by host pointer, all ignored. */
	CHECK_EQ(guest_mem_write(&m, file, "f", 1), 0);
	guest_mem_dirty_mark(&m, file, 2 * MiB);
	guest_mem_dirty_mark(&m, HIGH + AREA, file - (HIGH + AREA) + 2 * MiB);
	guest_mem_dirty_mark_host(&m, m.regions[2].host, 4096);
	CHECK_EQ(take_count(&m), 0);
	/* Everything: every page of RAM and the area, nothing more. */
	guest_mem_dirty_mark(&m, 0, UINT64_MAX);
	CHECK_EQ(take_count(&m), pages);
	guest_mem_destroy(&m);
	close(fd);
}

/* The memory file holds RAM then the area (map_size bytes), never a pmem
 * file's bytes; mapped into a machine of the same shape, the area's bytes
 * come back at its gpa. A machine without the area refuses it. */
static void test_save_map_area(void)
{
	struct guest_mem a, b, c;
	struct stat sb;
	u64 written = 0;
	char buf[16];
	int mf = memfd_create("popek-memfile", MFD_CLOEXEC), pf = pmem_file(4096, NULL);

	CHECK(mf >= 0);
	CHECK_EQ(guest_mem_init_hotplug(&a, RAM, AREA), 0);
	CHECK_EQ(guest_mem_add_file(&a, pf, 4096, false), 2);
	CHECK_EQ(guest_mem_write(&a, 0x2000, "ram", 3), 0);
	CHECK_EQ(guest_mem_write(&a, HIGH + 3 * MiB + 5, "area", 4), 0);
	CHECK_EQ(guest_mem_write(&a, HIGH + AREA - 4, "last", 4), 0);
	CHECK_EQ(guest_mem_write(&a, a.regions[2].gpa, "pmem", 4), 0);
	CHECK_EQ(guest_mem_save(&a, mf, &written), 0);
	CHECK_EQ(written, 3 * 4096); /* the pmem page is not among them */
	CHECK_EQ(fstat(mf, &sb), 0);
	CHECK_EQ((u64)sb.st_size, RAM + AREA);
	CHECK_EQ(pread(mf, buf, 4, (off_t)(RAM + 3 * MiB + 5)), 4);
	CHECK(!memcmp(buf, "area", 4));

	CHECK_EQ(guest_mem_init_hotplug(&b, RAM, AREA), 0);
	CHECK_EQ(guest_mem_map_file(&b, mf), 0);
	CHECK_EQ(guest_mem_read(&b, 0x2000, buf, 3), 0);
	CHECK(!memcmp(buf, "ram", 3));
	CHECK_EQ(guest_mem_read(&b, HIGH + 3 * MiB + 5, buf, 4), 0);
	CHECK(!memcmp(buf, "area", 4));
	CHECK_EQ(guest_mem_read(&b, HIGH + AREA - 4, buf, 4), 0);
	CHECK(!memcmp(buf, "last", 4));
	/* Private: the area's new bytes stay out of the file. */
	CHECK_EQ(guest_mem_write(&b, HIGH + 3 * MiB + 5, "AREA", 4), 0);
	CHECK_EQ(pread(mf, buf, 4, (off_t)(RAM + 3 * MiB + 5)), 4);
	CHECK(!memcmp(buf, "area", 4));

	CHECK_EQ(guest_mem_init(&c, RAM), 0);
	CHECK_EQ(guest_mem_map_file(&c, mf), -EMSGSIZE);
	guest_mem_destroy(&c);
	/* Nothing written in the area: the file is still map_size bytes (the
	 * area's pages holes), and a machine of that shape maps it. */
	CHECK_EQ(guest_mem_init_hotplug(&c, RAM, AREA), 0);
	CHECK_EQ(guest_mem_write(&c, 0x1000, "only RAM", 8), 0);
	CHECK_EQ(guest_mem_save(&c, mf, &written), 0);
	CHECK_EQ(written, 4096);
	CHECK_EQ(fstat(mf, &sb), 0);
	CHECK_EQ((u64)sb.st_size, RAM + AREA);
	guest_mem_destroy(&c);
	guest_mem_destroy(&b);
	guest_mem_destroy(&a);
	close(pf);
	close(mf);
}

int main(void)
{
	TEST_RUN(test_no_area);
	TEST_RUN(test_area_low_ram);
	TEST_RUN(test_area_high_ram);
	TEST_RUN(test_area_bad_sizes);
	TEST_RUN(test_ptr_bounds);
	TEST_RUN(test_file_shared);
	TEST_RUN(test_file_read_only);
	TEST_RUN(test_file_refusals);
	TEST_RUN(test_dirty_area);
	TEST_RUN(test_save_map_area);
	return test_done();
}
