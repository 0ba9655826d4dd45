/* Guest program: a hostile virtio-net driver (needs --net user). Broken TX
 * chains (short header, buffer outside RAM, descriptor loop, huge length,
 * overlong frame, avail index jump) and a device-readable RX buffer must
 * each put the device in DEVICE_NEEDS_RESET; after a reset the device works:
 * an ARP request to 10.0.2.2 is sent and slirp's reply is received. */
#include "guest.h"

#define VIRTIO_MMIO_BASE  0xD0000000UL /* include/popek/layout.h */
#define VIRTIO_MMIO_SIZE  0x1000UL
#define VIRTIO_MMIO_SLOTS 13

/* virtio-mmio registers (virtio 1.2 section 4.2.2). */
#define R_MAGIC            0x000
#define R_DEVICE_ID        0x008
#define R_DEV_FEATURES     0x010
#define R_DEV_FEATURES_SEL 0x014
#define R_DRV_FEATURES     0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_QUEUE_SEL        0x030
#define R_QUEUE_NUM_MAX    0x034
#define R_QUEUE_NUM        0x038
#define R_QUEUE_READY      0x044
#define R_QUEUE_NOTIFY     0x050
#define R_INT_STATUS       0x060
#define R_INT_ACK          0x064
#define R_STATUS           0x070
#define R_QUEUE_DESC       0x080
#define R_QUEUE_DRIVER     0x090
#define R_QUEUE_DEVICE     0x0a0
#define R_CONFIG           0x100

#define S_ACK         1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

#define F_MAC       5
#define F_STATUS    16
#define F_VERSION_1 32

#define D_NEXT  1
#define D_WRITE 2

#define QSIZE 16
#define HDR   12

struct desc {
	u64 addr;
	u32 len;
	u16 flags, next;
};

struct ring {
	struct desc desc[QSIZE];
	u8 pad0[4096 - sizeof(struct desc) * QSIZE];
	volatile u16 avail_flags, avail_idx, avail_ring[QSIZE], used_event;
	u8 pad1[4096 - 6 - 2 * QSIZE];
	volatile u16 used_flags, used_idx;
	volatile struct {
		u32 id, len;
	} used_ring[QSIZE];
	volatile u16 avail_event;
} __attribute__((aligned(4096)));

static struct ring rxq, txq;
static u8 txbuf[4096] __attribute__((aligned(64)));
static u8 rxbuf[4][2048] __attribute__((aligned(64)));
static u8 bigbuf[128 * 1024] __attribute__((aligned(64)));
static u64 dev;
static u16 tx_used_seen, rx_used_seen;
static u8 mac[6];

static u32 rd(u32 reg)
{
	return mmio_read32(dev + reg);
}
static void wr(u32 reg, u32 v)
{
	mmio_write32(dev + reg, v);
}

static bool find_device(void)
{
	for (unsigned i = 0; i < VIRTIO_MMIO_SLOTS; i++) {
		u64 base = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE;
		if (mmio_read32(base + R_MAGIC) == 0x74726976 &&
		    mmio_read32(base + R_DEVICE_ID) == 1) {
			dev = base;
			return true;
		}
	}
	return false;
}

static void setup_queue(unsigned idx, struct ring *r)
{
	u64 a = (u64)r;

	memset(r, 0, sizeof(*r));
	wr(R_QUEUE_SEL, idx);
	wr(R_QUEUE_NUM, QSIZE);
	wr(R_QUEUE_DESC, (u32)a);
	wr(R_QUEUE_DESC + 4, (u32)(a >> 32));
	wr(R_QUEUE_DRIVER, (u32)(a + 4096));
	wr(R_QUEUE_DRIVER + 4, (u32)((a + 4096) >> 32));
	wr(R_QUEUE_DEVICE, (u32)(a + 8192));
	wr(R_QUEUE_DEVICE + 4, (u32)((a + 8192) >> 32));
	wr(R_QUEUE_READY, 1);
}

