/* Guest program: a hostile virtio-blk driver (needs --disk IMG,id=hostile-id
 * --disk IMG2,ro, both images starting with "popek-blk-hostile"). Broken
 * chains (buffer outside RAM or on the device's registers, descriptor loop,
 * huge length, readable status byte, next index out of range, a loop in an
 * indirect table, avail index jump), each as a read and as a write, and a
 * misaligned ring must each put the device in DEVICE_NEEDS_RESET; bad
 * requests get an error status without breaking the device; after a reset, a
 * correct read and a write read back succeed. The read-only disk answers a
 * write with IOERR and keeps its data.
 * Every write popek must refuse carries REJECT_BYTE, which no sector of the
 * images holds, so a refused write performed anyway changes the image: the
 * runner (tests/e2e/test_guest_programs.sh) checks that after the run IMG
 * differs from what it was only in sectors 10-11, which hold the one
 * legitimate write (written_byte()), and IMG2 not at all. */
#include "virtio.h"

/* The data of every write that must be refused, and its target: sector 0,
 * which holds the images' marker. */
#define REJECT_BYTE   0xDB
#define REJECT_SECTOR 0

static struct virtio_dev blk;
static struct virtq *const vq = &blk.q[0];
static struct blk_req_hdr hdr __attribute__((aligned(16)));
static u8 data[4096] __attribute__((aligned(512)));
static volatile u8 status;

static u32 rd(u32 reg)
{
	return virtio_rd(&blk, reg);
}

static void wr(u32 reg, u32 v)
{
	virtio_wr(&blk, reg, v);
}

/* Driver initialization (3.1.1) with VERSION_1 (and INDIRECT_DESC), one queue. */
static bool init_device(void)
{
	return virtio_init(&blk, 0, 1);
}

static void kick(u16 head)
{
	virtio_kick(&blk, 0, head);
}

/* A well-formed request with data[] (blk_request()). */
static u8 request(u32 type, u64 sector, u32 len)
{
	return blk_request(&blk, type, sector, data, len);
}

static void expect_reset(const char *what)
{
	virtio_expect_reset(&blk, 0, what);
}

/* expect_reset("<op>: <name>"). */
static void expect_reset_op(const char *op, const char *name)
{
	char what[96];

	vq_join(what, sizeof(what), op, name);
	expect_reset(what);
}

static void identity(void)
{
	check_eq("version 2 (modern virtio-mmio)", rd(VREG_VERSION), 2);
	check(virtio_device_features(&blk) >> VIRTIO_F_VERSION_1 & 1, "VERSION_1 offered");
	check(virtio_queue_max(&blk, 0) >= VQ_SIZE, "queue 0 holds %u entries", VQ_SIZE);
	check_eq("no queue 1", virtio_queue_max(&blk, 1), 0);
	check_eq("capacity: 1 MiB image = 2048 sectors", rd(VREG_CONFIG), 2048);
	/* A driver asking for a feature the device does not offer (bit 31). */
	check(!virtio_negotiate(&blk, 1ULL << 31) && rd(VREG_STATUS) == (VSTAT_ACK | VSTAT_DRIVER),
	      "FEATURES_OK refused for an unoffered feature");
}

static void good_requests(void)
{
	check_eq("read of sector 0: OK", request(BLK_T_IN, 0, 512), BLK_S_OK);
	check(!memcmp(data, "popek-blk-hostile", 17), "sector 0 holds the image's marker");
	check(rd(VREG_INT_STATUS) & VINT_USED, "used buffer interrupt status");
	wr(VREG_INT_ACK, rd(VREG_INT_STATUS));
	check_eq("interrupt status cleared by InterruptACK", rd(VREG_INT_STATUS), 0);
	check_eq("GET_ID: OK", request(BLK_T_GET_ID, 0, 20), BLK_S_OK);
	check(!memcmp(data, "hostile-id", 10), "GET_ID returns the --disk id");
}

