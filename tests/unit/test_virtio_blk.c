/* Unit tests of virtio-blk (src/virtio/blk.c) and the raw disk back-end
 * (src/host/disk.c): request execution and validation, image opening and
 * locking, and one request through the whole device with its thread. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/machine.h"
#include "test.h"
#include "virtio/blk.h"
#include "virtio/virtio.h"

#define SECTORS 2048 /* 1 MiB image */

struct fix {
	char path[64];
	struct disk disk;
	struct virtio_blk_req_env *env;
	struct virtq_elem *e;
	u8 hdr[16], data[4096], status;
	u8 segs[64 * 16];
};

static u8 pattern(u64 off)
{
	return (u8)(off * 7 + off / 512);
}

static void make_image(char *path, u64 size)
{
	strcpy(path, "/tmp/popek-blk-XXXXXX");
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	u8 *buf = malloc(size);
	for (u64 i = 0; i < size; i++)
		buf[i] = pattern(i);
	CHECK_EQ(write(fd, buf, size), size);
	free(buf);
	close(fd);
}

static void fix_init(struct fix *f, bool ro)
{
	memset(f, 0, sizeof(*f));
	make_image(f->path, SECTORS * 512);
	CHECK_EQ(disk_open(&f->disk, f->path, ro), 0);
	f->env = calloc(1, sizeof(*f->env));
	f->e = calloc(1, sizeof(*f->e));
	f->env->disk = &f->disk;
	f->env->capacity = SECTORS;
	f->env->features = virtio_blk_features(ro, true);
	memcpy(f->env->id, "popek-disk-id", 13);
}

static void fix_fini(struct fix *f)
{
	disk_close(&f->disk);
	unlink(f->path);
	free(f->env);
	free(f->e);
}

static void set_hdr(struct fix *f, u32 type, u64 sector)
{
	memset(f->hdr, 0, sizeof(f->hdr));
	memcpy(f->hdr, &type, 4);
	memcpy(f->hdr + 8, &sector, 8);
}

/* A request: header, then data (readable for OUT-like requests when
 * data_out, else writable), then the status byte. */
static int run(struct fix *f, u32 type, u64 sector, size_t data_len, bool data_out, u32 *used)
{
	struct virtq_elem *e = f->e;
	const char *why = NULL;
	unsigned n = 0;

	set_hdr(f, type, sector);
	e->iov[n++] = (struct iovec){f->hdr, 16};
	e->nr_out = 1;
	if (data_len && data_out) {
		e->iov[n++] = (struct iovec){f->data, data_len};
		e->nr_out++;
	}
	e->nr_in = 0;
	if (data_len && !data_out) {
		e->iov[n++] = (struct iovec){f->data, data_len};
		e->nr_in++;
	}
	e->iov[n++] = (struct iovec){&f->status, 1};
	e->nr_in++;
	e->out = e->iov;
	e->in = e->iov + e->nr_out;
	e->out_len = 16 + (data_out ? data_len : 0);
	e->in_len = 1 + (data_out ? 0 : data_len);
	f->status = 0xEE;
	return virtio_blk_execute(f->env, e, used, &why);
}

static void test_read_write(void)
{
	struct fix f;
	u32 used;
	u8 buf[1024];

	fix_init(&f, false);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_IN, 3, 1024, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 1025);
	CHECK_EQ(f.data[0], pattern(3 * 512));
	CHECK_EQ(f.data[1023], pattern(3 * 512 + 1023));

	memset(f.data, 0xA5, 512);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_OUT, SECTORS - 1, 512, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 1);
	CHECK_EQ(pread(f.disk.fd, buf, 512, (SECTORS - 1) * 512), 512);
	CHECK_EQ(buf[0], 0xA5);
	CHECK_EQ(buf[511], 0xA5);

	CHECK_EQ(run(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_OK);

	/* Data and status in one writable buffer: status is its last byte. */
	struct virtq_elem *e = f.e;
	u8 big[513];
	const char *why;
	set_hdr(&f, VIRTIO_BLK_T_IN, 1);
	e->iov[0] = (struct iovec){f.hdr, 16};
	e->iov[1] = (struct iovec){big, 513};
	e->nr_out = e->nr_in = 1;
	e->out = e->iov;
	e->in = e->iov + 1;
	e->out_len = 16;
	e->in_len = 513;
	big[512] = 0xEE;
	CHECK_EQ(virtio_blk_execute(f.env, e, &used, &why), 0);
	CHECK_EQ(big[512], VIRTIO_BLK_S_OK);
	CHECK_EQ(big[0], pattern(512));
	CHECK_EQ(used, 513);
	/* The metrics' counts: two reads, one write, their data bytes, a flush. */
	CHECK_EQ(f.env->counts.reads, 2);
	CHECK_EQ(f.env->counts.read_bytes, 1024 + 512);
	CHECK_EQ(f.env->counts.writes, 1);
	CHECK_EQ(f.env->counts.write_bytes, 512);
	CHECK_EQ(f.env->counts.flushes, 1);
	CHECK_EQ(f.env->counts.invalid, 0);
	fix_fini(&f);
}

