/* virtio-net (virtio 1.2 section 5.1): frames between the guest's queues and
 * a host back-end, moved by one I/O thread per device, never by a vCPU. */
#include "virtio/net.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/machine.h"
#include "core/snap_codec.h"
#include "host/slirp.h"
#include "host/tap.h"
#include "popek/clock.h"
#include "popek/log.h"
#include "virtio/rate_limiter.h"
#include "virtio/virtio.h"

/* Frames kept for the guest while it has no receive buffers posted. */
#define NET_PENDING_MAX   256
#define NET_PENDING_BYTES (1 * MiB)
/* TX chains handled per loop round, so RX and the back-end get their turn. */
#define NET_TX_BUDGET 128

/* struct virtio_net_config (5.1.4): mac[6], le16 status, le16
 * max_virtqueue_pairs, le16 mtu (read by a driver only with VIRTIO_NET_F_MTU). */
#define NET_CONFIG_SIZE 12
#define NET_CONFIG_MTU  10

struct net_pending {
	u8 *data;
	size_t len;
};

struct virtio_net {
	struct machine *m;
	struct virtio_mmio *vm;
	struct net_backend *be;
	struct virtio_dev_ops ops; /* net_ops, with VIRTIO_NET_F_MTU when an mtu is set */
	u8 config[NET_CONFIG_SIZE];
	u16 mtu; /* the config's, 0: not offered */

	/* Under m->dev_lock. */
	bool active;  /* DRIVER_OK seen and no reset since */
	bool broken;  /* needs reset: touch no queue */
	u64 features; /* negotiated */
	/* rx/tx_rate_limiter: a queue whose bucket is short waits (frames for
	 * the guest stay pending, the guest's stay in its TX ring) until
	 * until_ns[q]. */
	struct rate_limiter rl[2]; /* [VIRTIO_NET_RXQ], [VIRTIO_NET_TXQ] */
	u64 until_ns[2];

	/* The I/O thread's own. */
	pthread_t thread;
	bool thread_started;
	_Atomic bool quit;
	int wake_fd; /* eventfd: queue notifications and quit */
	struct net_pollset ps;
	struct virtq_elem *elem;
	u8 *tx_buf; /* VIRTIO_NET_FRAME_MAX bytes */
	struct net_pending pend[NET_PENDING_MAX];
	unsigned pend_head, pend_count;
	size_t pend_bytes;
	bool signal[2]; /* used elements pushed since the last interrupt check */
	u64 rx_dropped, tx_dropped;

	/* Snapshots: the I/O thread parks between two rounds, holding nothing,
	 * while the back-end's own state is saved or loaded (net_park).
	 * parked is under m->dev_lock. */
	_Atomic bool park;
	bool parked;
	pthread_cond_t park_cond;
};

/* ---- request handling (pure; the caller holds the lock) ----------------- */

static int net_fail(const char **why, const char *what)
{
	*why = what;
	return -EINVAL;
}

static u16 net_le16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

