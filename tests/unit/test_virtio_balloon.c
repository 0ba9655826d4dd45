/* Unit tests of virtio-balloon: target in the configuration space, inflated
 * pages leaving the host's memory, deflate, statistics, bad requests. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio/balloon.h"
#include "virtio_fake_driver.h"

#define INFLATEQ   0
#define DEFLATEQ   1
#define STATSQ     2
#define QSZ        32
#define F_STATS_VQ (1ull << 1)

struct fix {
	struct fd_machine fm;
	struct fd_driver d;
	struct virtio_balloon *b;
};

static void fix_start(struct fix *f, u64 target)
{
	fd_machine_init(&f->fm);
	CHECK_EQ(virtio_balloon_create(f->fm.m, target, &f->b), 0);
	fd_machine_start(&f->fm);
	CHECK_EQ(fd_rd(&(struct fd_driver){.fm = &f->fm, .base = LAYOUT_VIRTIO_MMIO_BASE}, 8), 5);
	CHECK(fd_driver_init(&f->d, &f->fm, 0, F_STATS_VQ, 3, QSZ) & F_STATS_VQ);
}

static void fix_stop(struct fix *f)
{
	fd_machine_stop(&f->fm);
	virtio_balloon_destroy(f->b);
	fd_machine_fini(&f->fm);
}

/* Sends npages PFNs from first_pfn on queue q and waits for the answer. */
static bool pfns(struct fix *f, unsigned q, u32 first_pfn, u32 npages)
{
	gpa_t g = fd_alloc(&f->d, 4 * (u64)npages);
	u32 *a = fd_ptr(&f->d, g, 4 * (u64)npages), id, len;
	struct fd_buf b = {g, 4 * npages, false};

	for (u32 i = 0; i < npages; i++)
		a[i] = first_pfn + i;
	fd_add(&f->d, q, &b, 1);
	fd_kick(&f->d, q);
	return fd_used(&f->d, q, &id, &len, 1000);
}

/* How many of the n pages at gpa are resident in the host. */
static unsigned resident(struct fix *f, gpa_t gpa, unsigned n)
{
	unsigned char vec[256];
	unsigned count = 0;

	CHECK(n <= sizeof(vec));
	CHECK_EQ(mincore(fd_ptr(&f->d, gpa, (u64)n * 4096), (size_t)n * 4096, vec), 0);
	for (unsigned i = 0; i < n; i++)
		count += vec[i] & 1;
	return count;
}

static void wait_status(struct fd_driver *d, u32 bit)
{
	for (int i = 0; i < 1000 && !(fd_status(d) & bit); i++)
		fd_sleep_ms(1);
	CHECK(fd_status(d) & bit);
}

static void test_inflate_deflate(void)
{
	struct fix f;
	struct balloon_stats st;
	const gpa_t area = 8 * MiB;

	fix_start(&f, 1 * MiB);
	CHECK_EQ(fd_cfg_read(&f.d, 0, 4), 256); /* num_pages */
	CHECK_EQ(fd_cfg_read(&f.d, 4, 4), 0);   /* actual */
	memset(fd_ptr(&f.d, area, MiB), 0xAA, MiB);
	CHECK_EQ(resident(&f, area, 256), 256);
	CHECK(pfns(&f, INFLATEQ, (u32)(area >> 12), 256));
	CHECK_EQ(resident(&f, area, 256), 0);
	CHECK_EQ(*(u8 *)fd_ptr(&f.d, area + 4096 * 17, 1), 0); /* zero on next touch */
	fd_cfg_write(&f.d, 4, 4, 256);
	virtio_balloon_get_stats(f.b, &st);
	CHECK_EQ(st.target_bytes, MiB);
	CHECK_EQ(st.actual_bytes, MiB);
	CHECK_EQ(st.inflated_pages, 256);
	/* Deflate only counts: the guest just uses the pages again. */
	CHECK(pfns(&f, DEFLATEQ, (u32)(area >> 12), 16));
	virtio_balloon_get_stats(f.b, &st);
	CHECK_EQ(st.deflated_pages, 16);
	/* A new target: config-change interrupt, num_pages rereads. */
	fd_wr(&f.d, 0x64, fd_rd(&f.d, 0x60));
	CHECK_EQ(virtio_balloon_set_target(f.b, 2 * MiB + 100), 0);
	CHECK_EQ(fd_cfg_read(&f.d, 0, 4), 512);
	CHECK(fd_rd(&f.d, 0x60) & 2);
	CHECK_EQ(virtio_balloon_set_target(f.b, FD_RAM + 4096), -EINVAL);
	CHECK_EQ(fd_cfg_read(&f.d, 0, 4), 512);
	CHECK_EQ(balloon_set_target(f.fm.m, MiB), -ENODEV); /* not made by devices.c */
	/* The driver may not write num_pages. */
	fd_cfg_write(&f.d, 0, 4, 7);
	CHECK_EQ(fd_cfg_read(&f.d, 0, 4), 512);
	fix_stop(&f);
}

