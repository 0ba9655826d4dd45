/* Unit tests of virtio-balloon free page hinting (virtio 1.2 5.5.6.7): the
 * queue's number among the others, free_page_hint_cmd_id in the
 * configuration space, a run's command ids and which hinted pages leave the
 * host, acknowledge_on_stop, the refusals, and the state a snapshot keeps. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/snap_codec.h"
#include "virtio/balloon.h"
#include "virtio/balloon_hint.h"
#include "virtio_fake_driver.h"

#define QSZ        32
#define F_STATS_VQ (1ull << 1)
#define F_HINT     (1ull << 3)
#define F_REPORT   (1ull << 5)
#define CFG_CMD_ID 8 /* free_page_hint_cmd_id's offset (5.5.4) */
#define AREA       (8 * MiB)

struct fix {
	struct fd_machine fm;
	struct fd_driver d;
	struct virtio_balloon *b;
	unsigned hq; /* the free page queue's number */
};

static void fix_start(struct fix *f, const struct balloon_config *cfg, u64 want, unsigned nq,
		      unsigned hq)
{
	fd_machine_init(&f->fm);
	CHECK_EQ(virtio_balloon_create(f->fm.m, cfg, &f->b), 0);
	fd_machine_start(&f->fm);
	CHECK_EQ(fd_driver_init(&f->d, &f->fm, 0, want, nq, QSZ) & want, want);
	f->hq = hq;
}

static void fix_stop(struct fix *f)
{
	fd_machine_stop(&f->fm);
	virtio_balloon_destroy(f->b);
	fd_machine_fini(&f->fm);
}

static unsigned resident(struct fix *f, gpa_t gpa, unsigned n)
{
	return fd_resident(&f->d, gpa, n);
}

/* n buffers on queue q, as one chain; true once the device used it. */
static bool send(struct fix *f, unsigned q, const struct fd_buf *b, unsigned n)
{
	u32 id, len;

	fd_add(&f->d, q, b, n);
	fd_kick(&f->d, q);
	return fd_used(&f->d, q, &id, &len, 1000);
}

/* The driver's command id, a 4-byte readable buffer, alone in its chain as
 * Linux sends it. */
static bool send_cmd(struct fix *f, u32 cmd)
{
	gpa_t g = fd_alloc(&f->d, 4);
	struct fd_buf b = {g, 4, false};

	memcpy(fd_ptr(&f->d, g, 4), &cmd, 4);
	return send(f, f->hq, &b, 1);
}

/* npages pages from gpa, filled and then hinted as one writable buffer. */
static bool send_pages(struct fix *f, gpa_t gpa, unsigned npages)
{
	struct fd_buf b = {gpa, npages * 4096, true};

	memset(fd_ptr(&f->d, gpa, npages * 4096ull), 0xAB, npages * 4096ull);
	return send(f, f->hq, &b, 1);
}

static void status(struct fix *f, u32 host, int guest) /* guest -1: none seen */
{
	struct balloon_hint_status hs;

	CHECK_EQ(virtio_balloon_hint_status(f->b, &hs), 0);
	CHECK_EQ(hs.host_cmd, host);
	CHECK_EQ(hs.guest_seen, guest >= 0);
	if (guest >= 0)
		CHECK_EQ(hs.guest_cmd, (u32)guest);
	CHECK_EQ(fd_cfg_read(&f->d, CFG_CMD_ID, 4), host);
}

/* Config-change interrupt pending? Acknowledges it. */
static bool config_irq(struct fix *f)
{
	u32 isr = fd_rd(&f->d, 0x60);

	fd_wr(&f->d, 0x64, isr);
	return isr & 2;
}