static void test_bad_requests(void)
{
	struct fix f;
	u32 used;
	const char *why = NULL;

	fix_init(&f, false);
	/* Out of range, overflowing, not a multiple of 512. */
	CHECK_EQ(run(&f, VIRTIO_BLK_T_IN, SECTORS, 512, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_IN, SECTORS - 1, 1024, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_OUT, ~0ULL, 512, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_OUT, ~0ULL / 512 + 1, 512, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_IN, 0, 100, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_OUT, 0, 513, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	/* Data on the wrong side (5.2.6: a write's data is device-readable, a
	 * read's device-writable): refused, and the disk is left alone. */
	u8 before[512], after[512];
	CHECK_EQ(pread(f.disk.fd, before, 512, 0), 512);
	memset(f.data, 0x5A, 512);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_OUT, 0, 512, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(pread(f.disk.fd, after, 512, 0), 512);
	CHECK(!memcmp(before, after, 512));
	CHECK_EQ(run(&f, VIRTIO_BLK_T_IN, 0, 512, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	/* Each refusal counted as invalid, none as a read or a write. */
	CHECK_EQ(f.env->counts.invalid, 8);
	CHECK_EQ(f.env->counts.reads + f.env->counts.writes, 0);
	/* Zero-length read at the very end is fine. */
	CHECK_EQ(run(&f, VIRTIO_BLK_T_IN, SECTORS, 0, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_OK);
	/* Unknown type. */
	CHECK_EQ(run(&f, 99, 0, 512, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(run(&f, 10 /* GET_LIFETIME: not offered */, 0, 16, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_UNSUPP);

	/* Short header: IOERR. No status byte: the driver is broken. */
	struct virtq_elem *e = f.e;
	e->iov[0] = (struct iovec){f.hdr, 8};
	e->iov[1] = (struct iovec){&f.status, 1};
	e->nr_out = e->nr_in = 1;
	e->out = e->iov;
	e->in = e->iov + 1;
	e->out_len = 8;
	e->in_len = 1;
	CHECK_EQ(virtio_blk_execute(f.env, e, &used, &why), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	e->iov[0].iov_len = 16;
	e->nr_in = 0;
	e->out_len = 16;
	e->in_len = 0;
	CHECK_EQ(virtio_blk_execute(f.env, e, &used, &why), -EINVAL);
	CHECK(why != NULL);
	fix_fini(&f);
}

static void test_get_id(void)
{
	struct fix f;
	u32 used;

	fix_init(&f, false);
	memset(f.data, 0xFF, 32);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_GET_ID, 0, 32, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 21);
	CHECK(!memcmp(f.data, "popek-disk-id\0\0\0\0\0\0\0", 20));
	CHECK_EQ(f.data[20], 0xFF);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_GET_ID, 0, 5, false, &used), 0);
	CHECK_EQ(used, 6);
	fix_fini(&f);
}

static void put_seg(struct fix *f, unsigned i, u64 sector, u32 num, u32 flags)
{
	memcpy(f->data + 16 * i, &sector, 8);
	memcpy(f->data + 16 * i + 8, &num, 4);
	memcpy(f->data + 16 * i + 12, &flags, 4);
}

static bool sector_is(struct fix *f, u64 sector, int byte)
{
	u8 buf[512];
	if (pread(f->disk.fd, buf, 512, (off_t)sector * 512) != 512)
		return false;
	for (int i = 0; i < 512; i++)
		if (byte >= 0 ? buf[i] != byte : buf[i] != pattern(sector * 512 + i))
			return false;
	return true;
}

static void test_discard_write_zeroes(void)
{
	struct fix f;
	u32 used;

	fix_init(&f, false);
	put_seg(&f, 0, 8, 8, 0);
	put_seg(&f, 1, 100, 1, 0);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_OK);
	CHECK(sector_is(&f, 8, 0));
	CHECK(sector_is(&f, 15, 0));
	CHECK(sector_is(&f, 16, -1));
	CHECK(sector_is(&f, 100, 0));
	CHECK(sector_is(&f, 99, -1));
	put_seg(&f, 0, 200, 16, VIRTIO_BLK_WZ_UNMAP);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_OK);
	CHECK(sector_is(&f, 200, 0));
	CHECK(sector_is(&f, 215, 0));
	CHECK(sector_is(&f, 216, -1));

	put_seg(&f, 0, 0, 8, 0);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_DISCARD, 0, 16, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_OK);
	CHECK(sector_is(&f, 8, 0)); /* untouched by this discard, zero from before */

	/* Bad segments: flags, range, count, length. Nothing is done. */
	put_seg(&f, 0, 0, 8, VIRTIO_BLK_WZ_UNMAP);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_DISCARD, 0, 16, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_UNSUPP);
	put_seg(&f, 0, 300, 8, 2);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_UNSUPP);
	put_seg(&f, 0, 300, 8, 0);
	put_seg(&f, 1, SECTORS - 1, 2, 0);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	CHECK(sector_is(&f, 300, -1));
	put_seg(&f, 1, ~0ULL, 2, 0);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 24, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 0, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	for (unsigned i = 0; i <= VIRTIO_BLK_DISCARD_SEGS; i++)
		put_seg(&f, i, 300, 1, 0);
	CHECK_EQ(
	    run(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16 * (VIRTIO_BLK_DISCARD_SEGS + 1), true, &used),
	    0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	CHECK(sector_is(&f, 300, -1));
	/* Not negotiated: UNSUPP. */
	f.env->features &= ~(1ULL << VIRTIO_BLK_F_DISCARD);
	put_seg(&f, 0, 300, 8, 0);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_DISCARD, 0, 16, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_UNSUPP);
	fix_fini(&f);
}

static void test_readonly(void)
{
	struct fix f;
	u32 used;

	fix_init(&f, true);
	CHECK(f.env->features >> VIRTIO_BLK_F_RO & 1);
	CHECK(!(f.env->features >> VIRTIO_BLK_F_DISCARD & 1));
	CHECK_EQ(run(&f, VIRTIO_BLK_T_IN, 0, 512, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_OK);
	memset(f.data, 0, 512);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_OUT, 0, 512, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	CHECK(sector_is(&f, 0, -1));
	f.env->features |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES; /* even if negotiated */
	put_seg(&f, 0, 0, 1, 0);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, true, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	CHECK(sector_is(&f, 0, -1));
	CHECK_EQ(run(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_OK);
	fix_fini(&f);
}

/* cache_type (Firecracker's meaning): Writeback offers VIRTIO_BLK_F_FLUSH and
 * a flush reaches fdatasync (seen failing on a pipe, where fdatasync says
 * EINVAL); Unsafe offers no flush and a flush is UNSUPP. */
static void test_cache_type(void)
{
	struct fix f;
	int pfd[2], fd;
	u32 used;

	CHECK(virtio_blk_features(false, true) >> VIRTIO_BLK_F_FLUSH & 1);
	CHECK(!(virtio_blk_features(false, false) >> VIRTIO_BLK_F_FLUSH & 1));
	fix_init(&f, false);
	CHECK_EQ(pipe(pfd), 0);
	fd = f.disk.fd;
	f.disk.fd = pfd[1];
	CHECK_EQ(run(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_IOERR);
	f.env->features = virtio_blk_features(false, false);
	CHECK_EQ(run(&f, VIRTIO_BLK_T_FLUSH, 0, 0, false, &used), 0);
	CHECK_EQ(f.status, VIRTIO_BLK_S_UNSUPP);
	f.disk.fd = fd;
	close(pfd[0]);
	close(pfd[1]);
	fix_fini(&f);
}

static void test_disk_open(void)
{
	char path[64], dir[] = "/tmp/popek-blkdir-XXXXXX";
	struct disk a, b, c;

	CHECK_EQ(disk_open(&a, "/nonexistent/popek.img", false), -ENOENT);
	CHECK(mkdtemp(dir) != NULL);
	CHECK_EQ(disk_open(&a, dir, true), -EISDIR);
	CHECK_EQ(disk_open(&a, dir, false), -EISDIR);
	rmdir(dir);
	CHECK_EQ(disk_open(&a, "/dev/null", true), -EINVAL);

	make_image(path, 1000);
	CHECK_EQ(disk_open(&a, path, false), -EINVAL);
	unlink(path);
	make_image(path, 0);
	CHECK_EQ(disk_open(&a, path, false), -EINVAL);
	unlink(path);

	make_image(path, 4096);
	CHECK_EQ(disk_open(&a, path, false), 0);
	CHECK_EQ(a.size, 4096);
	CHECK_EQ(disk_open(&b, path, false), -EBUSY);
	CHECK_EQ(disk_open(&b, path, true), -EBUSY);
	disk_close(&a);
	CHECK_EQ(disk_open(&a, path, true), 0);
	CHECK_EQ(disk_open(&b, path, true), 0); /* readers share */
	CHECK_EQ(disk_open(&c, path, false), -EBUSY);
	disk_close(&a);
	disk_close(&b);
	CHECK_EQ(disk_open(&c, path, false), 0);
	disk_close(&c);
	unlink(path);
}

/* ---- The whole device: transport, queue, thread ----------------------- */

#define Q_DESC  0x10000
#define Q_AVAIL 0x11000
#define Q_USED  0x12000
#define REQ     0x20000

static void wr32(struct machine *m, u32 off, u32 v)
{
	CHECK(bus_write(&m->mmio, LAYOUT_VIRTIO_MMIO_BASE + off, 4, v));
}

static u32 rd32(struct machine *m, u32 off)
{
	u64 v = 0;
	CHECK(bus_read(&m->mmio, LAYOUT_VIRTIO_MMIO_BASE + off, 4, &v));
	return (u32)v;
}

static void put_desc(struct machine *m, unsigned i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *p = guest_mem_ptr(&m->mem, Q_DESC + 16 * i, 16);
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static bool wait_used(struct machine *m, u16 want)
{
	u16 *used_idx = guest_mem_ptr(&m->mem, Q_USED + 2, 2);
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(used_idx, __ATOMIC_ACQUIRE) == want)
			return true;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return false;
}

static void fake_irq(void *opaque, unsigned gsi, bool level)
{
	bool *lv = opaque;
	if (gsi == LAYOUT_VIRTIO_GSI_BASE)
		*lv = level;
}

static void device_setup(struct machine *m)
{
	wr32(m, 0x70, 0);
	wr32(m, 0x70, 3);
	wr32(m, 0x24, 1);
	wr32(m, 0x20, 1); /* VERSION_1 */
	wr32(m, 0x70, 11);
	CHECK_EQ(rd32(m, 0x70), 11);
	wr32(m, 0x30, 0);
	CHECK_EQ(rd32(m, 0x34), VIRTIO_BLK_QUEUE_MAX);
	wr32(m, 0x38, 8);
	wr32(m, 0x80, Q_DESC);
	wr32(m, 0x90, Q_AVAIL);
	wr32(m, 0xa0, Q_USED);
	wr32(m, 0x44, 1);
	wr32(m, 0x70, 15);
	memset(guest_mem_ptr(&m->mem, Q_AVAIL, 0x2000), 0, 0x2000);
}

static void test_device(void)
{
	struct machine *m = calloc(1, sizeof(*m));
	struct virtio_blk *b;
	struct disk_config cfg;
	char path[64];
	bool level = false;
	u64 v;

	make_image(path, SECTORS * 512);
	pthread_mutex_init(&m->dev_lock, NULL);
	bus_init(&m->mmio, "mmio", &m->dev_lock);
	CHECK_EQ(guest_mem_init(&m->mem, 4 * MiB), 0);
	m->irq.set = fake_irq;
	m->irq.opaque = &level;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.path, sizeof(cfg.path), "%s", path);
	CHECK_EQ(virtio_blk_create(m, &cfg, 0, &b), 0);
	CHECK_EQ(rd32(m, 8), VIRTIO_ID_BLOCK);
	CHECK(bus_read(&m->mmio, LAYOUT_VIRTIO_MMIO_BASE + 0x100, 4, &v));
	CHECK_EQ(v, SECTORS);
	device_setup(m);

	/* Read sector 5 through the queue. */
	u64 sector = 5;
	u32 type = VIRTIO_BLK_T_IN;
	u8 *req = guest_mem_ptr(&m->mem, REQ, 0x1000);
	memset(req, 0, 0x1000);
	memcpy(req, &type, 4);
	memcpy(req + 8, &sector, 8);
	req[0x800] = 0xEE;
	put_desc(m, 0, REQ, 16, 1, 1);
	put_desc(m, 1, REQ + 0x200, 512, 1 | 2, 2);
	put_desc(m, 2, REQ + 0x800, 1, 2, 0);
	u16 *avail = guest_mem_ptr(&m->mem, Q_AVAIL, 8);
	avail[2] = 0;
	__atomic_store_n(&avail[1], 1, __ATOMIC_RELEASE);
	wr32(m, 0x50, 0);
	CHECK(wait_used(m, 1));
	CHECK_EQ(req[0x800], VIRTIO_BLK_S_OK);
	CHECK_EQ(req[0x200], pattern(5 * 512));
	pthread_mutex_lock(&m->dev_lock);
	CHECK(level);
	pthread_mutex_unlock(&m->dev_lock);
	CHECK_EQ(rd32(m, 0x60), 1);
	wr32(m, 0x64, 1);
	CHECK(!level);
	/* The per-device counters behind GET /metrics. */
	struct virtio_dev_stats st;
	struct virtio_mmio *vm = m->virtio_slots[0].dev;
	CHECK(vm != NULL);
	virtio_mmio_stats(vm, &st);
	CHECK_EQ(st.requests, 1);
	CHECK_EQ(st.bytes_read, 16);       /* the request header */
	CHECK_EQ(st.bytes_written, 513);   /* the sector and the status byte */
	CHECK_EQ(st.notifies, 1);
	CHECK_EQ(st.interrupts, 1);
	CHECK_EQ(st.errors, 0);

	/* A descriptor loop: the device needs a reset and says so. */
	put_desc(m, 0, REQ, 16, 1, 1);
	put_desc(m, 1, REQ + 0x200, 512, 1, 0);
	avail[3] = 0;
	__atomic_store_n(&avail[1], 2, __ATOMIC_RELEASE);
	wr32(m, 0x50, 0);
	for (int i = 0; i < 2000 && !(rd32(m, 0x70) & VIRTIO_STATUS_NEEDS_RESET); i++)
		usleep(1000);
	CHECK(rd32(m, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(rd32(m, 0x60), 2);

	/* Reset, set up again, read again. */
	device_setup(m);
	put_desc(m, 0, REQ, 16, 1, 1);
	put_desc(m, 1, REQ + 0x200, 512, 1 | 2, 2);
	put_desc(m, 2, REQ + 0x800, 1, 2, 0);
	req[0x800] = 0xEE;
	memset(guest_mem_ptr(&m->mem, Q_USED, 0x100), 0, 0x100);
	__atomic_store_n(&avail[1], 1, __ATOMIC_RELEASE);
	wr32(m, 0x50, 0);
	CHECK(wait_used(m, 1));
	CHECK_EQ(req[0x800], VIRTIO_BLK_S_OK);
	virtio_mmio_stats(vm, &st); /* counted across the reset */
	CHECK_EQ(st.requests, 2);
	CHECK_EQ(st.bytes_written, 2 * 513);
	CHECK_EQ(st.errors, 1);

	/* Many requests in flight while the driver resets the device. */
	for (int round = 0; round < 50; round++) {
		device_setup(m);
		memset(guest_mem_ptr(&m->mem, Q_USED, 0x100), 0, 0x100);
		for (int i = 0; i < 8; i++)
			avail[2 + i] = 0;
		__atomic_store_n(&avail[1], 8, __ATOMIC_RELEASE);
		wr32(m, 0x50, 0);
		if (round % 2)
			usleep(50);
		wr32(m, 0x70, 0);
	}
	virtio_blk_destroy(b);
	guest_mem_destroy(&m->mem);
	unlink(path);
	free(m);
}

int main(void)
{
	TEST_RUN(test_read_write);
	TEST_RUN(test_bad_requests);
	TEST_RUN(test_get_id);
	TEST_RUN(test_discard_write_zeroes);
	TEST_RUN(test_readonly);
	TEST_RUN(test_cache_type);
	TEST_RUN(test_disk_open);
	TEST_RUN(test_device);
	return test_done();
}
