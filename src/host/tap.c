/* A Linux tap interface as a network back-end: one Ethernet frame per read()
 * and write() on /dev/net/tun (Documentation/networking/tuntap.rst). */
#include "host/tap.h"

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
	u8 buf[TAP_FRAME_MAX];
};

static void tap_poll_fill(struct net_backend *b, struct net_pollset *ps, int *timeout_ms,
			  bool can_rx)
{
	struct tap_backend *t = (struct tap_backend *)b;

	(void)timeout_ms;
	/* While the guest has no buffers, frames wait in the host's queue. */
	t->poll_idx = can_rx ? net_pollset_add(ps, t->fd, POLLIN) : -1;
}

static void tap_poll_done(struct net_backend *b, const struct net_pollset *ps, bool poll_failed)
{
	struct tap_backend *t = (struct tap_backend *)b;

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

static int tap_send(struct net_backend *b, const void *frame, size_t len)
{
	struct tap_backend *t = (struct tap_backend *)b;
	ssize_t n = write(t->fd, frame, len);

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
