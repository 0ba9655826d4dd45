/* A Linux tap interface as a network back-end: one Ethernet frame per read()
 * and write() on /dev/net/tun (Documentation/networking/tuntap.rst). */
#include "host/tap.h"
#include "host/slirp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "popek/log.h"

#define TAP_FRAME_MAX       65536 /* largest frame read from the tap */
#define TAP_READS_PER_ROUND 64    /* let the guest's TX in between */

struct tap_backend {
	struct net_backend b;
	int fd;
	int poll_idx; /* index in the pollset, -1 when not polled */
	char ifname[IFNAMSIZ];
	/* A slirp service (MMDS) on this interface: the guest's frames for its
	 * address go to a slirp stack of their own instead of the tap (they
	 * never reach the host's network); its answers go to the guest. */
	struct net_backend *svc;
	u32 svc_addr;
	u8 seeded[10]; /* the guest's MAC and IPv4 address last taught to it */
	u8 buf[TAP_FRAME_MAX];
};

static void tap_poll_fill(struct net_backend *b, struct net_pollset *ps, int *timeout_ms,
			  bool can_rx)
{
	struct tap_backend *t = (struct tap_backend *)b;

	/* While the guest has no buffers, frames wait in the host's queue. */
	t->poll_idx = can_rx ? net_pollset_add(ps, t->fd, POLLIN) : -1;
	if (t->svc)
		t->svc->ops->poll_fill(t->svc, ps, timeout_ms, can_rx);
}

static void tap_poll_done(struct net_backend *b, const struct net_pollset *ps, bool poll_failed)
{
	struct tap_backend *t = (struct tap_backend *)b;

	if (t->svc)
		t->svc->ops->poll_done(t->svc, ps, poll_failed);
	if (poll_failed || t->poll_idx < 0 || (unsigned)t->poll_idx >= ps->nr)
		return;
	if (!(ps->fds[t->poll_idx].revents & (POLLIN | POLLERR | POLLHUP)))
		return;
	for (unsigned i = 0; i < TAP_READS_PER_ROUND; i++) {
		ssize_t n = read(t->fd, t->buf, sizeof(t->buf));

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_debug("net tap %s: read: %s", t->ifname, strerror(errno));
			return;
		}
		if (n == 0)
			return;
		if (!t->b.rx(t->b.rx_opaque, t->buf, (size_t)n))
			return;
	}
}

static u32 tap_rd32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

/* Frames for the service: ARP requests for its address, IPv4 to it. */
static bool tap_for_svc(const struct tap_backend *t, const u8 *f, size_t len)
{
	if (len >= 42 && f[12] == 0x08 && f[13] == 0x06)
		return tap_rd32(f + 38) == t->svc_addr;
	return len >= 34 && f[12] == 0x08 && f[13] == 0x00 && tap_rd32(f + 30) == t->svc_addr;
}

/* The service's slirp answers the guest's address, which is outside its
 * network: a gratuitous ARP (its MAC and address) teaches it where to. */
static void tap_svc_seed(struct tap_backend *t, const u8 *f)
{
	u8 arp[42] = {0};

	if (!memcmp(t->seeded, f + 6, 6) && !memcmp(t->seeded + 6, f + 26, 4))
		return;
	memcpy(t->seeded, f + 6, 6);
	memcpy(t->seeded + 6, f + 26, 4);
	memset(arp, 0xFF, 6);
	memcpy(arp + 6, f + 6, 6);
	memcpy(arp + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
	memcpy(arp + 22, f + 6, 6);  /* sender: the guest's MAC */
	memcpy(arp + 28, f + 26, 4); /* and address */
	memcpy(arp + 38, f + 26, 4); /* asking for itself */
	t->svc->ops->send(t->svc, arp, sizeof(arp));
}

static int tap_send(struct net_backend *b, const void *frame, size_t len)
{
	struct tap_backend *t = (struct tap_backend *)b;
	ssize_t n;

	if (t->svc && tap_for_svc(t, frame, len)) {
		if (((const u8 *)frame)[13] == 0x00)
			tap_svc_seed(t, frame);
		return t->svc->ops->send(t->svc, frame, len);
	}
	n = write(t->fd, frame, len);

	/* A full host queue drops the frame, as a busy wire would. */
	if (n < 0)
		return -errno;
	return 0;
}

static void tap_destroy(struct net_backend *b)
{
	struct tap_backend *t = (struct tap_backend *)b;

	if (t->fd >= 0)
		close(t->fd);
	if (t->svc)
		t->svc->ops->destroy(t->svc);
	free(t);
}

static const struct net_backend_ops tap_ops = {
    .name = "tap",
    .poll_fill = tap_poll_fill,
    .poll_done = tap_poll_done,
    .send = tap_send,
    .destroy = tap_destroy,
};

int tap_backend_create(const struct net_config *cfg, net_rx_fn *rx, void *opaque,
		       struct net_backend **out)
{
	struct tap_backend *t;
	struct ifreq ifr;
	size_t namelen = strnlen(cfg->ifname, sizeof(cfg->ifname));
	int err;

	*out = NULL;
	if (namelen == 0 || namelen >= IFNAMSIZ) {
		log_error("--net tap,ifname=%.*s: the interface name must be 1 to %d characters",
			  (int)namelen, cfg->ifname, IFNAMSIZ - 1);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->b.ops = &tap_ops;
	t->b.rx = rx;
	t->b.rx_opaque = opaque;
	t->b.rx_csum_valid = false; /* frames from the host's network are unchecked */
	t->poll_idx = -1;
	memcpy(t->ifname, cfg->ifname, namelen);

	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		err = errno;
		log_error("--net tap,ifname=%s: cannot open /dev/net/tun: %s", t->ifname,
			  strerror(err));
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, t->ifname, namelen);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		log_error("--net tap,ifname=%s: cannot attach to the tap interface: %s", t->ifname,
			  strerror(err));
		goto fail;
	}
	*out = &t->b;
	return 0;
fail:
	tap_destroy(&t->b);
	return -err;
}

/* The service's answers, to the guest through this interface's device. */
static bool tap_svc_rx(void *opaque, const void *frame, size_t len)
{
	struct tap_backend *t = opaque;

	return t->b.rx(t->b.rx_opaque, frame, len);
}

int tap_backend_add_service(struct net_backend *b, const struct slirp_service *svc)
{
	struct tap_backend *t = (struct tap_backend *)b;
	struct net_config user = {.mode = NET_USER};
	int err;

	if (t->svc)
		return -EEXIST;
	err = slirp_backend_create(&user, tap_svc_rx, t, &t->svc);
	if (!err)
		err = slirp_backend_add_service(t->svc, svc);
	if (err < 0 && t->svc) {
		t->svc->ops->destroy(t->svc);
		t->svc = NULL;
	}
	t->svc_addr = svc->addr;
	return err;
}