/* A write of len bytes of REJECT_BYTE that the device must refuse. */
static u8 rejected_write(u64 sector, u32 len)
{
	memset(data, REJECT_BYTE, len);
	return request(BLK_T_OUT, sector, len);
}

static void bad_requests(void)
{
	check_eq("read beyond the end: IOERR", request(BLK_T_IN, 2048, 512), BLK_S_IOERR);
	check_eq("read straddling the end: IOERR", request(BLK_T_IN, 2047, 1024), BLK_S_IOERR);
	check_eq("read at sector 2^63: IOERR", request(BLK_T_IN, 1ULL << 63, 512), BLK_S_IOERR);
	check_eq("read of 100 bytes: IOERR", request(BLK_T_IN, 0, 100), BLK_S_IOERR);
	check_eq("unknown request type: UNSUPP", request(77, 0, 512), BLK_S_UNSUPP);
	/* Refused writes: the image must not grow or change (the runner looks). */
	check_eq("write beyond the end: IOERR", rejected_write(2048, 512), BLK_S_IOERR);
	check_eq("write straddling the end: IOERR", rejected_write(2047, 1024), BLK_S_IOERR);
	check_eq("write at sector 2^55 (byte 2^64): IOERR", rejected_write(1ULL << 55, 512),
		 BLK_S_IOERR);
	check_eq("write of 100 bytes: IOERR", rejected_write(REJECT_SECTOR, 100), BLK_S_IOERR);
	check(!(rd(VREG_STATUS) & VSTAT_NEEDS_RESET), "bad requests do not break the device");
	check_eq("a read after the bad ones: OK", request(BLK_T_IN, 0, 512), BLK_S_OK);
}

/* Posts head 0 of a three-descriptor chain. */
static void post3(struct vq_desc d0, struct vq_desc d1, struct vq_desc d2)
{
	vq->desc[0] = d0;
	vq->desc[1] = d1;
	vq->desc[2] = d2;
	kick(0);
}

/* The broken chains, for a read (type BLK_T_IN: data device-writable) or a
 * write (BLK_T_OUT: data device-readable, REJECT_BYTE for REJECT_SECTOR). */
static void hostile_chains(u32 type)
{
	const char *op = type == BLK_T_IN ? "read" : "write";
	const u16 dw = type == BLK_T_IN ? VDESC_WRITE : 0; /* the data's direction */
	const struct vq_desc h = {(u64)&hdr, 16, VDESC_NEXT, 1};
	const struct vq_desc st = {(u64)&status, 1, VDESC_WRITE, 0};
	const struct vq_desc dat = {(u64)data, 512, VDESC_NEXT | dw, 2};

	hdr = (struct blk_req_hdr){type, 0, REJECT_SECTOR};
	memset(data, REJECT_BYTE, 512);

	/* 1. A data buffer outside guest RAM. */
	post3(h, (struct vq_desc){VIRTIO_BAD_ADDR, 512, VDESC_NEXT | dw, 2}, st);
	expect_reset_op(op, "data buffer outside RAM");

	/* 2. Inside the MMIO hole (the device's own registers). */
	post3(h, (struct vq_desc){VIRTIO_MMIO_BASE, 512, VDESC_NEXT | dw, 2}, st);
	expect_reset_op(op, "data buffer on the device's registers");

	/* 3. A descriptor loop: 0 -> 1 -> 2 -> 1 (all in the right direction). */
	post3(h, dat, (struct vq_desc){(u64)&status, 1, VDESC_NEXT | VDESC_WRITE, 1});
	expect_reset_op(op, "descriptor loop");

	/* 4. A huge length. */
	post3(h, (struct vq_desc){(u64)data, 0xFFFFFE00u, VDESC_NEXT | dw, 2}, st);
	expect_reset_op(op, "4 GiB data length");

	/* 5. The status byte readable (wrong direction): for a write, no
	 * writable byte at all. */
	post3(h, dat, (struct vq_desc){(u64)&status, 1, 0, 0});
	expect_reset_op(op, "readable status descriptor");

	/* 6. next index beyond the queue. */
	post3((struct vq_desc){(u64)&hdr, 16, VDESC_NEXT, VQ_SIZE + 3}, st, st);
	expect_reset_op(op, "next index out of range");

	/* 7. The whole request behind an indirect table with a loop in it. */
	vq->indirect[0] = h;
	vq->indirect[1] = dat;
	vq->indirect[2] = (struct vq_desc){(u64)&status, 1, VDESC_NEXT | VDESC_WRITE, 1};
	post3((struct vq_desc){(u64)vq->indirect, 3 * sizeof(struct vq_desc), VDESC_INDIRECT, 0},
	      st, st);
	expect_reset_op(op, "descriptor loop in an indirect table");

	/* 8. The avail index jumps by more than the queue size, over a ring
	 * whose entries all name a well-formed request. */
	vq->desc[0] = h;
	vq->desc[1] = dat;
	vq->desc[2] = st;
	vq->avail_idx += VQ_SIZE + 1;
	virtio_notify(&blk, 0);
	expect_reset_op(op, "avail index jump");
}

