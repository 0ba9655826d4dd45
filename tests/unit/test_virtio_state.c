/* Unit tests of virtio snapshots (src/virtio/mmio_state.c and the devices'
 * save/load/quiesce ops): a device driven by the fake driver is saved and
 * loaded into a fresh device of its kind over the same guest RAM, which must
 * show the driver the same registers and carry on with the next request;
 * damaged states are refused with a reason and change nothing; quiesce
 * completes the request in flight. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/snap_codec.h"
#include "virtio/balloon.h"
#include "virtio/blk.h"
#include "virtio/devices.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/vsock.h"
#include "virtio/vsock_priv.h"
#include "virtio_fake_driver.h"

#define QSZ         16
#define SECTORS     2048 /* 1 MiB images */
#define F_EVENT_IDX (1ull << VIRTIO_F_EVENT_IDX)

/* ---- helpers ---------------------------------------------------------------- */

static struct virtio_mmio *slot_dev(struct fd_machine *fm, unsigned slot)
{
	return fm->m->virtio_slots[slot].dev;
}

/* The driver of the device in another slot, over the same rings. */
static struct fd_driver driver_at(const struct fd_driver *d, unsigned slot)
{
	struct fd_driver d2 = *d;

	d2.base = LAYOUT_VIRTIO_MMIO_BASE + slot * LAYOUT_VIRTIO_MMIO_SIZE;
	return d2;
}

/* Every register the driver can read back, with nq queues, and 16 bytes of
 * configuration space. */
#define NREGS (4 + 2 + VIRTIO_MAX_QUEUES * 9 + 4)
static void read_regs(struct fd_driver *d, unsigned nq, u32 *r)
{
	static const u32 qregs[9] = {0x34, 0x38, 0x44, 0x80, 0x84, 0x90, 0x94, 0xa0, 0xa4};
	unsigned n = 0;

	memset(r, 0, NREGS * sizeof(*r));
	r[n++] = fd_rd(d, 0x08);
	r[n++] = fd_rd(d, 0x70);
	r[n++] = fd_rd(d, 0x60);
	r[n++] = fd_rd(d, 0xfc);
	for (u32 sel = 0; sel < 2; sel++) {
		fd_wr(d, 0x14, sel);
		r[n++] = fd_rd(d, 0x10);
	}
	for (unsigned q = 0; q < nq; q++) {
		fd_wr(d, 0x30, q);
		for (unsigned i = 0; i < 9; i++)
			r[n++] = fd_rd(d, qregs[i]);
	}
	n = NREGS - 4;
	for (u32 off = 0; off < 16; off += 4)
		r[n++] = (u32)fd_cfg_read(d, off, 4);
}

static void check_regs(const u32 *ra, struct fd_driver *b, unsigned nq)
{
	u32 rb[NREGS];

	read_regs(b, nq, rb);
	for (unsigned i = 0; i < NREGS; i++)
		if (ra[i] != rb[i]) {
			printf("  register %u: %#x before, %#x after the load\n", i, ra[i], rb[i]);
			CHECK_EQ(ra[i], rb[i]);
		}
}

static void check_same_regs(struct fd_driver *a, struct fd_driver *b, unsigned nq)
{
	u32 ra[NREGS];

	read_regs(a, nq, ra);
	check_regs(ra, b, nq);
}

/* A 64-byte rng request on d's queue 0; returns its head. */
static u16 rng_request(struct fd_driver *d)
{
	struct fd_buf b = {fd_alloc(d, 64), 64, true};
	u16 head = fd_add(d, 0, &b, 1);

	fd_kick(d, 0);
	return head;
}

static void expect_used(struct fd_driver *d, unsigned q, u16 head, u32 len)
{
	u32 id = 0xffff, l = 0;

	CHECK(fd_used(d, q, &id, &l, 2000));
	CHECK_EQ(id, head);
	CHECK_EQ(l, len);
}

static u16 used_idx(struct fd_driver *d, unsigned q)
{
	const u16 *used = fd_ptr(d, d->q[q].used, 4);

	return __atomic_load_n(&used[1], __ATOMIC_ACQUIRE);
}


/* ---- rng: round trip and damage ---------------------------------------------- */

struct rng_fix {
	struct fd_machine fm;
	struct fd_driver d;
	struct virtio_rng *r0, *r1;
};

static void rng_start(struct rng_fix *f, u64 features)
{
	static const struct rate_limit_config no_limit;

	fd_machine_init(&f->fm);
	CHECK_EQ(virtio_rng_create(f->fm.m, &no_limit, &f->r0), 0);
	CHECK_EQ(virtio_rng_create(f->fm.m, &no_limit, &f->r1), 0); /* slot 1: the load target */
	fd_machine_start(&f->fm);
	fd_driver_init(&f->d, &f->fm, 0, features, 1, QSZ);
}

