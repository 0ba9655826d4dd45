/* Guest program: a hostile virtio-blk driver (needs --disk IMG,id=hostile-id
 * --disk IMG2,ro, both images starting with "popek-blk-hostile"). Broken
 * chains (buffer outside RAM, descriptor loop, huge length, readable status
 * byte, no status byte, avail index jump, misaligned ring) must each put the
 * device in DEVICE_NEEDS_RESET; bad requests get an error status without
 * breaking the device; after a reset, a correct read and a write read back
 * succeed. The read-only disk answers a write with IOERR and keeps its data. */
#include "guest.h"

#define VIRTIO_MMIO_BASE 0xD0000000UL /* include/popek/layout.h */
#define VIRTIO_MMIO_SIZE 0x1000UL
#define VIRTIO_MMIO_SLOTS 13

/* virtio-mmio registers (virtio 1.2 section 4.2.2). */
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEV_FEATURES 0x010
#define R_DEV_FEATURES_SEL 0x014
#define R_DRV_FEATURES 0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INT_STATUS 0x060
#define R_INT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC 0x080
#define R_QUEUE_DRIVER 0x090
#define R_QUEUE_DEVICE 0x0a0
#define R_CONFIG 0x100

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64
#define S_ALL (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)

#define F_VERSION_1 32

#define D_NEXT 1
#define D_WRITE 2

/* virtio-blk (5.2.6). */
#define T_IN 0
#define T_OUT 1
#define T_GET_ID 8
#define ST_OK 0
#define ST_IOERR 1
#define ST_UNSUPP 2

#define QSIZE 16

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

struct req_hdr {
	u32 type, reserved;
	u64 sector;
};

static struct ring vq;
static struct req_hdr hdr __attribute__((aligned(16)));
static u8 data[4096] __attribute__((aligned(512)));
static volatile u8 status;
static u64 dev;
static u16 used_seen;

static u32 rd(u32 reg)
{
	return mmio_read32(dev + reg);
}

static void wr(u32 reg, u32 v)
{
	mmio_write32(dev + reg, v);
}

/* The nth virtio-blk device (0: the first). */
static bool find_device(unsigned nth)
{
	for (unsigned i = 0; i < VIRTIO_MMIO_SLOTS; i++) {
		u64 base = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE;
		if (mmio_read32(base + R_MAGIC) == 0x74726976 &&
		    mmio_read32(base + R_DEVICE_ID) == 2 && nth-- == 0) {
			dev = base;
			return true;
		}
	}
	return false;
}

static void setup_queue(u64 desc_addr)
{
	u64 a = (u64)&vq;

	memset(&vq, 0, sizeof(vq));
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, QSIZE);
	wr(R_QUEUE_DESC, (u32)desc_addr);
	wr(R_QUEUE_DESC + 4, (u32)(desc_addr >> 32));
	wr(R_QUEUE_DRIVER, (u32)(a + 4096));
	wr(R_QUEUE_DRIVER + 4, (u32)((a + 4096) >> 32));
	wr(R_QUEUE_DEVICE, (u32)(a + 8192));
	wr(R_QUEUE_DEVICE + 4, (u32)((a + 8192) >> 32));
	wr(R_QUEUE_READY, 1);
}

/* Driver initialization (3.1.1) with VERSION_1 only, one empty queue. */
static bool init_device(void)
{
	wr(R_STATUS, 0);
	if (rd(R_STATUS) != 0 || rd(R_INT_STATUS) != 0)
		return false;
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEATURES_SEL, 0);
	wr(R_DRV_FEATURES, 0);
	wr(R_DRV_FEATURES_SEL, 1);
	wr(R_DRV_FEATURES, 1u << (F_VERSION_1 - 32));
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(R_STATUS) & S_FEATURES_OK))
		return false;
	setup_queue((u64)&vq);
	used_seen = 0;
	wr(R_STATUS, S_ALL);
	return rd(R_STATUS) == S_ALL;
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

static bool wait_used(void)
{
	u64 t0 = rdtsc();

	while (rdtsc() - t0 < WAIT_TSC) {
		if (vq.used_idx != used_seen) {
			used_seen++;
			return true;
		}
		pause();
		outb(0x80, 0); /* an exit now and then, for KVM hosts */
	}
	return false;
}

