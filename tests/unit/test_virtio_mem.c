/* Unit tests of virtio-mem (src/virtio/mem.c) behind the real virtio-mmio
 * transport: the configuration space (virtio 1.2 section 5.15.4), the
 * answers the spec gives each request (5.15.6.1-5.15.6.4), blocks reading
 * as zeroes once unplugged, reset keeping the blocks (5.15.5), short
 * buffers failing the device, and the saved state refused when it does not
 * fit the device. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/snap_codec.h"
#include "virtio/mem.h"
#include "virtio_fake_driver.h"

#define QSZ    16
#define AREA   (32 * MiB)
#define BLOCK  (2 * MiB)
#define BLOCKS (AREA / BLOCK)
#define ADDR   LAYOUT_HIGH_RAM_START /* where guest_mem puts the area after 16 MiB of RAM */

/* 5.15.6 */
#define REQ_PLUG        0
#define REQ_UNPLUG      1
#define REQ_UNPLUG_ALL  2
#define REQ_STATE       3
#define RESP_ACK        0
#define RESP_NACK       1
#define RESP_ERROR      3
#define STATE_PLUGGED   0
#define STATE_UNPLUGGED 1
#define STATE_MIXED     2

/* 5.15.4: struct virtio_mem_config */
#define CFG_BLOCK_SIZE  0
#define CFG_NODE_ID     8
#define CFG_ADDR        16
#define CFG_REGION_SIZE 24
#define CFG_USABLE_SIZE 32
#define CFG_PLUGGED     40
#define CFG_REQUESTED   48

struct fix {
	struct fd_machine fm;
	struct fd_driver d;
	struct virtio_mem *dev[2];
};

/* A machine with the hot-plug area after RAM and ndev devices over it
 * (slot 0, and slot 1 as a load target); the driver set up on slot 0. */
static void fix_start(struct fix *f, unsigned ndev)
{
	const struct hotplug_config cfg = {AREA, BLOCK, 128 * MiB};

	memset(f, 0, sizeof(*f));
	fd_machine_init(&f->fm);
	guest_mem_destroy(&f->fm.m->mem);
	CHECK_EQ(guest_mem_init_hotplug(&f->fm.m->mem, FD_RAM, AREA), 0);
	CHECK_EQ(f->fm.m->mem.regions[f->fm.m->mem.hotplug].gpa, ADDR);
	for (unsigned i = 0; i < ndev; i++)
		CHECK_EQ(virtio_mem_create(f->fm.m, &cfg, &f->dev[i]), 0);
	fd_machine_start(&f->fm);
	fd_driver_init(&f->d, &f->fm, 0, 0, 1, QSZ);
}

static void fix_stop(struct fix *f)
{
	fd_machine_stop(&f->fm);
	for (unsigned i = 0; i < 2; i++)
		virtio_mem_destroy(f->dev[i]);
	fd_machine_fini(&f->fm);
}

static u64 cfg64(struct fd_driver *d, u32 off)
{
	return fd_cfg_read(d, off, 4) | fd_cfg_read(d, off + 4, 4) << 32;
}

/* One request with the given raw bytes of the 24-byte request (padding
 * and all) through a chain of a readable and a writable buffer of the
 * given lengths. Returns the 10 response bytes in resp; false when the
 * device pushed nothing. */
static bool send_raw(struct fd_driver *d, const u8 *req, u32 req_len, u32 resp_len, u8 *resp)
{
	gpa_t rq = fd_alloc(d, 64), rs = fd_alloc(d, 64);
	struct fd_buf b[2] = {{rq, req_len, false}, {rs, resp_len, true}};
	u32 id, len;
	u16 head;

	memcpy(fd_ptr(d, rq, 24), req, 24);
	memset(fd_ptr(d, rs, 16), 0xee, 16);
	head = fd_add(d, 0, b, 2);
	fd_kick(d, 0);
	if (!fd_used(d, 0, &id, &len, 200)) /* served at the kick: no wait */
		return false;
	CHECK_EQ(id, head);
	CHECK_EQ(len, 10);
	memcpy(resp, fd_ptr(d, rs, 10), 10);
	return true;
}

static void make_req(u8 *req, u16 type, u64 addr, u16 nb)
{
	memset(req, 0, 24);
	memcpy(req, &type, 2);
	memcpy(req + 8, &addr, 8);
	memcpy(req + 16, &nb, 2);
}