static void rng_stop(struct rng_fix *f)
{
	fd_machine_stop(&f->fm);
	virtio_rng_destroy(f->r1);
	virtio_rng_destroy(f->r0);
	fd_machine_fini(&f->fm);
}

static void test_rng_round_trip(void)
{
	struct rng_fix f;
	struct fd_driver d1;
	struct snap_out o;
	char why[160];
	unsigned irqs;
	u16 head;

	rng_start(&f, 0);
	expect_used(&f.d, 0, rng_request(&f.d), 64);
	expect_used(&f.d, 0, rng_request(&f.d), 64);
	CHECK_EQ(fd_rd(&f.d, 0x60), 1); /* the driver has not acknowledged */
	virtio_mmio_quiesce(slot_dev(&f.fm, 0));
	fd_state_save(slot_dev(&f.fm, 0), &o);

	irqs = f.fm.irqs;
	CHECK_EQ(fd_state_load(slot_dev(&f.fm, 1), o.buf, o.len, why, sizeof(why)), 0);
	CHECK_EQ(f.fm.irqs, irqs + 1); /* InterruptStatus 1: the line is up again */
	d1 = driver_at(&f.d, 1);
	check_same_regs(&f.d, &d1, 1);

	/* The next request goes to the loaded device: used entry 2, not 0. */
	head = rng_request(&d1);
	CHECK_EQ(head, 2);
	expect_used(&d1, 0, head, 64);
	CHECK_EQ(used_idx(&d1, 0), 3);
	fd_sleep_ms(20);
	CHECK_EQ(used_idx(&d1, 0), 3); /* nothing repeated */
	/* The saved device stays held: it popped nothing of the above. */
	fd_wr(&f.d, 0x50, 0);
	fd_sleep_ms(20);
	CHECK_EQ(used_idx(&d1, 0), 3);
	snap_out_free(&o);
	rng_stop(&f);
}

/* Offsets of the transport's fields in the encoding (virtio_mmio_save). */
#define OFF_ID       0
#define OFF_STATUS   5
#define OFF_FEATURES 9
#define OFF_ISR      34
#define OFF_Q0       42
#define OFF_Q0_SIZE  (OFF_Q0 + 0)
#define OFF_Q0_READY (OFF_Q0 + 2)
#define OFF_Q0_DESC  (OFF_Q0 + 3)
#define OFF_Q0_USED  (OFF_Q0 + 19)
#define OFF_Q0_LAST  (OFF_Q0 + 27)
#define QUEUE_BYTES  35

static void put16(u8 *p, u16 v)
{
	memcpy(p, &v, 2);
}

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
}

static void put64(u8 *p, u64 v)
{
	memcpy(p, &v, 8);
}

struct damage {
	const char *what, *reason;
	void (*hurt)(u8 *buf, size_t *len);
};

static void d_cut_end(u8 *b, size_t *len)
{
	(void)b;
	*len -= 1;
}

static void d_cut_middle(u8 *b, size_t *len)
{
	(void)b;
	*len = OFF_Q0 + 10;
}

static void d_trailing(u8 *b, size_t *len)
{
	b[(*len)++] = 0;
}

static void d_size_odd(u8 *b, size_t *len)
{
	(void)len;
	put16(b + OFF_Q0_SIZE, 12);
}

static void d_size_big(u8 *b, size_t *len)
{
	(void)len;
	put16(b + OFF_Q0_SIZE, 128);
}

static void d_desc_beyond_ram(u8 *b, size_t *len)
{
	(void)len;
	put64(b + OFF_Q0_DESC, FD_RAM);
}

static void d_used_in_hole(u8 *b, size_t *len)
{
	(void)len;
	put64(b + OFF_Q0_USED, LAYOUT_VIRTIO_MMIO_BASE);
}

static void d_features(u8 *b, size_t *len)
{
	u64 f;

	(void)len;
	memcpy(&f, b + OFF_FEATURES, 8);
	put64(b + OFF_FEATURES, f | 1ull << 40);
}

static void d_no_version_1(u8 *b, size_t *len)
{
	(void)len;
	put64(b + OFF_FEATURES, 0);
}

static void d_device_id(u8 *b, size_t *len)
{
	(void)len;
	put32(b + OFF_ID, 2);
}

static void d_status_bits(u8 *b, size_t *len)
{
	(void)len;
	put32(b + OFF_STATUS, 0x10f);
}

