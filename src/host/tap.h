/* A host tap interface (--net tap,ifname=NAME) as a network back-end. */
#ifndef POPEK_HOST_TAP_H
#define POPEK_HOST_TAP_H

#include "core/config.h"
#include "host/net_backend.h"
#include "host/slirp.h"

/* Attaches to (or creates) the tap interface cfg->ifname; received frames go
 * to rx(opaque). Logs one error line naming the option and returns -errno
 * when /dev/net/tun cannot be opened or the interface cannot be attached. */
int tap_backend_create(const struct net_config *cfg, net_rx_fn *rx, void *opaque,
		       struct net_backend **out);

/* Serves svc (MMDS) on the tap interface b: the guest's ARP requests for
 * svc->addr and its IPv4 frames to it go to a slirp stack of their own
 * (host/slirp.h's service) instead of the host, the answers to the guest.
 * The guest reaches the address through an on-link route (ip route add
 * ADDR dev ethN), as with Firecracker. 0 or -errno. */
int tap_backend_add_service(struct net_backend *b, const struct slirp_service *svc);

#endif
