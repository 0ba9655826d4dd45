/* Shared pieces of the fuzz targets (see harness.h): the input cursor, the
 * run's guest RAM, and the virtio-mmio machine played by an input. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* virtio-mmio registers (virtio 1.2 section 4.2.2) the driver steps use. */
#define R_DEVICE_FEATURES     0x010
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES     0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL           0x030
#define R_QUEUE_NUM           0x038
#define R_QUEUE_READY         0x044
#define R_QUEUE_NOTIFY        0x050
#define R_INTERRUPT_STATUS    0x060
#define R_INTERRUPT_ACK       0x064
#define R_STATUS              0x070
#define R_QUEUE_DESC          0x080 /* low, high at +4 */
#define R_QUEUE_DRIVER        0x090
#define R_QUEUE_DEVICE        0x0a0
#define R_CONFIG              0x100

/* Loop rounds after which a device that keeps itself ready is a livelock:
 * every round consumes guest buffers, which are at most a ring per queue. */
#define FUZZ_VM_MAX_ROUNDS 1000

/* ---- the input --------------------------------------------------------- */

u8 fuzz_take8(struct fuzz_cursor *cur)
{
	if (!cur->left)
		return 0;
	cur->left--;
	return *cur->p++;
}

u16 fuzz_take16(struct fuzz_cursor *cur)
{
	u16 lo = fuzz_take8(cur);

	return (u16)(lo | fuzz_take8(cur) << 8);
}

u32 fuzz_take32(struct fuzz_cursor *cur)
{
	u32 lo = fuzz_take16(cur);

	return lo | (u32)fuzz_take16(cur) << 16;
}

u64 fuzz_take64(struct fuzz_cursor *cur)
{
	u64 lo = fuzz_take32(cur);

	return lo | (u64)fuzz_take32(cur) << 32;
}

const u8 *fuzz_take_bytes(struct fuzz_cursor *cur, size_t want, size_t *got)
{
	const u8 *p = cur->p;

	*got = MIN(want, cur->left);
	cur->p += *got;
	cur->left -= *got;
	return p;
}

struct guest_mem *fuzz_guest_mem(u64 size)
{
	static struct guest_mem mem; /* one mapping for the whole run */

	if (!mem.base && guest_mem_init(&mem, size))
		abort();
	if (mem.ram_size != size)
		abort();
	return &mem;
}

/* ---- the machine ------------------------------------------------------- */

/* The transport changes the line only when its level changes. */
static void fuzz_vm_irq(void *opaque, unsigned gsi, bool level)
{
	struct fuzz_vm *f = opaque;

	if (gsi != LAYOUT_VIRTIO_GSI_BASE || level == f->line)
		abort();
	f->line = level;
}

void fuzz_vm_init(struct fuzz_vm *f)
{
	struct machine *m = calloc(1, sizeof(*m));

	memset(f, 0, sizeof(*f));
	/* Guest mistakes are logged at warn; POPEK_LOG=warn shows them. */
	setenv("POPEK_LOG", "error", 0);
	if (!m || guest_mem_init(&m->mem, FUZZ_VM_RAM) || event_loop_init(&m->loop))
		abort();
	pthread_mutex_init(&m->dev_lock, NULL);
	pthread_mutex_init(&m->pause_lock, NULL);
	pthread_cond_init(&m->pause_cond, NULL);
	bus_init(&m->mmio, "mmio", &m->dev_lock);
	m->cfg.mem_size = FUZZ_VM_RAM;
	m->irq.set = fuzz_vm_irq;
	m->irq.opaque = f;
	f->m = m;
}

void fuzz_vm_attach(struct fuzz_vm *f, const struct fuzz_vm_dev *dev, void *opaque)
{
	const struct bus_range *r = bus_find(&f->m->mmio, LAYOUT_VIRTIO_MMIO_BASE);

	if (!r)
		abort();
	f->vm = r->opaque; /* the transport registers itself as the range's opaque */
	f->dev = dev;
	f->opaque = opaque;
	while (f->nr_queues < VIRTIO_MAX_QUEUES && virtio_mmio_queue(f->vm, f->nr_queues))
		f->nr_queues++;
}