static void d_status_order(u8 *b, size_t *len)
{
	(void)len;
	put32(b + OFF_STATUS,
	      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
}

static void d_isr(u8 *b, size_t *len)
{
	(void)len;
	put32(b + OFF_ISR, 4);
}

static void d_indices(u8 *b, size_t *len)
{
	(void)len;
	put16(b + OFF_Q0_LAST, 2 + QSZ + 1); /* used_idx is 2 */
}

static void d_bool(u8 *b, size_t *len)
{
	(void)len;
	b[OFF_Q0_READY] = 2;
}

static void d_device_state(u8 *b, size_t *len)
{
	/* rng has no state of its own: a length that claims some. */
	put32(b + OFF_Q0 + QUEUE_BYTES, 1);
	b[(*len)++] = 0;
}

static const struct damage damages[] = {
    {"truncated by one byte", "truncated", d_cut_end},
    {"truncated in a queue", "truncated", d_cut_middle},
    {"a trailing byte", "1 bytes left over", d_trailing},
    {"queue size not a power of 2", "queue 0: queue size is not a power of 2", d_size_odd},
    {"queue size above the maximum", "queue 0 size 128 is above its maximum 64", d_size_big},
    {"descriptor table beyond RAM", "queue 0: descriptor table outside RAM", d_desc_beyond_ram},
    {"used ring in the MMIO hole", "queue 0: used ring outside RAM", d_used_in_hole},
    {"a feature not offered", "driver features 0x10000000000 not offered", d_features},
    {"features without VERSION_1", "without VERSION_1", d_no_version_1},
    {"another device's state", "device id 2, not 4", d_device_id},
    {"unknown status bits", "status 0x10f has unknown bits", d_status_bits},
    {"DRIVER_OK without FEATURES_OK", "DRIVER_OK without FEATURES_OK", d_status_order},
    {"unknown interrupt status bits", "interrupt status 0x4 has unknown bits", d_isr},
    {"more in flight than the queue holds", "queue 0 has 17 requests in flight", d_indices},
    {"a flag that is not 0 or 1", "a flag holds 2", d_bool},
    {"device state for a device without", "1 bytes of device state", d_device_state},
};

static void test_rng_damage(void)
{
	struct rng_fix f;
	struct fd_driver d1;
	struct snap_out o;
	u32 before[NREGS], after[NREGS];
	char why[160];
	u8 *buf;

	rng_start(&f, 0);
	expect_used(&f.d, 0, rng_request(&f.d), 64);
	expect_used(&f.d, 0, rng_request(&f.d), 64);
	virtio_mmio_quiesce(slot_dev(&f.fm, 0));
	fd_state_save(slot_dev(&f.fm, 0), &o);
	buf = malloc(o.len + 16);
	d1 = driver_at(&f.d, 1);
	read_regs(&d1, 1, before);
	for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]); i++) {
		const struct damage *dm = &damages[i];
		unsigned irqs = f.fm.irqs;
		size_t len = o.len;
		int err;

		memcpy(buf, o.buf, o.len);
		dm->hurt(buf, &len);
		err = fd_state_load(slot_dev(&f.fm, 1), buf, len, why, sizeof(why));
		if (err != -EINVAL || !strstr(why, dm->reason) || strncmp(why, "virtio-rng: ", 12))
			printf("  %s: %d, '%s' (expected '%s')\n", dm->what, err, why, dm->reason);
		CHECK_EQ(err, -EINVAL);
		CHECK(strstr(why, dm->reason) != NULL);
		CHECK(strncmp(why, "virtio-rng: ", 12) == 0);
		/* Nothing changed: the same registers, no interrupt. */
		read_regs(&d1, 1, after);
		CHECK(memcmp(before, after, sizeof(before)) == 0);
		CHECK_EQ(f.fm.irqs, irqs);
	}
	/* The device refused all that and still takes the real state. */
	CHECK_EQ(fd_state_load(slot_dev(&f.fm, 1), o.buf, o.len, why, sizeof(why)), 0);
	check_same_regs(&f.d, &d1, 1);
	/* A device in use takes none. */
	CHECK_EQ(fd_state_load(slot_dev(&f.fm, 1), o.buf, o.len, why, sizeof(why)), -EBUSY);
	CHECK(strstr(why, "virtio-rng: the device is in use") != NULL);
	free(buf);
	snap_out_free(&o);
	rng_stop(&f);
}

/* ---- blk: round trip, capacity, quiesce --------------------------------------- */

static u8 pattern(u64 off)
{
	return (u8)(off * 7 + off / 512);
}

