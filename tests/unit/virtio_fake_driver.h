/* A fake virtio-mmio driver for device unit tests: a machine with guest RAM,
 * an MMIO bus, an event loop thread and an interrupt counter; driver
 * initialisation through the real transport registers (virtio 1.2 section
 * 4.2.3) and split virtqueues laid out in guest RAM (section 2.7). */
#ifndef POPEK_VIRTIO_FAKE_DRIVER_H
#define POPEK_VIRTIO_FAKE_DRIVER_H

#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "core/machine.h"
#include "core/snap_codec.h"
#include "test.h"
#include "virtio/virtio.h"

#define FD_RAM          (16 * MiB)
#define FD_DESC_F_NEXT  1
#define FD_DESC_F_WRITE 2

struct fd_queue {
	u16 size;
	gpa_t desc, avail, used;
	u16 avail_idx, used_seen, next_desc;
};

struct fd_machine {
	struct machine *m;
	pthread_t loop_thread;
	bool loop_running;
	_Atomic unsigned irqs;
};

struct fd_driver {
	struct fd_machine *fm;
	u64 base;
	struct fd_queue q[VIRTIO_MAX_QUEUES];
	gpa_t bump; /* next free guest RAM for rings and buffers */
};

static inline void fd_irq(void *opaque, unsigned gsi, bool level)
{
	struct fd_machine *fm = opaque;

	(void)gsi;
	if (level)
		fm->irqs++;
}

static inline void *fd_loop_main(void *arg)
{
	event_loop_run(arg);
	return NULL;
}

static inline void fd_machine_init(struct fd_machine *fm)
{
	memset(fm, 0, sizeof(*fm));
	fm->m = calloc(1, sizeof(*fm->m));
	pthread_mutex_init(&fm->m->dev_lock, NULL);
	bus_init(&fm->m->mmio, "mmio", &fm->m->dev_lock);
	CHECK_EQ(guest_mem_init(&fm->m->mem, FD_RAM), 0);
	CHECK_EQ(event_loop_init(&fm->m->loop), 0);
	fm->m->irq.set = fd_irq;
	fm->m->irq.opaque = fm;
	fm->m->cfg.mem_size = FD_RAM;
}

/* Starts the event loop thread (after the devices registered their fds). */
static inline void fd_machine_start(struct fd_machine *fm)
{
	CHECK_EQ(pthread_create(&fm->loop_thread, NULL, fd_loop_main, &fm->m->loop), 0);
	fm->loop_running = true;
}

static inline void fd_machine_stop(struct fd_machine *fm)
{
	if (fm->loop_running) {
		event_loop_quit(&fm->m->loop);
		pthread_join(fm->loop_thread, NULL);
		fm->loop_running = false;
	}
}

static inline void fd_machine_fini(struct fd_machine *fm)
{
	fd_machine_stop(fm);
	event_loop_destroy(&fm->m->loop);
	guest_mem_destroy(&fm->m->mem);
	pthread_mutex_destroy(&fm->m->dev_lock);
	free(fm->m);
}

static inline void *fd_ptr(struct fd_driver *d, gpa_t gpa, u64 len)
{
	return guest_mem_ptr(&d->fm->m->mem, gpa, len);
}

static inline u32 fd_rd(struct fd_driver *d, u32 off)
{
	u64 v = 0;

	CHECK(bus_read(&d->fm->m->mmio, d->base + off, 4, &v));
	return (u32)v;
}

static inline void fd_wr(struct fd_driver *d, u32 off, u32 v)
{
	CHECK(bus_write(&d->fm->m->mmio, d->base + off, 4, v));
}

static inline u64 fd_cfg_read(struct fd_driver *d, u32 off, unsigned size)
{
	u64 v = 0;

	CHECK(bus_read(&d->fm->m->mmio, d->base + 0x100 + off, size, &v));
	return v;
}

static inline void fd_cfg_write(struct fd_driver *d, u32 off, unsigned size, u64 v)
{
	CHECK(bus_write(&d->fm->m->mmio, d->base + 0x100 + off, size, v));
}

/* Guest RAM for buffers, from 1 MiB up (rings and buffers never overlap). */
static inline gpa_t fd_alloc(struct fd_driver *d, u64 len)
{
	gpa_t g = d->bump;

	d->bump = ALIGN_UP(d->bump + len, 64);
	CHECK(d->bump < FD_RAM);
	return g;
}

/* Initialises the device in slot `slot` with the device features `want`
 * (VERSION_1 is added) and nq queues of qsize entries; ends at DRIVER_OK.
 * Returns the device features offered. */