/* Driver initialization (3.1.1), VERSION_1 | MAC | STATUS, queues empty. */
static bool init_device(void)
{
	wr(R_STATUS, 0);
	if (rd(R_STATUS) != 0)
		return false;
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEATURES_SEL, 0);
	wr(R_DRV_FEATURES, 1u << F_MAC | 1u << F_STATUS);
	wr(R_DRV_FEATURES_SEL, 1);
	wr(R_DRV_FEATURES, 1u << (F_VERSION_1 - 32));
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(R_STATUS) & S_FEATURES_OK))
		return false;
	setup_queue(0, &rxq);
	setup_queue(1, &txq);
	tx_used_seen = rx_used_seen = 0;
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	wr(R_INT_ACK, rd(R_INT_STATUS));
	return rd(R_STATUS) == (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

static void publish(struct ring *r, u16 head)
{
	r->avail_ring[r->avail_idx % QSIZE] = head;
	asm volatile("" ::: "memory"); /* x86 keeps stores in order */
	r->avail_idx++;
}

/* Time-bounded waits: the device works on its own thread. ~2 s at 2 GHz. */
#define WAIT_TSC 4000000000ULL

static bool wait_status(u32 bit)
{
	u64 t0 = rdtsc();

	while (rdtsc() - t0 < WAIT_TSC)
		if (rd(R_STATUS) & bit)
			return true;
	return false;
}

static bool wait_used(struct ring *r, u16 seen)
{
	u64 t0 = rdtsc();

	while (rdtsc() - t0 < WAIT_TSC) {
		if (r->used_idx != seen)
			return true;
		pause();
		outb(0x80, 0); /* an exit now and then, for KVM hosts */
	}
	return false;
}

/* Sends what is in txq.desc from head after the chain was written. */
static void kick_tx(u16 head)
{
	publish(&txq, head);
	wr(R_QUEUE_NOTIFY, 1);
}

static void expect_reset(const char *what)
{
	bool broke = wait_status(S_NEEDS_RESET);

	check(broke, "%s: device sets DEVICE_NEEDS_RESET", what);
	if (broke)
		check(rd(R_INT_STATUS) & 2, "%s: with a configuration change interrupt", what);
	check(init_device(), "%s: the device resets and initializes again", what);
}

static void hostile_tx(void)
{
	/* 1. A chain shorter than the 12-byte header. */
	txq.desc[0] = (struct desc){(u64)txbuf, 8, 0, 0};
	kick_tx(0);
	expect_reset("TX header of 8 bytes");

	/* 2. A buffer outside guest RAM (64 MiB guest; 2 GiB is beyond). */
	txq.desc[0] = (struct desc){0x80000000ULL, 64, 0, 0};
	kick_tx(0);
	expect_reset("TX buffer outside RAM");

	/* 3. A descriptor loop: 0 -> 1 -> 0. */
	txq.desc[0] = (struct desc){(u64)txbuf, 64, D_NEXT, 1};
	txq.desc[1] = (struct desc){(u64)txbuf + 64, 64, D_NEXT, 0};
	kick_tx(0);
	expect_reset("TX descriptor loop");

	/* 4. A huge length running off the end of RAM. */
	txq.desc[0] = (struct desc){(u64)txbuf, 0xfffffff0u, 0, 0};
	kick_tx(0);
	expect_reset("TX descriptor of 4 GiB");

	/* 5. An in-RAM chain longer than any frame (128 KiB, no GSO). */
	memset(bigbuf, 0, HDR);
	txq.desc[0] = (struct desc){(u64)bigbuf, sizeof(bigbuf), 0, 0};
	kick_tx(0);
	expect_reset("TX frame of 128 KiB");

	/* 6. The avail index jumps by more than the queue size. */
	txq.desc[0] = (struct desc){(u64)txbuf, 64, 0, 0};
	txq.avail_idx = 1000;
	wr(R_QUEUE_NOTIFY, 1);
	expect_reset("TX avail index jump");
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

static void post_rx(unsigned n, bool writable)
{
	for (unsigned i = 0; i < n; i++) {
		rxq.desc[i] =
		    (struct desc){(u64)rxbuf[i], sizeof(rxbuf[i]), writable ? D_WRITE : 0, 0};
		publish(&rxq, (u16)i);
	}
	wr(R_QUEUE_NOTIFY, 0);
}

static void hostile_rx(void)
{
	for (unsigned i = 0; i < 6; i++)
		mac[i] = mmio_read8(dev + R_CONFIG + i);
	/* A device-readable RX buffer: the ARP reply cannot go there. */
	post_rx(1, false);
	txq.desc[0] = (struct desc){(u64)txbuf, build_arp(txbuf), 0, 0};
	kick_tx(0);
	expect_reset("RX buffer not device-writable");
}

static void valid_use(void)
{
	const u8 *r = rxbuf[0], *f = rxbuf[0] + HDR;
	u32 len;

	post_rx(4, true);
	txq.desc[0] = (struct desc){(u64)txbuf, build_arp(txbuf), 0, 0};
	kick_tx(0);
	check(wait_used(&txq, tx_used_seen), "valid TX frame: the chain comes back used");
	check_eq("valid TX frame: used element id", txq.used_ring[0].id, 0);
	check(wait_used(&rxq, rx_used_seen), "ARP reply arrives in an RX buffer");
	len = rxq.used_ring[0].len;
	check(len >= HDR + 42 && len <= sizeof(rxbuf[0]), "RX used length %u holds a frame", len);
	check_eq("RX header num_buffers is 1", r[10] | r[11] << 8, 1);
	check_eq("RX header gso_type NONE", r[1], 0);
	check(!memcmp(f, mac, 6), "ARP reply is addressed to our MAC");
	check_eq("ethertype ARP", f[12] << 8 | f[13], 0x0806);
	check_eq("ARP opcode reply", f[20] << 8 | f[21], 2);
	check(f[28] == 10 && f[29] == 0 && f[30] == 2 && f[31] == 2, "the reply is from 10.0.2.2");
	check(!(rd(R_STATUS) & S_NEEDS_RESET), "the device is healthy after valid use");
}

void test_main(void)
{
	if (!find_device()) {
		check(false, "a virtio-net device is present (run with --net user)");
		return;
	}
	check_eq("QueueNumMax of the TX queue", (wr(R_QUEUE_SEL, 1), rd(R_QUEUE_NUM_MAX)), 256);
	wr(R_DEV_FEATURES_SEL, 0);
	check(rd(R_DEV_FEATURES) & 1u << F_MAC, "device offers VIRTIO_NET_F_MAC");
	if (!check(init_device(), "driver initialization"))
		return;
	hostile_tx();
	hostile_rx();
	valid_use();
}
