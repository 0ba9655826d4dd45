/* Guest program: a hostile virtio-net driver (needs --net user; a second
 * --net tap,... whose host side answers ARP for 10.0.2.2 is tested too).
 * On every NIC: broken TX chains (short header, buffer outside RAM,
 * descriptor loop, huge length, writable buffer, overlong frame, GSO or
 * checksum offload not negotiated, avail index jump) and broken RX buffers
 * must each put the device in DEVICE_NEEDS_RESET; after a reset the device
 * works: an ARP request to 10.0.2.2 is sent and the reply is received, and
 * one marker frame is sent. The common broken chains of lib/virtio.c are
 * tried on both queues.
 * What may leave a NIC: the ARP requests and one frame of ethertype 0x88B5
 * carrying ACCEPT_MARK. Every rejected TX chain holds a 0x88B5 frame carrying
 * REJECT_MARK, so the runner (tests/e2e/test_guest_programs.sh), which
 * records what reaches the tap, can tell that none was sent. */
#include "virtio.h"

#define F_MAC            5
#define F_STATUS         16
#define RXQ              0
#define TXQ              1
#define HDR              12
#define HDR_F_NEEDS_CSUM 1      /* virtio_net_hdr.flags (5.1.6) */
#define HDR_GSO_TCPV4    1      /* virtio_net_hdr.gso_type */
#define ETHERTYPE_TEST   0x88B5 /* IEEE 802 local experimental */
#define MARKED_LEN       64     /* header and frame */

static const char REJECT_MARK[] = "popek-net-REJECTED";
static const char ACCEPT_MARK[] = "popek-net-accepted";

static struct virtio_dev net;
static struct virtq *const rxq = &net.q[RXQ], *const txq = &net.q[TXQ];
static u8 txbuf[4096] __attribute__((aligned(64)));
static u8 rxbuf[4][2048] __attribute__((aligned(64)));
static u8 bigbuf[128 * 1024] __attribute__((aligned(64)));
static u8 mac[6];
static char nic[8] = "net0"; /* the NIC under test, in messages */

/* Driver initialization (3.1.1), VERSION_1 | MAC | STATUS, queues empty. */
static bool init_device(void)
{
	return virtio_init(&net, 1u << F_MAC | 1u << F_STATUS, 2);
}

static void expect_reset(const char *what)
{
	char w[96];

	vq_join(w, sizeof(w), nic, what);
	virtio_expect_reset(&net, TXQ, w);
}

/* An ARP request "who has 10.0.2.2, tell 10.0.2.15" (RFC 826) with the
 * virtio-net header in front; returns the chain length. */
static u32 build_arp(u8 *p)
{
	static const u8 tail[] = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1};
	u8 *f = p + HDR;

	memset(p, 0, HDR + 42);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	memcpy(f + 12, tail, sizeof(tail));
	memcpy(f + 22, mac, 6);
	f[28] = 10, f[29] = 0, f[30] = 2, f[31] = 15;
	f[38] = 10, f[39] = 0, f[40] = 2, f[41] = 2;
	return HDR + 42;
}

/* A broadcast frame of ETHERTYPE_TEST carrying mark, with the virtio-net
 * header in front; returns the chain length. */
static u32 build_marked(u8 *p, const char *mark)
{
	u8 *f = p + HDR;

	memset(p, 0, MARKED_LEN);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = ETHERTYPE_TEST >> 8, f[13] = ETHERTYPE_TEST & 0xff;
	memcpy(f + 14, mark, strlen(mark));
	return MARKED_LEN;
}

/* Sends the ARP request: the reply then needs an RX buffer. */
static void send_arp(struct virtio_dev *d)
{
	vq_desc_set(&d->q[TXQ], 0, (u64)txbuf, build_arp(txbuf), 0, 0);
	virtio_kick(d, TXQ, 0);
}

/* Posts txbuf (a REJECT_MARK frame whose header got hdr0/hdr1) as one chain. */
static void post_rejected(u8 hdr0, u8 hdr1, u32 len)
{
	build_marked(txbuf, REJECT_MARK);
	txbuf[0] = hdr0, txbuf[1] = hdr1;
	vq_desc_set(txq, 0, (u64)txbuf, len, 0, 0);
	virtio_kick(&net, TXQ, 0);
}

