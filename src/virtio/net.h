/* virtio-net (virtio 1.2 section 5.1): one receive and one transmit queue
 * between the guest's driver and a host back-end (slirp or tap). */
#ifndef POPEK_VIRTIO_NET_H
#define POPEK_VIRTIO_NET_H

#include "core/config.h"
#include "host/net_backend.h"
#include "virtio/virtqueue.h"

struct machine;
struct virtio_net;

#define VIRTIO_ID_NET 1

/* Feature bits (virtio 1.2 section 5.1.3). */
#define VIRTIO_NET_F_CSUM       0 /* the device completes TX checksums */
#define VIRTIO_NET_F_GUEST_CSUM 1 /* RX frames may be marked DATA_VALID */
#define VIRTIO_NET_F_MTU        3 /* config's mtu is the link's (the net_config's mtu) */
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_STATUS     16

#define VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_hdr (5.1.6): with VERSION_1 num_buffers is always there. */
#define VIRTIO_NET_HDR_LEN          12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0

#define VIRTIO_NET_RXQ       0
#define VIRTIO_NET_TXQ       1
#define VIRTIO_NET_QUEUE_MAX 256

#define VIRTIO_NET_ETH_HLEN 14
/* The largest frame accepted from the guest (no GSO is offered: one frame of
 * at most a 64 KiB MTU plus the Ethernet and VLAN headers). A longer chain
 * is a broken driver. */
#define VIRTIO_NET_FRAME_MAX (65535 + 18)

/* Creates virtio-net device number index (for the default MAC) with the
 * back-end cfg asks for, in the next virtio-mmio slot. Logs one error line
 * naming the --net option and returns -errno on failure. */
int virtio_net_create(struct machine *m, const struct net_config *cfg, unsigned index,
		      struct virtio_net **out);

/* The same with a back-end the caller made (tests: a fake). be->rx and
 * be->rx_opaque are set here; on success the device owns be. */
int virtio_net_attach(struct machine *m, const struct net_config *cfg, unsigned index,
		      struct net_backend *be, struct virtio_net **out);

/* PATCH /network-interfaces on a running VM (not the I/O thread): replaces
 * the receive and/or transmit buckets (NULL: that one stays), full again. */
void virtio_net_set_rate_limiters(struct virtio_net *n, const struct rate_limit_config *rx,
				  const struct rate_limit_config *tx);

/* Stops the I/O thread, then frees the back-end and the transport. */
void virtio_net_destroy(struct virtio_net *n);

/* ---- request handling, pure over one queue (unit tests, fuzzing) ------- */

/* Pops one TX chain from q, checks the virtio-net header (csum: the driver
 * negotiated VIRTIO_NET_F_CSUM), copies the frame into frame (at least
 * VIRTIO_NET_FRAME_MAX bytes) completing a partial checksum, and returns the
 * chain to the used ring. Returns 1 with *len set (0 for a runt frame that
 * is dropped), 0 when the ring is empty, or -EINVAL with *why set when the
 * driver broke the rules (the device must then need a reset). */
int virtio_net_tx_pop(struct virtq *q, const struct guest_mem *mem, bool csum, struct virtq_elem *e,
		      u8 *frame, size_t *len, const char **why);

/* Pops one RX chain from q and writes the header (DATA_VALID when
 * data_valid) and frame into it. Returns 1 when the chain was used (*used_len
 * bytes written; 0 when the frame did not fit and was dropped), 0 when the
 * guest posted no buffer, or -EINVAL with *why set. The caller drops frames
 * longer than the negotiated MTU allows (virtio_net_rx_too_long) first. */
int virtio_net_rx_put(struct virtq *q, const struct guest_mem *mem, struct virtq_elem *e,
		      const void *frame, size_t len, bool data_valid, u32 *used_len,
		      const char **why);

/* The same two on a chain the caller popped (a rate-limited device pops,
 * asks its limiter, then either gives the chain back or goes on here).
 * Return 1 or -EINVAL as above. */
int virtio_net_tx_take(struct virtq *q, const struct guest_mem *mem, bool csum,
		       const struct virtq_elem *e, u8 *frame, size_t *len, const char **why);
int virtio_net_rx_fill(struct virtq *q, const struct guest_mem *mem, const struct virtq_elem *e,
		       const void *frame, size_t len, bool data_valid, u32 *used_len,
		       const char **why);

/* Whether a frame of len bytes is over what the link's MTU lets the device
 * give the driver (mtu 0: VIRTIO_NET_F_MTU not negotiated, no limit but the
 * buffer's): virtio 1.2 5.1.4.2, mtu plus the Ethernet header, and a VLAN
 * tag, as Linux sizes its buffers (GOOD_PACKET_LEN for 1500). */
bool virtio_net_rx_too_long(size_t len, u16 mtu);

/* Completes a partial checksum (5.1.6.2: sum from start to the end of the
 * frame, stored at start + offset). Returns 0 or -EINVAL when the fields do
 * not fit in len bytes. */
int virtio_net_csum_complete(u8 *frame, size_t len, u16 start, u16 offset);

#endif
