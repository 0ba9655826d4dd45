/* Guest program: a hostile virtio-net driver (needs --net user). Broken TX
 * chains (short header, buffer outside RAM, descriptor loop, huge length,
 * writable buffer, overlong frame, avail index jump) and broken RX buffers must
 * each put the device in DEVICE_NEEDS_RESET; after a reset the device works:
 * an ARP request to 10.0.2.2 is sent and slirp's reply is received. The
 * common broken chains of lib/virtio.c are tried on both queues. */
#include "virtio.h"

#define F_MAC    5
#define F_STATUS 16
#define RXQ      0
#define TXQ      1
#define HDR      12

static struct virtio_dev net;
static struct virtq *const rxq = &net.q[RXQ], *const txq = &net.q[TXQ];
static u8 txbuf[4096] __attribute__((aligned(64)));
static u8 rxbuf[4][2048] __attribute__((aligned(64)));
static u8 bigbuf[128 * 1024] __attribute__((aligned(64)));
static u8 mac[6];

/* Driver initialization (3.1.1), VERSION_1 | MAC | STATUS, queues empty. */
static bool init_device(void)
{
	return virtio_init(&net, 1u << F_MAC | 1u << F_STATUS, 2);
}

static void expect_reset(const char *what)
{
	virtio_expect_reset(&net, TXQ, what);
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

/* Sends the ARP request: slirp's reply then needs an RX buffer. */
static void send_arp(struct virtio_dev *d)
{
	vq_desc_set(&d->q[TXQ], 0, (u64)txbuf, build_arp(txbuf), 0, 0);
	virtio_kick(d, TXQ, 0);
}

static void hostile_tx(void)
{
	/* Out of RAM, loops, huge length, writable, indirect (lib/virtio.c). */
	virtio_attack_queue(&net, TXQ, "TX", (u64)txbuf, 64, false, NULL);

	/* A chain shorter than the 12-byte header. */
	vq_desc_set(txq, 0, (u64)txbuf, 8, 0, 0);
	virtio_kick(&net, TXQ, 0);
	expect_reset("TX header of 8 bytes");

	/* An in-RAM chain longer than any frame (128 KiB, no GSO). */
	memset(bigbuf, 0, HDR);
	vq_desc_set(txq, 0, (u64)bigbuf, sizeof(bigbuf), 0, 0);
	virtio_kick(&net, TXQ, 0);
	expect_reset("TX frame of 128 KiB");

	/* The avail index jumps by more than the queue size. */
	vq_desc_set(txq, 0, (u64)txbuf, 64, 0, 0);
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
	check(vq_wait_used(txq, &u), "valid TX frame: the chain comes back used");
	check_eq("valid TX frame: used element id", u.id, 0);
	check(vq_wait_used(rxq, &u), "ARP reply arrives in an RX buffer");
	check(u.len >= HDR + 42 && u.len <= sizeof(rxbuf[0]), "RX used length %u holds a frame",
	      u.len);
	check_eq("RX header num_buffers is 1", r[10] | r[11] << 8, 1);
	check_eq("RX header gso_type NONE", r[1], 0);
	check(!memcmp(f, mac, 6), "ARP reply is addressed to our MAC");
	check_eq("ethertype ARP", f[12] << 8 | f[13], 0x0806);
	check_eq("ARP opcode reply", f[20] << 8 | f[21], 2);
	check(f[28] == 10 && f[29] == 0 && f[30] == 2 && f[31] == 2, "the reply is from 10.0.2.2");
	check(!(virtio_rd(&net, VREG_STATUS) & VSTAT_NEEDS_RESET),
	      "the device is healthy after valid use");
}

void test_main(void)
{
	if (!check(virtio_find(&net, VIRTIO_ID_NET, 0),
		   "a virtio-net device is present (run with --net user)"))
		return;
	check_eq("QueueNumMax of the TX queue", virtio_queue_max(&net, TXQ), 256);
	check(virtio_device_features(&net) & 1u << F_MAC, "device offers VIRTIO_NET_F_MAC");
	for (unsigned i = 0; i < 6; i++)
		mac[i] = mmio_read8(net.base + VREG_CONFIG + i);
	if (!check(init_device(), "driver initialization"))
		return;
	hostile_tx();
	/* RX buffers are only read when a frame arrives: the ARP reply. */
	virtio_attack_queue(&net, RXQ, "RX", (u64)rxbuf[0], sizeof(rxbuf[0]), true, send_arp);
	valid_use();
}
