/* A host tap interface (--net tap,ifname=NAME) as a network back-end. */
#ifndef POPEK_HOST_TAP_H
#define POPEK_HOST_TAP_H

#include "core/config.h"
#include "host/net_backend.h"

/* Attaches to (or creates) the tap interface cfg->ifname; received frames go
 * to rx(opaque). Logs one error line naming the option and returns -errno
 * when /dev/net/tun cannot be opened or the interface cannot be attached. */
int tap_backend_create(const struct net_config *cfg, net_rx_fn *rx, void *opaque,
		       struct net_backend **out);

#endif