static void kick(u16 head)
{
	vq.avail_ring[vq.avail_idx % QSIZE] = head;
	asm volatile("" ::: "memory"); /* x86 keeps stores in order */
	vq.avail_idx++;
	wr(R_QUEUE_NOTIFY, 0);
}

/* A well-formed request: header, data (len bytes, writable for reads),
 * status. Returns the status byte, or 0xEE when the device did not answer. */
static u8 request(u32 type, u64 sector, u32 len, bool write)
{
	hdr = (struct req_hdr){type, 0, sector};
	status = 0xEE;
	vq.desc[0] = (struct desc){(u64)&hdr, 16, D_NEXT, 1};
	if (len) {
		vq.desc[1] = (struct desc){(u64)data, len, D_NEXT | (write ? 0 : D_WRITE), 2};
		vq.desc[2] = (struct desc){(u64)&status, 1, D_WRITE, 0};
	} else {
		vq.desc[0].next = 2;
		vq.desc[2] = (struct desc){(u64)&status, 1, D_WRITE, 0};
	}
	kick(0);
	if (!wait_used())
		return 0xEE;
	return status;
}

static void expect_reset(const char *what)
{
	bool broke = wait_status(S_NEEDS_RESET);

	check(broke, "%s: device sets DEVICE_NEEDS_RESET", what);
	if (broke)
		check(rd(R_INT_STATUS) & 2, "%s: with a configuration change interrupt", what);
	check(vq.used_idx == used_seen, "%s: nothing was completed", what);
	check(init_device(), "%s: the device resets and initializes again", what);
}

static void identity(void)
{
	check_eq("version 2 (modern virtio-mmio)", rd(R_VERSION), 2);
	wr(R_DEV_FEATURES_SEL, 1);
	check(rd(R_DEV_FEATURES) & 1, "VERSION_1 offered");
	wr(R_QUEUE_SEL, 0);
	check(rd(R_QUEUE_NUM_MAX) >= QSIZE, "queue 0 holds %u entries", QSIZE);
	wr(R_QUEUE_SEL, 1);
	check_eq("no queue 1", rd(R_QUEUE_NUM_MAX), 0);
	check_eq("capacity: 1 MiB image = 2048 sectors", rd(R_CONFIG), 2048);
	/* A driver asking for a feature the device does not offer (bit 31). */
	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEATURES_SEL, 0);
	wr(R_DRV_FEATURES, 1u << 31);
	wr(R_DRV_FEATURES_SEL, 1);
	wr(R_DRV_FEATURES, 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	check(!(rd(R_STATUS) & S_FEATURES_OK), "FEATURES_OK refused for an unoffered feature");
}

static void good_requests(void)
{
	check_eq("read of sector 0: OK", request(T_IN, 0, 512, false), ST_OK);
	check(!memcmp(data, "popek-blk-hostile", 17), "sector 0 holds the image's marker");
	check(rd(R_INT_STATUS) & 1, "used buffer interrupt status");
	wr(R_INT_ACK, rd(R_INT_STATUS));
	check_eq("interrupt status cleared by InterruptACK", rd(R_INT_STATUS), 0);
	check_eq("GET_ID: OK", request(T_GET_ID, 0, 20, false), ST_OK);
	check(!memcmp(data, "hostile-id", 10), "GET_ID returns the --disk id");
}

static void bad_requests(void)
{
	check_eq("read beyond the end: IOERR", request(T_IN, 2048, 512, false), ST_IOERR);
	check_eq("read straddling the end: IOERR", request(T_IN, 2047, 1024, false), ST_IOERR);
	check_eq("read at sector 2^63: IOERR", request(T_IN, 1ULL << 63, 512, false), ST_IOERR);
	check_eq("read of 100 bytes: IOERR", request(T_IN, 0, 100, false), ST_IOERR);
	check_eq("unknown request type: UNSUPP", request(77, 0, 512, false), ST_UNSUPP);
	check(!(rd(R_STATUS) & S_NEEDS_RESET), "bad requests do not break the device");
	check_eq("a read after the bad ones: OK", request(T_IN, 0, 512, false), ST_OK);
}

/* Posts head 0 of a three-descriptor chain (init_device cleared the table). */
static void post3(struct desc d0, struct desc d1, struct desc d2)
{
	vq.desc[0] = d0;
	vq.desc[1] = d1;
	vq.desc[2] = d2;
	kick(0);
}

