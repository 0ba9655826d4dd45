/* Guest program: a hostile virtio-vsock driver (needs --vsock cid=3,path=P
 * with nothing listening on P_5000 and a listener on P_5001 that records what
 * it gets, as tests/e2e/test_guest_programs.sh sets up). Broken chains
 * (lib/virtio.c: buffer outside RAM, loop, huge length, wrong direction,
 * indirect loop, indirect table outside RAM) and broken packets on the
 * transmit queue, and broken receive buffers while an answer waits, must each
 * put the device in DEVICE_NEEDS_RESET. The event queue is never read by popek
 * (it sends no transport events, 5.10.6.7): junk there must change nothing.
 * After each reset a connection request to host port 5000 is answered with an
 * RST.
 * Every rejected transmit packet asks for a connection to port 5001 or, on
 * the one connection made there, carries REJECT_DATA; that connection (the
 * positive control) carries ACCEPT_DATA first. The runner checks that the
 * listener saw exactly one connection, which brought exactly ACCEPT_DATA. */
#include "virtio.h"

#define RXQ         0
#define TXQ         1
#define EVQ         2
#define GUEST_CID   3
#define HOST_CID    2
#define HOST_PORT   5000 /* nothing listens at P_5000 */
#define LISTEN_PORT 5001 /* the runner's listener records P_5001's connections */
#define GUEST_PORT  1234

/* struct virtio_vsock_hdr (5.10.6). */
struct vsock_hdr {
	u64 src_cid, dst_cid;
	u32 src_port, dst_port, len;
	u16 type, op;
	u32 flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

#define TYPE_STREAM       1
#define OP_REQUEST        1
#define OP_RESPONSE       2
#define OP_RST            3
#define OP_RW             5
#define OP_CREDIT_UPDATE  6
#define OP_CREDIT_REQUEST 7

static const char ACCEPT_DATA[] = "popek-vsock-accepted\n";
static const char REJECT_DATA[] = "popek-vsock-REJECTED\n";

static struct virtio_dev vs;
static struct virtq *const rxq = &vs.q[RXQ], *const txq = &vs.q[TXQ], *const evq = &vs.q[EVQ];
static struct vsock_hdr txpkt __attribute__((aligned(64)));
static struct {
	struct vsock_hdr h;
	char data[32];
} __attribute__((packed, aligned(64))) txdata; /* a packet with payload */
static u8 rxbuf[256] __attribute__((aligned(64)));
static u8 evbuf[64] __attribute__((aligned(64)));

/* A header from GUEST_PORT to port, operation op, payload length len. */
static struct vsock_hdr packet(u32 port, u16 op, u32 len)
{
	return (struct vsock_hdr){.src_cid = GUEST_CID,
				  .dst_cid = HOST_CID,
				  .src_port = GUEST_PORT,
				  .dst_port = port,
				  .len = len,
				  .type = TYPE_STREAM,
				  .op = op,
				  .buf_alloc = 65536};
}

static void request_init(u32 len)
{
	txpkt = packet(LISTEN_PORT, OP_REQUEST, len);
}

/* A connection request to HOST_PORT: popek answers with an RST. */
static void send_request(struct virtio_dev *d)
{
	txpkt = packet(HOST_PORT, OP_REQUEST, 0);
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

/* Posts one receive buffer, then h with len bytes of data (h's own length
 * may lie) for transmission. */
static void post_packet(struct vsock_hdr h, const char *data, u32 len)
{
	memset(rxbuf, 0, sizeof(rxbuf));
	vq_desc_set(rxq, 0, (u64)rxbuf, sizeof(rxbuf), VDESC_WRITE, 0);
	virtio_kick(&vs, RXQ, 0);
	txdata.h = h;
	memcpy(txdata.data, data, len);
	vq_desc_set(txq, 0, (u64)&txdata, sizeof(txdata.h) + len, 0, 0);
	virtio_kick(&vs, TXQ, 0);
}

/* post_packet(), then waits for its chain and an answer. */
static bool send_packet(struct vsock_hdr h, const char *data, u32 len)
{
	post_packet(h, data, len);
	return vq_wait_used(txq, NULL) && vq_wait_used(rxq, NULL);
}

/* The positive control of the runner's check: a connection to LISTEN_PORT
 * that brings ACCEPT_DATA to the listener. Then a packet on it that popek must
 * refuse, carrying REJECT_DATA. */
static void listener_use(void)
{
	const struct vsock_hdr *r = (const struct vsock_hdr *)rxbuf;
	const u32 n = sizeof(ACCEPT_DATA) - 1;
	bool ok;

	ok = send_packet(packet(LISTEN_PORT, OP_REQUEST, 0), "", 0) && r->op == OP_RESPONSE;
	if (!check(ok, "connection to port %u: RESPONSE (op %u; is P_%u listening?)", LISTEN_PORT,
		   r->op, LISTEN_PORT))
		return;
	/* popek answers data with nothing: only the chain comes back. */
	post_packet(packet(LISTEN_PORT, OP_RW, n), ACCEPT_DATA, n);
	check(vq_wait_used(txq, NULL), "%u bytes sent on it", n);
	/* Until popek says they went to the host socket (fwd_cnt, 5.10.6.3);
	 * the receive buffer posted with the data takes the first answer. */
	ok = false;
	for (unsigned i = 0; i < 50 && !ok; i++) {
		txdata.h = packet(LISTEN_PORT, OP_CREDIT_REQUEST, 0);
		vq_desc_set(txq, 0, (u64)&txdata, sizeof(txdata.h), 0, 0);
		virtio_kick(&vs, TXQ, 0);
		ok = vq_wait_used(txq, NULL) && vq_wait_used(rxq, NULL) &&
		     r->op == OP_CREDIT_UPDATE && r->fwd_cnt == n;
		if (!ok) {
			vq_desc_set(rxq, 0, (u64)rxbuf, sizeof(rxbuf), VDESC_WRITE, 0);
			virtio_kick(&vs, RXQ, 0);
		}
	}
	check(ok, "popek forwarded them to the listener (fwd_cnt %u)", r->fwd_cnt);
	/* Announces 1000 bytes, holds the 21 of REJECT_DATA. */
	post_packet(packet(LISTEN_PORT, OP_RW, 1000), REJECT_DATA, sizeof(REJECT_DATA) - 1);
	virtio_expect_reset(&vs, TXQ, "data packet longer than its buffer");
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
	request_init(0); /* a rejected request must not connect */
	virtio_attack_queue(&vs, TXQ, "tx", (u64)&txpkt, sizeof(txpkt), false, NULL);
	/* The device reads receive buffers only when it has a packet: the RST. */
	virtio_attack_queue(&vs, RXQ, "rx", (u64)rxbuf, sizeof(rxbuf), true, send_request);
	bad_packets();
	valid_use("after the broken chains");
	junk_events();
	listener_use();
}
