/* virtio-pmem: the configuration space names the region (5.19.4), the one
 * request queue takes flushes (5.19.6), served on the event loop because a
 * flush waits for the disk. The guest's loads and stores reach the file
 * through the mapping without popek. */
#include "virtio/pmem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/machine.h"
#include "popek/clock.h"
#include "popek/log.h"
#include "virtio/rate_limiter.h"
#include "virtio/virtio.h"

#define PMEM_REQ_FLUSH 0 /* virtio_pmem_req.type */
#define PMEM_RESP_OK   0
#define PMEM_RESP_EIO  1
#define PMEM_BATCH     16 /* requests per wake-up: keep the event loop fair */

struct virtio_pmem {
	struct machine *m;
	struct virtio_mmio *vm;
	int fd;      /* the file (the mapping keeps it too) */
	gpa_t start; /* the region, as the guest sees it */
	u64 size;
	u8 *host;
	bool read_only;
	int kick_fd, timer_fd;
	bool in_loop, timer_in_loop;
	/* Under the device lock: */
	struct rate_limiter rl;
	u64 until_ns; /* a throttled queue waits until then */
	bool active, busy;
	unsigned gen;
	pthread_cond_t idle;
	struct virtq_elem elem; /* the event loop's */
	u64 flushes, flush_errors;
};

static void pmem_kick(struct virtio_pmem *p)
{
	u64 one = 1;
	if (write(p->kick_fd, &one, sizeof(one)) < 0) {
		/* saturated: a wake-up is pending anyway */
	}
}

/* 5.19.4: le64 start, le64 size. */
static void pmem_config_read(void *opaque, u32 offset, void *buf, u32 len)
{
	struct virtio_pmem *p = opaque;
	u8 cfg[16];

	memcpy(cfg, &p->start, 8);
	memcpy(cfg + 8, &p->size, 8);
	memset(buf, 0, len);
	if (offset < sizeof(cfg))
		memcpy(buf, cfg + offset, MIN(len, (u32)sizeof(cfg) - offset));
}

static int pmem_activate(void *opaque, u64 features)
{
	struct virtio_pmem *p = opaque;

	(void)features;
	p->active = true;
	pmem_kick(p);
	return 0;
}

static void pmem_notify(void *opaque, unsigned q)
{
	(void)q;
	pmem_kick(opaque);
}

/* Device lock held: a flush under way finishes first (2.4). */
static void pmem_reset(void *opaque)
{
	struct virtio_pmem *p = opaque;

	p->active = false;
	p->gen++;
	while (p->busy)
		pthread_cond_wait(&p->idle, virtio_mmio_lock_ptr(p->vm));
}

static void pmem_quiesce(void *opaque)
{
	struct virtio_pmem *p = opaque;

	while (p->busy)
		pthread_cond_wait(&p->idle, virtio_mmio_lock_ptr(p->vm));
}

static void pmem_throttled(void *opaque, u64 out[2])
{
	struct virtio_pmem *p = opaque;

	out[0] = p->rl.throttled;
}

static void pmem_counts(void *opaque, struct virtio_dev_stats *out)
{
	struct virtio_pmem *p = opaque;

	out->dev.flushes = p->flushes;
	out->dev.invalid = p->flush_errors;
}

static const struct virtio_dev_ops pmem_ops = {
    .name = "pmem",
    .device_id = VIRTIO_ID_PMEM,
    .nr_queues = 1,
    .queue_max = VIRTIO_PMEM_QUEUE_MAX,
    .config_size = 16,
    .config_read = pmem_config_read,
    .activate = pmem_activate,
    .notify = pmem_notify,
    .reset = pmem_reset,
    .quiesce = pmem_quiesce,
    .throttled = pmem_throttled,
    .counts = pmem_counts,
};

/* The guest's stores are in the host's page cache already (a shared
 * mapping); a flush makes them durable. A read-only device has nothing to
 * write back. */
static u32 pmem_flush(struct virtio_pmem *p)
{
	if (p->read_only)
		return PMEM_RESP_OK;
	if (msync(p->host, p->size, MS_SYNC) < 0 || fdatasync(p->fd) < 0) {
		log_warn("virtio-pmem: flush failed: %s", strerror(errno));
		return PMEM_RESP_EIO;
	}
	return PMEM_RESP_OK;
}

/* Device lock held: whether the limiter lets this flush go now; if not it
 * goes back to the ring and the timer wakes the queue. */
static bool pmem_admit(struct virtio_pmem *p, struct virtq *q)
{
	u64 now = clock_now_ns(), wait;
	struct itimerspec its = {0};

	if (!rate_limiter_active(&p->rl))
		return true;
	wait = rate_limiter_consume(&p->rl, now, 0, 1);
	if (!wait)
		return true;
	virtq_unpop(q, &p->elem);
	p->until_ns = now + wait;
	its.it_value.tv_sec = (time_t)(wait / 1000000000ULL);
	its.it_value.tv_nsec = (long)(wait % 1000000000ULL);
	if (timerfd_settime(p->timer_fd, 0, &its, NULL) < 0)
		log_warn("virtio-pmem: cannot arm its timer: %s", strerror(errno));
	return false;
}