static void make_image(char *path, u64 size)
{
	int fd;
	u8 *buf = malloc(size);

	strcpy(path, "/tmp/popek-state-XXXXXX");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	for (u64 i = 0; i < size; i++)
		buf[i] = pattern(i);
	CHECK_EQ(write(fd, buf, size), size);
	free(buf);
	close(fd);
}

struct blk_fix {
	struct fd_machine fm;
	struct fd_driver d;
	struct virtio_blk *b[3];
	unsigned nr;
	char path[2][64];
};

static void blk_add(struct blk_fix *f, const char *path)
{
	struct disk_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.path, sizeof(cfg.path), "%s", path);
	CHECK_EQ(virtio_blk_create(f->fm.m, &cfg, f->nr, &f->b[f->nr]), 0);
	f->nr++;
}

static void blk_start(struct blk_fix *f)
{
	memset(f, 0, sizeof(*f));
	make_image(f->path[0], SECTORS * 512);
	fd_machine_init(&f->fm);
	blk_add(f, f->path[0]);
	fd_machine_start(&f->fm);
	fd_driver_init(&f->d, &f->fm, 0, F_EVENT_IDX | 1ull << VIRTIO_BLK_F_FLUSH, 1, QSZ);
}

static void blk_stop(struct blk_fix *f)
{
	fd_machine_stop(&f->fm);
	while (f->nr)
		virtio_blk_destroy(f->b[--f->nr]);
	fd_machine_fini(&f->fm);
	unlink(f->path[0]);
	if (f->path[1][0])
		unlink(f->path[1]);
}

/* A request of type with len bytes at data (written by the device for a
 * read); *status is its status byte in guest RAM. Returns its head. */
static u16 blk_request(struct fd_driver *d, u32 type, u64 sector, gpa_t data, u32 len, u8 **status)
{
	gpa_t hdr = fd_alloc(d, 16), st = fd_alloc(d, 1);
	u8 *h = fd_ptr(d, hdr, 16);
	struct fd_buf b[3] = {
	    {hdr, 16, false}, {data, len, type == VIRTIO_BLK_T_IN}, {st, 1, true}};
	u16 head;

	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	*status = fd_ptr(d, st, 1);
	**status = 0xEE;
	if (len) {
		head = fd_add(d, 0, b, 3);
	} else {
		b[1] = b[2];
		head = fd_add(d, 0, b, 2);
	}
	fd_kick(d, 0);
	return head;
}

static void test_blk_round_trip(void)
{
	struct blk_fix f;
	struct fd_driver d1;
	struct snap_out o;
	u32 regs[NREGS];
	char why[160];
	gpa_t data;
	u8 *st, *p;
	u16 head;

	blk_start(&f);
	data = fd_alloc(&f.d, 512);
	p = fd_ptr(&f.d, data, 512);
	memset(p, 0x5A, 512);
	expect_used(&f.d, 0, blk_request(&f.d, VIRTIO_BLK_T_OUT, 3, data, 512, &st), 1);
	CHECK_EQ(*st, VIRTIO_BLK_S_OK);
	expect_used(&f.d, 0, blk_request(&f.d, VIRTIO_BLK_T_FLUSH, 0, 0, 0, &st), 1);
	CHECK_EQ(*st, VIRTIO_BLK_S_OK);
	CHECK_EQ(virtio_devices_quiesce(f.fm.m), 0);
	fd_state_save(slot_dev(&f.fm, 0), &o);
	read_regs(&f.d, 1, regs);
	/* As in a restore, the disk passes to a new device (its lock too). */
	virtio_blk_destroy(f.b[0]);
	f.b[0] = NULL;
	blk_add(&f, f.path[0]); /* slot 1 */
	CHECK_EQ(fd_state_load(slot_dev(&f.fm, 1), o.buf, o.len, why, sizeof(why)), 0);
	d1 = driver_at(&f.d, 1);
	check_regs(regs, &d1, 1);

	/* The loaded device reads back what the saved one wrote, as used
	 * entry 2 of the same ring. */
	memset(p, 0, 512);
	head = blk_request(&d1, VIRTIO_BLK_T_IN, 3, data, 512, &st);
	expect_used(&d1, 0, head, 513);
	CHECK_EQ(*st, VIRTIO_BLK_S_OK);
	CHECK_EQ(p[0], 0x5A);
	CHECK_EQ(p[511], 0x5A);
	CHECK_EQ(used_idx(&d1, 0), 3);
	fd_sleep_ms(20);
	CHECK_EQ(used_idx(&d1, 0), 3);

	/* A disk of another size: refused, naming the disk. */
	make_image(f.path[1], SECTORS * 512 / 2);
	blk_add(&f, f.path[1]);
	CHECK_EQ(fd_state_load(slot_dev(&f.fm, 2), o.buf, o.len, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "virtio-blk2: disk ") != NULL);
	CHECK(strstr(why, f.path[1]) != NULL);
	CHECK(strstr(why, "has 1024 sectors, the saved state 2048") != NULL);
	struct fd_driver d2 = driver_at(&f.d, 2);
	CHECK_EQ(fd_rd(&d2, 0x70), 0);
	fd_wr(&d2, 0x30, 0);
	CHECK_EQ(fd_rd(&d2, 0x38), 0);
	snap_out_free(&o);
	blk_stop(&f);
}