/* The response type of one request; *state gets the STATE answer. */
static u16 send_state(struct fd_driver *d, u16 type, u64 addr, u16 nb, u16 *state)
{
	u8 req[24], resp[10];
	u16 t = 0xffff;

	make_req(req, type, addr, nb);
	CHECK(send_raw(d, req, 24, 10, resp));
	memcpy(&t, resp, 2);
	if (state)
		memcpy(state, resp + 8, 2);
	return t;
}

static u16 send(struct fd_driver *d, u16 type, u64 addr, u16 nb)
{
	return send_state(d, type, addr, nb, NULL);
}

/* STATE of nb blocks from block b (the request must be ACKed). */
static u16 state_of(struct fd_driver *d, u64 b, u16 nb)
{
	u16 st = 0xffff;

	CHECK_EQ(send_state(d, REQ_STATE, ADDR + b * BLOCK, nb, &st), RESP_ACK);
	return st;
}

static u8 *block_ptr(struct fix *f, u64 b)
{
	return guest_mem_ptr(&f->fm.m->mem, ADDR + b * BLOCK, BLOCK);
}

static bool block_zero(struct fix *f, u64 b)
{
	const u8 *p = block_ptr(f, b);

	for (u64 i = 0; i < BLOCK; i += 4096 / 4)
		if (p[i] || p[i + 4096 / 4 - 1])
			return false;
	return true;
}

/* ---- configuration space ----------------------------------------------- */

static void test_config(void)
{
	struct fix f;
	u64 plugged = 1, requested = 1;
	u32 gen;

	fix_start(&f, 1);
	CHECK_EQ(fd_rd(&f.d, 0x08), VIRTIO_ID_MEM);
	CHECK_EQ(fd_cfg_read(&f.d, CFG_BLOCK_SIZE, 8), BLOCK);
	CHECK_EQ(fd_cfg_read(&f.d, CFG_NODE_ID, 2), 0);
	CHECK_EQ(cfg64(&f.d, CFG_NODE_ID), 0); /* node_id and padding */
	CHECK_EQ(cfg64(&f.d, CFG_ADDR), ADDR);
	CHECK_EQ(fd_cfg_read(&f.d, CFG_ADDR + 4, 4), ADDR >> 32);
	CHECK_EQ(cfg64(&f.d, CFG_REGION_SIZE), AREA);
	/* At least requested_size, at most region_size (5.15.4.2). */
	CHECK_EQ(cfg64(&f.d, CFG_USABLE_SIZE), AREA);
	CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), 0); /* everything starts unplugged (5.15) */
	CHECK_EQ(cfg64(&f.d, CFG_REQUESTED), 0);
	CHECK_EQ(fd_cfg_read(&f.d, 56, 4), 0); /* past the structure */
	/* Block multiples (5.15.4.2): addr, the sizes. */
	CHECK_EQ(cfg64(&f.d, CFG_ADDR) % BLOCK, 0);

	/* A new requested size: a configuration change notification. */
	gen = fd_rd(&f.d, 0xfc);
	fd_wr(&f.d, 0x64, fd_rd(&f.d, 0x60));
	virtio_mem_request(f.dev[0], 6 * MiB);
	CHECK_EQ(cfg64(&f.d, CFG_REQUESTED), 6 * MiB);
	CHECK(fd_rd(&f.d, 0x60) & 2); /* InterruptStatus: configuration change */
	CHECK(fd_rd(&f.d, 0xfc) != gen);
	CHECK(cfg64(&f.d, CFG_USABLE_SIZE) >= cfg64(&f.d, CFG_REQUESTED));
	virtio_mem_sizes(f.dev[0], &plugged, &requested);
	CHECK_EQ(plugged, 0);
	CHECK_EQ(requested, 6 * MiB);
	/* The driver may not write the configuration: it stays. */
	fd_cfg_write(&f.d, CFG_REQUESTED, 4, 0x12345678);
	CHECK_EQ(cfg64(&f.d, CFG_REQUESTED), 6 * MiB);
	fix_stop(&f);
}

/* ---- requests ---------------------------------------------------------- */

/* 5.15.6.1: ACK, and plugged_size follows; NACK once plugging would pass
 * requested_size; ERROR when a block of the range is already plugged. */