static inline u64 fd_driver_init(struct fd_driver *d, struct fd_machine *fm, unsigned slot,
				 u64 want, unsigned nq, u16 qsize)
{
	u64 offered;
	u64 f = want | 1ull << VIRTIO_F_VERSION_1;

	memset(d, 0, sizeof(*d));
	d->fm = fm;
	d->base = LAYOUT_VIRTIO_MMIO_BASE + slot * LAYOUT_VIRTIO_MMIO_SIZE;
	d->bump = 1 * MiB + slot * 2 * MiB;
	CHECK_EQ(fd_rd(d, 0), 0x74726976);
	fd_wr(d, 0x70, 0);
	fd_wr(d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE);
	fd_wr(d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fd_wr(d, 0x14, 0);
	offered = fd_rd(d, 0x10);
	fd_wr(d, 0x14, 1);
	offered |= (u64)fd_rd(d, 0x10) << 32;
	fd_wr(d, 0x24, 0);
	fd_wr(d, 0x20, (u32)f);
	fd_wr(d, 0x24, 1);
	fd_wr(d, 0x20, (u32)(f >> 32));
	fd_wr(d, 0x70,
	      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	CHECK(fd_rd(d, 0x70) & VIRTIO_STATUS_FEATURES_OK);
	for (unsigned i = 0; i < nq; i++) {
		struct fd_queue *q = &d->q[i];

		q->size = qsize;
		q->desc = fd_alloc(d, 16 * (u64)qsize);
		q->avail = fd_alloc(d, 6 + 2 * (u64)qsize);
		q->used = fd_alloc(d, 6 + 8 * (u64)qsize);
		memset(fd_ptr(d, q->desc, 16 * (u64)qsize), 0, 16 * (u64)qsize);
		memset(fd_ptr(d, q->avail, 6 + 2 * (u64)qsize), 0, 6 + 2 * (u64)qsize);
		memset(fd_ptr(d, q->used, 6 + 8 * (u64)qsize), 0, 6 + 8 * (u64)qsize);
		fd_wr(d, 0x30, i);
		fd_wr(d, 0x38, qsize);
		fd_wr(d, 0x80, (u32)q->desc);
		fd_wr(d, 0x84, 0);
		fd_wr(d, 0x90, (u32)q->avail);
		fd_wr(d, 0x94, 0);
		fd_wr(d, 0xa0, (u32)q->used);
		fd_wr(d, 0xa4, 0);
		fd_wr(d, 0x44, 1);
	}
	fd_wr(d, 0x70,
	      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		  VIRTIO_STATUS_DRIVER_OK);
	return offered;
}

struct fd_buf {
	gpa_t gpa;
	u32 len;
	bool write; /* device-writable */
};

/* Makes a chain of n buffers available on queue qi (without notifying).
 * Returns its head. */
static inline u16 fd_add(struct fd_driver *d, unsigned qi, const struct fd_buf *b, unsigned n)
{
	struct fd_queue *q = &d->q[qi];
	u16 head = q->next_desc, idx = head;
	u16 *avail = fd_ptr(d, q->avail, 6 + 2 * (u64)q->size);

	for (unsigned i = 0; i < n; i++) {
		u8 *desc = fd_ptr(d, q->desc + 16 * (u64)idx, 16);
		u16 next = (u16)((idx + 1) % q->size);
		u16 flags =
		    (u16)((b[i].write ? FD_DESC_F_WRITE : 0) | (i + 1 < n ? FD_DESC_F_NEXT : 0));

		memcpy(desc, &b[i].gpa, 8);
		memcpy(desc + 8, &b[i].len, 4);
		memcpy(desc + 12, &flags, 2);
		memcpy(desc + 14, &next, 2);
		idx = next;
	}
	q->next_desc = idx;
	avail[2 + q->avail_idx % q->size] = head;
	__atomic_store_n(&avail[1], (u16)(q->avail_idx + 1), __ATOMIC_RELEASE);
	q->avail_idx++;
	return head;
}

static inline void fd_kick(struct fd_driver *d, unsigned qi)
{
	fd_wr(d, 0x50, qi);
}

/* Takes the next used element of queue qi; waits up to ms milliseconds. */
static inline bool fd_used(struct fd_driver *d, unsigned qi, u32 *id, u32 *len, int ms)
{
	struct fd_queue *q = &d->q[qi];
	const u8 *used = fd_ptr(d, q->used, 6 + 8 * (u64)q->size);
	const struct timespec tick = {0, 1000 * 1000};

	for (int t = 0;; t++) {
		u16 idx = __atomic_load_n((const u16 *)(used + 2), __ATOMIC_ACQUIRE);

		if (idx != q->used_seen)
			break;
		if (t >= ms)
			return false;
		nanosleep(&tick, NULL);
	}
	memcpy(id, used + 4 + 8 * (q->used_seen % q->size), 4);
	memcpy(len, used + 8 + 8 * (q->used_seen % q->size), 4);
	q->used_seen++;
	return true;
}

static inline u32 fd_status(struct fd_driver *d)
{
	return fd_rd(d, 0x70);
}

/* How many of the n 4 KiB pages of guest RAM at gpa the host holds (the
 * balloon's tests: pages given back are not resident). */
static inline unsigned fd_resident(struct fd_driver *d, gpa_t gpa, unsigned n)
{
	unsigned char vec[256];
	unsigned count = 0;

	CHECK(n <= sizeof(vec));
	CHECK_EQ(mincore(fd_ptr(d, gpa, (u64)n * 4096), (size_t)n * 4096, vec), 0);
	for (unsigned i = 0; i < n; i++)
		count += vec[i] & 1;
	return count;
}

static inline void fd_sleep_ms(int ms)
{
	const struct timespec t = {ms / 1000, (ms % 1000) * 1000 * 1000};

	nanosleep(&t, NULL);
}

/* Waits up to a second for bit in the device status (NEEDS_RESET). */
static inline void fd_wait_status(struct fd_driver *d, u32 bit)
{
	for (int i = 0; i < 1000 && !(fd_status(d) & bit); i++)
		fd_sleep_ms(1);
	CHECK(fd_status(d) & bit);
}

/* A device's saved state (transport and device, virtio_mmio_save) into o,
 * which the caller frees; it is never empty. */
static inline void fd_state_save(struct virtio_mmio *vm, struct snap_out *o)
{
	snap_out_init(o);
	CHECK_EQ(virtio_mmio_save(vm, o), 0);
	CHECK(o->len > 0);
}

/* Loads len bytes of saved state into vm; the loader's reason into why. */
static inline int fd_state_load(struct virtio_mmio *vm, const void *p, size_t len, char *why,
				size_t why_len)
{
	struct snap_in in;
	int err;

	snap_in_init(&in, p, len);
	err = virtio_mmio_load(vm, &in);
	snprintf(why, why_len, "%s", in.why);
	return err;
}

#endif
