/* Unit tests of the virtio-mmio transport (src/virtio/mmio.c): registers,
 * feature negotiation, the status state machine, queues, interrupts, reset. */
#include <errno.h>
#include <stdlib.h>

#include "core/machine.h"
#include "test.h"
#include "virtio/virtio.h"

#define BASE LAYOUT_VIRTIO_MMIO_BASE
#define GSI  LAYOUT_VIRTIO_GSI_BASE

struct fake_dev {
	unsigned activated, notified, resets, last_q;
	u64 features;
	u8 config[12];
	bool fail_activate;
};

struct fix {
	struct machine *m;
	struct virtio_mmio *vm;
	struct fake_dev dev;
	bool level[32];
	unsigned irq_calls;
};

static void fake_irq(void *opaque, unsigned gsi, bool level)
{
	struct fix *f = opaque;

	if (gsi < 32)
		f->level[gsi] = level;
	f->irq_calls++;
}

static void dev_config_read(void *opaque, u32 off, void *buf, u32 len)
{
	struct fake_dev *d = opaque;
	memcpy(buf, d->config + off, len);
}

static void dev_config_write(void *opaque, u32 off, const void *buf, u32 len)
{
	struct fake_dev *d = opaque;
	memcpy(d->config + off, buf, len);
}

static int dev_activate(void *opaque, u64 features)
{
	struct fake_dev *d = opaque;
	d->activated++;
	d->features = features;
	return d->fail_activate ? -EIO : 0;
}

static void dev_notify(void *opaque, unsigned q)
{
	struct fake_dev *d = opaque;
	d->notified++;
	d->last_q = q;
}

static void dev_reset(void *opaque)
{
	struct fake_dev *d = opaque;
	d->resets++;
}

static const struct virtio_dev_ops fake_ops = {
    .name = "fake",
    .device_id = 42,
    .features = 1ULL << 3 | 1ULL << 40,
    .nr_queues = 2,
    .queue_max = 64,
    .config_size = sizeof(((struct fake_dev *)0)->config),
    .config_read = dev_config_read,
    .config_write = dev_config_write,
    .activate = dev_activate,
    .notify = dev_notify,
    .reset = dev_reset,
};

static void fix_init(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	f->m = calloc(1, sizeof(*f->m));
	pthread_mutex_init(&f->m->dev_lock, NULL);
	bus_init(&f->m->mmio, "mmio", &f->m->dev_lock);
	CHECK_EQ(guest_mem_init(&f->m->mem, 4 * MiB), 0);
	f->m->irq.set = fake_irq;
	f->m->irq.opaque = f;
	CHECK_EQ(virtio_mmio_create(f->m, &fake_ops, &f->dev, &f->vm), 0);
}

static void fix_fini(struct fix *f)
{
	virtio_mmio_destroy(f->vm);
	guest_mem_destroy(&f->m->mem);
	pthread_mutex_destroy(&f->m->dev_lock);
	free(f->m);
}

static u32 rd(struct fix *f, u32 off)
{
	u64 v = 0;
	CHECK(bus_read(&f->m->mmio, BASE + off, 4, &v));
	return (u32)v;
}

static void wr(struct fix *f, u32 off, u32 v)
{
	CHECK(bus_write(&f->m->mmio, BASE + off, 4, v));
}

