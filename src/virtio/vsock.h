/* virtio-vsock (virtio 1.2 section 5.10): guest sockets to host programs
 * through Unix sockets, mapped as Firecracker documents:
 *   host -> guest: a host program connects to cfg->uds_path and writes
 *     "CONNECT <port>\n"; popek connects to guest port <port> and answers
 *     "OK <host port>\n" (or closes the socket when the guest refuses or does
 *     not answer within 2 s); then the socket carries the stream.
 *   guest -> host: a guest connection to host (CID 2) port P connects to the
 *     Unix socket "<uds_path>_P", which a host program listens on.
 * All socket I/O runs on the device's own thread, never on a vCPU thread. */
#ifndef POPEK_VSOCK_H
#define POPEK_VSOCK_H

#include "core/config.h"

struct machine;
struct virtio_vsock;

/* Creates the device for cfg (guest_cid >= 3; uds_path is listened on,
 * replacing a stale socket file). Logs one line naming --vsock and returns
 * -errno on failure. */
int virtio_vsock_create(struct machine *m, const struct vsock_config *cfg,
			struct virtio_vsock **out);
/* Stops the device thread and closes every socket (unlinks uds_path). The
 * vCPUs must be stopped. */
void virtio_vsock_destroy(struct virtio_vsock *v);

#endif
