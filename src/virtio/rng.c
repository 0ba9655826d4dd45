/* virtio-rng: one request queue whose writable buffers are filled with host
 * randomness (virtio 1.2 section 5.4.6) on the event loop, not on a vCPU. */
#include "virtio/rng.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/machine.h"
#include "popek/clock.h"
#include "popek/log.h"
#include "virtio/rate_limiter.h"
#include "virtio/virtio.h"

#define RNG_BATCH 64 /* requests per wake-up: keep the event loop fair */

struct virtio_rng {
	struct machine *m;
	struct virtio_mmio *vm;
	int kick_fd;
	int timer_fd; /* a throttled queue's wake-up, on the event loop too */
	bool in_loop, timer_in_loop;
	/* Under the device lock: */
	struct rate_limiter rl; /* entropy's rate_limiter */
	u64 until_ns;           /* the queue waits for the bucket until then */
	bool active;
	unsigned gen;
	bool busy;
	pthread_cond_t idle;
	struct virtq_elem elem; /* used by the event loop only */
};

static void rng_kick(struct virtio_rng *r)
{
	u64 one = 1;
	if (write(r->kick_fd, &one, sizeof(one)) < 0) {
		/* saturated: a wake-up is pending anyway */
	}
}

static int rng_activate(void *opaque, u64 features)
{
	struct virtio_rng *r = opaque;

	(void)features;
	r->active = true;
	rng_kick(r);
	return 0;
}

static void rng_notify(void *opaque, unsigned q)
{
	(void)q;
	rng_kick(opaque);
}

/* Device lock held: wait for a fill in progress (2.4). */
static void rng_reset(void *opaque)
{
	struct virtio_rng *r = opaque;

	r->active = false;
	r->gen++;
	while (r->busy)
		pthread_cond_wait(&r->idle, virtio_mmio_lock_ptr(r->vm));
}

/* The queue is held: the fill in progress (at most one) is pushed before
 * busy drops, in the same locked stretch. */
static void rng_quiesce(void *opaque)
{
	struct virtio_rng *r = opaque;

	while (r->busy)
		pthread_cond_wait(&r->idle, virtio_mmio_lock_ptr(r->vm));
}

static void rng_throttled(void *opaque, u64 out[2])
{
	struct virtio_rng *r = opaque;

	out[0] = r->rl.throttled;
}

static const struct virtio_dev_ops rng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .nr_queues = 1,
    .queue_max = VIRTIO_RNG_QUEUE_MAX,
    .activate = rng_activate,
    .notify = rng_notify,
    .reset = rng_reset,
    .quiesce = rng_quiesce,
    .throttled = rng_throttled,
};

/* Fills up to VIRTIO_RNG_MAX_FILL bytes of e's writable buffers; returns the
 * count. The caller refused chains with readable buffers. */