static void test_run(void)
{
	struct fix f;
	struct balloon_config cfg = {.page_hinting = true};
	struct balloon_stats st;

	/* Hinting alone: free_page_vq is queue 2 (5.5.2). */
	fix_start(&f, &cfg, F_HINT, 3, 2);
	status(&f, 0, -1); /* STOP until a run starts */
	/* Pages before any command id are ignored. */
	CHECK(send_pages(&f, AREA, 16));
	CHECK_EQ(resident(&f, AREA, 16), 16);
	config_irq(&f);
	CHECK_EQ(virtio_balloon_hint_start(f.b, true), 0);
	CHECK(config_irq(&f));
	status(&f, 2, -1);
	/* The run: its id, pages (they leave the host), STOP. */
	CHECK(send_cmd(&f, 2));
	status(&f, 2, 2);
	CHECK(send_pages(&f, AREA, 256));
	CHECK_EQ(resident(&f, AREA, 256), 0);
	CHECK_EQ(*(u8 *)fd_ptr(&f.d, AREA + 4096, 1), 0);
	CHECK(!config_irq(&f));
	CHECK(send_cmd(&f, 0));
	/* acknowledge_on_stop: DONE at once, and the driver is told. */
	CHECK(config_irq(&f));
	status(&f, 1, 0);
	/* After DONE, no hinted page is touched (5.5.6.7.2). */
	CHECK(send_pages(&f, AREA, 16));
	CHECK_EQ(resident(&f, AREA, 16), 16);
	virtio_balloon_get_stats(f.b, &st);
	CHECK_EQ(st.hinted_ranges, 1);
	CHECK_EQ(st.hinted_bytes, MiB);

	/* Without acknowledge_on_stop: the next id, and the host keeps it
	 * after the driver's STOP until stop. */
	CHECK_EQ(virtio_balloon_hint_start(f.b, false), 0);
	status(&f, 3, 0);
	/* A stale id's pages are ignored (5.5.6.7.2). */
	CHECK(send_cmd(&f, 2));
	CHECK(send_pages(&f, AREA, 16));
	CHECK_EQ(resident(&f, AREA, 16), 16);
	CHECK(send_cmd(&f, 3));
	CHECK(send_pages(&f, AREA, 16));
	CHECK_EQ(resident(&f, AREA, 16), 0);
	config_irq(&f);
	CHECK(send_cmd(&f, 0));
	CHECK(!config_irq(&f));
	status(&f, 3, 0);
	CHECK_EQ(virtio_balloon_hint_stop(f.b), 0);
	CHECK(config_irq(&f));
	status(&f, 1, 0);
	/* A new driver (reset) has no run: STOP, nothing seen; start needs
	 * the driver running. */
	fd_wr(&f.d, 0x70, 0);
	status(&f, 0, -1);
	CHECK_EQ(virtio_balloon_hint_start(f.b, true), -EAGAIN);
	CHECK_EQ(virtio_balloon_hint_stop(f.b), -EAGAIN);
	fix_stop(&f);
}

/* A STOP ending an older run leaves the newer one alone. */
static void test_stop_of_older_run(void)
{
	struct fix f;
	struct balloon_config cfg = {.page_hinting = true};

	fix_start(&f, &cfg, F_HINT, 3, 2);
	CHECK_EQ(virtio_balloon_hint_start(f.b, true), 0);
	CHECK(send_cmd(&f, 2));
	CHECK_EQ(virtio_balloon_hint_start(f.b, true), 0); /* 3, mid-run */
	CHECK(send_cmd(&f, 0));
	status(&f, 3, 0);
	CHECK(send_cmd(&f, 3));
	CHECK(send_pages(&f, AREA, 4));
	CHECK_EQ(resident(&f, AREA, 4), 0);
	CHECK(send_cmd(&f, 0));
	status(&f, 1, 0);
	fix_stop(&f);
}

/* free_page_vq sits between statsq and reporting_vq: with all three, the
 * queues are 2, 3 and 4; reporting still works at 4. */
static void test_queue_numbers(void)
{
	struct fix f;
	struct balloon_config cfg = {0, 3600, false, true, true};
	struct fd_buf r = {AREA + MiB, 64 * 1024, true};
	u64 offered;

	/* All three accepted; then statistics offered but not accepted:
	 * hinting 2, reporting 3. */
	static const struct {
		u64 want;
		unsigned nq, hq;
	} runs[] = {{F_STATS_VQ | F_HINT | F_REPORT, 5, 3}, {F_HINT | F_REPORT, 4, 2}};

	for (unsigned i = 0; i < 2; i++) {
		fix_start(&f, &cfg, runs[i].want, runs[i].nq, runs[i].hq);
		fd_wr(&f.d, 0x14, 0);
		offered = fd_rd(&f.d, 0x10);
		CHECK_EQ(offered & F_HINT, F_HINT);
		CHECK_EQ(virtio_balloon_hint_start(f.b, true), 0);
		CHECK(send_cmd(&f, 2));
		CHECK(send_pages(&f, AREA, 8));
		CHECK_EQ(resident(&f, AREA, 8), 0);
		memset(fd_ptr(&f.d, r.gpa, r.len), 1, r.len);
		CHECK(send(&f, runs[i].hq + 1, &r, 1));
		CHECK_EQ(resident(&f, r.gpa, 16), 0);
		fix_stop(&f);
	}
}

/* Without the feature: refused; a command id that is not 4 bytes is the
 * guest's error (5.5.6.7.1). */
