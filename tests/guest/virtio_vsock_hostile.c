/* Guest program: a hostile virtio-vsock driver (needs --vsock cid=3,path=P
 * with nothing listening on P_5000). Broken chains (lib/virtio.c: buffer
 * outside RAM, loop, huge length, wrong direction, indirect loop, indirect
 * table outside RAM) and broken packets on the transmit queue, and broken
 * receive buffers while an answer waits, must each put the device in
 * DEVICE_NEEDS_RESET. The event queue is never read by popek (it sends no
 * transport events, 5.10.6.7): junk there must change nothing. After each
 * reset a connection request to host port 5000 is answered with an RST. */
#include "virtio.h"

#define RXQ        0
#define TXQ        1
#define EVQ        2
#define GUEST_CID  3
#define HOST_CID   2
#define HOST_PORT  5000 /* nothing listens at P_5000 */
#define GUEST_PORT 1234

/* struct virtio_vsock_hdr (5.10.6). */
struct vsock_hdr {
	u64 src_cid, dst_cid;
	u32 src_port, dst_port, len;
	u16 type, op;
	u32 flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

#define TYPE_STREAM 1
#define OP_REQUEST  1
#define OP_RST      3

static struct virtio_dev vs;
static struct virtq *const rxq = &vs.q[RXQ], *const txq = &vs.q[TXQ], *const evq = &vs.q[EVQ];
static struct vsock_hdr txpkt __attribute__((aligned(64)));
static u8 rxbuf[256] __attribute__((aligned(64)));
static u8 evbuf[64] __attribute__((aligned(64)));

static void request_init(u32 len)
{
	txpkt = (struct vsock_hdr){.src_cid = GUEST_CID,
				   .dst_cid = HOST_CID,
				   .src_port = GUEST_PORT,
				   .dst_port = HOST_PORT,
				   .len = len,
				   .type = TYPE_STREAM,
				   .op = OP_REQUEST,
				   .buf_alloc = 65536};
}

/* A connection request to HOST_PORT: popek answers with an RST. */
static void send_request(struct virtio_dev *d)
{
	request_init(0);
	vq_desc_set(&d->q[TXQ], 0, (u64)&txpkt, sizeof(txpkt), 0, 0);
	virtio_kick(d, TXQ, 0);
}

static void identity(void)
{
	u64 f = virtio_device_features(&vs);

	check(f >> VIRTIO_F_VERSION_1 & 1, "VERSION_1 offered");
	check_eq("guest_cid in the configuration", mmio_read64(vs.base + VREG_CONFIG), GUEST_CID);
	for (unsigned i = 0; i < 3; i++)
		check(virtio_queue_max(&vs, i) >= VQ_SIZE, "queue %u holds %u entries", i, VQ_SIZE);
	check_eq("no queue 3", virtio_queue_max(&vs, 3), 0);
}

/* A request out, an RST for it back (5.10.6.6). */
static void valid_use(const char *when)
{
	const struct vsock_hdr *h = (const struct vsock_hdr *)rxbuf;
	struct vq_used_elem u;

	memset(rxbuf, 0, sizeof(rxbuf));
	vq_desc_set(rxq, 0, (u64)rxbuf, sizeof(rxbuf), VDESC_WRITE, 0);
	virtio_kick(&vs, RXQ, 0);
	send_request(&vs);
	check(vq_wait_used(txq, NULL), "%s: the request is taken", when);
	if (!check(vq_wait_used(rxq, &u), "%s: an answer arrives", when))
		return;
	check_eq("answer length: a bare header", u.len, sizeof(struct vsock_hdr));
	check(h->op == OP_RST && h->type == TYPE_STREAM, "%s: it is a stream RST (op %u)", when,
	      h->op);
	check(h->src_cid == HOST_CID && h->dst_cid == GUEST_CID && h->src_port == HOST_PORT &&
		  h->dst_port == GUEST_PORT,
	      "%s: from the host port %u to ours", when, HOST_PORT);
	check(!(virtio_rd(&vs, VREG_STATUS) & VSTAT_NEEDS_RESET), "%s: the device is healthy",
	      when);
}

/* Broken packets in well-formed chains (5.10.6.2). */
static void bad_packets(void)
{
	request_init(1000); /* payload length beyond the 44-byte buffer */
	vq_desc_set(txq, 0, (u64)&txpkt, sizeof(txpkt), 0, 0);
	virtio_kick(&vs, TXQ, 0);
	virtio_expect_reset(&vs, TXQ, "packet longer than its buffer");

	request_init(0x7FFFFFFF);
	vq_desc_set(txq, 0, (u64)&txpkt, sizeof(txpkt), 0, 0);
	virtio_kick(&vs, TXQ, 0);
	virtio_expect_reset(&vs, TXQ, "packet length of 2 GiB");

	request_init(0);
	vq_desc_set(txq, 0, (u64)&txpkt, 20, 0, 0);
	virtio_kick(&vs, TXQ, 0);
	virtio_expect_reset(&vs, TXQ, "packet shorter than a header");

	vq_desc_set(rxq, 0, (u64)rxbuf, 16, VDESC_WRITE, 0);
	virtio_kick(&vs, RXQ, 0);
	send_request(&vs);
	virtio_expect_reset(&vs, RXQ, "receive buffer shorter than a header");
}

/* The event queue: popek never takes buffers from it, so broken ones stay
 * where they are, unread, and the device keeps working. */
static void junk_events(void)
{
	for (unsigned a = 0; a < VQ_NR_ATTACKS; a++) {
		virtio_kick(&vs, EVQ, vq_build_attack(evq, a, (u64)evbuf, sizeof(evbuf), true));
		check(!virtio_wait_status(&vs, VSTAT_NEEDS_RESET, VIRTIO_WAIT_SHORT) &&
			  !vq_has_used(evq),
		      "event queue: %s: ignored", vq_attack_name(a));
	}
	valid_use("after junk on the event queue");
}

void test_main(void)
{
	if (!check(virtio_find(&vs, VIRTIO_ID_VSOCK, 0),
		   "a virtio-vsock device is present (run with --vsock cid=3,path=P)"))
		return;
	identity();
	if (!check(virtio_init(&vs, 0, 3), "driver initialization"))
		return;
	valid_use("before");
	virtio_attack_queue(&vs, TXQ, "tx", (u64)&txpkt, sizeof(txpkt), false, NULL);
	/* The device reads receive buffers only when it has a packet: the RST. */
	virtio_attack_queue(&vs, RXQ, "rx", (u64)rxbuf, sizeof(rxbuf), true, send_request);
	bad_packets();
	valid_use("after the broken chains");
	junk_events();
}