/* A kick or the limiter's timer: serve the queue. */
static void pmem_on_kick(void *opaque, int fd, u32 events)
{
	struct virtio_pmem *p = opaque;
	const struct guest_mem *mem = virtio_mmio_mem(p->vm);
	struct virtq *q = virtio_mmio_queue(p->vm, 0);
	u64 v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	virtio_mmio_lock(p->vm);
	for (unsigned n = 0; p->active; n++) {
		const char *why = NULL;
		unsigned gen = p->gen;
		u32 type = 0, ret;
		int r;

		if (n == PMEM_BATCH) {
			pmem_kick(p);
			break;
		}
		if (p->until_ns > clock_now_ns())
			break;
		r = virtq_pop(q, mem, &p->elem, &why);
		/* 5.19.6: a 4-byte request the device reads, a 4-byte answer it writes. */
		if (r > 0 && (p->elem.out_len < 4 || p->elem.in_len < 4)) {
			why = "request or response shorter than 4 bytes";
			r = -EINVAL;
		}
		if (r > 0 && (iov_to_buf(p->elem.out, p->elem.nr_out, 0, &type, 4) != 4 ||
			      type != PMEM_REQ_FLUSH)) {
			why = "request type is not FLUSH";
			r = -EINVAL;
		}
		if (r < 0)
			virtio_mmio_needs_reset(p->vm, why);
		if (r <= 0 || !pmem_admit(p, q))
			break;
		p->busy = true;
		virtio_mmio_unlock(p->vm);
		ret = pmem_flush(p);
		virtio_mmio_lock(p->vm);
		p->busy = false;
		pthread_cond_broadcast(&p->idle);
		p->flushes++;
		p->flush_errors += ret != PMEM_RESP_OK;
		if (gen != p->gen)
			break;
		iov_from_buf(p->elem.in, p->elem.nr_in, 0, &ret, 4);
		virtq_push(q, mem, p->elem.head, 4);
		virtio_mmio_signal_used(p->vm, 0);
	}
	virtio_mmio_unlock(p->vm);
}

void virtio_pmem_set_rate_limiter(struct virtio_pmem *p, const struct rate_limit_config *cfg)
{
	virtio_mmio_lock(p->vm);
	rate_limiter_init(&p->rl, cfg, clock_now_ns());
	p->until_ns = 0;
	virtio_mmio_unlock(p->vm);
	pmem_kick(p);
}

int virtio_pmem_create(struct machine *m, const struct pmem_config *cfg, unsigned region, int fd,
		       struct virtio_pmem **out)
{
	const struct guest_mem_region *r = &m->mem.regions[region];
	struct virtio_pmem *p;
	int err;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	p->m = m;
	p->fd = fd;
	p->start = r->gpa;
	p->size = r->size;
	p->host = r->host;
	p->read_only = cfg->read_only;
	p->timer_fd = -1;
	pthread_cond_init(&p->idle, NULL);
	rate_limiter_init(&p->rl, &cfg->rate_limiter, clock_now_ns());
	p->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (p->kick_fd < 0 || p->timer_fd < 0) {
		err = -errno;
		log_error("virtio-pmem '%s': cannot create its eventfd or timerfd: %s", cfg->id,
			  strerror(errno));
		goto fail;
	}
	err = virtio_mmio_create(m, &pmem_ops, p, &p->vm);
	if (err < 0) {
		log_error("virtio-pmem '%s': no free virtio-mmio slot (at most %u devices): %s",
			  cfg->id, LAYOUT_VIRTIO_MMIO_MAX, strerror(-err));
		goto fail;
	}
	err = event_loop_add(&m->loop, p->kick_fd, pmem_on_kick, p);
	if (!err) {
		p->in_loop = true;
		err = event_loop_add(&m->loop, p->timer_fd, pmem_on_kick, p);
		p->timer_in_loop = !err;
	}
	if (err < 0) {
		log_error("virtio-pmem '%s': cannot watch its eventfd: %s", cfg->id,
			  strerror(-err));
		virtio_pmem_destroy(p);
		return err;
	}
	*out = p;
	return 0;
fail:
	virtio_pmem_destroy(p);
	return err;
}

/* After the event loop has stopped. */
void virtio_pmem_destroy(struct virtio_pmem *p)
{
	if (!p)
		return;
	if (p->in_loop)
		event_loop_remove(&p->m->loop, p->kick_fd);
	if (p->timer_in_loop)
		event_loop_remove(&p->m->loop, p->timer_fd);
	if (p->vm)
		virtio_mmio_destroy(p->vm);
	if (p->kick_fd >= 0)
		close(p->kick_fd);
	if (p->timer_fd >= 0)
		close(p->timer_fd);
	close(p->fd);
	pthread_cond_destroy(&p->idle);
	free(p);
}