/* The quiesce waits for a request the device thread is executing. The read
 * lands in a page of guest RAM that userfaultfd keeps missing, so the thread
 * stays inside it until the test lets it go. */
struct quiesce_arg {
	struct fd_machine *fm;
	struct fd_driver *d;
	_Atomic bool done;
	u16 used_at_return;
};

static void *quiesce_thread(void *opaque)
{
	struct quiesce_arg *a = opaque;

	CHECK_EQ(virtio_devices_quiesce(a->fm->m), 0);
	a->used_at_return = used_idx(a->d, 0);
	a->done = true;
	return NULL;
}

static int uffd_open(void *page)
{
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg = {
	    .range = {.start = (unsigned long)page, .len = 4096},
	    .mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) < 0 || ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void test_blk_quiesce(void)
{
	static u8 zero_page[4096] __attribute__((aligned(4096)));
	struct quiesce_arg a = {0};
	struct pollfd pfd;
	struct uffd_msg msg;
	struct blk_fix f;
	pthread_t t;
	gpa_t data;
	u8 *st, *st2, *page;
	int uffd;

	blk_start(&f);
	data = ALIGN_UP(fd_alloc(&f.d, 8192), 4096);
	page = fd_ptr(&f.d, data, 4096);
	CHECK_EQ(madvise(page, 4096, MADV_DONTNEED), 0);
	uffd = uffd_open(page);
	if (uffd < 0) {
		TEST_SKIP("no userfaultfd for kernel faults here (%s)", strerror(-uffd));
		blk_stop(&f);
		return;
	}
	blk_request(&f.d, VIRTIO_BLK_T_IN, 8, data, 4096, &st);
	pfd = (struct pollfd){.fd = uffd, .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 5000), 1); /* the thread is inside the request */
	CHECK_EQ(read(uffd, &msg, sizeof(msg)), sizeof(msg));
	CHECK_EQ(msg.event, UFFD_EVENT_PAGEFAULT);

	a.fm = &f.fm;
	a.d = &f.d;
	CHECK_EQ(pthread_create(&t, NULL, quiesce_thread, &a), 0);
	fd_sleep_ms(100);
	CHECK(!a.done); /* waiting for the request in flight */
	CHECK_EQ(used_idx(&f.d, 0), 0);

	struct uffdio_copy copy = {
	    .dst = (unsigned long)page, .src = (unsigned long)zero_page, .len = 4096};
	CHECK_EQ(ioctl(uffd, UFFDIO_COPY, &copy), 0);
	pthread_join(t, NULL);
	CHECK(a.done);
	CHECK_EQ(a.used_at_return, 1); /* completed before quiesce returned */
	CHECK_EQ(*st, VIRTIO_BLK_S_OK);
	CHECK_EQ(page[0], pattern(8 * 512));
	CHECK_EQ(page[4095], pattern(8 * 512 + 4095));

	/* Held: a new request waits until unquiesce. */
	blk_request(&f.d, VIRTIO_BLK_T_IN, 9, data, 512, &st2);
	fd_sleep_ms(50);
	CHECK_EQ(used_idx(&f.d, 0), 1);
	CHECK_EQ(*st2, 0xEE);
	virtio_devices_unquiesce(f.fm.m);
	u32 id, len;
	CHECK(fd_used(&f.d, 0, &id, &len, 2000));
	CHECK(fd_used(&f.d, 0, &id, &len, 2000));
	CHECK_EQ(*st2, VIRTIO_BLK_S_OK);
	CHECK_EQ(page[0], pattern(9 * 512));
	close(uffd);
	blk_stop(&f);
}

/* ---- net, vsock, balloon: their own state ----------------------------------- */

/* A back-end that only counts what the guest sends, and keeps a state of
 * its own (tag) as user mode's does; parked records that its state was
 * saved and loaded only while the I/O thread was parked. */
struct count_be {
	struct net_backend b;
	_Atomic unsigned sent;
	u32 tag;
	_Atomic bool polling; /* the I/O thread is between poll_fill and poll_done */
	bool touched_while_polling;
};

