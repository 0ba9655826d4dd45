/* User-mode networking (--net user): libslirp's NAT, DHCP and DNS on the
 * guest side, the host's own sockets on the other. */
#ifndef POPEK_HOST_SLIRP_H
#define POPEK_HOST_SLIRP_H

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

#endif