static void hostile(void)
{
	const struct desc h = {(u64)&hdr, 16, D_NEXT, 1};
	const struct desc st = {(u64)&status, 1, D_WRITE, 0};

	hdr = (struct req_hdr){T_IN, 0, 0};
	/* 1. A data buffer outside guest RAM (64 MiB guest; 2 GiB is beyond). */
	post3(h, (struct desc){0x80000000ULL, 512, D_NEXT | D_WRITE, 2}, st);
	expect_reset("data buffer outside RAM");

	/* 2. Inside the MMIO hole (the device's own registers). */
	post3(h, (struct desc){VIRTIO_MMIO_BASE, 512, D_NEXT | D_WRITE, 2}, st);
	expect_reset("data buffer on the device's registers");

	/* 3. A descriptor loop: 0 -> 1 -> 2 -> 1 (all in the right direction). */
	post3(h, (struct desc){(u64)data, 512, D_NEXT | D_WRITE, 2},
	      (struct desc){(u64)&status, 1, D_NEXT | D_WRITE, 1});
	expect_reset("descriptor loop");

	/* 4. A huge length. */
	post3(h, (struct desc){(u64)data, 0xFFFFFE00u, D_NEXT | D_WRITE, 2}, st);
	expect_reset("4 GiB data length");

	/* 5. The status byte readable (wrong direction) after writable data. */
	post3(h, (struct desc){(u64)data, 512, D_NEXT | D_WRITE, 2},
	      (struct desc){(u64)&status, 1, 0, 0});
	expect_reset("readable status descriptor");

	/* 6. A write request with no writable byte at all. */
	hdr = (struct req_hdr){T_OUT, 0, 0};
	post3(h, (struct desc){(u64)data, 512, D_NEXT, 2}, (struct desc){(u64)&status, 1, 0, 0});
	expect_reset("no status byte");

	/* 7. next index beyond the queue. */
	post3((struct desc){(u64)&hdr, 16, D_NEXT, QSIZE + 3}, st, st);
	expect_reset("next index out of range");

	/* 8. The avail index jumps by more than the queue size. */
	vq.avail_idx += QSIZE + 1;
	wr(R_QUEUE_NOTIFY, 0);
	expect_reset("avail index jump");

	/* 9. A misaligned descriptor table at QueueReady. */
	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEATURES_SEL, 1);
	wr(R_DRV_FEATURES, 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	setup_queue((u64)&vq + 8);
	check(rd(R_STATUS) & S_NEEDS_RESET, "misaligned descriptor table: DEVICE_NEEDS_RESET");
	check(init_device(), "misaligned descriptor table: the device initializes again");
}

static void after(void)
{
	check_eq("after all that: read of sector 0 OK", request(T_IN, 0, 512, false), ST_OK);
	check(!memcmp(data, "popek-blk-hostile", 17), "and it holds the marker");
	for (unsigned i = 0; i < 1024; i++)
		data[i] = (u8)(i * 13 + 5);
	check_eq("write of sectors 10-11: OK", request(T_OUT, 10, 1024, true), ST_OK);
	memset(data, 0, 1024);
	check_eq("read back of sectors 10-11: OK", request(T_IN, 10, 1024, false), ST_OK);
	bool same = true;
	for (unsigned i = 0; i < 1024; i++)
		same &= data[i] == (u8)(i * 13 + 5);
	check(same, "the written data reads back");
}

/* The second disk is read-only: the device itself refuses writes (5.2.6.2). */
static void readonly_disk(void)
{
	if (!check(find_device(1), "a second virtio-blk device (--disk IMG2,ro)"))
		return;
	wr(R_DEV_FEATURES_SEL, 0);
	check(rd(R_DEV_FEATURES) & 1u << 5, "VIRTIO_BLK_F_RO offered");
	if (!check(init_device(), "read-only disk: driver initialization"))
		return;
	memset(data, 0x5A, 512);
	check_eq("write to the read-only disk: IOERR", request(T_OUT, 0, 512, true), ST_IOERR);
	check_eq("read-only disk: read of sector 0 OK", request(T_IN, 0, 512, false), ST_OK);
	check(!memcmp(data, "popek-blk-hostile", 17), "read-only disk: sector 0 unchanged");
}

void test_main(void)
{
	if (!check(find_device(0), "a virtio-blk device is present (run with --disk IMAGE)"))
		return;
	identity();
	if (!check(init_device(), "driver initialization"))
		return;
	good_requests();
	bad_requests();
	hostile();
	after();
	readonly_disk();
}