/* Driver initialisation up to FEATURES_OK (3.1.1) with the given features. */
static u32 negotiate(struct fix *f, u64 features)
{
	wr(f, 0x70, 0);
	wr(f, 0x70, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(f, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(f, 0x24, 0);
	wr(f, 0x20, (u32)features);
	wr(f, 0x24, 1);
	wr(f, 0x20, (u32)(features >> 32));
	wr(f, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return rd(f, 0x70);
}

static void setup_queue(struct fix *f, unsigned q, u32 num, u64 desc, u64 avail, u64 used)
{
	wr(f, 0x30, q);
	wr(f, 0x38, num);
	wr(f, 0x80, (u32)desc);
	wr(f, 0x84, (u32)(desc >> 32));
	wr(f, 0x90, (u32)avail);
	wr(f, 0x94, (u32)(avail >> 32));
	wr(f, 0xa0, (u32)used);
	wr(f, 0xa4, (u32)(used >> 32));
	wr(f, 0x44, 1);
}

#define ALL_OK                                                                                     \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |            \
	 VIRTIO_STATUS_DRIVER_OK)
#define V1 (1ULL << VIRTIO_F_VERSION_1)

static void test_identity(void)
{
	struct fix f;
	u64 v;

	fix_init(&f);
	CHECK_EQ(f.m->nr_virtio_slots, 1);
	CHECK_EQ(f.m->virtio_slots[0].base, BASE);
	CHECK_EQ(f.m->virtio_slots[0].size, 0x1000);
	CHECK_EQ(f.m->virtio_slots[0].gsi, GSI);
	CHECK_EQ(rd(&f, 0), 0x74726976);
	CHECK_EQ(rd(&f, 4), 2);
	CHECK_EQ(rd(&f, 8), 42);
	CHECK_EQ(rd(&f, 0xc), 0x4b504f50);
	wr(&f, 0x14, 0);
	CHECK_EQ(rd(&f, 0x10), 1u << 3 | 1u << VIRTIO_F_INDIRECT_DESC | 1u << VIRTIO_F_EVENT_IDX);
	wr(&f, 0x14, 1);
	CHECK_EQ(rd(&f, 0x10), 1u << 8 | 1u << 0);
	wr(&f, 0x14, 2);
	CHECK_EQ(rd(&f, 0x10), 0);
	wr(&f, 0x30, 1);
	CHECK_EQ(rd(&f, 0x34), 64);
	wr(&f, 0x30, 2);
	CHECK_EQ(rd(&f, 0x34), 0);
	CHECK_EQ(rd(&f, 0xb0), 0xffffffff); /* no shared memory */
	/* Non-32-bit register accesses are ignored. */
	CHECK(bus_read(&f.m->mmio, BASE, 2, &v));
	CHECK_EQ(v, 0);
	CHECK(bus_read(&f.m->mmio, BASE + 2, 4, &v));
	CHECK_EQ(v, 0);
	CHECK(bus_write(&f.m->mmio, BASE + 0x70, 1, 1));
	CHECK_EQ(rd(&f, 0x70), 0);
	fix_fini(&f);
}

static void test_config_space(void)
{
	struct fix f;
	u64 v;

	fix_init(&f);
	for (unsigned i = 0; i < 12; i++)
		f.dev.config[i] = (u8)(0x10 + i);
	CHECK(bus_read(&f.m->mmio, BASE + 0x100, 1, &v));
	CHECK_EQ(v, 0x10);
	CHECK(bus_read(&f.m->mmio, BASE + 0x102, 2, &v));
	CHECK_EQ(v, 0x1312);
	CHECK(bus_read(&f.m->mmio, BASE + 0x104, 4, &v));
	CHECK_EQ(v, 0x17161514);
	CHECK(bus_read(&f.m->mmio, BASE + 0x104, 8, &v));
	CHECK_EQ(v, 0x1b1a191817161514ULL);
	CHECK(bus_read(&f.m->mmio, BASE + 0x10a, 4, &v)); /* straddles the end */
	CHECK_EQ(v, 0);
	CHECK(bus_read(&f.m->mmio, BASE + 0x200, 4, &v));
	CHECK_EQ(v, 0);
	CHECK(bus_write(&f.m->mmio, BASE + 0x101, 1, 0xAA));
	CHECK_EQ(f.dev.config[1], 0xAA);
	CHECK(bus_write(&f.m->mmio, BASE + 0x10b, 2, 0xBBBB)); /* past the end: dropped */
	CHECK_EQ(f.dev.config[11], 0x1b);
	fix_fini(&f);
}

static void test_features(void)
{
	struct fix f;

	fix_init(&f);
	CHECK(negotiate(&f, V1 | 1ULL << 3) & VIRTIO_STATUS_FEATURES_OK);
	/* Not offered. */
	CHECK(!(negotiate(&f, V1 | 1ULL << 4) & VIRTIO_STATUS_FEATURES_OK));
	/* Without VERSION_1 (legacy drivers are not supported). */
	CHECK(!(negotiate(&f, 1ULL << 3) & VIRTIO_STATUS_FEATURES_OK));
	/* A feature word above 1. */
	negotiate(&f, V1);
	wr(&f, 0x70, 0);
	wr(&f, 0x70, 3);
	wr(&f, 0x24, 1);
	wr(&f, 0x20, 1);
	wr(&f, 0x24, 5);
	wr(&f, 0x20, 1);
	wr(&f, 0x70, 11);
	CHECK_EQ(rd(&f, 0x70), 3);
	/* Features after FEATURES_OK are ignored. */
	CHECK(negotiate(&f, V1) & VIRTIO_STATUS_FEATURES_OK);
	wr(&f, 0x24, 0);
	wr(&f, 0x20, 1u << 3);
	wr(&f, 0x70, ALL_OK);
	CHECK_EQ(f.dev.activated, 1);
	CHECK_EQ(f.dev.features, V1);
	/* DRIVER_OK without FEATURES_OK is refused. */
	wr(&f, 0x70, 0);
	wr(&f, 0x70, 3);
	wr(&f, 0x70, 3 | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(&f, 0x70), 3);
	CHECK_EQ(f.dev.activated, 1);
	/* Clearing a bit other than by reset is ignored. */
	wr(&f, 0x70, 1);
	CHECK_EQ(rd(&f, 0x70), 3);
	fix_fini(&f);
}

static void test_queues_and_interrupts(void)
{
	struct fix f;
	struct virtq *q;
	struct virtq_elem *e = malloc(sizeof(*e));
	const char *why = NULL;

	fix_init(&f);
	CHECK(negotiate(&f, V1 | 1ULL << VIRTIO_F_EVENT_IDX) & VIRTIO_STATUS_FEATURES_OK);
	setup_queue(&f, 1, 16, 0x10000, 0x11000, 0x12000);
	CHECK_EQ(rd(&f, 0x44), 1);
	CHECK_EQ(rd(&f, 0x38), 16);
	CHECK_EQ(rd(&f, 0x80), 0x10000);
	/* Address writes while ready are ignored. */
	wr(&f, 0x80, 0x20000);
	CHECK_EQ(rd(&f, 0x80), 0x10000);
	wr(&f, 0x50, 1); /* before DRIVER_OK: not forwarded */
	CHECK_EQ(f.dev.notified, 0);
	wr(&f, 0x70, ALL_OK);
	CHECK_EQ(f.dev.activated, 1);
	q = virtio_mmio_queue(f.vm, 1);
	CHECK(q && q->ready && q->event_idx && !q->indirect);
	CHECK(virtio_mmio_queue(f.vm, 2) == NULL);
	wr(&f, 0x50, 1);
	CHECK_EQ(f.dev.notified, 1);
	CHECK_EQ(f.dev.last_q, 1);
	wr(&f, 0x50, 0); /* queue 0 is not ready */
	wr(&f, 0x50, 7);
	CHECK_EQ(f.dev.notified, 1);

	/* One request through queue 1: pop, push, interrupt, ack. */
	u8 *desc = guest_mem_ptr(&f.m->mem, 0x10000, 16);
	u64 addr = 0x30000;
	u32 len = 8;
	u16 fl = 2, *avail = guest_mem_ptr(&f.m->mem, 0x11000, 40);
	memcpy(desc, &addr, 8);
	memcpy(desc + 8, &len, 4);
	memcpy(desc + 12, &fl, 2);
	avail[2] = 0;
	avail[1] = 1;
	CHECK_EQ(virtq_pop(q, virtio_mmio_mem(f.vm), e, &why), 1);
	CHECK_EQ(virtq_push(q, virtio_mmio_mem(f.vm), e->head, 8), 0);
	CHECK(!f.level[GSI]);
	virtio_mmio_signal_used(f.vm, 1);
	CHECK(f.level[GSI]);
	CHECK_EQ(rd(&f, 0x60), 1);
	wr(&f, 0x64, 1);
	CHECK_EQ(rd(&f, 0x60), 0);
	CHECK(!f.level[GSI]);
	/* Config change. */
	u32 gen = rd(&f, 0xfc);
	virtio_mmio_signal_config(f.vm);
	CHECK_EQ(rd(&f, 0xfc), gen + 1);
	CHECK_EQ(rd(&f, 0x60), 2);
	CHECK(f.level[GSI]);
	wr(&f, 0x64, 3);
	CHECK(!f.level[GSI]);
	/* Reset clears everything and tells the device. */
	virtio_mmio_signal_used(f.vm, 1); /* nothing new pushed: no interrupt */
	CHECK(!f.level[GSI]);
	wr(&f, 0x70, 0);
	CHECK_EQ(f.dev.resets >= 1, 1);
	CHECK_EQ(rd(&f, 0x70), 0);
	wr(&f, 0x30, 1);
	CHECK_EQ(rd(&f, 0x44), 0);
	CHECK_EQ(rd(&f, 0x80), 0);
	CHECK(!q->ready);
	free(e);
	fix_fini(&f);
}

static void test_needs_reset(void)
{
	struct fix f;
	struct virtq *q;
	struct virtq_elem *e = malloc(sizeof(*e));
	const char *why = NULL;

	fix_init(&f);
	negotiate(&f, V1);
	setup_queue(&f, 0, 8, 0x10000, 0x11000, 0x12000);
	wr(&f, 0x70, ALL_OK);
	q = virtio_mmio_queue(f.vm, 0);
	virtio_mmio_needs_reset(f.vm, "test breakage");
	CHECK_EQ(rd(&f, 0x70), ALL_OK | VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(rd(&f, 0x60), 2);
	CHECK(f.level[GSI]);
	CHECK_EQ(rd(&f, 0x44), 1); /* the register keeps what the driver wrote */
	u16 *avail = guest_mem_ptr(&f.m->mem, 0x11000, 8);
	avail[1] = 1;
	CHECK_EQ(virtq_pop(q, virtio_mmio_mem(f.vm), e, &why), 0);
	wr(&f, 0x50, 0);
	CHECK_EQ(f.dev.notified, 0);
	/* A driver's status write keeps NEEDS_RESET. */
	wr(&f, 0x70, ALL_OK | VIRTIO_STATUS_FAILED);
	CHECK(rd(&f, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
	/* Reset and set up again: working. */
	wr(&f, 0x70, 0);
	CHECK_EQ(rd(&f, 0x70), 0);
	CHECK(!f.level[GSI]);
	negotiate(&f, V1);
	setup_queue(&f, 0, 8, 0x10000, 0x11000, 0x12000);
	wr(&f, 0x70, ALL_OK);
	wr(&f, 0x50, 0);
	CHECK_EQ(f.dev.notified, 1);

	/* Bad queue configuration at QueueReady: needs reset, queue not ready. */
	wr(&f, 0x70, 0);
	negotiate(&f, V1);
	setup_queue(&f, 0, 8, 0x10008, 0x11000, 0x12000);
	CHECK(rd(&f, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(rd(&f, 0x44), 0);
	wr(&f, 0x70, 0);
	negotiate(&f, V1);
	setup_queue(&f, 0, 128, 0x10000, 0x11000, 0x12000); /* above QueueNumMax */
	CHECK(rd(&f, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
	wr(&f, 0x70, 0);
	negotiate(&f, V1);
	setup_queue(&f, 0, 8, 0x10000, 0x11000, 0xC0000000ULL); /* used ring in the hole */
	CHECK(rd(&f, 0x70) & VIRTIO_STATUS_NEEDS_RESET);

	/* Activation failure. */
	wr(&f, 0x70, 0);
	f.dev.fail_activate = true;
	negotiate(&f, V1);
	setup_queue(&f, 0, 8, 0x10000, 0x11000, 0x12000);
	wr(&f, 0x70, ALL_OK);
	CHECK(rd(&f, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
	free(e);
	fix_fini(&f);
}

static void test_slots_and_cmdline(void)
{
	struct fix f;
	struct virtio_mmio *more[LAYOUT_VIRTIO_MMIO_MAX];
	char buf[512] = "console=ttyS0";
	unsigned n = 0;

	fix_init(&f);
	for (unsigned i = 1; i < LAYOUT_VIRTIO_MMIO_MAX; i++)
		CHECK_EQ(virtio_mmio_create(f.m, &fake_ops, &f.dev, &more[n++]), 0);
	CHECK_EQ(f.m->nr_virtio_slots, LAYOUT_VIRTIO_MMIO_MAX);
	CHECK_EQ(f.m->virtio_slots[12].base, BASE + 12 * 0x1000);
	CHECK_EQ(f.m->virtio_slots[12].gsi, GSI + 12);
	struct virtio_mmio *none = (struct virtio_mmio *)1;
	CHECK_EQ(virtio_mmio_create(f.m, &fake_ops, &f.dev, &none), -ENOSPC);
	CHECK(none == NULL);
	f.m->nr_virtio_slots = 2;
	CHECK_EQ(virtio_mmio_cmdline(f.m, buf, sizeof(buf)), 72);
	CHECK(!strcmp(buf, "console=ttyS0 virtio_mmio.device=4K@0xd0000000:11"
			   " virtio_mmio.device=4K@0xd0001000:12"));
	char small[20] = "abc";
	CHECK_EQ(virtio_mmio_cmdline(f.m, small, sizeof(small)), -ENOSPC);
	CHECK(!strcmp(small, "abc"));
	for (unsigned i = 0; i < n; i++)
		virtio_mmio_destroy(more[i]);
	fix_fini(&f);
}

int main(void)
{
	TEST_RUN(test_identity);
	TEST_RUN(test_config_space);
	TEST_RUN(test_features);
	TEST_RUN(test_queues_and_interrupts);
	TEST_RUN(test_needs_reset);
	TEST_RUN(test_slots_and_cmdline);
	return test_done();
}