static void count_poll_fill(struct net_backend *b, struct net_pollset *ps, int *timeout_ms,
			    bool can_rx)
{
	(void)ps, (void)can_rx;
	atomic_store(&((struct count_be *)b)->polling, true);
	*timeout_ms = 20;
}

static void count_poll_done(struct net_backend *b, const struct net_pollset *ps, bool failed)
{
	(void)ps, (void)failed;
	atomic_store(&((struct count_be *)b)->polling, false);
}

static int count_save(struct net_backend *b, struct snap_out *o)
{
	struct count_be *c = (struct count_be *)b;

	c->touched_while_polling |= atomic_load(&c->polling);
	snap_put_u32(o, c->tag);
	return 0;
}

static int count_load(struct net_backend *b, struct snap_in *in)
{
	struct count_be *c = (struct count_be *)b;
	u32 tag = snap_get_u32(in);

	c->touched_while_polling |= atomic_load(&c->polling);
	if (tag == 0xdead)
		return snap_reject(in, "count: tag 0xdead");
	c->tag = tag;
	return 0;
}

static int count_send(struct net_backend *b, const void *frame, size_t len)
{
	(void)frame, (void)len;
	((struct count_be *)b)->sent++;
	return 0;
}

static void count_destroy(struct net_backend *b)
{
	free(b);
}

static const struct net_backend_ops count_ops = {
    .name = "count",
    .poll_fill = count_poll_fill,
    .poll_done = count_poll_done,
    .send = count_send,
    .destroy = count_destroy,
    .save = count_save,
    .load = count_load,
};

static struct virtio_net *net_add(struct fd_machine *fm, unsigned index, u8 last_mac_byte,
				  struct count_be **be)
{
	struct net_config cfg = {.mode = NET_USER, .has_mac = true};
	struct virtio_net *n = NULL;

	*be = calloc(1, sizeof(**be));
	(*be)->b.ops = &count_ops;
	memcpy(cfg.mac, "\x02\x00\x00\x00\x00", 5);
	cfg.mac[5] = last_mac_byte;
	CHECK_EQ(virtio_net_attach(fm->m, &cfg, index, &(*be)->b, &n), 0);
	return n;
}

/* One 60-byte frame after the 12-byte header on d's TX queue. */
static u16 net_send(struct fd_driver *d)
{
	struct fd_buf b = {fd_alloc(d, 72), 72, false};

	memset(fd_ptr(d, b.gpa, 72), 0, 72);
	return fd_add(d, VIRTIO_NET_TXQ, &b, 1);
}

static void test_net_round_trip(void)
{
	struct fd_machine fm;
	struct fd_driver d, d1, d2;
	struct count_be *be[3];
	struct virtio_net *n[3];
	struct snap_out o;
	char why[160];
	u8 *bad;
	u16 head;

	fd_machine_init(&fm);
	n[0] = net_add(&fm, 0, 0x10, &be[0]);
	n[1] = net_add(&fm, 1, 0x11, &be[1]);
	n[2] = net_add(&fm, 2, 0x12, &be[2]);
	fd_machine_start(&fm);
	fd_driver_init(&d, &fm, 0, 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS, 2, QSZ);
	head = net_send(&d);
	fd_kick(&d, VIRTIO_NET_TXQ);
	expect_used(&d, VIRTIO_NET_TXQ, head, 0);
	CHECK_EQ(be[0]->sent, 1);
	be[0]->tag = 0x1234;
	virtio_mmio_quiesce(slot_dev(&fm, 0));
	fd_state_save(slot_dev(&fm, 0), &o);

	/* A link status with unknown bits: refused, and the MAC stays. The
	 * payload ends with status (u16), bool, the back-end's u32. */
	d2 = driver_at(&d, 2);
	bad = malloc(o.len);
	memcpy(bad, o.buf, o.len);
	bad[o.len - 6] = 0x80; /* status high byte */
	CHECK_EQ(fd_state_load(slot_dev(&fm, 2), bad, o.len, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "virtio-net: link status 0x8001 has unknown bits") != NULL);
	CHECK_EQ(fd_cfg_read(&d2, 5, 1), 0x12);
	/* The back-end refusing its state: refused with its reason. */
	memcpy(bad, o.buf, o.len);
	memcpy(bad + o.len - 4, "\xad\xde\0\0", 4);
	CHECK_EQ(fd_state_load(slot_dev(&fm, 2), bad, o.len, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "count: tag 0xdead") != NULL);

	/* The loaded device shows the saved MAC, not its own, and sends the
	 * next frame as used entry 1. */
	CHECK_EQ(fd_state_load(slot_dev(&fm, 1), o.buf, o.len, why, sizeof(why)), 0);
	d1 = driver_at(&d, 1);
	check_same_regs(&d, &d1, 2);
	CHECK_EQ(fd_cfg_read(&d1, 5, 1), 0x10);
	head = net_send(&d1);
	fd_kick(&d1, VIRTIO_NET_TXQ);
	expect_used(&d1, VIRTIO_NET_TXQ, head, 0);
	CHECK_EQ(used_idx(&d1, VIRTIO_NET_TXQ), 2);
	CHECK_EQ(be[1]->sent, 1);
	CHECK_EQ(be[0]->sent, 1); /* held */
	CHECK_EQ(be[1]->tag, 0x1234); /* the back-end's own state came along */
	for (int i = 0; i < 3; i++) /* saved and loaded with the I/O thread parked */
		CHECK(!be[i]->touched_while_polling);
	free(bad);
	snap_out_free(&o);
	fd_machine_stop(&fm);
	for (int i = 2; i >= 0; i--)
		virtio_net_destroy(n[i]);
	fd_machine_fini(&fm);
}

