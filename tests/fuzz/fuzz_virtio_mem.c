/* libFuzzer harness for virtio-mem (src/virtio/mem.c) behind the real
 * virtio-mmio transport, over a machine whose guest memory has a hot-plug
 * area: a hostile driver's program (tests/fuzz/harness.c) plus well-formed
 * requests (plug, unplug, unplug-all, state, unknown types) at addresses in,
 * around and far from the area, with short buffers now and then, and the
 * host's requested-size changes. When a request is the only one the device
 * sees, its answer is checked against virtio 1.2 section 5.15.6 and the
 * plugged size before and after. */
#include <stdlib.h>
#include <string.h>

#include "harness_alone.h"
#include "virtio/mem.h"

#define AREA   (64 * MiB)
#define BLOCK  (2 * MiB)
#define BLOCKS (AREA / BLOCK)
#define BUF    (1 * MiB) /* request at BUF, response at BUF + 64: outside the data area */

/* 5.15.6 */
#define REQ_PLUG       0
#define REQ_UNPLUG     1
#define REQ_UNPLUG_ALL 2
#define REQ_STATE      3
#define RESP_ACK       0
#define RESP_NACK      1
#define RESP_ERROR     3

struct fuzz_mem {
	struct virtio_mem *d;
	gpa_t addr; /* the area's gpa */
	u64 requested;
};

/* An address near the area: a block of it or just past it, off by a
 * little, below it, or any 64-bit value. */
static u64 fuzz_addr(struct fuzz_cursor *cur, const struct fuzz_mem *fm)
{
	u8 how = fuzz_take8(cur);
	u64 b = fuzz_take8(cur) % (BLOCKS + 2);

	switch (how & 3) {
	case 0:
	case 1:
		return fm->addr + b * BLOCK;
	case 2:
		return fm->addr + b * BLOCK + (how & 4 ? -(u64)fuzz_take16(cur) : fuzz_take16(cur));
	default:
		return how & 4 ? fm->addr - b * BLOCK : fuzz_take64(cur);
	}
}

/* Whether [addr, +nb blocks) is a well-formed range (5.15.6.1.2). */
static bool range_ok(const struct fuzz_mem *fm, u64 addr, u16 nb)
{
	u64 first;

	if (!nb || addr < fm->addr || (addr - fm->addr) % BLOCK)
		return false;
	first = (addr - fm->addr) / BLOCK;
	return first < BLOCKS && nb <= BLOCKS - first;
}

/* The answer to a request the device saw alone, as the spec gives it. */
static void fuzz_check_answer(struct fuzz_mem *fm, u16 type, u64 addr, u16 nb, u16 resp, u16 state,
			      u64 before, u64 after)
{
	bool ok = range_ok(fm, addr, nb);
	u64 bytes = (u64)nb * BLOCK;

	if (after > AREA || after % BLOCK)
		abort();
	switch (type) {
	case REQ_UNPLUG_ALL: /* 5.15.6.3.2 */
		if (resp != RESP_ACK || after)
			abort();
		return;
	case REQ_PLUG: /* 5.15.6.1.2 */
		if (!ok && resp != RESP_ERROR)
			abort();
		if (resp == RESP_ACK && (after != before + bytes || after > fm->requested))
			abort();
		if (resp == RESP_NACK && before + bytes <= fm->requested)
			abort();
		if (resp != RESP_ACK && after != before)
			abort();
		if (resp != RESP_ACK && resp != RESP_NACK && resp != RESP_ERROR)
			abort();
		return;
	case REQ_UNPLUG: /* 5.15.6.2.2 */
		if (!ok && resp != RESP_ERROR)
			abort();
		if (resp == RESP_ACK ? after != before - bytes
				     : resp != RESP_ERROR || after != before)
			abort();
		return;
	case REQ_STATE: /* 5.15.6.4.2 */
		if (!ok ? resp != RESP_ERROR : resp != RESP_ACK || state > 2)
			abort();
		if (ok && !before && state != 1) /* nothing plugged: UNPLUGGED */
			abort();
		if (ok && before == AREA && state != 0) /* everything: PLUGGED */
			abort();
		if (after != before)
			abort();
		return;
	default: /* not a request type: nothing may change */
		if (after != before)
			abort();
		return;
	}
}

/* One request (its type, address, block count, padding bytes and buffer
 * lengths from the input) on the device's queue. */
