/* virtio-vsock device (virtio 1.2 section 5.10): configuration, queues and
 * the vsock thread that moves packets between the queues and the
 * connection layer (vsock_conn.c, vsock_host.c). */
#include "virtio/vsock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/machine.h"
#include "core/snap_codec.h"
#include "popek/log.h"
#include "virtio/virtio.h"
#include "virtio/vsock_priv.h"

#define VIRTIO_ID_VSOCK 19
#define VSOCK_QUEUE_MAX 256
#define VSOCK_TX_BUDGET 64 /* packets per round, so that RX and sockets get a turn */

struct virtio_vsock {
	struct virtio_mmio *vm;
	struct vsock_core core; /* vsock thread only (after create) */
	pthread_t thread;
	bool thread_started;
	_Atomic bool quit;

	/* Under the device lock. */
	bool active;      /* DRIVER_OK and not reset since */
	unsigned gen;     /* bumped by every reset */
	bool reset_event; /* a transport-reset event is owed to the driver */

	/* vsock thread only. */
	unsigned seen_gen;
	struct virtq_elem elem;
	u8 pkt[VSOCK_HDR_SIZE + VSOCK_MAX_PKT];
};

/* ---- transport callbacks (vCPU thread, device lock held) ----------------- */

static void vsock_config_read(void *opaque, u32 offset, void *buf, u32 len)
{
	struct virtio_vsock *v = opaque;
	u64 cid = v->core.guest_cid; /* struct virtio_vsock_config (5.10.4) */

	memset(buf, 0, len);
	if (offset < sizeof(cid))
		memcpy(buf, (u8 *)&cid + offset, MIN(len, sizeof(cid) - offset));
}

static void vsock_config_write(void *opaque, u32 offset, const void *buf, u32 len)
{
	(void)opaque, (void)offset, (void)buf, (void)len; /* read-only */
}

static int vsock_activate(void *opaque, u64 features)
{
	struct virtio_vsock *v = opaque;

	(void)features;
	v->active = true;
	vsock_core_kick(&v->core);
	return 0;
}

static void vsock_notify(void *opaque, unsigned q)
{
	struct virtio_vsock *v = opaque;

	(void)q; /* the thread looks at every queue */
	vsock_core_kick(&v->core);
}

static void vsock_reset(void *opaque)
{
	struct virtio_vsock *v = opaque;

	v->active = false;
	v->reset_event = false; /* a new driver starts without connections */
	v->gen++;
	vsock_core_kick(&v->core);
}

/* Saved state: u64 guest CID (5.10.4). Connections are not saved: on load
 * the driver gets the transport-reset event (5.10.6.7), as from Firecracker,
 * and its sockets see the connections reset. */
static int vsock_save(void *opaque, struct snap_out *o)
{
	struct virtio_vsock *v = opaque;

	snap_put_u64(o, v->core.guest_cid);
	return 0;
}

static int vsock_load(void *opaque, struct snap_in *in)
{
	struct virtio_vsock *v = opaque;
	u64 cid = snap_get_u64(in);

	if (snap_in_end(in) < 0)
		return -EINVAL;
	if (cid != v->core.guest_cid)
		return snap_reject(in, "guest CID %llu was saved, --vsock gives %llu",
				   (unsigned long long)cid, (unsigned long long)v->core.guest_cid);
	v->gen++; /* the thread forgets every connection it has */
	v->reset_event = true;
	vsock_core_kick(&v->core);
	return 0;
}

static const struct virtio_dev_ops vsock_ops = {
    .name = "vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .features = 0, /* stream sockets only (5.10.3) */
    .nr_queues = 3,
    .queue_max = VSOCK_QUEUE_MAX,
    .config_size = 8,
    .config_read = vsock_config_read,
    .config_write = vsock_config_write,
    .activate = vsock_activate,
    .notify = vsock_notify,
    .reset = vsock_reset,
    .save = vsock_save,
    .load = vsock_load,
};

