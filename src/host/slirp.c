/* libslirp (4.x) as a network back-end: its sockets and timers are served by
 * the device's I/O thread, one slirp_pollfds_fill/poll round per wake-up. */
#include "host/slirp.h"
#include "host/slirp_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "popek/clock.h"
#include "popek/log.h"

/* ---- callbacks from libslirp (on the I/O thread) ----------------------- */

static ssize_t slirp_cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct slirp_backend *s = opaque;

	/* The device queues or drops what the guest has no room for; TCP
	 * inside slirp retransmits (libslirp.h allows dropping here). */
	s->b.rx(s->b.rx_opaque, slirp_svc_to_guest(s, buf, len), len);
	return (ssize_t)len;
}

static void slirp_cb_guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	log_debug("net user: slirp: guest error: %s", msg);
}

static int64_t slirp_cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return (s64)clock_now_ns();
}

static void *slirp_cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct slirp_backend *s = opaque;
	struct slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cb = cb;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = s->timers;
	s->timers = t;
	return t;
}

static void slirp_cb_timer_free(void *timer, void *opaque)
{
	struct slirp_backend *s = opaque;

	for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
	}
}

static void slirp_cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct slirp_timer *t = timer;

	(void)opaque;
	if (t)
		t->expire_ms = expire_ms;
}

/* Every fd is handed over again by slirp_pollfds_fill before each poll(). */
static void slirp_cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void slirp_cb_unregister_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

/* Only guest forwards (unused) need a kick; every loop round re-polls. */
static void slirp_cb_notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb slirp_callbacks = {
    .send_packet = slirp_cb_send_packet,
    .guest_error = slirp_cb_guest_error,
    .clock_get_ns = slirp_cb_clock_get_ns,
    .timer_new = slirp_cb_timer_new,
    .timer_free = slirp_cb_timer_free,
    .timer_mod = slirp_cb_timer_mod,
    .register_poll_fd = slirp_cb_register_poll_fd,
    .unregister_poll_fd = slirp_cb_unregister_poll_fd,
    .notify = slirp_cb_notify,
};

/* ---- the poll loop ----------------------------------------------------- */

static int slirp_add_poll(int fd, int events, void *opaque)
{
	struct slirp_backend *s = opaque;
	short ev = 0;

	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	/* On -ENOMEM the fd is not polled this round; slirp tolerates -1. */
	return net_pollset_add(s->ps, fd, ev);
}

static int slirp_get_revents(int idx, void *opaque)
{
	struct slirp_backend *s = opaque;
	short rev;
	int r = 0;

	if (idx < 0 || (unsigned)idx >= s->ps->nr)
		return 0;
	rev = s->ps->fds[idx].revents;
	if (rev & POLLIN)
		r |= SLIRP_POLL_IN;
	if (rev & POLLOUT)
		r |= SLIRP_POLL_OUT;
	if (rev & POLLPRI)
		r |= SLIRP_POLL_PRI;
	if (rev & (POLLERR | POLLNVAL))
		r |= SLIRP_POLL_ERR;
	if (rev & POLLHUP)
		r |= SLIRP_POLL_HUP;
	return r;
}

static void slirp_poll_fill(struct net_backend *b, struct net_pollset *ps, int *timeout_ms,
			    bool can_rx)
{
	struct slirp_backend *s = (struct slirp_backend *)b;
	uint32_t t = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
	s64 now_ms = (s64)clock_now_ns() / 1000000;

	(void)can_rx; /* slirp cannot hold frames back: the device queues them */
	for (struct slirp_timer *tm = s->timers; tm; tm = tm->next) {
		if (tm->expire_ms < 0)
			continue;
		s64 left = tm->expire_ms > now_ms ? tm->expire_ms - now_ms : 0;
		if ((u64)left < t)
			t = (uint32_t)left;
	}
	s->ps = ps;
	slirp_pollfds_fill(s->slirp, &t, slirp_add_poll, s);
	*timeout_ms = t > INT32_MAX ? -1 : (int)t;
}

static void slirp_poll_done(struct net_backend *b, const struct net_pollset *ps, bool poll_failed)
{
	struct slirp_backend *s = (struct slirp_backend *)b;
	s64 now_ms;
	bool fired;

	s->ps = (struct net_pollset *)ps;
	slirp_pollfds_poll(s->slirp, poll_failed, slirp_get_revents, s);
	s->ps = NULL;
	slirp_svc_flush(s);
	/* A callback may free or re-arm timers: restart the walk after each. */
	do {
		fired = false;
		now_ms = (s64)clock_now_ns() / 1000000;
		for (struct slirp_timer *tm = s->timers; tm; tm = tm->next) {
			if (tm->expire_ms >= 0 && tm->expire_ms <= now_ms) {
				tm->expire_ms = -1;
				tm->cb(tm->cb_opaque);
				fired = true;
				break;
			}
		}
	} while (fired);
}

static int slirp_send(struct net_backend *b, const void *frame, size_t len)
{
	struct slirp_backend *s = (struct slirp_backend *)b;

	if (len > INT32_MAX)
		return -EMSGSIZE;
	frame = slirp_svc_from_guest(s, frame, len);
	if (frame) {
		slirp_input(s->slirp, frame, (int)len);
		slirp_svc_flush(s);
	}
	return 0;
}

static void slirp_destroy(struct net_backend *b)
{
	struct slirp_backend *s = (struct slirp_backend *)b;

	if (s->slirp)
		slirp_cleanup(s->slirp); /* frees its timers through timer_free */
	while (s->timers) {
		struct slirp_timer *t = s->timers;
		s->timers = t->next;
		free(t);
	}
	slirp_svc_destroy(s);
	free(s);
}