static void test_stats(void)
{
	struct fix f;
	struct balloon_stats st;
	gpa_t g;
	u8 *p;
	struct fd_buf b;
	u32 id, len;

	fix_start(&f, 0);
	virtio_balloon_get_stats(f.b, &st);
	CHECK_EQ(st.updated_ms, 0);
	g = fd_alloc(&f.d, 30);
	p = fd_ptr(&f.d, g, 30);
	/* {le16 tag; le64 val} x 3: MEMFREE, MEMTOT and an unknown tag. */
	const u8 entries[30] = {4, 0, 0x00, 0x10, 0, 0,  0, 0, 0, 0, 5, 0, 0x00, 0x20, 0,
				0, 0, 0,    0,    0, 99, 0, 1, 0, 0, 0, 0, 0,    0,    0};
	memcpy(p, entries, 30);
	b = (struct fd_buf){g, 30, false};
	fd_add(&f.d, STATSQ, &b, 1);
	fd_kick(&f.d, STATSQ);
	for (int i = 0; i < 1000; i++) {
		struct balloon_stats s;
		virtio_balloon_get_stats(f.b, &s);
		if (s.updated_ms)
			break;
		fd_sleep_ms(1);
	}
	/* That call asked for fresh statistics: the buffer came back. */
	CHECK(fd_used(&f.d, STATSQ, &id, &len, 1000));
	virtio_balloon_get_stats(f.b, &st);
	CHECK(st.updated_ms != 0);
	CHECK_EQ(st.valid, 1u << BALLOON_STAT_MEMFREE | 1u << BALLOON_STAT_MEMTOT);
	CHECK_EQ(st.val[BALLOON_STAT_MEMFREE], 0x1000);
	CHECK_EQ(st.val[BALLOON_STAT_MEMTOT], 0x2000);
	/* The driver answers with new numbers. */
	p[3] = 0x30;
	fd_add(&f.d, STATSQ, &b, 1);
	fd_kick(&f.d, STATSQ);
	for (int i = 0; i < 1000 && st.val[BALLOON_STAT_MEMFREE] != 0x3000; i++) {
		fd_sleep_ms(1);
		virtio_balloon_get_stats(f.b, &st);
	}
	CHECK_EQ(st.val[BALLOON_STAT_MEMFREE], 0x3000);
	fix_stop(&f);
}

static void test_bad_requests(void)
{
	struct fix f;
	struct balloon_stats st;

	fix_start(&f, 0);
	/* A PFN beyond RAM: DEVICE_NEEDS_RESET, nothing answered. */
	CHECK(!pfns(&f, INFLATEQ, (u32)(FD_RAM >> 12), 1));
	wait_status(&f.d, VIRTIO_STATUS_NEEDS_RESET);
	/* Reset, then a request that is not a whole number of PFNs. */
	fd_driver_init(&f.d, &f.fm, 0, F_STATS_VQ, 3, QSZ);
	CHECK(pfns(&f, INFLATEQ, 100, 1));
	{
		gpa_t g = fd_alloc(&f.d, 8);
		struct fd_buf b = {g, 6, false};
		fd_add(&f.d, DEFLATEQ, &b, 1);
		fd_kick(&f.d, DEFLATEQ);
	}
	wait_status(&f.d, VIRTIO_STATUS_NEEDS_RESET);
	virtio_balloon_get_stats(f.b, &st);
	CHECK_EQ(st.inflated_pages, 1);
	fix_stop(&f);
}

static void test_bad_target(void)
{
	struct fd_machine fm;
	struct virtio_balloon *b;

	fd_machine_init(&fm);
	CHECK_EQ(virtio_balloon_create(fm.m, FD_RAM * 2, &b), -EINVAL);
	CHECK_EQ(fm.m->nr_virtio_slots, 0);
	fd_machine_fini(&fm);
}

int main(void)
{
	TEST_RUN(test_inflate_deflate);
	TEST_RUN(test_stats);
	TEST_RUN(test_bad_requests);
	TEST_RUN(test_bad_target);
	return test_done();
}