static void hostile_tx(void)
{
	char qname[16];

	/* Out of RAM, loops, huge length, writable, indirect (lib/virtio.c). */
	vq_join(qname, sizeof(qname), nic, "TX");
	build_marked(txbuf, REJECT_MARK);
	virtio_attack_queue(&net, TXQ, qname, (u64)txbuf, MARKED_LEN, false, NULL);

	/* A chain shorter than the 12-byte header. */
	post_rejected(0, 0, 8);
	expect_reset("TX header of 8 bytes");

	/* An in-RAM chain longer than any frame (128 KiB, no GSO). */
	build_marked(bigbuf, REJECT_MARK);
	vq_desc_set(txq, 0, (u64)bigbuf, sizeof(bigbuf), 0, 0);
	virtio_kick(&net, TXQ, 0);
	expect_reset("TX frame of 128 KiB");

	/* A whole frame whose header asks for what was not negotiated. */
	post_rejected(0, HDR_GSO_TCPV4, MARKED_LEN);
	expect_reset("TX header asks for GSO");
	post_rejected(HDR_F_NEEDS_CSUM, 0, MARKED_LEN);
	expect_reset("TX header asks for a checksum (no VIRTIO_NET_F_CSUM)");

	/* The avail index jumps by more than the queue size, over a ring whose
	 * entries all name a well-formed frame. */
	build_marked(txbuf, REJECT_MARK);
	vq_desc_set(txq, 0, (u64)txbuf, MARKED_LEN, 0, 0);
	txq->avail_idx = 1000;
	virtio_notify(&net, TXQ);
	expect_reset("TX avail index jump");
}

static void post_rx(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		vq_desc_set(rxq, (u16)i, (u64)rxbuf[i], sizeof(rxbuf[i]), VDESC_WRITE, 0);
		vq_publish(rxq, (u16)i);
	}
	virtio_notify(&net, RXQ);
}

static void valid_use(void)
{
	const u8 *r = rxbuf[0], *f = rxbuf[0] + HDR;
	struct vq_used_elem u;

	post_rx(4);
	send_arp(&net);
	check(vq_wait_used(txq, &u), "%s: valid TX frame: the chain comes back used", nic);
	check(u.id == 0, "%s: valid TX frame: used element id %u", nic, u.id);
	check(vq_wait_used(rxq, &u), "%s: ARP reply arrives in an RX buffer", nic);
	check(u.len >= HDR + 42 && u.len <= sizeof(rxbuf[0]), "%s: RX used length %u holds a frame",
	      nic, u.len);
	check((r[10] | r[11] << 8) == 1, "%s: RX header num_buffers is 1", nic);
	check(r[1] == 0, "%s: RX header gso_type NONE", nic);
	check(!memcmp(f, mac, 6), "%s: ARP reply is addressed to our MAC", nic);
	check((f[12] << 8 | f[13]) == 0x0806, "%s: ethertype ARP", nic);
	check((f[20] << 8 | f[21]) == 2, "%s: ARP opcode reply", nic);
	check(f[28] == 10 && f[29] == 0 && f[30] == 2 && f[31] == 2,
	      "%s: the reply is from 10.0.2.2", nic);

	/* The positive control of the runner's check: this one must arrive. */
	vq_desc_set(txq, 1, (u64)txbuf, build_marked(txbuf, ACCEPT_MARK), 0, 0);
	virtio_kick(&net, TXQ, 1);
	check(vq_wait_used(txq, &u) && u.id == 1, "%s: the marker frame is sent", nic);
	check(!(virtio_rd(&net, VREG_STATUS) & VSTAT_NEEDS_RESET),
	      "%s: the device is healthy after valid use", nic);
}

/* The whole test on the nth virtio-net device. */
static void test_nic(unsigned nth)
{
	char rx[16];

	nic[3] = (char)('0' + nth);
	check(virtio_queue_max(&net, TXQ) == 256, "%s: QueueNumMax of the TX queue is 256", nic);
	check(virtio_device_features(&net) & 1u << F_MAC, "%s: device offers VIRTIO_NET_F_MAC",
	      nic);
	for (unsigned i = 0; i < 6; i++)
		mac[i] = mmio_read8(net.base + VREG_CONFIG + i);
	if (!check(init_device(), "%s: driver initialization", nic))
		return;
	hostile_tx();
	/* RX buffers are only read when a frame arrives: the ARP reply. */
	vq_join(rx, sizeof(rx), nic, "RX");
	virtio_attack_queue(&net, RXQ, rx, (u64)rxbuf[0], sizeof(rxbuf[0]), true, send_arp);
	valid_use();
	virtio_wr(&net, VREG_STATUS, 0); /* the next NIC gets the same rings */
}

void test_main(void)
{
	unsigned n = 0;

	if (!check(virtio_find(&net, VIRTIO_ID_NET, 0),
		   "a virtio-net device is present (run with --net user)"))
		return;
	do
		test_nic(n);
	while (n < 9 && virtio_find(&net, VIRTIO_ID_NET, ++n));
	printf("virtio_net_hostile: %u NICs tested\n", n);
}
