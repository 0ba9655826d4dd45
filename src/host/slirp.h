/* User-mode networking (--net user): libslirp's NAT, DHCP and DNS on the
 * guest side, the host's own sockets on the other. */
#ifndef POPEK_HOST_SLIRP_H
#define POPEK_HOST_SLIRP_H

#include <sys/types.h>

#include "core/config.h"
#include "host/net_backend.h"

/* The guest network (the addresses QEMU's user networking uses too). */
#define SLIRP_NET_ADDR   0x0A000200u /* 10.0.2.0/24 */
#define SLIRP_NET_MASK   0xFFFFFF00u
#define SLIRP_HOST_ADDR  0x0A000202u /* 10.0.2.2: the host's loopback */
#define SLIRP_DNS_ADDR   0x0A000203u /* 10.0.2.3: forwards to the host's resolver */
#define SLIRP_GUEST_ADDR 0x0A00020Fu /* 10.0.2.15: first DHCP address */

/* Creates a slirp stack for cfg (mode NET_USER) and its host forwards;
 * received frames go to rx(opaque). Logs one error line naming the option
 * and returns -errno (-EADDRINUSE, ...) on failure. */
int slirp_backend_create(const struct net_config *cfg, net_rx_fn *rx, void *opaque,
			 struct net_backend **out);

/*
 * A TCP service inside the guest network, terminated by libslirp (MMDS):
 * guest connections to addr:port (addr outside 10.0.2.0/24, such as
 * 169.254.169.254, reached through the default route or an on-link route:
 * ARP for addr is answered) have their bytes handed to serve, on the I/O
 * thread. serve answers the first request in in (len bytes): returns the
 * bytes it took with the answer in *out (malloc'd, *out_len bytes), 0 when
 * more bytes are needed (it must answer once len reaches
 * SLIRP_SERVICE_MAX_REQUEST), or -errno (the bytes are dropped). Other
 * guest traffic to addr is dropped. Connections are served one at a time:
 * a new one (its SYN) replaces the previous one.
 */
#define SLIRP_SERVICE_MAX_REQUEST (16 * 1024)
typedef ssize_t slirp_serve_fn(void *opaque, const char *in, size_t len, char **out,
			       size_t *out_len);
struct slirp_service {
	u32 addr; /* IPv4, host byte order */
	u16 port;
	slirp_serve_fn *serve;
	void *opaque;
};

/* Adds svc (at most one) to b, a back-end slirp_backend_create made.
 * 0, -EEXIST (one already), -EINVAL (addr inside the slirp network),
 * or -ENOMEM. Call before the I/O thread runs. */
int slirp_backend_add_service(struct net_backend *b, const struct slirp_service *svc);

#endif