int virtio_net_csum_complete(u8 *frame, size_t len, u16 start, u16 offset)
{
	u32 sum = 0;
	size_t i;
	u16 res;

	if (start >= len || (size_t)start + offset + 2 > len)
		return -EINVAL;
	/* RFC 1071 ones'-complement sum over [start, len); the driver put the
	 * pseudo-header sum in the checksum field, which is part of it. */
	for (i = start; i + 1 < len; i += 2) {
		sum += (u32)(frame[i] << 8 | frame[i + 1]);
		if (sum > 0xffff0000u)
			sum = (sum & 0xffff) + (sum >> 16);
	}
	if (i < len)
		sum += (u32)frame[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	res = (u16)~sum;
	if (!res)
		res = 0xffff; /* UDP sends a computed 0 as all ones (RFC 768) */
	frame[start + offset] = (u8)(res >> 8);
	frame[start + offset + 1] = (u8)res;
	return 0;
}

int virtio_net_tx_pop(struct virtq *q, const struct guest_mem *mem, bool csum, struct virtq_elem *e,
		      u8 *frame, size_t *len, const char **why)
{
	int r;

	*len = 0;
	r = virtq_pop(q, mem, e, why);
	if (r <= 0)
		return r;
	return virtio_net_tx_take(q, mem, csum, e, frame, len, why);
}

int virtio_net_tx_take(struct virtq *q, const struct guest_mem *mem, bool csum,
		       const struct virtq_elem *e, u8 *frame, size_t *len, const char **why)
{
	u8 hdr[VIRTIO_NET_HDR_LEN];
	u64 flen;

	*len = 0;
	/* 5.1.6.2: transmit buffers are device-readable only. */
	if (e->nr_in)
		return net_fail(why, "TX chain has a device-writable descriptor");
	if (e->out_len < VIRTIO_NET_HDR_LEN)
		return net_fail(why, "TX chain shorter than the 12-byte virtio-net header");
	flen = e->out_len - VIRTIO_NET_HDR_LEN;
	if (flen > VIRTIO_NET_FRAME_MAX)
		return net_fail(why, "TX frame longer than 65553 bytes");
	iov_to_buf(e->out, e->nr_out, 0, hdr, sizeof(hdr));
	/* No GSO feature is offered: every packet is one frame (5.1.6.2). */
	if (hdr[1] != VIRTIO_NET_HDR_GSO_NONE)
		return net_fail(why, "TX header asks for GSO that was not negotiated");
	/* Copied once: the guest may change its buffer while we look at it. */
	iov_to_buf(e->out, e->nr_out, VIRTIO_NET_HDR_LEN, frame, flen);
	if (hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!csum)
			return net_fail(why, "TX header NEEDS_CSUM without VIRTIO_NET_F_CSUM");
		if (virtio_net_csum_complete(frame, flen, net_le16(hdr + 6), net_le16(hdr + 8)) < 0)
			return net_fail(why, "TX checksum start/offset beyond the frame");
	}
	if (virtq_push(q, mem, e->head, 0) < 0)
		return net_fail(why, "used ring not writable");
	*len = flen >= VIRTIO_NET_ETH_HLEN ? flen : 0; /* a runt frame is dropped */
	return 1;
}

bool virtio_net_rx_too_long(size_t len, u16 mtu)
{
	return mtu && len > (size_t)mtu + VIRTIO_NET_ETH_HLEN + 4;
}

int virtio_net_rx_put(struct virtq *q, const struct guest_mem *mem, struct virtq_elem *e,
		      const void *frame, size_t len, bool data_valid, u32 *used_len,
		      const char **why)
{
	int r;

	*used_len = 0;
	r = virtq_pop(q, mem, e, why);
	if (r <= 0)
		return r;
	return virtio_net_rx_fill(q, mem, e, frame, len, data_valid, used_len, why);
}

int virtio_net_rx_fill(struct virtq *q, const struct guest_mem *mem, const struct virtq_elem *e,
		       const void *frame, size_t len, bool data_valid, u32 *used_len,
		       const char **why)
{
	u8 hdr[VIRTIO_NET_HDR_LEN] = {0};

	*used_len = 0;
	/* 5.1.6.3: receive buffers are device-writable only. */
	if (e->nr_out)
		return net_fail(why, "RX chain has a device-readable descriptor");
	if (e->in_len < VIRTIO_NET_HDR_LEN)
		return net_fail(why, "RX chain shorter than the 12-byte virtio-net header");
	/* Without MRG_RXBUF one chain holds one whole frame (5.1.6.3.1): a
	 * frame larger than the buffer is dropped and the buffer returned
	 * empty (Linux counts it as a length error). */
	if (e->in_len - VIRTIO_NET_HDR_LEN >= len) {
		hdr[0] = data_valid ? VIRTIO_NET_HDR_F_DATA_VALID : 0;
		hdr[1] = VIRTIO_NET_HDR_GSO_NONE;
		hdr[10] = 1; /* num_buffers: 1 without MRG_RXBUF (5.1.6.4) */
		iov_from_buf(e->in, e->nr_in, 0, hdr, sizeof(hdr));
		iov_from_buf(e->in, e->nr_in, VIRTIO_NET_HDR_LEN, frame, len);
		*used_len = (u32)(VIRTIO_NET_HDR_LEN + len);
	}
	if (virtq_push(q, mem, e->head, *used_len) < 0)
		return net_fail(why, "used ring not writable");
	return 1;
}