static void test_plug(void)
{
	struct fix f;
	u64 plugged, requested;

	fix_start(&f, 1);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR, 1), RESP_NACK); /* nothing requested yet */
	virtio_mem_request(f.dev[0], 4 * BLOCK);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR, 2), RESP_ACK);
	CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), 2 * BLOCK);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR + 4 * BLOCK, 3), RESP_NACK); /* 5 > 4 */
	CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), 2 * BLOCK);
	CHECK_EQ(state_of(&f.d, 4, 3), STATE_UNPLUGGED);                 /* a NACK plugs nothing */
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR + 1 * BLOCK, 2), RESP_ERROR); /* block 1 is plugged */
	CHECK_EQ(state_of(&f.d, 2, 1), STATE_UNPLUGGED);                 /* nor does an ERROR */
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR + 10 * BLOCK, 2), RESP_ACK);
	CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), 4 * BLOCK);
	/* plugged_size reached requested_size: no more (5.15). */
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR + 5 * BLOCK, 1), RESP_NACK);
	/* A plugged block is an ERROR, whatever the size (5.15.6.1.2). */
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR, 1), RESP_ERROR);
	virtio_mem_sizes(f.dev[0], &plugged, &requested);
	CHECK_EQ(plugged, 4 * BLOCK);
	CHECK_EQ(requested, 4 * BLOCK);
	/* The whole area once the host asks for it. */
	CHECK_EQ(send(&f.d, REQ_UNPLUG_ALL, 0, 0), RESP_ACK);
	virtio_mem_request(f.dev[0], AREA);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR, BLOCKS), RESP_ACK);
	CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), AREA);
	CHECK_EQ(state_of(&f.d, 0, BLOCKS), STATE_PLUGGED);
	fix_stop(&f);
}

/* 5.15.6.1.2, 5.15.6.2.2, 5.15.6.4.2: ERROR for an addr not aligned to
 * block_size, nb_blocks 0, or any block outside the usable region; and
 * padding is ignored. */
static void test_bad_ranges(void)
{
	static const struct {
		u64 addr;
		u16 nb;
	} bad[] = {
	    {ADDR + 4096, 1},                      /* misaligned */
	    {ADDR + BLOCK / 2, 1},                 /* misaligned by half a block */
	    {ADDR, 0},                             /* no blocks */
	    {ADDR - BLOCK, 1},                     /* just below */
	    {ADDR - BLOCK, 2},                     /* below, into the region */
	    {ADDR + (BLOCKS - 1) * BLOCK, 2},      /* runs past the end */
	    {ADDR + AREA, 1},                      /* just past */
	    {ADDR, BLOCKS + 1},                    /* the whole region and one more */
	    {ADDR, 0xffff},                        /* the most nb_blocks can say */
	    {0, 1},                                /* RAM */
	    {UINT64_MAX - BLOCK + 1, 1},           /* the top of the address space */
	    {ADDR + AREA * 1024, 1},               /* far beyond */
	    {ADDR + (BLOCKS - 1) * BLOCK, 0xffff}, /* 65535 blocks from the last */
	};
	static const u16 types[] = {REQ_PLUG, REQ_UNPLUG, REQ_STATE};
	struct fix f;
	u8 req[24], resp[10];
	u16 t, st;

	fix_start(&f, 1);
	virtio_mem_request(f.dev[0], AREA);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR, 1), RESP_ACK); /* UNPLUG has a block to find */
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
		for (unsigned k = 0; k < ARRAY_SIZE(types); k++) {
			t = send(&f.d, types[k], bad[i].addr, bad[i].nb);
			if (t != RESP_ERROR)
				printf("  type %u addr %#llx nb %u: answer %u\n", types[k],
				       (unsigned long long)bad[i].addr, bad[i].nb, t);
			CHECK_EQ(t, RESP_ERROR);
		}
	CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), BLOCK);
	CHECK_EQ(state_of(&f.d, 0, 1), STATE_PLUGGED);
	CHECK_EQ(state_of(&f.d, 1, BLOCKS - 1), STATE_UNPLUGGED);
	/* Padding and the bytes after nb_blocks are ignored. */
	make_req(req, REQ_PLUG, ADDR + 3 * BLOCK, 2);
	memset(req + 2, 0xa5, 6);
	memset(req + 18, 0x5a, 6);
	CHECK(send_raw(&f.d, req, 24, 10, resp));
	memcpy(&t, resp, 2);
	CHECK_EQ(t, RESP_ACK);
	CHECK_EQ(state_of(&f.d, 3, 2), STATE_PLUGGED);
	/* A STATE response carries the state at offset 8 (after le16 type
	 * and 3 x le16 padding). */
	make_req(req, REQ_STATE, ADDR + 3 * BLOCK, 1);
	memset(req + 2, 0xff, 6);
	CHECK(send_raw(&f.d, req, 24, 10, resp));
	memcpy(&st, resp + 8, 2);
	CHECK_EQ(st, STATE_PLUGGED);
	fix_stop(&f);
}