static void hostile(void)
{
	hostile_chains(BLK_T_IN);
	hostile_chains(BLK_T_OUT);

	/* A misaligned descriptor table at QueueReady. */
	virtio_negotiate(&blk, 0);
	virtio_queue_setup_at(&blk, 0, VQ_SIZE, (u64)vq->desc + 8, (u64)&vq->avail_flags,
			      (u64)&vq->used_flags);
	check(rd(VREG_STATUS) & VSTAT_NEEDS_RESET,
	      "misaligned descriptor table: DEVICE_NEEDS_RESET");
	check(init_device(), "misaligned descriptor table: the device initializes again");
}

/* The legitimate write's byte i (sectors 10-11); the runner computes the same. */
static u8 written_byte(unsigned i)
{
	return (u8)(i * 13 + 5);
}

static void after(void)
{
	check_eq("after all that: read of sector 0 OK", request(BLK_T_IN, 0, 512), BLK_S_OK);
	check(!memcmp(data, "popek-blk-hostile", 17), "and it holds the marker");
	for (unsigned i = 0; i < 1024; i++)
		data[i] = written_byte(i);
	check_eq("write of sectors 10-11: OK", request(BLK_T_OUT, 10, 1024), BLK_S_OK);
	memset(data, 0, 1024);
	check_eq("read back of sectors 10-11: OK", request(BLK_T_IN, 10, 1024), BLK_S_OK);
	bool same = true;
	for (unsigned i = 0; i < 1024; i++)
		same &= data[i] == written_byte(i);
	check(same, "the written data reads back");
	check_eq("read of sector 0 again: OK", request(BLK_T_IN, REJECT_SECTOR, 512), BLK_S_OK);
	check(data[100] != REJECT_BYTE && data[511] != REJECT_BYTE,
	      "sector 0 holds none of the refused writes' data");
}

/* The second disk is read-only: the device itself refuses writes (5.2.6.2). */
static void readonly_disk(void)
{
	if (!check(virtio_find(&blk, VIRTIO_ID_BLK, 1),
		   "a second virtio-blk device (--disk IMG2,ro)"))
		return;
	check(virtio_device_features(&blk) & 1u << 5, "VIRTIO_BLK_F_RO offered");
	if (!check(init_device(), "read-only disk: driver initialization"))
		return;
	check_eq("write to the read-only disk: IOERR", rejected_write(0, 512), BLK_S_IOERR);
	check_eq("read-only disk: read of sector 0 OK", request(BLK_T_IN, 0, 512), BLK_S_OK);
	check(!memcmp(data, "popek-blk-hostile", 17), "read-only disk: sector 0 unchanged");
}

void test_main(void)
{
	if (!check(virtio_find(&blk, VIRTIO_ID_BLK, 0),
		   "a virtio-blk device is present (run with --disk IMAGE)"))
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
