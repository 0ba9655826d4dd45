/* virtio-blk: request execution (virtio 1.2 section 5.2.6) and the device
 * thread that serves the request queue off the vCPU threads. */
#include "virtio/blk.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/machine.h"
#include "core/snap_codec.h"
#include "popek/clock.h"
#include "popek/log.h"
#include "virtio/rate_limiter.h"
#include "virtio/virtio.h"

/* ---- Request execution ---------------------------------------------------- */

static u32 le32_at(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static u64 le64_at(const u8 *p)
{
	return le32_at(p) | (u64)le32_at(p + 4) << 32;
}

static void put_le16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

static void put_le32(u8 *p, u32 v)
{
	put_le16(p, (u16)v);
	put_le16(p + 2, (u16)(v >> 16));
}

static void put_le64(u8 *p, u64 v)
{
	put_le32(p, (u32)v);
	put_le32(p + 4, (u32)(v >> 32));
}

/* Does [sector, sector + bytes/512) lie on the disk? (no overflow possible) */
static bool blk_in_range(const struct virtio_blk_req_env *env, u64 sector, u64 bytes)
{
	return sector <= env->capacity && bytes / DISK_SECTOR <= env->capacity - sector;
}

/* env->data = the bytes [skip, skip + len) of iov[0..n). Returns the count. */
static int blk_slice(struct virtio_blk_req_env *env, const struct iovec *iov, unsigned n, u64 skip,
		     u64 len)
{
	int k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		u64 seg = iov[i].iov_len;
		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		u64 c = MIN(seg - skip, len);
		env->data[k].iov_base = (u8 *)iov[i].iov_base + skip;
		env->data[k].iov_len = c;
		k++;
		len -= c;
		skip = 0;
	}
	return k;
}

