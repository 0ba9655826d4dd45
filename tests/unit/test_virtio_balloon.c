/* Unit tests of virtio-balloon: target in the configuration space, inflated
 * pages leaving the host's memory, deflate, statistics and their polling,
 * free page reporting (its queue's number by the features, whole pages only,
 * the dirty log), bad requests. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "virtio/balloon.h"
#include "virtio_fake_driver.h"

#define INFLATEQ   0
#define DEFLATEQ   1
#define STATSQ     2
#define QSZ        32
#define F_STATS_VQ (1ull << 1)
#define F_DEFLATE  (1ull << 2)
#define F_REPORT   (1ull << 5)

struct fix {
	struct fd_machine fm;
	struct fd_driver d;
	struct virtio_balloon *b;
};

/* A balloon with cfg, its driver accepting want with nq queues. */
static void fix_start_cfg(struct fix *f, const struct balloon_config *cfg, u64 want, unsigned nq)
{
	fd_machine_init(&f->fm);
	CHECK_EQ(virtio_balloon_create(f->fm.m, cfg, &f->b), 0);
	fd_machine_start(&f->fm);
	CHECK_EQ(fd_driver_init(&f->d, &f->fm, 0, want, nq, QSZ) & want, want);
}

/* Statistics on (polled hourly: only when a test asks), no reporting. */
static void fix_start(struct fix *f, u64 target)
{
	struct balloon_config cfg = {target, 3600, false, false, false};

	fd_machine_init(&f->fm);
	CHECK_EQ(virtio_balloon_create(f->fm.m, &cfg, &f->b), 0);
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

static unsigned resident(struct fix *f, gpa_t gpa, unsigned n)
{
	return fd_resident(&f->d, gpa, n);
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
	/* Reading does not ask the guest; a poll does: the buffer comes back. */
	CHECK(!fd_used(&f.d, STATSQ, &id, &len, 50));
	virtio_balloon_poll_stats(f.b);
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
	fd_wait_status(&f.d, VIRTIO_STATUS_NEEDS_RESET);
	/* Reset, then a request that is not a whole number of PFNs. */
	fd_driver_init(&f.d, &f.fm, 0, F_STATS_VQ, 3, QSZ);
	CHECK(pfns(&f, INFLATEQ, 100, 1));
	{
		gpa_t g = fd_alloc(&f.d, 8);
		struct fd_buf b = {g, 6, false};
		fd_add(&f.d, DEFLATEQ, &b, 1);
		fd_kick(&f.d, DEFLATEQ);
	}
	fd_wait_status(&f.d, VIRTIO_STATUS_NEEDS_RESET);
	virtio_balloon_get_stats(f.b, &st);
	CHECK_EQ(st.inflated_pages, 1);
	fix_stop(&f);
}

/* A pmem file's pages are guest memory but not RAM: inflating one is
 * refused (DEVICE_NEEDS_RESET) and its bytes stay. */
static void test_pmem_pages_refused(void)
{
	struct balloon_config cfg = {0, 0, false, false, false};
	int fd = memfd_create("pmem", MFD_CLOEXEC), r;
	struct fix f;
	u8 *p;

	CHECK(fd >= 0 && ftruncate(fd, 2 * MiB) == 0);
	fd_machine_init(&f.fm);
	r = guest_mem_add_file(&f.fm.m->mem, fd, 2 * MiB, false);
	CHECK(r > 0);
	p = f.fm.m->mem.regions[r].host;
	p[0] = 0x5a;
	CHECK_EQ(virtio_balloon_create(f.fm.m, &cfg, &f.b), 0);
	fd_machine_start(&f.fm);
	fd_driver_init(&f.d, &f.fm, 0, 0, 2, QSZ);
	CHECK(!pfns(&f, INFLATEQ, (u32)(f.fm.m->mem.regions[r].gpa >> 12), 1));
	fd_wait_status(&f.d, VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(p[0], 0x5a);
	fix_stop(&f);
	close(fd);
}

static void test_bad_target(void)
{
	struct fd_machine fm;
	struct virtio_balloon *b;
	struct balloon_config big = {FD_RAM * 2, 0, false, false, false};
	struct balloon_config slow = {0, BALLOON_STATS_INTERVAL_MAX + 1, false, false, false};

	fd_machine_init(&fm);
	CHECK_EQ(virtio_balloon_create(fm.m, &big, &b), -EINVAL);
	CHECK_EQ(virtio_balloon_create(fm.m, &slow, &b), -EINVAL);
	CHECK_EQ(fm.m->nr_virtio_slots, 0);
	fd_machine_fini(&fm);
}

/* Offered features and queue count follow the configuration. */
static void test_features(void)
{
	struct fix f;
	struct balloon_config none = {0, 0, false, false, false}, all = {0, 7, true, true, false};
	struct balloon_config got;
	u64 offered;

	fix_start_cfg(&f, &none, 0, 2);
	fd_wr(&f.d, 0x14, 0);
	offered = fd_rd(&f.d, 0x10);
	CHECK_EQ(offered & (F_STATS_VQ | F_DEFLATE | F_REPORT), 0);
	fd_wr(&f.d, 0x30, 2); /* QueueSel 2: no such queue without statistics */
	CHECK_EQ(fd_rd(&f.d, 0x34), 0);
	fix_stop(&f);
	fix_start_cfg(&f, &all, F_STATS_VQ | F_DEFLATE | F_REPORT, 4);
	fd_wr(&f.d, 0x14, 0);
	offered = fd_rd(&f.d, 0x10);
	CHECK_EQ(offered & (F_STATS_VQ | F_DEFLATE | F_REPORT), F_STATS_VQ | F_DEFLATE | F_REPORT);
	fd_wr(&f.d, 0x30, 4);
	CHECK_EQ(fd_rd(&f.d, 0x34), 0);
	virtio_balloon_get_config(f.b, &got);
	CHECK_EQ(got.stats_interval_s, 7);
	CHECK(got.deflate_on_oom && got.page_reporting);
	fix_stop(&f);
}

/* Sends a report of n ranges on queue q (device-writable, as Linux makes
 * them) and waits for it to be used; *len: the used length. */
static bool report(struct fix *f, unsigned q, const struct fd_buf *r, unsigned n, u32 *len)
{
	u32 id;

	fd_add(&f->d, q, r, n);
	fd_kick(&f->d, q);
	return fd_used(&f->d, q, &id, len, 1000);
}

static void test_reporting(void)
{
	struct fix f;
	struct balloon_config cfg = {0, 0, false, true, false};
	struct balloon_stats st;
	const gpa_t area = 8 * MiB;
	u64 *bits;
	u32 len = 1;

	/* Without statistics, reporting_vq is queue 2 (5.5.2). */
	fix_start_cfg(&f, &cfg, F_REPORT, 3);
	memset(fd_ptr(&f.d, area, 2 * MiB), 0xAA, 2 * MiB);
	CHECK_EQ(guest_mem_dirty_start(&f.fm.m->mem), 0);
	bits = calloc(guest_mem_dirty_words(&f.fm.m->mem), 8);
	guest_mem_dirty_take(&f.fm.m->mem, bits);
	memset(bits, 0, guest_mem_dirty_words(&f.fm.m->mem) * 8);
	/* One whole MiB, then 100 bytes into the next page up to 2 KiB into
	 * the last: only the whole pages between go (62 of them). */
	struct fd_buf r[2] = {{area, MiB, true}, {area + MiB + 100, MiB - 100 - 2048, true}};
	CHECK(report(&f, 2, r, 2, &len));
	CHECK_EQ(len, 0);
	CHECK_EQ(resident(&f, area, 256), 0);
	CHECK_EQ(resident(&f, area + MiB, 1), 1);
	CHECK_EQ(resident(&f, area + MiB + 4096, 254), 0);
	CHECK_EQ(resident(&f, area + 2 * MiB - 4096, 1), 1);
	CHECK_EQ(*(u8 *)fd_ptr(&f.d, area + MiB + 99, 1), 0xAA);
	CHECK_EQ(*(u8 *)fd_ptr(&f.d, area + 2 * MiB - 1, 1), 0xAA);
	CHECK_EQ(*(u8 *)fd_ptr(&f.d, area + 4096 * 9, 1), 0); /* zero on next touch */
	virtio_balloon_get_stats(f.b, &st);
	CHECK_EQ(st.reports, 1);
	CHECK_EQ(st.reported_bytes, MiB + 254 * 4096);
	/* The dirty log has the discarded pages (and the used ring's). */
	guest_mem_dirty_take(&f.fm.m->mem, bits);
	CHECK(bits[(area >> 12) / 64] & 1ull << ((area >> 12) % 64));
	CHECK(bits[((area + MiB + 4096) >> 12) / 64] & 1ull << (((area + MiB + 4096) >> 12) % 64));
	CHECK(!(bits[((area + MiB) >> 12) / 64] & 1ull << (((area + MiB) >> 12) % 64)));
	free(bits);
	/* Queues 0 and 1 still inflate and deflate. */
	CHECK(pfns(&f, INFLATEQ, (u32)(area >> 12), 1));
	fix_stop(&f);
}

/* With statistics offered but not accepted, reporting is still queue 2;
 * with both, it is queue 3. */
static void test_reporting_queue_number(void)
{
	struct fix f;
	struct balloon_config cfg = {0, 3600, false, true, false};
	const gpa_t area = 8 * MiB;
	struct fd_buf r = {area, 64 * 1024, true};
	u32 len;

	fix_start_cfg(&f, &cfg, F_REPORT, 3);
	memset(fd_ptr(&f.d, area, 64 * 1024), 1, 64 * 1024);
	CHECK(report(&f, 2, &r, 1, &len));
	CHECK_EQ(resident(&f, area, 16), 0);
	fix_stop(&f);
	fix_start_cfg(&f, &cfg, F_REPORT | F_STATS_VQ, 4);
	memset(fd_ptr(&f.d, area, 64 * 1024), 1, 64 * 1024);
	CHECK(report(&f, 3, &r, 1, &len));
	CHECK_EQ(resident(&f, area, 16), 0);
	/* Queue 2 is statsq now: a writable buffer there is the guest's error. */
	CHECK(!report(&f, 2, &r, 1, &len));
	fd_wait_status(&f.d, VIRTIO_STATUS_NEEDS_RESET);
	fix_stop(&f);
}

/* A report reaching past RAM is refused whole: DEVICE_NEEDS_RESET. */
static void test_reporting_bad(void)
{
	struct fix f;
	struct balloon_config cfg = {0, 0, false, true, false};
	struct balloon_stats st;
	struct fd_buf r[2] = {{8 * MiB, 4096, true}, {FD_RAM - 4096, 8192, true}};
	u32 len;

	fix_start_cfg(&f, &cfg, F_REPORT, 3);
	memset(fd_ptr(&f.d, 8 * MiB, 4096), 1, 4096);
	CHECK(!report(&f, 2, r, 2, &len));
	fd_wait_status(&f.d, VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(resident(&f, 8 * MiB, 1), 1);
	virtio_balloon_get_stats(f.b, &st);
	CHECK_EQ(st.reports, 0);
	fix_stop(&f);
}

/* The polling interval: statistics cannot be turned on or off; the timer
 * gives the buffer back every interval. */
static void test_stats_interval(void)
{
	struct fix f;
	struct balloon_config on = {0, 1, false, false, false}, off = {0, 0, false, false, false};
	struct fd_buf b;
	u32 id, len;

	fix_start_cfg(&f, &off, 0, 2);
	CHECK_EQ(virtio_balloon_set_stats_interval(f.b, 5), -EPERM);
	CHECK_EQ(virtio_balloon_set_stats_interval(f.b, 0), 0);
	fix_stop(&f);
	fix_start_cfg(&f, &on, F_STATS_VQ, 3);
	b = (struct fd_buf){fd_alloc(&f.d, 10), 10, false};
	memset(fd_ptr(&f.d, b.gpa, 10), 0, 10);
	fd_add(&f.d, STATSQ, &b, 1);
	fd_kick(&f.d, STATSQ);
	CHECK(fd_used(&f.d, STATSQ, &id, &len, 2500)); /* the 1 s timer */
	CHECK_EQ(virtio_balloon_set_stats_interval(f.b, 0), -EPERM);
	CHECK_EQ(virtio_balloon_set_stats_interval(f.b, BALLOON_STATS_INTERVAL_MAX + 1), -EINVAL);
	/* A new interval asks at once. */
	CHECK_EQ(virtio_balloon_set_stats_interval(f.b, 3600), 0);
	fd_add(&f.d, STATSQ, &b, 1);
	fd_kick(&f.d, STATSQ);
	CHECK(!fd_used(&f.d, STATSQ, &id, &len, 100));
	CHECK_EQ(virtio_balloon_set_stats_interval(f.b, 1800), 0);
	CHECK(fd_used(&f.d, STATSQ, &id, &len, 500));
	fix_stop(&f);
}

int main(void)
{
	TEST_RUN(test_inflate_deflate);
	TEST_RUN(test_pmem_pages_refused);
	TEST_RUN(test_stats);
	TEST_RUN(test_bad_requests);
	TEST_RUN(test_bad_target);
	TEST_RUN(test_features);
	TEST_RUN(test_reporting);
	TEST_RUN(test_reporting_queue_number);
	TEST_RUN(test_reporting_bad);
	TEST_RUN(test_stats_interval);
	return test_done();
}