/* 5.15.6.2: ACK and plugged_size follows; ERROR when any block of the
 * range is unplugged (nothing changes then). The unplugged block reads as
 * zeroes (the host took it back), the plugged ones keep their bytes. */
static void test_unplug(void)
{
	struct fix f;

	fix_start(&f, 1);
	virtio_mem_request(f.dev[0], 4 * BLOCK);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR, 4), RESP_ACK);
	for (u64 b = 0; b < 4; b++)
		memset(block_ptr(&f, b), 0xa0 + (int)b, BLOCK);
	CHECK_EQ(send(&f.d, REQ_UNPLUG, ADDR + BLOCK, 1), RESP_ACK);
	CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), 3 * BLOCK);
	CHECK(block_zero(&f, 1));
	CHECK_EQ(block_ptr(&f, 0)[BLOCK - 1], 0xa0);
	CHECK_EQ(block_ptr(&f, 2)[0], 0xa2);
	CHECK_EQ(block_ptr(&f, 3)[12345], 0xa3);
	CHECK_EQ(send(&f.d, REQ_UNPLUG, ADDR + BLOCK, 1), RESP_ERROR); /* already unplugged */
	CHECK_EQ(send(&f.d, REQ_UNPLUG, ADDR, 2), RESP_ERROR);         /* block 1 of 0-1 is */
	CHECK_EQ(send(&f.d, REQ_UNPLUG, ADDR + 8 * BLOCK, 1), RESP_ERROR);
	CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), 3 * BLOCK);
	CHECK_EQ(state_of(&f.d, 0, 1), STATE_PLUGGED);
	CHECK_EQ(block_ptr(&f, 0)[0], 0xa0);
	/* Plugged again, it is still zeroes (the driver initialises it). */
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR + BLOCK, 1), RESP_ACK);
	CHECK(block_zero(&f, 1));
	CHECK_EQ(send(&f.d, REQ_UNPLUG, ADDR + 2 * BLOCK, 2), RESP_ACK);
	CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), 2 * BLOCK);
	CHECK(block_zero(&f, 2) && block_zero(&f, 3));
	fix_stop(&f);
}

/* 5.15.6.3: ACK, plugged_size 0, the request's other bytes ignored. */
static void test_unplug_all(void)
{
	struct fix f;

	fix_start(&f, 1);
	CHECK_EQ(send(&f.d, REQ_UNPLUG_ALL, 0, 0), RESP_ACK); /* nothing plugged: still ACK */
	virtio_mem_request(f.dev[0], 6 * BLOCK);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR, 2), RESP_ACK);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR + 9 * BLOCK, 3), RESP_ACK);
	memset(block_ptr(&f, 0), 1, BLOCK);
	memset(block_ptr(&f, 11), 2, BLOCK);
	CHECK_EQ(send(&f.d, REQ_UNPLUG_ALL, ADDR + 4096, 0), RESP_ACK); /* addr, nb ignored */
	CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), 0);
	CHECK_EQ(state_of(&f.d, 0, BLOCKS), STATE_UNPLUGGED);
	CHECK(block_zero(&f, 0) && block_zero(&f, 11));
	CHECK_EQ(cfg64(&f.d, CFG_REQUESTED), 6 * BLOCK); /* the host's wish stays */
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR, 6), RESP_ACK);
	fix_stop(&f);
}