static u32 rng_fill(const struct virtq_elem *e)
{
	u32 total = 0;

	for (unsigned i = 0; i < e->nr_in && total < VIRTIO_RNG_MAX_FILL; i++) {
		u8 *p = e->in[i].iov_base;
		size_t want = MIN(e->in[i].iov_len, (size_t)(VIRTIO_RNG_MAX_FILL - total));
		size_t done = 0;

		while (done < want) {
			ssize_t n = getrandom(p + done, want - done, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return total + (u32)done;
			done += (size_t)n;
		}
		total += (u32)done;
	}
	return total;
}

/* Device lock held: whether the limiter lets the popped request (its
 * writable bytes, as many as a fill gives) go now. If not, it goes back to
 * the ring and the timer wakes the queue when the bucket has them. */
static bool rng_admit(struct virtio_rng *r, struct virtq *q)
{
	u64 now = clock_now_ns(), wait;
	struct itimerspec its = {0};

	if (!rate_limiter_active(&r->rl))
		return true;
	wait = rate_limiter_consume(&r->rl, now, MIN(r->elem.in_len, VIRTIO_RNG_MAX_FILL), 1);
	if (!wait)
		return true;
	virtq_unpop(q, &r->elem);
	r->until_ns = now + wait;
	its.it_value.tv_sec = (time_t)(wait / 1000000000ULL);
	its.it_value.tv_nsec = (long)(wait % 1000000000ULL);
	if (timerfd_settime(r->timer_fd, 0, &its, NULL) < 0)
		log_warn("virtio-rng: cannot arm its timer: %s", strerror(errno));
	return false;
}

/* The eventfd (a kick) or the timer (the bucket refilled): serve the queue. */
static void rng_on_kick(void *opaque, int fd, u32 events)
{
	struct virtio_rng *r = opaque;
	const struct guest_mem *mem = virtio_mmio_mem(r->vm);
	struct virtq *q = virtio_mmio_queue(r->vm, 0);
	u64 v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	virtio_mmio_lock(r->vm);
	for (unsigned n = 0; r->active; n++) {
		const char *why = NULL;
		unsigned gen = r->gen;
		u32 len;
		int ret;

		if (n == RNG_BATCH) {
			rng_kick(r); /* more later, after the other handlers */
			break;
		}
		if (r->until_ns > clock_now_ns())
			break; /* throttled: the timer comes back */
		ret = virtq_pop(q, mem, &r->elem, &why);
		if (ret > 0 && r->elem.nr_out) { /* 5.4.6.1: writable buffers only */
			why = "request has a device-readable buffer";
			ret = -EINVAL;
		}
		if (ret < 0)
			virtio_mmio_needs_reset(r->vm, why);
		if (ret <= 0 || !rng_admit(r, q))
			break;
		r->busy = true;
		virtio_mmio_unlock(r->vm);
		len = rng_fill(&r->elem);
		virtio_mmio_lock(r->vm);
		r->busy = false;
		pthread_cond_broadcast(&r->idle);
		if (gen != r->gen)
			break;
		virtq_push(q, mem, r->elem.head, len);
		virtio_mmio_signal_used(r->vm, 0);
	}
	virtio_mmio_unlock(r->vm);
}

void virtio_rng_set_rate_limiter(struct virtio_rng *r, const struct rate_limit_config *cfg)
{
	virtio_mmio_lock(r->vm);
	rate_limiter_init(&r->rl, cfg, clock_now_ns());
	r->until_ns = 0;
	virtio_mmio_unlock(r->vm);
	rng_kick(r);
}

int virtio_rng_create(struct machine *m, const struct rate_limit_config *rl,
		      struct virtio_rng **out)
{
	struct virtio_rng *r;
	int err;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->m = m;
	r->timer_fd = -1;
	pthread_cond_init(&r->idle, NULL);
	rate_limiter_init(&r->rl, rl, clock_now_ns());
	r->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->kick_fd < 0) {
		err = -errno;
		log_error("virtio-rng: cannot create an eventfd: %s", strerror(errno));
		goto fail;
	}
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->timer_fd < 0) {
		err = -errno;
		log_error("virtio-rng: cannot create a timerfd: %s", strerror(errno));
		goto fail_fd;
	}
	err = virtio_mmio_create(m, &rng_ops, r, &r->vm);
	if (err < 0) {
		log_error("virtio-rng: no free virtio-mmio slot (at most %u devices; --no-rng "
			  "frees one): %s",
			  LAYOUT_VIRTIO_MMIO_MAX, strerror(-err));
		goto fail_fd;
	}
	err = event_loop_add(&m->loop, r->kick_fd, rng_on_kick, r);
	if (err < 0) {
		log_error("virtio-rng: cannot watch its eventfd: %s", strerror(-err));
		goto fail_vm;
	}
	r->in_loop = true;
	err = event_loop_add(&m->loop, r->timer_fd, rng_on_kick, r);
	if (err < 0) {
		log_error("virtio-rng: cannot watch its timerfd: %s", strerror(-err));
		goto fail_loop;
	}
	r->timer_in_loop = true;
	*out = r;
	return 0;
fail_loop:
	event_loop_remove(&m->loop, r->kick_fd);
fail_vm:
	virtio_mmio_destroy(r->vm);
fail_fd:
	close(r->kick_fd);
	if (r->timer_fd >= 0)
		close(r->timer_fd);
fail:
	pthread_cond_destroy(&r->idle);
	free(r);
	return err;
}

/* After the event loop has stopped. */
void virtio_rng_destroy(struct virtio_rng *r)
{
	if (!r)
		return;
	if (r->in_loop)
		event_loop_remove(&r->m->loop, r->kick_fd);
	if (r->timer_in_loop)
		event_loop_remove(&r->m->loop, r->timer_fd);
	virtio_mmio_destroy(r->vm);
	close(r->kick_fd);
	close(r->timer_fd);
	pthread_cond_destroy(&r->idle);
	free(r);
}