static void test_refused(void)
{
	struct fix f;
	struct balloon_config off = {0}, on = {.page_hinting = true};
	struct balloon_hint_status hs;
	struct balloon_config got;

	fix_start(&f, &off, 0, 2, 2);
	CHECK_EQ(virtio_balloon_hint_start(f.b, true), -EOPNOTSUPP);
	CHECK_EQ(virtio_balloon_hint_stop(f.b), -EOPNOTSUPP);
	CHECK_EQ(virtio_balloon_hint_status(f.b, &hs), -EOPNOTSUPP);
	CHECK_EQ(balloon_hinting_start(f.fm.m, true), -ENODEV); /* not made by devices.c */
	virtio_balloon_get_config(f.b, &got);
	CHECK(!got.page_hinting);
	fd_wr(&f.d, 0x14, 0);
	CHECK_EQ(fd_rd(&f.d, 0x10) & F_HINT, 0);
	fix_stop(&f);

	fix_start(&f, &on, F_HINT, 3, 2);
	virtio_balloon_get_config(f.b, &got);
	CHECK(got.page_hinting);
	/* The driver cannot write the command id. */
	fd_cfg_write(&f.d, CFG_CMD_ID, 4, 9);
	CHECK_EQ(fd_cfg_read(&f.d, CFG_CMD_ID, 4), 0);
	{
		gpa_t g = fd_alloc(&f.d, 8);
		struct fd_buf b = {g, 8, false};

		fd_add(&f.d, 2, &b, 1);
		fd_kick(&f.d, 2);
	}
	fd_wait_status(&f.d, VIRTIO_STATUS_NEEDS_RESET);
	fix_stop(&f);
}

/* A snapshot keeps the run's ids; restored, the device says DONE (the
 * driver lets go of its pages, as Firecracker restores it) and tells the
 * driver with a config change; the next run takes a new id. */
static void test_snapshot(void)
{
	struct fd_machine fm;
	struct fd_driver d, d1;
	struct virtio_balloon *b[3];
	struct balloon_config on = {.page_hinting = true}, off = {0};
	struct balloon_hint_status hs;
	struct snap_out o;
	struct snap_in in;
	struct fix f;

	fd_machine_init(&fm);
	CHECK_EQ(virtio_balloon_create(fm.m, &on, &b[0]), 0);
	CHECK_EQ(virtio_balloon_create(fm.m, &on, &b[1]), 0);
	CHECK_EQ(virtio_balloon_create(fm.m, &off, &b[2]), 0);
	fd_machine_start(&fm);
	fd_driver_init(&d, &fm, 0, F_HINT, 3, QSZ);
	f = (struct fix){.d = d, .b = b[0], .hq = 2}; /* for send_cmd only */
	CHECK_EQ(virtio_balloon_hint_start(b[0], false), 0);
	CHECK(send_cmd(&f, 2));
	fd_wr(&d, 0x64, fd_rd(&d, 0x60)); /* the saved state owes no interrupt */
	virtio_mmio_quiesce(fm.m->virtio_slots[0].dev);
	snap_out_init(&o);
	CHECK_EQ(virtio_mmio_save(fm.m->virtio_slots[0].dev, &o), 0);
	snap_in_init(&in, o.buf, o.len);
	CHECK(virtio_mmio_load(fm.m->virtio_slots[2].dev, &in) < 0); /* no hinting there */
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(virtio_mmio_load(fm.m->virtio_slots[1].dev, &in), 0);
	d1 = d;
	d1.base = LAYOUT_VIRTIO_MMIO_BASE + LAYOUT_VIRTIO_MMIO_SIZE;
	CHECK_EQ(virtio_balloon_hint_status(b[1], &hs), 0);
	CHECK_EQ(hs.host_cmd, 1);
	CHECK(hs.guest_seen && hs.guest_cmd == 2);
	CHECK_EQ(fd_cfg_read(&d1, CFG_CMD_ID, 4), 1);
	CHECK(fd_rd(&d1, 0x60) & 2);
	CHECK_EQ(virtio_balloon_hint_start(b[1], true), 0);
	CHECK_EQ(fd_cfg_read(&d1, CFG_CMD_ID, 4), 3);
	snap_out_free(&o);
	fd_machine_stop(&fm);
	for (int i = 2; i >= 0; i--)
		virtio_balloon_destroy(b[i]);
	fd_machine_fini(&fm);
}

/* The hint state's own checks: a run id that is not the last one begun,
 * the reserved id 1 as a run, a guest id without one seen. */
static void test_snapshot_damage(void)
{
	static const struct {
		u32 host, last, guest;
		bool seen;
		const char *why;
	} bad[] = {
	    {5, 3, 0, false, "not the last run's"},
	    {0, 1, 0, false, "reserved"},
	    {0, 2, 7, false, "without one seen"},
	};
	struct balloon_hint h = {0};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct balloon_hint s = {.host_cmd = bad[i].host,
					 .last_id = bad[i].last,
					 .guest_cmd = bad[i].guest,
					 .guest_seen = bad[i].seen};
		struct snap_out o;
		struct snap_in in;

		snap_out_init(&o);
		balloon_hint_save(&s, &o);
		snap_in_init(&in, o.buf, o.len);
		CHECK_EQ(balloon_hint_load(&h, &in), -EINVAL);
		CHECK(strstr(in.why, bad[i].why) != NULL);
		CHECK_EQ(h.host_cmd, 0); /* untouched */
		snap_out_free(&o);
	}
}

int main(void)
{
	TEST_RUN(test_run);
	TEST_RUN(test_stop_of_older_run);
	TEST_RUN(test_queue_numbers);
	TEST_RUN(test_refused);
	TEST_RUN(test_snapshot);
	TEST_RUN(test_snapshot_damage);
	return test_done();
}