static void fuzz_request(struct fuzz_vm *f, struct fuzz_cursor *cur, u8 op)
{
	struct fuzz_mem *fm = f->opaque;
	const struct virtq *q = virtio_mmio_queue(f->vm, 0);
	u8 *req = guest_mem_ptr(&f->m->mem, BUF, 128), how = fuzz_take8(cur);
	u16 type = op & 0x40 ? fuzz_take16(cur) : (u16)((op >> 4) % 5);
	u64 addr = type == REQ_UNPLUG_ALL && !(how & 1) ? 0 : fuzz_addr(cur, fm);
	u16 nb = how & 2 ? fuzz_take16(cur) : fuzz_take8(cur) % 6;
	u32 req_len = how & 0x10 ? fuzz_take8(cur) % 32 : 24;
	u32 resp_len = how & 0x20 ? fuzz_take8(cur) % 16 : 10;
	struct fuzz_desc d[2] = {{BUF, req_len, 0}, {BUF + 64, resp_len, FUZZ_DESC_F_WRITE}};
	u16 used_before = q->used_idx, resp = 0xffff, state = 0xffff;
	u64 before, after, requested;
	bool alone;

	if (!req)
		abort();
	alone = fuzz_vm_alone(f, 0, BUF, 128);
	memset(req, 0, 128);
	memcpy(req, &type, 2);
	memcpy(req + 8, &addr, 8);
	memcpy(req + 16, &nb, 2);
	if (how & 4) { /* padding the device must ignore */
		memset(req + 2, fuzz_take8(cur), 6);
		memset(req + 18, fuzz_take8(cur), 6);
	}
	virtio_mem_sizes(fm->d, &before, &requested);
	if (requested != fm->requested)
		abort();
	if (!fuzz_vm_add_chain(f, 0, d, 2, false, 0))
		return;
	fuzz_vm_notify(f, 0);
	virtio_mem_sizes(fm->d, &after, &requested);
	if (!alone || (u16)(q->used_idx - used_before) != 1)
		return;
	/* Short buffers fail the device instead of being answered. */
	if (req_len < 24 || resp_len < 10)
		abort();
	memcpy(&resp, req + 64, 2);
	memcpy(&state, req + 72, 2);
	fuzz_check_answer(fm, type, addr, nb, resp, state, before, after);
}

/* Device steps: 10-12 a request (op bits 4-5 the type modulo 5, bit 6 a
 * raw 16-bit type), 13 the host asks for a size (a block count up to the
 * area), 14 the host reads the sizes, 15 the loop. */
static void fuzz_mem_step(struct fuzz_vm *f, struct fuzz_cursor *cur, u8 op)
{
	struct fuzz_mem *fm = f->opaque;
	u64 plugged, requested;

	switch (op & 15) {
	case 10:
	case 11:
	case 12:
		fuzz_request(f, cur, op);
		break;
	case 13:
		fm->requested = (u64)(fuzz_take8(cur) % (BLOCKS + 1)) * BLOCK;
		virtio_mem_request(fm->d, fm->requested);
		if (fuzz_vm_read(f, 0x100 + 48, 8) != fm->requested)
			abort();
		break;
	case 14:
		virtio_mem_sizes(fm->d, &plugged, &requested);
		if (plugged > AREA || plugged % BLOCK || requested != fm->requested ||
		    fuzz_vm_read(f, 0x100 + 40, 8) != plugged)
			abort();
		break;
	default:
		fuzz_vm_run_loop(f);
		break;
	}
}

static const struct fuzz_vm_dev fuzz_mem_dev = {
    .step = fuzz_mem_step,
};

/* Input: a byte of the initial requested size in blocks, then the driver's
 * program. */
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	const struct hotplug_config cfg = {AREA, BLOCK, 128 * MiB};
	struct fuzz_cursor cur = {data, size};
	struct fuzz_mem fm = {0};
	struct fuzz_vm f;

	fuzz_vm_init(&f);
	guest_mem_destroy(&f.m->mem);
	if (guest_mem_init_hotplug(&f.m->mem, FUZZ_VM_RAM, AREA) ||
	    virtio_mem_create(f.m, &cfg, &fm.d))
		abort();
	fm.addr = f.m->mem.regions[f.m->mem.hotplug].gpa;
	fm.requested = (u64)(fuzz_take8(&cur) % (BLOCKS + 1)) * BLOCK;
	virtio_mem_request(fm.d, fm.requested);
	fuzz_vm_attach(&f, &fuzz_mem_dev, &fm);
	fuzz_vm_play(&f, &cur);
	virtio_mem_destroy(fm.d);
	fuzz_vm_fini(&f);
	return 0;
}