/* ---- the I/O thread ----------------------------------------------------- */

static void net_wake(struct virtio_net *n)
{
	u64 one = 1;

	if (write(n->wake_fd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the thread will wake */
	}
}

/* With m->dev_lock held. */
static void net_break(struct virtio_net *n, const char *why)
{
	n->broken = true;
	virtio_mmio_needs_reset(n->vm, why);
}

static bool net_usable(const struct virtio_net *n)
{
	return n->active && !n->broken;
}

static void net_pend_drop_all(struct virtio_net *n)
{
	while (n->pend_count) {
		free(n->pend[n->pend_head].data);
		n->pend_head = (n->pend_head + 1) % NET_PENDING_MAX;
		n->pend_count--;
	}
	n->pend_bytes = 0;
}

/* With m->dev_lock held: whether queue qi's limiter lets a chain of bytes
 * go now; if not, the chain goes back to the ring and the queue waits. */
static bool net_admit(struct virtio_net *n, unsigned qi, struct virtq *q, u64 bytes)
{
	u64 now = clock_now_ns(), wait;

	if (!rate_limiter_active(&n->rl[qi]))
		return true;
	wait = rate_limiter_consume(&n->rl[qi], now, bytes, 1);
	if (!wait)
		return true;
	virtq_unpop(q, n->elem);
	n->until_ns[qi] = now + wait;
	return false;
}

/* Whether queue qi waits for its bucket (m->dev_lock held). */
static bool net_throttled(const struct virtio_net *n, unsigned qi)
{
	return n->until_ns[qi] > clock_now_ns();
}

/* With m->dev_lock held: one frame into the guest's RX queue. Returns 1
 * when the frame is gone (delivered or dropped), 0 when no buffer. */
static int net_rx_one(struct virtio_net *n, const void *frame, size_t len)
{
	struct virtq *q = virtio_mmio_queue(n->vm, VIRTIO_NET_RXQ);
	bool valid = n->be->rx_csum_valid && (n->features >> VIRTIO_NET_F_GUEST_CSUM & 1);
	const char *why = NULL;
	u32 used;
	int r;

	if (!net_usable(n) || !q)
		return 1; /* link not usable: the frame is lost */
	if (virtio_net_rx_too_long(len, n->features >> VIRTIO_NET_F_MTU & 1 ? n->mtu : 0)) {
		n->rx_dropped++; /* 5.1.4.2: never above the MTU the driver accepted */
		return 1;
	}
	if (net_throttled(n, VIRTIO_NET_RXQ))
		return 0; /* kept, as when the guest has no buffer */
	r = virtq_pop(q, &n->m->mem, n->elem, &why);
	if (r > 0 && !net_admit(n, VIRTIO_NET_RXQ, q, len))
		return 0;
	if (r > 0)
		r = virtio_net_rx_fill(q, &n->m->mem, n->elem, frame, len, valid, &used, &why);
	if (r < 0) {
		net_break(n, why);
		return 1;
	}
	if (r > 0)
		n->signal[VIRTIO_NET_RXQ] = true;
	if (r > 0 && !used)
		n->rx_dropped++;
	return r;
}

/* Delivers queued frames while the guest has buffers. */
static void net_rx_flush(struct virtio_net *n)
{
	if (!n->pend_count)
		return;
	virtio_mmio_lock(n->vm);
	if (!net_usable(n)) {
		net_pend_drop_all(n);
	} else {
		while (n->pend_count) {
			struct net_pending *p = &n->pend[n->pend_head];
			if (!net_rx_one(n, p->data, p->len))
				break;
			n->pend_bytes -= p->len;
			free(p->data);
			n->pend_head = (n->pend_head + 1) % NET_PENDING_MAX;
			n->pend_count--;
		}
	}
	virtio_mmio_unlock(n->vm);
}

static void net_pend_add(struct virtio_net *n, const void *frame, size_t len)
{
	struct net_pending *p;

	if (n->pend_count == NET_PENDING_MAX || n->pend_bytes + len > NET_PENDING_BYTES) {
		n->rx_dropped++;
		return;
	}
	p = &n->pend[(n->pend_head + n->pend_count) % NET_PENDING_MAX];
	p->data = malloc(len ? len : 1);
	if (!p->data) {
		n->rx_dropped++;
		return;
	}
	memcpy(p->data, frame, len);
	p->len = len;
	n->pend_count++;
	n->pend_bytes += len;
}

/* net_rx_fn: a frame from the back-end (on the I/O thread). */
static bool net_backend_rx(void *opaque, const void *frame, size_t len)
{
	struct virtio_net *n = opaque;
	int r;

	if (n->pend_count) {
		/* Keep the order: behind the frames already waiting. */
		net_pend_add(n, frame, len);
		return false;
	}
	virtio_mmio_lock(n->vm);
	r = net_rx_one(n, frame, len);
	virtio_mmio_unlock(n->vm);
	if (r == 0) {
		net_pend_add(n, frame, len);
		return false;
	}
	return true;
}

/* Sends what the guest queued for transmission. The frame is copied and
 * its chain completed under the lock; the back-end gets it after, since
 * slirp may answer at once through net_backend_rx. */
static void net_tx_run(struct virtio_net *n)
{
	for (unsigned i = 0; i < NET_TX_BUDGET; i++) {
		const char *why = NULL;
		struct virtq *q;
		size_t len = 0;
		int r = 0, err;

		virtio_mmio_lock(n->vm);
		q = virtio_mmio_queue(n->vm, VIRTIO_NET_TXQ);
		if (net_usable(n) && q && !net_throttled(n, VIRTIO_NET_TXQ)) {
			r = virtq_pop(q, &n->m->mem, n->elem, &why);
			/* The frame's bytes, header aside, as the guest sent them. */
			if (r > 0 && !net_admit(n, VIRTIO_NET_TXQ, q,
						n->elem->out_len - MIN(n->elem->out_len,
								       VIRTIO_NET_HDR_LEN)))
				r = 0;
			if (r > 0)
				r = virtio_net_tx_take(q, &n->m->mem,
						       n->features >> VIRTIO_NET_F_CSUM & 1,
						       n->elem, n->tx_buf, &len, &why);
			if (r < 0)
				net_break(n, why);
			else if (r > 0)
				n->signal[VIRTIO_NET_TXQ] = true;
		}
		virtio_mmio_unlock(n->vm);
		if (r <= 0)
			return;
		if (!len) {
			n->tx_dropped++;
			continue;
		}
		err = n->be->ops->send(n->be, n->tx_buf, len);
		if (err < 0) {
			n->tx_dropped++;
			log_debug("net %s: dropped a %zu-byte frame: %s", n->be->ops->name, len,
				  strerror(-err));
		}
	}
	net_wake(n); /* more may be waiting: come back after the others */
}

/* One interrupt check per queue per loop round, not per frame. */
static void net_signal(struct virtio_net *n)
{
	if (!n->signal[VIRTIO_NET_RXQ] && !n->signal[VIRTIO_NET_TXQ])
		return;
	virtio_mmio_lock(n->vm);
	for (unsigned q = 0; q < 2; q++) {
		if (n->signal[q] && net_usable(n))
			virtio_mmio_signal_used(n->vm, q);
		n->signal[q] = false;
	}
	virtio_mmio_unlock(n->vm);
}

/* A throttled queue with work waiting is looked at again when its bucket
 * has the tokens: the poll's timeout comes down to then (rounded up). */
static void net_throttle_timeout(struct virtio_net *n, int *timeout_ms)
{
	u64 now = clock_now_ns(), until = 0;

	virtio_mmio_lock(n->vm);
	if (n->until_ns[VIRTIO_NET_TXQ] > now)
		until = n->until_ns[VIRTIO_NET_TXQ];
	if (n->pend_count && n->until_ns[VIRTIO_NET_RXQ] > now &&
	    (!until || n->until_ns[VIRTIO_NET_RXQ] < until))
		until = n->until_ns[VIRTIO_NET_RXQ];
	virtio_mmio_unlock(n->vm);
	if (until) {
		u64 ms = (until - now + 999999) / 1000000;
		if (*timeout_ms < 0 || ms < (u64)*timeout_ms)
			*timeout_ms = (int)ms;
	}
}

/* The I/O thread's side of net_park, at the top of each round. */
static void net_park_point(struct virtio_net *n)
{
	pthread_mutex_t *lock;

	if (!atomic_load(&n->park))
		return;
	lock = virtio_mmio_lock_ptr(n->vm);
	pthread_mutex_lock(lock);
	n->parked = true;
	pthread_cond_broadcast(&n->park_cond);
	while (atomic_load(&n->park) && !atomic_load(&n->quit))
		pthread_cond_wait(&n->park_cond, lock);
	n->parked = false;
	pthread_mutex_unlock(lock);
}

static void *net_thread(void *arg)
{
	struct virtio_net *n = arg;

	while (!atomic_load(&n->quit)) {
		int timeout = 1000, r;

		net_park_point(n);
		n->ps.nr = 0;
		if (net_pollset_add(&n->ps, n->wake_fd, POLLIN) < 0) {
			log_error("net %s: out of memory in the I/O thread", n->be->ops->name);
			break;
		}
		n->be->ops->poll_fill(n->be, &n->ps, &timeout, n->pend_count == 0);
		net_throttle_timeout(n, &timeout);
		r = poll(n->ps.fds, n->ps.nr, timeout);
		if (r < 0 && errno != EINTR)
			log_debug("net %s: poll: %s", n->be->ops->name, strerror(errno));
		if (n->ps.fds[0].revents & POLLIN) {
			u64 v;
			if (read(n->wake_fd, &v, sizeof(v)) < 0) {
				/* spurious wake-up */
			}
		}
		if (atomic_load(&n->quit))
			break;
		net_tx_run(n);
		net_rx_flush(n);
		n->be->ops->poll_done(n->be, &n->ps, r < 0);
		net_signal(n);
	}
	return NULL;
}

/* ---- transport callbacks (vCPU thread, m->dev_lock held) ---------------- */

static void net_config_read(void *opaque, u32 offset, void *buf, u32 len)
{
	struct virtio_net *n = opaque;

	memset(buf, 0, len);
	if (offset < NET_CONFIG_SIZE)
		memcpy(buf, n->config + offset, MIN(len, NET_CONFIG_SIZE - offset));
}

/* The MAC is read-only for a VERSION_1 driver (5.1.4.2); writes are ignored. */
static void net_config_write(void *opaque, u32 offset, const void *buf, u32 len)
{
	(void)opaque;
	(void)offset;
	(void)buf;
	(void)len;
}

static int net_activate(void *opaque, u64 features)
{
	struct virtio_net *n = opaque;

	n->features = features;
	n->active = true;
	n->broken = false;
	net_wake(n); /* frames may be waiting for buffers */
	return 0;
}

static void net_notify(void *opaque, unsigned q)
{
	struct virtio_net *n = opaque;

	/* TX: frames to send; RX: new buffers for waiting frames. */
	if (q == VIRTIO_NET_TXQ || q == VIRTIO_NET_RXQ)
		net_wake(n);
}

/* The I/O thread only touches queues under this lock after checking
 * active, so nothing is in flight once we return. */
static void net_reset(void *opaque)
{
	struct virtio_net *n = opaque;

	n->active = false;
	n->broken = false;
	n->features = 0;
}

/* Parks the I/O thread (caller holds the device lock, which the wait
 * releases, so the thread can finish a round that needs it): the back-end
 * is then the caller's until net_unpark. */
static void net_park(struct virtio_net *n)
{
	atomic_store(&n->park, true);
	net_wake(n);
	while (n->thread_started && !n->parked && !atomic_load(&n->quit))
		pthread_cond_wait(&n->park_cond, virtio_mmio_lock_ptr(n->vm));
}

static void net_unpark(void *opaque)
{
	struct virtio_net *n = opaque;

	atomic_store(&n->park, false);
	pthread_cond_broadcast(&n->park_cond);
}

/* Pops and pushes happen under the device lock: nothing is ever in
 * flight. The thread is parked so that the back-end's state holds still
 * for net_save. */
static void net_quiesce(void *opaque)
{
	net_park(opaque);
}

/* Saved state: the configuration the driver reads (5.1.4), 6 bytes of MAC
 * and u16 status (the MAC is the guest's from then on, whatever --net
 * says); bool the back-end's own state follows, then that state (user
 * mode: libslirp's, host/slirp.c). Frames waiting for the guest are host
 * state and not saved. Taken after net_quiesce. */
static int net_save(void *opaque, struct snap_out *o)
{
	struct virtio_net *n = opaque;
	bool own = n->be->ops->save != NULL;

	snap_put_bytes(o, n->config, 6);
	snap_put_u16(o, (u16)(n->config[6] | n->config[7] << 8));
	snap_put_bool(o, own);
	return own ? n->be->ops->save(n->be, o) : 0;
}

static int net_load(void *opaque, struct snap_in *in)
{
	struct virtio_net *n = opaque;
	u8 mac[6];
	u16 status;
	int err = 0;

	snap_get_bytes(in, mac, sizeof(mac));
	status = snap_get_u16(in);
	if (status & ~VIRTIO_NET_S_LINK_UP)
		return snap_reject(in, "link status %#x has unknown bits", status);
	if (snap_get_bool(in)) {
		if (!n->be->ops->load)
			return snap_reject(in, "state of a %s network back-end that keeps none",
					   n->be->ops->name);
		net_park(n);
		err = n->be->ops->load(n->be, in);
		net_unpark(n);
	}
	if (err < 0 || snap_in_end(in) < 0)
		return -EINVAL;
	memcpy(n->config, mac, sizeof(mac));
	n->config[6] = (u8)status;
	n->config[7] = (u8)(status >> 8);
	return 0;
}

static void net_throttled_stats(void *opaque, u64 out[2])
{
	struct virtio_net *n = opaque;

	out[0] = n->rl[VIRTIO_NET_RXQ].throttled;
	out[1] = n->rl[VIRTIO_NET_TXQ].throttled;
}

static const struct virtio_dev_ops net_ops = {
    .name = "net",
    .device_id = VIRTIO_ID_NET,
    .features = 1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_GUEST_CSUM |
		1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS,
    .nr_queues = 2,
    .queue_max = VIRTIO_NET_QUEUE_MAX,
    .config_size = NET_CONFIG_SIZE,
    .config_read = net_config_read,
    .config_write = net_config_write,
    .activate = net_activate,
    .notify = net_notify,
    .reset = net_reset,
    .save = net_save,
    .load = net_load,
    .quiesce = net_quiesce,
    .unquiesce = net_unpark,
    .throttled = net_throttled_stats,
};

void virtio_net_set_rate_limiters(struct virtio_net *n, const struct rate_limit_config *rx,
				  const struct rate_limit_config *tx)
{
	const struct rate_limit_config *cfg[2] = {[VIRTIO_NET_RXQ] = rx, [VIRTIO_NET_TXQ] = tx};

	virtio_mmio_lock(n->vm);
	for (unsigned q = 0; q < 2; q++) {
		if (!cfg[q])
			continue;
		rate_limiter_init(&n->rl[q], cfg[q], clock_now_ns());
		n->until_ns[q] = 0;
	}
	virtio_mmio_unlock(n->vm);
	net_wake(n);
}

/* ---- creation ----------------------------------------------------------- */

static void net_free(struct virtio_net *n)
{
	if (n->thread_started) {
		atomic_store(&n->quit, true);
		net_wake(n);
		virtio_mmio_lock(n->vm); /* a parked thread waits on park_cond */
		pthread_cond_broadcast(&n->park_cond);
		virtio_mmio_unlock(n->vm);
		pthread_join(n->thread, NULL);
	}
	if (n->vm)
		virtio_mmio_destroy(n->vm);
	if (n->be)
		n->be->ops->destroy(n->be);
	net_pend_drop_all(n);
	if (n->wake_fd >= 0)
		close(n->wake_fd);
	free(n->ps.fds);
	free(n->elem);
	free(n->tx_buf);
	pthread_cond_destroy(&n->park_cond);
	free(n);
}

/* Allocates a device without a back-end. */
static int net_alloc(struct machine *m, const struct net_config *cfg, unsigned index,
		     struct virtio_net **out)
{
	static const u8 default_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	struct virtio_net *n = calloc(1, sizeof(*n));

	*out = NULL;
	if (!n)
		return -ENOMEM;
	n->m = m;
	pthread_cond_init(&n->park_cond, NULL);
	n->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->elem = malloc(sizeof(*n->elem));
	n->tx_buf = malloc(VIRTIO_NET_FRAME_MAX);
	if (n->wake_fd < 0 || !n->elem || !n->tx_buf) {
		int err = n->wake_fd < 0 ? -errno : -ENOMEM;
		net_free(n);
		return err;
	}
	/* 5.1.4: mac, then status (LINK_UP), then max_virtqueue_pairs (1). */
	if (cfg->has_mac) {
		memcpy(n->config, cfg->mac, 6);
	} else {
		memcpy(n->config, default_mac, 6);
		n->config[5] = (u8)(n->config[5] + index);
	}
	n->config[6] = VIRTIO_NET_S_LINK_UP;
	n->config[8] = 1;
	/* Linux's virtio_net makes it the interface's MTU and its max_mtu. */
	n->mtu = cfg->mtu;
	n->config[NET_CONFIG_MTU] = (u8)cfg->mtu;
	n->config[NET_CONFIG_MTU + 1] = (u8)(cfg->mtu >> 8);
	rate_limiter_init(&n->rl[VIRTIO_NET_RXQ], &cfg->rx_rate_limiter, clock_now_ns());
	rate_limiter_init(&n->rl[VIRTIO_NET_TXQ], &cfg->tx_rate_limiter, clock_now_ns());
	*out = n;
	return 0;
}

int virtio_net_attach(struct machine *m, const struct net_config *cfg, unsigned index,
		      struct net_backend *be, struct virtio_net **out)
{
	struct virtio_net *n;
	sigset_t all, old;
	int err;

	*out = NULL;
	err = net_alloc(m, cfg, index, &n);
	if (err < 0) {
		be->ops->destroy(be);
		return err;
	}
	n->be = be;
	be->rx = net_backend_rx;
	be->rx_opaque = n;
	n->ops = net_ops;
	if (n->mtu)
		n->ops.features |= 1ULL << VIRTIO_NET_F_MTU;
	err = virtio_mmio_create(m, &n->ops, n, &n->vm);
	if (err < 0) {
		log_error("--net %s: cannot create the virtio-mmio device: %s", be->ops->name,
			  strerror(-err));
		n->vm = NULL;
		goto fail;
	}
	/* The thread takes no signals: they reach the machine's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&n->thread, NULL, net_thread, n);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err < 0) {
		log_error("--net %s: cannot start the I/O thread: %s", be->ops->name,
			  strerror(-err));
		goto fail;
	}
	n->thread_started = true;
	*out = n;
	return 0;
fail:
	net_free(n);
	return err;
}

/* MMDS on this interface: guest connections to its address, port 80, are
 * answered by the VMM's responder (a slirp service, on the slirp stack or,
 * for a tap, on one of its own). */
static int net_add_mmds(struct machine *m, struct net_backend *be,
			int (*add)(struct net_backend *, const struct slirp_service *))
{
	struct slirp_service svc = {m->cfg.mmds.addr, 80, m->mmds_serve, m->cfg.mmds.store};
	int err = add(be, &svc);

	if (err < 0) {
		log_error("--net %s: cannot serve MMDS: %s", be->ops->name, strerror(-err));
		be->ops->destroy(be);
	}
	return err;
}

int virtio_net_create(struct machine *m, const struct net_config *cfg, unsigned index,
		      struct virtio_net **out)
{
	struct net_backend *be = NULL;
	int err;

	*out = NULL;
	switch (cfg->mode) {
	case NET_USER:
		err = slirp_backend_create(cfg, NULL, NULL, &be);
		if (!err && cfg->mmds && m->mmds_serve)
			err = net_add_mmds(m, be, slirp_backend_add_service);
		break;
	case NET_TAP:
		err = tap_backend_create(cfg, NULL, NULL, &be);
		if (!err && cfg->mmds && m->mmds_serve)
			err = net_add_mmds(m, be, tap_backend_add_service);
		break;
	default:
		log_error("--net: unknown mode %d", (int)cfg->mode);
		return -EINVAL;
	}
	if (err < 0)
		return err;
	return virtio_net_attach(m, cfg, index, be, out);
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (n)
		net_free(n);
}