void fuzz_vm_fini(struct fuzz_vm *f)
{
	struct machine *m = f->m;

	event_loop_destroy(&m->loop);
	guest_mem_destroy(&m->mem);
	pthread_cond_destroy(&m->pause_cond);
	pthread_mutex_destroy(&m->pause_lock);
	pthread_mutex_destroy(&m->dev_lock);
	free(m);
	f->m = NULL;
}

u64 fuzz_vm_read(struct fuzz_vm *f, u32 off, unsigned size)
{
	u64 v = 0;

	if (!bus_read(&f->m->mmio, LAYOUT_VIRTIO_MMIO_BASE + off, size, &v))
		abort();
	return v;
}

void fuzz_vm_write(struct fuzz_vm *f, u32 off, unsigned size, u64 value)
{
	if (!bus_write(&f->m->mmio, LAYOUT_VIRTIO_MMIO_BASE + off, size, value))
		abort();
}

static void fuzz_vm_put_desc(u8 *p, const struct fuzz_desc *d, u16 flags, u16 next)
{
	memcpy(p, &d->addr, 8);
	memcpy(p + 8, &d->len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

bool fuzz_vm_add_chain(struct fuzz_vm *f, unsigned q, const struct fuzz_desc *d, unsigned n,
		       bool indirect, gpa_t table)
{
	const struct virtq *vq = virtio_mmio_queue(f->vm, q);
	const struct guest_mem *mem = &f->m->mem;
	u8 *desc, *avail;
	u16 head, idx;

	if (!vq || !vq->size || !n)
		return false;
	desc = guest_mem_ptr(mem, vq->desc, 16 * (u64)vq->size);
	avail = guest_mem_ptr(mem, vq->avail, 4 + 2 * (u64)vq->size);
	if (!desc || !avail)
		return false;
	head = (u16)(f->next_desc[q] % vq->size);
	if (indirect) {
		u8 *t = guest_mem_ptr(mem, table, 16 * (u64)n);
		struct fuzz_desc h = {table, (u32)(16 * n), FUZZ_DESC_F_INDIRECT};

		if (!t)
			return false;
		for (unsigned i = 0; i < n; i++)
			fuzz_vm_put_desc(t + 16 * i, &d[i],
					 (u16)(d[i].flags | (i + 1 < n ? FUZZ_DESC_F_NEXT : 0)),
					 (u16)(i + 1));
		fuzz_vm_put_desc(desc + 16 * head, &h, h.flags, 0);
		f->next_desc[q] = (u16)(head + 1);
	} else {
		idx = head;
		for (unsigned i = 0; i < n; i++) {
			u16 next = (u16)((idx + 1) % vq->size);

			fuzz_vm_put_desc(desc + 16 * idx, &d[i],
					 (u16)(d[i].flags | (i + 1 < n ? FUZZ_DESC_F_NEXT : 0)),
					 next);
			idx = next;
		}
		f->next_desc[q] = idx;
	}
	/* avail->ring[idx % size] = head; avail->idx++ (2.7.13) */
	memcpy(&idx, avail + 2, 2);
	memcpy(avail + 4 + 2 * (idx % vq->size), &head, 2);
	idx++;
	memcpy(avail + 2, &idx, 2);
	return true;
}

void fuzz_vm_run_loop(struct fuzz_vm *f)
{
	struct event_loop *loop = &f->m->loop;

	/* As event_loop_run() does, one round at a time, never waiting. */
	for (unsigned round = 0; !loop->quit; round++) {
		if (round == FUZZ_VM_MAX_ROUNDS)
			abort(); /* the device keeps the loop busy forever */
		if (event_loop_dispatch(loop, 0) == 0)
			return;
	}
}

void fuzz_vm_notify(struct fuzz_vm *f, unsigned q)
{
	fuzz_vm_write(f, R_QUEUE_NOTIFY, 4, q);
	fuzz_vm_run_loop(f);
}

/* ---- the driver steps -------------------------------------------------- */

/* Feature negotiation and queue set-up (virtio 1.2 section 3.1.1) with
 * input-chosen features and queue sizes, the rings at their standard places.
 * Input: how (bit 0: stop before DRIVER_OK, bit 1: raw feature words), the
 * driver's feature words, then one size byte per queue (bit 7: a raw
 * 16-bit QueueNum follows; else 1 << (bits 0-2)). */
static void fuzz_vm_step_init(struct fuzz_vm *f, struct fuzz_cursor *cur)
{
	u8 how = fuzz_take8(cur);
	u64 offered, want;
	u32 s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	fuzz_vm_write(f, R_STATUS, 4, 0);
	fuzz_vm_write(f, R_STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	fuzz_vm_write(f, R_STATUS, 4, s);
	fuzz_vm_write(f, R_DEVICE_FEATURES_SEL, 4, 0);
	offered = fuzz_vm_read(f, R_DEVICE_FEATURES, 4);
	fuzz_vm_write(f, R_DEVICE_FEATURES_SEL, 4, 1);
	offered |= fuzz_vm_read(f, R_DEVICE_FEATURES, 4) << 32;
	want = fuzz_take64(cur);
	if (!(how & 2))
		want = (want & offered) | 1ULL << VIRTIO_F_VERSION_1;
	fuzz_vm_write(f, R_DRIVER_FEATURES_SEL, 4, 0);
	fuzz_vm_write(f, R_DRIVER_FEATURES, 4, (u32)want);
	fuzz_vm_write(f, R_DRIVER_FEATURES_SEL, 4, 1);
	fuzz_vm_write(f, R_DRIVER_FEATURES, 4, (u32)(want >> 32));
	s |= VIRTIO_STATUS_FEATURES_OK;
	fuzz_vm_write(f, R_STATUS, 4, s);
	for (unsigned q = 0; q < f->nr_queues; q++) {
		u8 sz = fuzz_take8(cur);
		gpa_t base = (gpa_t)q * FUZZ_VM_RING_STRIDE;

		fuzz_vm_write(f, R_QUEUE_SEL, 4, q);
		fuzz_vm_write(f, R_QUEUE_NUM, 4, sz & 0x80 ? fuzz_take16(cur) : 1u << (sz & 7));
		fuzz_vm_write(f, R_QUEUE_DESC, 4, (u32)base);
		fuzz_vm_write(f, R_QUEUE_DESC + 4, 4, 0);
		fuzz_vm_write(f, R_QUEUE_DRIVER, 4, (u32)(base + 0x800));
		fuzz_vm_write(f, R_QUEUE_DRIVER + 4, 4, 0);
		fuzz_vm_write(f, R_QUEUE_DEVICE, 4, (u32)(base + 0xc00));
		fuzz_vm_write(f, R_QUEUE_DEVICE + 4, 4, 0);
		fuzz_vm_write(f, R_QUEUE_READY, 4, 1);
		f->next_desc[q] = 0;
	}
	if (!(how & 1))
		fuzz_vm_write(f, R_STATUS, 4, s | VIRTIO_STATUS_DRIVER_OK);
}

/* A register or configuration access. arg bits 0-1: size 4, 1, 2 or 8;
 * bit 2: a byte offset into the configuration space, else a dword-aligned
 * register offset (0x000-0x3fc, the configuration space included). */
static u32 fuzz_vm_offset(struct fuzz_cursor *cur, u8 arg, unsigned *size)
{
	static const unsigned sizes[4] = {4, 1, 2, 8};

	*size = sizes[arg & 3];
	return arg & 4 ? R_CONFIG + fuzz_take8(cur) : 4u * fuzz_take8(cur);
}

/* Where a descriptor points. mode bits 1-2: 0 or 3 the data area, 1 any of
 * RAM, 2 any 64-bit address; bit 3: any 32-bit length, else up to 64 KiB. */
static void fuzz_vm_desc(struct fuzz_cursor *cur, struct fuzz_desc *d)
{
	u8 mode = fuzz_take8(cur);

	switch (mode >> 1 & 3) {
	case 1:
		d->addr = (gpa_t)fuzz_take16(cur) * 32;
		break;
	case 2:
		d->addr = fuzz_take64(cur);
		break;
	default:
		d->addr = FUZZ_VM_DATA + fuzz_take16(cur) % FUZZ_VM_DATA_SIZE;
		break;
	}
	d->len = mode & 8 ? fuzz_take32(cur) : fuzz_take16(cur);
	d->flags =
	    (u16)((mode & 1 ? FUZZ_DESC_F_WRITE : 0) | (mode & 0x10 ? FUZZ_DESC_F_INDIRECT : 0));
}

/* A chain of 1-8 descriptors on queue arg bits 0-1 (modulo the queue
 * count), made available once or, when the count byte's bit 7 is set,
 * 8 * (1 + bits 3-6) times (full rings); arg bit 2: notify; bit 3: through
 * an indirect table. */
static void fuzz_vm_step_chain(struct fuzz_vm *f, struct fuzz_cursor *cur, u8 arg)
{
	struct fuzz_desc d[8];
	u8 count = fuzz_take8(cur);
	unsigned n = 1 + count % 8, q = (arg & 3) % f->nr_queues;
	unsigned copies = count & 0x80 ? 8 * (1 + (count >> 3 & 15)) : 1;
	gpa_t table = 0;

	if (arg & 8)
		table = FUZZ_VM_DATA + ALIGN_DOWN(fuzz_take16(cur) % (FUZZ_VM_DATA_SIZE - 128), 16);
	for (unsigned i = 0; i < n; i++)
		fuzz_vm_desc(cur, &d[i]);
	for (unsigned k = 0; k < copies; k++)
		fuzz_vm_add_chain(f, q, d, n, arg & 8, table);
	if (arg & 4)
		fuzz_vm_notify(f, q);
}

static void fuzz_vm_step_mem(struct fuzz_vm *f, struct fuzz_cursor *cur)
{
	gpa_t gpa = fuzz_take16(cur) % FUZZ_VM_AREA;
	size_t len;
	const u8 *src = fuzz_take_bytes(cur, 1 + fuzz_take8(cur), &len);

	guest_mem_write(&f->m->mem, gpa, src, MIN(len, FUZZ_VM_AREA - gpa));
}

static void fuzz_vm_snapshot(struct fuzz_vm *f)
{
	f->broken = fuzz_vm_read(f, R_STATUS, 4) & VIRTIO_STATUS_NEEDS_RESET;
	for (unsigned q = 0; q < f->nr_queues; q++)
		f->used_before[q] = virtio_mmio_queue(f->vm, q)->used_idx;
}

/* Whether queue q's used ring shares bytes with another queue's, which
 * the device writes too (indexes, elements, avail_event). */
static bool fuzz_vm_used_shared(struct fuzz_vm *f, unsigned q)
{
	const struct virtq *a = virtio_mmio_queue(f->vm, q);

	for (unsigned i = 0; i < f->nr_queues; i++) {
		const struct virtq *b = virtio_mmio_queue(f->vm, i);

		if (i != q && b->size && a->used < b->used + 6 + 8 * (u64)b->size &&
		    b->used < a->used + 6 + 8 * (u64)a->size)
			return true;
	}
	return false;
}

/* After a step in which only the device acted on its queues: nothing is
 * pushed while it needs a reset, never more elements than the ring held,
 * and (for devices that leave buffers alone) each element names a head. */
static void fuzz_vm_check(struct fuzz_vm *f)
{
	const struct guest_mem *mem = &f->m->mem;

	for (unsigned q = 0; q < f->nr_queues; q++) {
		const struct virtq *vq = virtio_mmio_queue(f->vm, q);
		u16 n = (u16)(vq->used_idx - f->used_before[q]);

		if (!n)
			continue;
		/* + 1: a buffer held from an earlier step (balloon statistics) */
		if (f->broken || !vq->size || n > vq->size + 1u)
			abort();
		if (!f->dev->check_used || fuzz_vm_used_shared(f, q))
			continue;
		for (u16 i = 0; i < n; i++) {
			u16 slot = (u16)(f->used_before[q] + i) % vq->size;
			const u8 *e = guest_mem_ptr(mem, vq->used + 4 + 8 * (u64)slot, 8);
			u32 id, len;

			if (!e)
				abort(); /* validated at QueueReady */
			memcpy(&id, e, 4);
			memcpy(&len, e + 4, 4);
			if (id >= vq->size)
				abort();
			f->dev->check_used(f, q, id, len);
		}
	}
}

/*
 * Each step is an opcode byte (bits 0-3 the step, bits 4-7 its argument)
 * and the step's operands:
 *   0     driver initialisation (fuzz_vm_step_init)
 *   1     register/config write (fuzz_vm_offset) of a 32- or 64-bit value
 *   2     register/config read
 *   3     guest memory write: le16 address, length - 1, bytes
 *   4, 5  a descriptor chain (fuzz_vm_step_chain)
 *   6     QueueNotify: a queue byte (arg bit 0: a raw 32-bit value)
 *   7     serve the event loop
 *   8     read InterruptStatus and acknowledge it (arg bit 0: a raw value)
 *   9     reset (arg bit 0: a raw status byte instead of 0)
 *   10-15 the device's own step, or the event loop without one
 */
void fuzz_vm_play(struct fuzz_vm *f, struct fuzz_cursor *cur)
{
	for (unsigned steps = 0; cur->left && steps < FUZZ_VM_MAX_STEPS; steps++) {
		u8 op = fuzz_take8(cur), arg = op >> 4;
		bool only_device = false; /* the step cannot move used_idx itself */
		unsigned size;
		u32 off, v;

		fuzz_vm_snapshot(f);
		switch (op & 15) {
		case 0:
			fuzz_vm_step_init(f, cur);
			break;
		case 1:
			off = fuzz_vm_offset(cur, arg, &size);
			fuzz_vm_write(f, off, size,
				      size == 8 ? fuzz_take64(cur) : fuzz_take32(cur));
			break;
		case 2:
			off = fuzz_vm_offset(cur, arg, &size);
			fuzz_vm_read(f, off, size);
			break;
		case 3:
			fuzz_vm_step_mem(f, cur);
			break;
		case 4:
		case 5:
			fuzz_vm_step_chain(f, cur, arg);
			only_device = true;
			break;
		case 6:
			v = arg & 1 ? fuzz_take32(cur) : fuzz_take8(cur) % (f->nr_queues + 1);
			fuzz_vm_write(f, R_QUEUE_NOTIFY, 4, v);
			fuzz_vm_run_loop(f);
			only_device = true;
			break;
		case 8:
			v = arg & 1 ? fuzz_take32(cur)
				    : (u32)fuzz_vm_read(f, R_INTERRUPT_STATUS, 4);
			fuzz_vm_write(f, R_INTERRUPT_ACK, 4, v);
			break;
		case 9:
			fuzz_vm_write(f, R_STATUS, 4, arg & 1 ? fuzz_take8(cur) : 0);
			break;
		case 7:
		default:
			if ((op & 15) >= 10 && f->dev->step)
				f->dev->step(f, cur, op);
			else
				fuzz_vm_run_loop(f);
			only_device = true;
			break;
		}
		if (only_device)
			fuzz_vm_check(f);
	}
	/* Whatever the last step left pending. */
	fuzz_vm_snapshot(f);
	fuzz_vm_run_loop(f);
	fuzz_vm_check(f);
}