/* 5.15.6.4: PLUGGED when all are, UNPLUGGED when none is, MIXED else. */
static void test_state(void)
{
	struct fix f;

	fix_start(&f, 1);
	CHECK_EQ(state_of(&f.d, 0, BLOCKS), STATE_UNPLUGGED);
	virtio_mem_request(f.dev[0], 3 * BLOCK);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR + 4 * BLOCK, 2), RESP_ACK);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR + (BLOCKS - 1) * BLOCK, 1), RESP_ACK);
	CHECK_EQ(state_of(&f.d, 4, 2), STATE_PLUGGED);
	CHECK_EQ(state_of(&f.d, 5, 1), STATE_PLUGGED);
	CHECK_EQ(state_of(&f.d, BLOCKS - 1, 1), STATE_PLUGGED);
	CHECK_EQ(state_of(&f.d, 3, 2), STATE_MIXED);
	CHECK_EQ(state_of(&f.d, 5, 2), STATE_MIXED);
	CHECK_EQ(state_of(&f.d, 0, BLOCKS), STATE_MIXED);
	CHECK_EQ(state_of(&f.d, 0, 4), STATE_UNPLUGGED);
	CHECK_EQ(state_of(&f.d, 6, BLOCKS - 7), STATE_UNPLUGGED);
	/* A STATE request changes nothing. */
	CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), 3 * BLOCK);
	fix_stop(&f);
}

/* 5.15.5: a device reset leaves the blocks (and their bytes) as they are;
 * the driver finds them with STATE or unplugs all. */
static void test_reset_keeps_blocks(void)
{
	struct fix f;

	fix_start(&f, 1);
	virtio_mem_request(f.dev[0], 2 * BLOCK);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR + 2 * BLOCK, 2), RESP_ACK);
	memset(block_ptr(&f, 3), 0x77, BLOCK);
	fd_wr(&f.d, 0x70, 0);
	CHECK_EQ(fd_status(&f.d), 0);
	fd_driver_init(&f.d, &f.fm, 0, 0, 1, QSZ);
	CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), 2 * BLOCK);
	CHECK_EQ(state_of(&f.d, 2, 2), STATE_PLUGGED);
	CHECK_EQ(block_ptr(&f, 3)[100], 0x77);
	fix_stop(&f);
}

/* Every request is 24 bytes and every response 10 (5.15.6): shorter
 * buffers fail the device, which answers nothing. A request split across
 * descriptors is one request. */
static void test_short_buffers(void)
{
	static const u32 lens[][2] = {{23, 10}, {24, 9}, {0, 10}, {24, 0}};
	u8 req[24], resp[10];
	struct fix f;

	for (unsigned i = 0; i < ARRAY_SIZE(lens); i++) {
		fix_start(&f, 1);
		virtio_mem_request(f.dev[0], BLOCK);
		make_req(req, REQ_PLUG, ADDR, 1);
		CHECK(!send_raw(&f.d, req, lens[i][0], lens[i][1], resp));
		CHECK(fd_status(&f.d) & VIRTIO_STATUS_NEEDS_RESET);
		CHECK_EQ(cfg64(&f.d, CFG_PLUGGED), 0);
		fix_stop(&f);
	}

	fix_start(&f, 1);
	virtio_mem_request(f.dev[0], BLOCK);
	{
		gpa_t rq = fd_alloc(&f.d, 24), rs = fd_alloc(&f.d, 10);
		struct fd_buf b[4] = {
		    {rq, 10, false}, {rq + 10, 14, false}, {rs, 4, true}, {rs + 4, 6, true}};
		u32 id, len;
		u16 t;

		make_req(fd_ptr(&f.d, rq, 24), REQ_PLUG, ADDR + BLOCK, 1);
		fd_add(&f.d, 0, b, 4);
		fd_kick(&f.d, 0);
		CHECK(fd_used(&f.d, 0, &id, &len, 1000));
		CHECK_EQ(len, 10);
		memcpy(&t, fd_ptr(&f.d, rs, 2), 2);
		CHECK_EQ(t, RESP_ACK);
		CHECK_EQ(state_of(&f.d, 1, 1), STATE_PLUGGED);
	}
	CHECK(!(fd_status(&f.d) & VIRTIO_STATUS_NEEDS_RESET));
	fix_stop(&f);
}

/* ---- saved state ------------------------------------------------------- */


/* The device's state ends the transport's: u64 blocks, u64 requested,
 * then the bitmap (one word for 16 blocks). */
#define DEV_STATE_LEN (8 + 8 + 8)

static u64 get_le(const u8 *p, unsigned n)
{
	u64 v = 0;

	memcpy(&v, p, n);
	return v;
}

