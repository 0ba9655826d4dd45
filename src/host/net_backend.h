/* The contract between a network device and a host network back-end (slirp,
 * tap, or a test's fake): Ethernet frames in and out, driven by one I/O
 * thread's poll() loop that the device owns. */
#ifndef POPEK_NET_BACKEND_H
#define POPEK_NET_BACKEND_H

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "core/snap_codec.h"
#include "popek/types.h"

/* The file descriptors one poll() call waits on; grows as needed. */
struct net_pollset {
	struct pollfd *fds;
	unsigned nr, cap;
};

/* Appends fd; returns its index in ps->fds or -ENOMEM. */
static inline int net_pollset_add(struct net_pollset *ps, int fd, short events)
{
	if (ps->nr == ps->cap) {
		unsigned cap = ps->cap ? 2 * ps->cap : 16;
		struct pollfd *fds = realloc(ps->fds, cap * sizeof(*fds));

		if (!fds)
			return -ENOMEM;
		ps->fds = fds;
		ps->cap = cap;
	}
	ps->fds[ps->nr].fd = fd;
	ps->fds[ps->nr].events = events;
	ps->fds[ps->nr].revents = 0;
	return (int)ps->nr++;
}

/* A frame for the guest, called on the I/O thread. Returns false when the
 * device cannot take more right now (it kept or dropped this one): a
 * back-end that can wait (tap) stops reading until poll_fill says so. */
typedef bool net_rx_fn(void *opaque, const void *frame, size_t len);

struct net_backend;

struct net_backend_ops {
	const char *name; /* "user", "tap": the --net mode, for messages */
	/* Before each poll(): add the fds to wait on and lower *timeout_ms
	 * (-1: infinite) for the back-end's timers. can_rx is false while the
	 * guest has no receive buffers. */
	void (*poll_fill)(struct net_backend *b, struct net_pollset *ps, int *timeout_ms,
			  bool can_rx);
	/* After poll() (poll_failed when it returned an error): serve the fds
	 * added by poll_fill and expired timers; received frames go to rx. */
	void (*poll_done)(struct net_backend *b, const struct net_pollset *ps, bool poll_failed);
	/* Sends one complete Ethernet frame (checksums filled in) to the host
	 * side. Returns 0 or -errno; a frame that cannot be sent is dropped. */
	int (*send)(struct net_backend *b, const void *frame, size_t len);
	void (*destroy)(struct net_backend *b);
	/* Snapshots (both optional), called while the device's I/O thread is
	 * parked: save appends the back-end's own state; load takes it back
	 * from in, which holds exactly what save wrote (0, or -EINVAL with the
	 * reason in in). */
	int (*save)(struct net_backend *b, struct snap_out *o);
	int (*load)(struct net_backend *b, struct snap_in *in);
};

/* Every back-end embeds this first. All calls happen on one thread (the
 * device's I/O thread), except create and destroy. */
struct net_backend {
	const struct net_backend_ops *ops;
	net_rx_fn *rx;
	void *rx_opaque;
	/* Received frames carry verified or locally computed checksums, so
	 * the device may tell the guest not to check them again. */
	bool rx_csum_valid;
};

#endif