/* ---- the vsock thread ---------------------------------------------------- */

/* With the lock held: may the thread use the queues of this activation? */
static bool vsock_usable(struct virtio_vsock *v)
{
	return v->active && v->gen == v->seen_gen;
}

/* Checks one transmitted chain and copies it into v->pkt (5.10.6.2). */
static const char *vsock_tx_copy(struct virtio_vsock *v, struct vsock_hdr *h)
{
	const struct virtq_elem *e = &v->elem;

	if (e->out_len < VSOCK_HDR_SIZE)
		return "transmitted packet shorter than its header";
	iov_to_buf(e->out, e->nr_out, 0, h, sizeof(*h));
	if (h->len > VSOCK_MAX_PKT)
		return "transmitted packet over 64 KiB";
	if (e->out_len - VSOCK_HDR_SIZE < h->len)
		return "transmitted packet longer than its buffer";
	iov_to_buf(e->out, e->nr_out, VSOCK_HDR_SIZE, v->pkt, h->len);
	return NULL;
}

/* Takes what the guest transmitted. Returns true when more may be waiting. */
static bool vsock_tx(struct virtio_vsock *v)
{
	const struct guest_mem *mem = virtio_mmio_mem(v->vm);
	bool pushed = false, more = false;

	for (int budget = VSOCK_TX_BUDGET;; budget--) {
		struct vsock_hdr h;
		const char *why = NULL;
		struct virtq *q;
		int r = 0;

		if (!budget) {
			more = true;
			break;
		}
		virtio_mmio_lock(v->vm);
		if (vsock_usable(v)) {
			q = virtio_mmio_queue(v->vm, VSOCK_TXQ);
			r = virtq_pop(q, mem, &v->elem, &why);
			if (r > 0 && (why = vsock_tx_copy(v, &h)) == NULL) {
				virtq_push(q, mem, v->elem.head, 0);
				pushed = true;
			} else if (r > 0) {
				r = -EINVAL;
			}
			if (r < 0)
				virtio_mmio_needs_reset(v->vm, why);
		}
		virtio_mmio_unlock(v->vm);
		if (r <= 0)
			break;
		vsock_core_guest_packet(&v->core, &h, v->pkt);
	}
	if (pushed) {
		virtio_mmio_lock(v->vm);
		if (vsock_usable(v))
			virtio_mmio_signal_used(v->vm, VSOCK_TXQ);
		virtio_mmio_unlock(v->vm);
	}
	return more;
}

/* Sends the transport-reset event owed after a load, once the driver has an
 * event buffer posted (5.10.6.7: it then rereads the CID and drops every
 * connection). */
static void vsock_event(struct virtio_vsock *v)
{
	const struct guest_mem *mem = virtio_mmio_mem(v->vm);
	const u32 id = VSOCK_EVENT_TRANSPORT_RESET;
	const char *why = NULL;
	struct virtq *q;
	int r;

	virtio_mmio_lock(v->vm);
	if (!v->reset_event || !vsock_usable(v))
		goto out;
	q = virtio_mmio_queue(v->vm, VSOCK_EVQ);
	r = virtq_pop(q, mem, &v->elem, &why);
	if (r > 0 && (v->elem.nr_out || v->elem.in_len < sizeof(id))) {
		why = "event buffer is not a writable 4-byte buffer"; /* 5.10.6.7 */
		r = -EINVAL;
	}
	if (r < 0)
		virtio_mmio_needs_reset(v->vm, why);
	if (r <= 0)
		goto out;
	iov_from_buf(v->elem.in, v->elem.nr_in, 0, &id, sizeof(id));
	virtq_push(q, mem, v->elem.head, sizeof(id));
	virtio_mmio_signal_used(v->vm, VSOCK_EVQ);
	v->reset_event = false;
out:
	virtio_mmio_unlock(v->vm);
}