/* Discard and write-zeroes (5.2.6.2): validate every segment, then run them. */
static u8 blk_discard_zeroes(struct virtio_blk_req_env *env, const struct virtq_elem *e, u32 type)
{
	u64 feat = type == VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES;
	u64 payload = e->out_len - VIRTIO_BLK_HDR_LEN, nseg = payload / VIRTIO_BLK_SEG_LEN;
	u8 seg[VIRTIO_BLK_SEG_LEN];

	if (!(env->features >> feat & 1))
		return VIRTIO_BLK_S_UNSUPP;
	if (env->disk->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!nseg || payload % VIRTIO_BLK_SEG_LEN || nseg > VIRTIO_BLK_DISCARD_SEGS)
		return VIRTIO_BLK_S_IOERR;
	for (int pass = 0; pass < 2; pass++) {
		for (u64 i = 0; i < nseg; i++) {
			iov_to_buf(e->out, e->nr_out, VIRTIO_BLK_HDR_LEN + i * VIRTIO_BLK_SEG_LEN,
				   seg, sizeof(seg));
			u64 sector = le64_at(seg);
			u32 num = le32_at(seg + 8), flags = le32_at(seg + 12);
			if (pass == 0) {
				/* Unknown flags, or unmap on a discard: UNSUPP (5.2.6.2). */
				u32 allowed =
				    type == VIRTIO_BLK_T_DISCARD ? 0 : VIRTIO_BLK_WZ_UNMAP;
				if (flags & ~allowed)
					return VIRTIO_BLK_S_UNSUPP;
				if (num > VIRTIO_BLK_DISCARD_SECTORS ||
				    !blk_in_range(env, sector, (u64)num * DISK_SECTOR))
					return VIRTIO_BLK_S_IOERR;
				continue;
			}
			int err = type == VIRTIO_BLK_T_DISCARD
				      ? disk_discard(env->disk, sector * DISK_SECTOR,
						     (u64)num * DISK_SECTOR)
				      : disk_write_zeroes(env->disk, sector * DISK_SECTOR,
							  (u64)num * DISK_SECTOR,
							  flags & VIRTIO_BLK_WZ_UNMAP);
			if (err < 0)
				return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

int virtio_blk_execute(struct virtio_blk_req_env *env, const struct virtq_elem *e, u32 *used_len,
		       const char **why)
{
	u8 hdr[VIRTIO_BLK_HDR_LEN], status = VIRTIO_BLK_S_OK, *status_p;
	const struct iovec *last;
	u64 data_in, data_out, sector;
	u32 type, written = 0;
	int n, err;

	/* 5.2.6: the status is the last writable byte; without it there is no
	 * way to answer, so the driver is broken. */
	if (!e->nr_in) {
		*why = "request without a writable status byte";
		return -EINVAL;
	}
	last = &e->in[e->nr_in - 1];
	status_p = (u8 *)last->iov_base + last->iov_len - 1;
	data_in = e->in_len - 1;
	if (e->out_len < VIRTIO_BLK_HDR_LEN) {
		status = VIRTIO_BLK_S_IOERR; /* no readable header: nothing to do */
		goto done;
	}
	iov_to_buf(e->out, e->nr_out, 0, hdr, sizeof(hdr));
	type = le32_at(hdr);
	sector = le64_at(hdr + 8);
	data_out = e->out_len - VIRTIO_BLK_HDR_LEN;

	switch (type) {
	case VIRTIO_BLK_T_IN:
		/* 5.2.6: a read's data buffers are device-writable; readable ones
		 * after the header mean a confused driver: refuse, as for a write
		 * whose data sits in writable buffers. */
		if (data_out || data_in % DISK_SECTOR || !blk_in_range(env, sector, data_in)) {
			status = VIRTIO_BLK_S_IOERR;
			env->counts.invalid++;
			break;
		}
		n = blk_slice(env, e->in, e->nr_in, 0, data_in);
		err = n ? disk_preadv(env->disk, env->data, n, sector * DISK_SECTOR) : 0;
		if (err < 0) {
			status = VIRTIO_BLK_S_IOERR;
		} else {
			written = (u32)MIN(data_in, UINT32_MAX - 1);
			env->counts.reads++;
			env->counts.read_bytes += data_in;
		}
		break;
	case VIRTIO_BLK_T_OUT:
		if (env->disk->readonly || data_in || data_out % DISK_SECTOR ||
		    !blk_in_range(env, sector, data_out)) {
			status = VIRTIO_BLK_S_IOERR;
			env->counts.invalid++;
			break;
		}
		n = blk_slice(env, e->out, e->nr_out, VIRTIO_BLK_HDR_LEN, data_out);
		err = n ? disk_pwritev(env->disk, env->data, n, sector * DISK_SECTOR) : 0;
		if (err < 0) {
			status = VIRTIO_BLK_S_IOERR;
		} else {
			env->counts.writes++;
			env->counts.write_bytes += data_out;
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		/* 5.2.6.4: completed writes are durable before the flush completes.
		 * Without VIRTIO_BLK_F_FLUSH (cache_type Unsafe) there is no flush. */
		if (!(env->features >> VIRTIO_BLK_F_FLUSH & 1))
			status = VIRTIO_BLK_S_UNSUPP;
		else if (disk_flush(env->disk) < 0)
			status = VIRTIO_BLK_S_IOERR;
		else
			env->counts.flushes++;
		break;
	case VIRTIO_BLK_T_GET_ID:
		written = (u32)MIN(data_in, VIRTIO_BLK_ID_BYTES);
		iov_from_buf(e->in, e->nr_in, 0, env->id, written);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = blk_discard_zeroes(env, e, type);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
done:
	*status_p = status;
	*used_len = written + 1;
	return 0;
}

void virtio_blk_config_fill(u8 *cfg, u64 capacity_sectors)
{
	memset(cfg, 0, VIRTIO_BLK_CONFIG_LEN);
	put_le64(cfg + 0, capacity_sectors);            /* capacity */
	put_le32(cfg + 12, VIRTIO_BLK_SEG_MAX);         /* seg_max */
	put_le32(cfg + 20, DISK_SECTOR);                /* blk_size */
	put_le32(cfg + 36, VIRTIO_BLK_DISCARD_SECTORS); /* max_discard_sectors */
	put_le32(cfg + 40, VIRTIO_BLK_DISCARD_SEGS);    /* max_discard_seg */
	put_le32(cfg + 44, 1);                          /* discard_sector_alignment */
	put_le32(cfg + 48, VIRTIO_BLK_DISCARD_SECTORS); /* max_write_zeroes_sectors */
	put_le32(cfg + 52, VIRTIO_BLK_DISCARD_SEGS);    /* max_write_zeroes_seg */
	cfg[56] = 1;                                    /* write_zeroes_may_unmap */
}

u64 virtio_blk_features(bool readonly, bool flush)
{
	u64 f = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE;

	if (flush)
		f |= 1ULL << VIRTIO_BLK_F_FLUSH;

	if (readonly)
		return f | 1ULL << VIRTIO_BLK_F_RO;
	return f | 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
}

/* ---- The device ------------------------------------------------------------ */

struct virtio_blk {
	struct machine *m;
	struct virtio_mmio *vm;
	struct virtio_dev_ops ops;
	struct disk disk;
	char name[32];
	char *path; /* malloc'ed; the disk's messages point here */
	u8 config[VIRTIO_BLK_CONFIG_LEN];
	int kick_fd;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	/* Under the device lock: */
	bool active;                   /* DRIVER_OK and not reset since */
	unsigned gen;                  /* bumped by every reset */
	bool busy;                     /* the thread is executing a request unlocked */
	pthread_cond_t idle;           /* signalled when busy drops */
	struct virtio_blk_req_env env; /* the thread's, used unlocked */
	struct virtq_elem elem;
	struct rate_limiter rl;  /* rate_limiter: requests wait, never dropped */
	u64 throttled_until_ns;  /* the queue waits for the bucket until then */
	/* env's counters, copied under the lock for blk_counts. */
	struct virtio_dev_counts counts;
};

static void blk_config_read(void *opaque, u32 offset, void *buf, u32 len)
{
	struct virtio_blk *b = opaque;
	memcpy(buf, b->config + offset, len);
}

static void blk_kick(struct virtio_blk *b)
{
	u64 one = 1;
	if (write(b->kick_fd, &one, sizeof(one)) < 0) {
		/* The counter is saturated: the thread has a wake-up pending. */
	}
}

static int blk_activate(void *opaque, u64 features)
{
	struct virtio_blk *b = opaque;

	b->env.features = features;
	b->active = true;
	blk_kick(b);
	return 0;
}

static void blk_notify(void *opaque, unsigned q)
{
	(void)q;
	blk_kick(opaque);
}

/* Called with the device lock held: wait until the thread no longer touches
 * guest memory for a request of the old generation (2.4: after reset the
 * device must not use the old queues). */
static void blk_reset(void *opaque)
{
	struct virtio_blk *b = opaque;

	b->active = false;
	b->gen++;
	while (b->busy)
		pthread_cond_wait(&b->idle, virtio_mmio_lock_ptr(b->vm));
}

/* The queue is held: the request being executed (at most one) completes
 * into the used ring before busy drops, in the same locked stretch. A flush
 * among them has made the writes before it durable (5.2.6.4). */
static void blk_quiesce(void *opaque)
{
	struct virtio_blk *b = opaque;

	while (b->busy)
		pthread_cond_wait(&b->idle, virtio_mmio_lock_ptr(b->vm));
}

/* Saved state: u64 capacity in sectors, which the driver read from the
 * configuration space (5.2.4); the disk itself is the user's file. */
static int blk_save(void *opaque, struct snap_out *o)
{
	struct virtio_blk *b = opaque;

	snap_put_u64(o, b->env.capacity);
	return 0;
}

static int blk_load(void *opaque, struct snap_in *in)
{
	struct virtio_blk *b = opaque;
	u64 capacity = snap_get_u64(in);

	if (snap_in_end(in) < 0)
		return -EINVAL;
	if (capacity != b->env.capacity)
		return snap_reject(in, "disk %s has %llu sectors, the saved state %llu", b->path,
				   (unsigned long long)b->env.capacity,
				   (unsigned long long)capacity);
	return 0;
}

/* The tokens a request costs: its data bytes (reads and writes) and one
 * operation, as Firecracker counts them. */
static u64 blk_req_bytes(const struct virtq_elem *e)
{
	u8 hdr[VIRTIO_BLK_HDR_LEN];

	if (e->out_len < VIRTIO_BLK_HDR_LEN || !e->in_len)
		return 0; /* answered with an error, nothing moves */
	iov_to_buf(e->out, e->nr_out, 0, hdr, sizeof(hdr));
	switch (le32_at(hdr)) {
	case VIRTIO_BLK_T_IN:
		return e->in_len - 1;
	case VIRTIO_BLK_T_OUT:
		return e->out_len - VIRTIO_BLK_HDR_LEN;
	default:
		return 0;
	}
}

/* Device lock held: whether the limiter lets the request popped into
 * b->elem run now. If not, it goes back to the ring and the queue waits
 * (blk_thread's timer) for the bucket to have it. */
static bool blk_admit(struct virtio_blk *b, struct virtq *q)
{
	u64 now = clock_now_ns(), wait;

	if (!rate_limiter_active(&b->rl))
		return true;
	wait = rate_limiter_consume(&b->rl, now, blk_req_bytes(&b->elem), 1);
	if (!wait)
		return true;
	virtq_unpop(q, &b->elem);
	b->throttled_until_ns = now + wait;
	return false;
}

/* The thread, device lock held again after a request: publishes what its
 * env counted, for blk_counts on other threads. */
static void blk_copy_counts(struct virtio_blk *b)
{
	b->counts = b->env.counts;
}

/* Serves the queue until it is empty or the rate limiter says wait (device
 * lock held on entry and exit). Returns how many ns the queue must wait
 * before it is served again, 0 when it need not. */
static u64 blk_drain(struct virtio_blk *b)
{
	const struct guest_mem *mem = virtio_mmio_mem(b->vm);
	struct virtq *q = virtio_mmio_queue(b->vm, 0);

	while (b->active && !atomic_load(&b->stop)) {
		const char *why = NULL;
		unsigned gen = b->gen;
		u32 used = 0;
		u64 now = clock_now_ns();
		int r;

		/* A kick during the wait changes nothing: no retry before then. */
		if (b->throttled_until_ns > now)
			return b->throttled_until_ns - now;
		r = virtq_pop(q, mem, &b->elem, &why);
		if (r < 0)
			virtio_mmio_needs_reset(b->vm, why);
		if (r <= 0)
			return 0;
		if (!blk_admit(b, q))
			continue; /* the check above now returns the wait */
		b->busy = true;
		virtio_mmio_unlock(b->vm);
		r = virtio_blk_execute(&b->env, &b->elem, &used, &why);
		virtio_mmio_lock(b->vm);
		b->busy = false;
		blk_copy_counts(b);
		pthread_cond_broadcast(&b->idle);
		if (gen != b->gen)
			return 0; /* reset while we worked: drop the completion */
		if (r < 0) {
			virtio_mmio_needs_reset(b->vm, why);
			return 0;
		}
		virtq_push(q, mem, b->elem.head, used);
		virtio_mmio_signal_used(b->vm, 0);
	}
	return 0;
}

/* Waits for a kick, or wait_ns (0: no timeout) for a throttled queue.
 * Returns -1 when the eventfd failed. */
static int blk_wait(struct virtio_blk *b, u64 wait_ns)
{
	struct pollfd p = {.fd = b->kick_fd, .events = POLLIN};
	struct timespec ts = {.tv_sec = (time_t)(wait_ns / 1000000000ULL),
			      .tv_nsec = (long)(wait_ns % 1000000000ULL)};
	u64 v;
	int r = ppoll(&p, 1, wait_ns ? &ts : NULL, NULL);

	if (r < 0)
		return errno == EINTR ? 0 : -1;
	if (r > 0 && read(b->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN && errno != EINTR)
		return -1;
	return 0;
}

static void *blk_thread(void *opaque)
{
	struct virtio_blk *b = opaque;
	u64 wait = 0;

	while (!atomic_load(&b->stop)) {
		if (blk_wait(b, wait) < 0)
			break;
		if (atomic_load(&b->stop))
			break;
		virtio_mmio_lock(b->vm);
		wait = blk_drain(b);
		virtio_mmio_unlock(b->vm);
	}
	return NULL;
}

static void blk_make_id(struct virtio_blk *b, const struct disk_config *cfg)
{
	const char *id = cfg->id, *slash;

	if (!id[0]) {
		slash = strrchr(cfg->path, '/');
		id = slash ? slash + 1 : cfg->path;
	}
	memset(b->env.id, 0, sizeof(b->env.id));
	memcpy(b->env.id, id, strnlen(id, VIRTIO_BLK_ID_BYTES));
}

struct disk *virtio_blk_disk(struct virtio_blk *b)
{
	return &b->disk;
}

static void blk_counts(void *opaque, struct virtio_dev_stats *out)
{
	const struct virtio_blk *b = opaque;

	out->dev = b->counts;
}

static void blk_throttled(void *opaque, u64 out[2])
{
	struct virtio_blk *b = opaque;

	out[0] = b->rl.throttled;
}

void virtio_blk_set_rate_limiter(struct virtio_blk *b, const struct rate_limit_config *cfg)
{
	virtio_mmio_lock(b->vm);
	rate_limiter_init(&b->rl, cfg, clock_now_ns());
	b->throttled_until_ns = 0;
	virtio_mmio_unlock(b->vm);
	blk_kick(b); /* a waiting queue looks at the new buckets now */
}

int virtio_blk_set_path(struct virtio_blk *b, const char *path)
{
	bool same = !strcmp(path, b->path);
	char *p = strdup(path), *old_path;
	struct disk d, old;
	int err;

	if (!p)
		return -ENOMEM;
	/* Another file is locked before anything changes; the same file
	 * (grown or shrunk in place) cannot be: this popek holds its lock
	 * through the old descriptor until it is closed. */
	err = same ? disk_open_unlocked(&d, p, b->disk.readonly) : disk_open(&d, p, b->disk.readonly);
	if (err < 0) {
		free(p);
		return err;
	}
	virtio_mmio_lock(b->vm);
	while (b->busy) /* the request in flight finishes on the old file */
		pthread_cond_wait(&b->idle, virtio_mmio_lock_ptr(b->vm));
	old = b->disk;
	b->disk = d;
	old_path = b->path;
	b->path = p;
	b->env.capacity = d.size / DISK_SECTOR;
	virtio_blk_config_fill(b->config, b->env.capacity);
	/* 4.2.2 / 2.5.2: the driver re-reads the configuration (capacity). */
	virtio_mmio_signal_config(b->vm);
	virtio_mmio_unlock(b->vm);
	disk_close(&old);
	free(old_path);
	if (same && (err = disk_lock(&b->disk)) < 0)
		log_warn("--disk %s: reopened without its lock: %s", p, strerror(-err));
	return 0;
}

int virtio_blk_create(struct machine *m, const struct disk_config *cfg, unsigned index,
		      struct virtio_blk **out)
{
	struct virtio_blk *b;
	int err;

	*out = NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->m = m;
	b->kick_fd = -1;
	pthread_cond_init(&b->idle, NULL);
	snprintf(b->name, sizeof(b->name), "blk%u", index);
	b->path = strdup(cfg->path);
	if (!b->path) {
		err = -ENOMEM;
		goto fail_free;
	}
	rate_limiter_init(&b->rl, &cfg->rate_limiter, clock_now_ns());
	/* An incoming migration's disks are locked once the source let go. */
	err = m->cfg.incoming ? disk_open_unlocked(&b->disk, b->path, cfg->readonly)
			      : disk_open(&b->disk, b->path, cfg->readonly);
	if (err < 0)
		goto fail_free;
	b->env.disk = &b->disk;
	b->env.capacity = b->disk.size / DISK_SECTOR;
	blk_make_id(b, cfg);
	virtio_blk_config_fill(b->config, b->env.capacity);
	b->ops = (struct virtio_dev_ops){
	    .name = b->name,
	    .device_id = VIRTIO_ID_BLOCK,
	    .features = virtio_blk_features(cfg->readonly, cfg->cache == DISK_CACHE_WRITEBACK),
	    .nr_queues = 1,
	    .queue_max = VIRTIO_BLK_QUEUE_MAX,
	    .config_size = VIRTIO_BLK_CONFIG_LEN,
	    .config_read = blk_config_read,
	    .activate = blk_activate,
	    .notify = blk_notify,
	    .reset = blk_reset,
	    .save = blk_save,
	    .load = blk_load,
	    .quiesce = blk_quiesce,
	    .throttled = blk_throttled,
	    .counts = blk_counts,
	};
	b->kick_fd = eventfd(0, EFD_CLOEXEC);
	if (b->kick_fd < 0) {
		err = -errno;
		log_error("--disk %s: cannot create an eventfd: %s", cfg->path, strerror(errno));
		goto fail_disk;
	}
	err = virtio_mmio_create(m, &b->ops, b, &b->vm);
	if (err < 0) {
		log_error("--disk %s: no free virtio-mmio slot (at most %u devices): %s", cfg->path,
			  LAYOUT_VIRTIO_MMIO_MAX, strerror(-err));
		goto fail_fd;
	}
	err = -pthread_create(&b->thread, NULL, blk_thread, b);
	if (err < 0) {
		log_error("--disk %s: cannot start the I/O thread: %s", cfg->path, strerror(-err));
		goto fail_vm;
	}
	b->thread_started = true;
	*out = b;
	return 0;
fail_vm:
	virtio_mmio_destroy(b->vm);
fail_fd:
	close(b->kick_fd);
fail_disk:
	disk_close(&b->disk);
fail_free:
	pthread_cond_destroy(&b->idle);
	free(b->path);
	free(b);
	return err;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	if (!b)
		return;
	if (b->thread_started) {
		atomic_store(&b->stop, true);
		blk_kick(b);
		pthread_join(b->thread, NULL);
	}
	virtio_mmio_destroy(b->vm);
	close(b->kick_fd);
	disk_close(&b->disk);
	pthread_cond_destroy(&b->idle);
	free(b->path);
	free(b);
}