static struct virtio_vsock *vsock_add(struct fd_machine *fm, const char *dir, u32 cid)
{
	struct vsock_config cfg = {.enabled = true, .guest_cid = cid};
	struct virtio_vsock *v = NULL;

	snprintf(cfg.uds_path, sizeof(cfg.uds_path), "%s/v%u.sock", dir, fm->m->nr_virtio_slots);
	CHECK_EQ(virtio_vsock_create(fm->m, &cfg, &v), 0);
	return v;
}

static void test_vsock_transport_reset(void)
{
	struct fd_machine fm;
	struct fd_driver d, d1;
	struct virtio_vsock *v[3];
	struct snap_out o;
	char dir[] = "/tmp/popek-vsock-state-XXXXXX", why[160];
	u32 id, len, event;
	struct fd_buf evbuf;
	u16 head;

	CHECK(mkdtemp(dir) != NULL);
	fd_machine_init(&fm);
	v[0] = vsock_add(&fm, dir, 7);
	v[1] = vsock_add(&fm, dir, 7);
	v[2] = vsock_add(&fm, dir, 8);
	fd_machine_start(&fm);
	fd_driver_init(&d, &fm, 0, 0, 3, QSZ);
	/* The driver keeps a buffer posted on the event queue (5.10.6.7). */
	evbuf = (struct fd_buf){fd_alloc(&d, 8), 8, true};
	memset(fd_ptr(&d, evbuf.gpa, 8), 0xff, 8);
	head = fd_add(&d, VSOCK_EVQ, &evbuf, 1);
	fd_kick(&d, VSOCK_EVQ);
	fd_sleep_ms(20);
	CHECK_EQ(used_idx(&d, VSOCK_EVQ), 0); /* no event before a load */
	virtio_mmio_quiesce(slot_dev(&fm, 0));
	fd_state_save(slot_dev(&fm, 0), &o);

	CHECK_EQ(fd_state_load(slot_dev(&fm, 2), o.buf, o.len, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "virtio-vsock: guest CID 7 was saved, --vsock gives 8") != NULL);

	/* After the load the driver hears of the reset, in the buffer it
	 * posted before the snapshot, without a notification. */
	CHECK_EQ(fd_state_load(slot_dev(&fm, 1), o.buf, o.len, why, sizeof(why)), 0);
	d1 = driver_at(&d, 1);
	CHECK(fd_used(&d1, VSOCK_EVQ, &id, &len, 2000));
	CHECK_EQ(id, head);
	CHECK_EQ(len, 4);
	memcpy(&event, fd_ptr(&d1, evbuf.gpa, 4), 4);
	CHECK_EQ(event, VSOCK_EVENT_TRANSPORT_RESET);
	CHECK_EQ(fd_cfg_read(&d1, 0, 4), 7);
	fd_add(&d1, VSOCK_EVQ, &evbuf, 1); /* another buffer: stays unused */
	fd_kick(&d1, VSOCK_EVQ);
	fd_sleep_ms(20);
	CHECK_EQ(used_idx(&d1, VSOCK_EVQ), 1); /* the event came once */
	snap_out_free(&o);
	fd_machine_stop(&fm);
	for (int i = 2; i >= 0; i--)
		virtio_vsock_destroy(v[i]);
	fd_machine_fini(&fm);
	rmdir(dir);
}

