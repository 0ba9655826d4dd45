/* virtio-rng: one request queue whose writable buffers are filled with host
 * randomness (virtio 1.2 section 5.4.6) on the event loop, not on a vCPU. */
#include "virtio/rng.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/machine.h"
#include "popek/log.h"
#include "virtio/virtio.h"

#define RNG_BATCH 64 /* requests per wake-up: keep the event loop fair */

struct virtio_rng {
	struct machine *m;
	struct virtio_mmio *vm;
	int kick_fd;
	bool in_loop;
	/* Under the device lock: */
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

static const struct virtio_dev_ops rng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .nr_queues = 1,
    .queue_max = VIRTIO_RNG_QUEUE_MAX,
    .activate = rng_activate,
    .notify = rng_notify,
    .reset = rng_reset,
    .quiesce = rng_quiesce,
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
		ret = virtq_pop(q, mem, &r->elem, &why);
		if (ret > 0 && r->elem.nr_out) { /* 5.4.6.1: writable buffers only */
			why = "request has a device-readable buffer";
			ret = -EINVAL;
		}
		if (ret < 0)
			virtio_mmio_needs_reset(r->vm, why);
		if (ret <= 0)
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

int virtio_rng_create(struct machine *m, struct virtio_rng **out)
{
	struct virtio_rng *r;
	int err;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->m = m;
	pthread_cond_init(&r->idle, NULL);
	r->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->kick_fd < 0) {
		err = -errno;
		log_error("virtio-rng: cannot create an eventfd: %s", strerror(errno));
		goto fail;
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
	*out = r;
	return 0;
fail_vm:
	virtio_mmio_destroy(r->vm);
fail_fd:
	close(r->kick_fd);
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
	virtio_mmio_destroy(r->vm);
	close(r->kick_fd);
	pthread_cond_destroy(&r->idle);
	free(r);
}