/* libslirp saves its own state (its DHCP leases, the IP id counter and
 * guestfwd connections, which popek makes none of) as a byte stream: kept
 * as u32 libslirp state version, u32 length, the bytes. */
static ssize_t state_write(const void *buf, size_t len, void *opaque)
{
	snap_put_bytes(opaque, buf, len);
	return (ssize_t)len;
}

static int slirp_save_state(struct net_backend *b, struct snap_out *o)
{
	struct slirp_backend *s = (struct slirp_backend *)b;
	struct snap_out st;
	int err;

	snap_out_init(&st);
	slirp_state_save(s->slirp, state_write, &st);
	err = st.err;
	if (!err && st.len > UINT32_MAX)
		err = -E2BIG;
	if (!err) {
		snap_put_u32(o, (u32)slirp_state_version());
		snap_put_u32(o, (u32)st.len);
		snap_put_bytes(o, st.buf, st.len);
	}
	snap_out_free(&st);
	return err;
}

/* Hands libslirp the saved bytes; short reads are errors. */
static ssize_t state_read(void *buf, size_t len, void *opaque)
{
	struct snap_in *in = opaque;

	if (len > in->len - in->pos)
		return -1;
	snap_get_bytes(in, buf, len);
	return (ssize_t)len;
}

static int slirp_load_state(struct net_backend *b, struct snap_in *in)
{
	struct slirp_backend *s = (struct slirp_backend *)b;
	u32 version = snap_get_u32(in), len = snap_get_u32(in);
	struct snap_in st;

	if (in->bad)
		return -EINVAL;
	if (!version || version > (u32)slirp_state_version())
		return snap_reject(in,
				   "user network: libslirp state version %u (this libslirp "
				   "reads 1 to %d)",
				   version, slirp_state_version());
	if (len > in->len - in->pos)
		return snap_reject(in, "user network: %u bytes of libslirp state, %zu left", len,
				   in->len - in->pos);
	snap_in_init(&st, in->p + in->pos, len);
	in->pos += len;
	if (slirp_state_load(s->slirp, (int)version, state_read, &st) < 0 || st.pos != len)
		return snap_reject(in, "user network: libslirp refused its saved state");
	return 0;
}

static const struct net_backend_ops slirp_ops = {
    .name = "user",
    .poll_fill = slirp_poll_fill,
    .poll_done = slirp_poll_done,
    .send = slirp_send,
    .destroy = slirp_destroy,
    .save = slirp_save_state,
    .load = slirp_load_state,
};

struct in_addr slirp_in_addr(u32 host_order)
{
	struct in_addr a = {.s_addr = htonl(host_order)};
	return a;
}

static int slirp_add_forwards(struct slirp_backend *s, const struct net_config *cfg)
{
	for (unsigned i = 0; i < cfg->nr_hostfwd && i < CONFIG_MAX_HOSTFWD; i++) {
		const struct hostfwd_config *f = &cfg->hostfwd[i];
		u32 haddr = f->host_addr ? f->host_addr : 0x7F000001u;
		char host[INET_ADDRSTRLEN];
		struct in_addr h = slirp_in_addr(haddr);

		inet_ntop(AF_INET, &h, host, sizeof(host));
		errno = 0;
		if (slirp_add_hostfwd(s->slirp, 0, h, f->host_port, slirp_in_addr(SLIRP_GUEST_ADDR),
				      f->guest_port) < 0) {
			int err = errno ? errno : EADDRINUSE;
			log_error("--net user,hostfwd=tcp:%s:%u-:%u: cannot listen on %s:%u: %s",
				  host, f->host_port, f->guest_port, host, f->host_port,
				  strerror(err));
			return -err;
		}
	}
	return 0;
}

int slirp_backend_create(const struct net_config *cfg, net_rx_fn *rx, void *opaque,
			 struct net_backend **out)
{
	SlirpConfig sc;
	struct slirp_backend *s;
	int err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->b.ops = &slirp_ops;
	s->b.rx = rx;
	s->b.rx_opaque = opaque;
	/* slirp computes every checksum of the frames it builds. */
	s->b.rx_csum_valid = true;

	memset(&sc, 0, sizeof(sc));
	sc.version = 4;
	sc.in_enabled = true;
	sc.vnetwork = slirp_in_addr(SLIRP_NET_ADDR);
	sc.vnetmask = slirp_in_addr(SLIRP_NET_MASK);
	sc.vhost = slirp_in_addr(SLIRP_HOST_ADDR);
	sc.vdhcp_start = slirp_in_addr(SLIRP_GUEST_ADDR);
	sc.vnameserver = slirp_in_addr(SLIRP_DNS_ADDR);
	sc.in6_enabled = false;
	sc.disable_host_loopback = false; /* 10.0.2.2 reaches the host's 127.0.0.1 */
	sc.enable_emu = false;
	/* The stack at the other end of the link uses the guest's MTU (0:
	 * libslirp's 1500), so its frames never exceed what the guest takes;
	 * libslirp's largest is 65521 (IF_MTU_MAX). */
	sc.if_mtu = sc.if_mru = MIN(cfg->mtu, 65521u);
	s->slirp = slirp_new(&sc, &slirp_callbacks, s);
	if (!s->slirp) {
		log_error("--net user: cannot create the user-mode network stack (libslirp %s)",
			  slirp_version_string());
		free(s);
		return -ENOMEM;
	}
	err = slirp_add_forwards(s, cfg);
	if (err < 0) {
		slirp_destroy(&s->b);
		return err;
	}
	*out = &s->b;
	return 0;
}