static void test_balloon_round_trip(void)
{
	struct fd_machine fm;
	struct fd_driver d, d1;
	struct virtio_balloon *b[3];
	struct balloon_stats st;
	struct balloon_config bc;
	struct balloon_config c0 = {4 * MiB, 10, true, true, false};
	struct balloon_config c1 = {1 * MiB, 10, true, true, false};
	struct balloon_config c2 = {0, 0, true, true, false}; /* no statistics queue */
	struct snap_out o;
	char why[160];

	fd_machine_init(&fm);
	CHECK_EQ(virtio_balloon_create(fm.m, &c0, &b[0]), 0);
	CHECK_EQ(virtio_balloon_create(fm.m, &c1, &b[1]), 0);
	CHECK_EQ(virtio_balloon_create(fm.m, &c2, &b[2]), 0);
	fd_machine_start(&fm);
	/* STATS_VQ, DEFLATE_ON_OOM, PAGE_REPORTING: four queues. */
	fd_driver_init(&d, &fm, 0, 1ull << 1 | 1ull << 2 | 1ull << 5, 4, QSZ);
	fd_cfg_write(&d, 4, 4, 512); /* actual */
	CHECK_EQ(virtio_balloon_set_target(b[0], 8 * MiB), 0);
	CHECK_EQ(virtio_balloon_set_stats_interval(b[0], 20), 0);
	virtio_mmio_quiesce(slot_dev(&fm, 0));
	fd_state_save(slot_dev(&fm, 0), &o);
	CHECK(fd_state_load(slot_dev(&fm, 2), o.buf, o.len, why, sizeof(why)) < 0);
	CHECK_EQ(fd_state_load(slot_dev(&fm, 1), o.buf, o.len, why, sizeof(why)), 0);
	d1 = driver_at(&d, 1);
	check_same_regs(&d, &d1, 4);
	virtio_balloon_get_stats(b[1], &st);
	CHECK_EQ(st.target_bytes, 8 * MiB);
	CHECK_EQ(st.actual_bytes, 512 * 4096);
	virtio_balloon_get_config(b[1], &bc);
	CHECK_EQ(bc.stats_interval_s, 20);
	snap_out_free(&o);
	fd_machine_stop(&fm);
	virtio_balloon_destroy(b[2]);
	virtio_balloon_destroy(b[1]);
	virtio_balloon_destroy(b[0]);
	fd_machine_fini(&fm);
}

/* ---- the interrupt a batching device owes ----------------------------------- */

static const struct virtio_dev_ops batch_ops = {
    .name = "batch",
    .device_id = 99,
    .nr_queues = 1,
    .queue_max = QSZ,
};

/* A device that pushed and left the interrupt check for later (net and
 * vsock batch theirs): quiesce raises it, so the saved InterruptStatus has it. */
static void test_quiesce_raises_owed_interrupt(void)
{
	struct fd_machine fm;
	struct fd_driver d;
	struct virtio_mmio *vm;
	struct virtq_elem *e = malloc(sizeof(*e));
	struct fd_buf b;
	const char *why = NULL;
	unsigned irqs;

	fd_machine_init(&fm);
	CHECK_EQ(virtio_mmio_create(fm.m, &batch_ops, NULL, &vm), 0);
	fd_driver_init(&d, &fm, 0, 0, 1, QSZ);
	b = (struct fd_buf){fd_alloc(&d, 16), 16, true};
	fd_add(&d, 0, &b, 1);
	virtio_mmio_lock(vm);
	CHECK_EQ(virtq_pop(virtio_mmio_queue(vm, 0), virtio_mmio_mem(vm), e, &why), 1);
	CHECK_EQ(virtq_push(virtio_mmio_queue(vm, 0), virtio_mmio_mem(vm), e->head, 16), 0);
	virtio_mmio_unlock(vm);
	CHECK_EQ(fd_rd(&d, 0x60), 0);
	irqs = fm.irqs;
	virtio_mmio_quiesce(vm);
	CHECK_EQ(fd_rd(&d, 0x60), 1);
	CHECK_EQ(fm.irqs, irqs + 1);
	/* Nothing more is owed: a second quiesce raises nothing new. */
	fd_wr(&d, 0x64, 1);
	virtio_mmio_quiesce(vm);
	CHECK_EQ(fd_rd(&d, 0x60), 0);
	virtio_mmio_unquiesce(vm);
	virtio_mmio_destroy(vm);
	fd_machine_fini(&fm);
	free(e);
}

int main(void)
{
	TEST_RUN(test_rng_round_trip);
	TEST_RUN(test_rng_damage);
	TEST_RUN(test_blk_round_trip);
	TEST_RUN(test_blk_quiesce);
	TEST_RUN(test_quiesce_raises_owed_interrupt);
	TEST_RUN(test_net_round_trip);
	TEST_RUN(test_vsock_transport_reset);
	TEST_RUN(test_balloon_round_trip);
	return test_done();
}