static void test_save_load(void)
{
	static const struct {
		unsigned off; /* from the device state's start */
		u64 value;
		const char *reason;
	} damage[] = {
	    {0, BLOCKS + 1, "17 blocks where this device has 16"},
	    {0, BLOCKS / 2, "8 blocks where this device has 16"},
	    {16, 1ULL << BLOCKS, "block bitmap or requested size out of range"},
	    {16, 1ULL << 63, "block bitmap or requested size out of range"},
	    {8, 3 * BLOCK + 4096, "block bitmap or requested size out of range"},
	    {8, AREA + BLOCK, "block bitmap or requested size out of range"},
	};
	struct virtio_mmio *src, *dst;
	struct fix f;
	struct fd_driver d1;
	struct snap_out o;
	char why[200];
	u8 *buf;
	size_t base;

	fix_start(&f, 2);
	src = f.fm.m->virtio_slots[0].dev;
	dst = f.fm.m->virtio_slots[1].dev;
	virtio_mem_request(f.dev[0], 3 * BLOCK);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR + 1 * BLOCK, 1), RESP_ACK);
	CHECK_EQ(send(&f.d, REQ_PLUG, ADDR + 14 * BLOCK, 2), RESP_ACK);
	virtio_mmio_quiesce(src);
	fd_state_save(src, &o);
	CHECK(o.len > DEV_STATE_LEN);
	base = o.len - DEV_STATE_LEN;
	CHECK_EQ(get_le(o.buf + base - 4, 4), DEV_STATE_LEN); /* the transport's length */
	CHECK_EQ(get_le(o.buf + base, 8), BLOCKS);
	CHECK_EQ(get_le(o.buf + base + 8, 8), 3 * BLOCK);
	CHECK_EQ(get_le(o.buf + base + 16, 8), (1ULL << 1) | (3ULL << 14));

	d1 = f.d;
	d1.base = LAYOUT_VIRTIO_MMIO_BASE + LAYOUT_VIRTIO_MMIO_SIZE;
	buf = malloc(o.len);
	for (unsigned i = 0; i < ARRAY_SIZE(damage); i++) {
		int err;

		memcpy(buf, o.buf, o.len);
		memcpy(buf + base + damage[i].off, &damage[i].value, 8);
		err = fd_state_load(dst, buf, o.len, why, sizeof(why));
		if (err != -EINVAL || !strstr(why, damage[i].reason))
			printf("  damage %u: %d '%s'\n", i, err, why);
		CHECK_EQ(err, -EINVAL);
		CHECK(strstr(why, damage[i].reason) != NULL);
		/* Nothing taken: the target shows its own (empty) state. */
		CHECK_EQ(cfg64(&d1, CFG_PLUGGED), 0);
		CHECK_EQ(cfg64(&d1, CFG_REQUESTED), 0);
		CHECK_EQ(fd_status(&d1), 0);
	}
	free(buf);

	CHECK_EQ(fd_state_load(dst, o.buf, o.len, why, sizeof(why)), 0);
	CHECK_EQ(cfg64(&d1, CFG_PLUGGED), 3 * BLOCK);
	CHECK_EQ(cfg64(&d1, CFG_REQUESTED), 3 * BLOCK);
	CHECK_EQ(fd_status(&d1), fd_status(&f.d));
	/* The loaded device carries on over the same ring. */
	CHECK_EQ(state_of(&d1, 14, 2), STATE_PLUGGED);
	CHECK_EQ(state_of(&d1, 0, 2), STATE_MIXED);
	CHECK_EQ(send(&d1, REQ_PLUG, ADDR, 1), RESP_NACK);
	CHECK_EQ(send(&d1, REQ_UNPLUG, ADDR + BLOCK, 1), RESP_ACK);
	CHECK_EQ(cfg64(&d1, CFG_PLUGGED), 2 * BLOCK);
	snap_out_free(&o);
	fix_stop(&f);
}

int main(void)
{
	TEST_RUN(test_config);
	TEST_RUN(test_plug);
	TEST_RUN(test_bad_ranges);
	TEST_RUN(test_unplug);
	TEST_RUN(test_unplug_all);
	TEST_RUN(test_state);
	TEST_RUN(test_reset_keeps_blocks);
	TEST_RUN(test_short_buffers);
	TEST_RUN(test_save_load);
	return test_done();
}