/* Fills guest receive buffers with what the connections have to say. */
static void vsock_rx(struct virtio_vsock *v)
{
	const struct guest_mem *mem = virtio_mmio_mem(v->vm);
	bool pushed = false;
	struct virtq *q;

	if (!vsock_core_rx_pending(&v->core))
		return;
	virtio_mmio_lock(v->vm);
	if (!vsock_usable(v))
		goto out;
	q = virtio_mmio_queue(v->vm, VSOCK_RXQ);
	while (vsock_core_rx_pending(&v->core)) {
		const char *why = NULL;
		size_t n;
		int r = virtq_pop(q, mem, &v->elem, &why);

		if (r == 0)
			break; /* the guest's next notify brings buffers */
		if (r > 0 && v->elem.nr_out) {
			why = "receive buffer is device-readable"; /* 5.10.6.1 */
			r = -EINVAL;
		} else if (r > 0 && v->elem.in_len < VSOCK_HDR_SIZE) {
			why = "receive buffer smaller than a packet header";
			r = -EINVAL;
		}
		if (r < 0) {
			virtio_mmio_needs_reset(v->vm, why);
			break;
		}
		n = vsock_core_rx_fill(&v->core, v->pkt, MIN(v->elem.in_len, sizeof(v->pkt)));
		iov_from_buf(v->elem.in, v->elem.nr_in, 0, v->pkt, n);
		virtq_push(q, mem, v->elem.head, (u32)n);
		pushed = true;
	}
	if (pushed)
		virtio_mmio_signal_used(v->vm, VSOCK_RXQ);
out:
	virtio_mmio_unlock(v->vm);
}

static void *vsock_thread(void *arg)
{
	struct virtio_vsock *v = arg;
	bool more = false;

	while (!v->quit) {
		unsigned gen;

		vsock_core_poll(&v->core, more ? 0 : 1000);
		virtio_mmio_lock(v->vm);
		gen = v->gen;
		virtio_mmio_unlock(v->vm);
		if (gen != v->seen_gen) {
			/* The driver reset the device: every connection is gone. */
			vsock_core_reset(&v->core);
			v->seen_gen = gen;
		}
		vsock_event(v);
		more = vsock_tx(v);
		vsock_rx(v);
		vsock_core_update(&v->core);
	}
	return NULL;
}

int virtio_vsock_create(struct machine *m, const struct vsock_config *cfg,
			struct virtio_vsock **out)
{
	struct virtio_vsock *v;
	int err;

	if (cfg->guest_cid < 3 || cfg->guest_cid == 0xFFFFFFFFu) {
		log_error("--vsock: guest cid %u is reserved (use 3 to 4294967294)",
			  cfg->guest_cid);
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	err = vsock_core_init(&v->core, cfg->guest_cid, cfg->uds_path);
	if (err < 0) {
		log_error("--vsock: cannot listen on '%s': %s", cfg->uds_path, strerror(-err));
		free(v);
		return err;
	}
	err = virtio_mmio_create(m, &vsock_ops, v, &v->vm);
	if (err < 0) {
		log_error("--vsock: cannot add the device: %s", strerror(-err));
		goto fail;
	}
	err = -pthread_create(&v->thread, NULL, vsock_thread, v);
	if (err < 0) {
		log_error("--vsock: cannot start its thread: %s", strerror(-err));
		goto fail;
	}
	v->thread_started = true;
	*out = v;
	return 0;
fail:
	virtio_vsock_destroy(v);
	return err;
}

void virtio_vsock_destroy(struct virtio_vsock *v)
{
	if (!v)
		return;
	if (v->thread_started) {
		v->quit = true;
		vsock_core_kick(&v->core);
		pthread_join(v->thread, NULL);
	}
	if (v->vm)
		virtio_mmio_destroy(v->vm);
	vsock_core_destroy(&v->core);
	free(v);
}
