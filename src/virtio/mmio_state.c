/* Snapshots of a virtio-mmio device: quiescing its queues, and saving and
 * loading the transport's registers, its queues and the device's own state. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/machine.h"
#include "core/snap_codec.h"
#include "virtio/mmio_priv.h"

void virtio_mmio_quiesce(struct virtio_mmio *vm)
{
	pthread_mutex_lock(&vm->m->dev_lock);
	vm->held = true;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vm->q[i].held = true;
	if (vm->ops->quiesce)
		vm->ops->quiesce(vm->opaque);
	/* Devices that batch their interrupt checks (net, vsock) may have
	 * pushed without one yet: the saved InterruptStatus must include it,
	 * or the restored driver would wait for an interrupt that never comes. */
	for (unsigned i = 0; i < vm->ops->nr_queues; i++)
		if (vm->q[i].ready && vm->q[i].used_idx != vm->used_signalled[i])
			virtio_mmio_signal_used(vm, i);
	pthread_mutex_unlock(&vm->m->dev_lock);
}

void virtio_mmio_unquiesce(struct virtio_mmio *vm)
{
	pthread_mutex_lock(&vm->m->dev_lock);
	vm->held = false;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vm->q[i].held = false;
	if (vm->ops->unquiesce)
		vm->ops->unquiesce(vm->opaque);
	/* What the driver made available meanwhile, and host input that
	 * waited, are looked at again as after a notification. */
	if ((vm->status & VIRTIO_STATUS_DRIVER_OK) && !vm->broken && vm->ops->notify)
		for (unsigned i = 0; i < vm->ops->nr_queues; i++)
			if (vm->q[i].ready)
				vm->ops->notify(vm->opaque, i);
	pthread_mutex_unlock(&vm->m->dev_lock);
}

bool virtio_mmio_quiesced(const struct virtio_mmio *vm)
{
	return vm->held;
}

/* The saved state, in this order (the format's definition):
 *   u32 device id (virtio 1.2 section 5), u8 number of queues,
 *   u32 Status, u64 DriverFeatures, bool a feature bit above 63 was written,
 *   u32 DeviceFeaturesSel, u32 DriverFeaturesSel, u32 QueueSel, u32 SHMSel,
 *   u32 InterruptStatus, u32 ConfigGeneration,
 *   per queue: u16 QueueNum, bool QueueReady, u64 QueueDesc, u64 QueueDriver,
 *     u64 QueueDevice, u16 next available entry the device reads, u16 the
 *     device's used index, u16 used index at the last interrupt, bool that
 *     one is valid (EVENT_IDX, 2.7.10), bool notifications suppressed,
 *   u32 length of the device's own state, then that state (ops->save).
 * The EVENT_IDX and INDIRECT_DESC queue flags are not saved: they follow from
 * DriverFeatures. Taken after virtio_mmio_quiesce, so no request is in flight
 * and every interrupt owed is in InterruptStatus. */
int virtio_mmio_save(struct virtio_mmio *vm, struct snap_out *o)
{
	struct snap_out dev;
	int err = 0;

	snap_out_init(&dev);
	pthread_mutex_lock(&vm->m->dev_lock);
	snap_put_u32(o, vm->ops->device_id);
	snap_put_u8(o, (u8)vm->ops->nr_queues);
	snap_put_u32(o, vm->status);
	snap_put_u64(o, vm->driver_features);
	snap_put_bool(o, vm->features_bad);
	snap_put_u32(o, vm->dev_features_sel);
	snap_put_u32(o, vm->drv_features_sel);
	snap_put_u32(o, vm->queue_sel);
	snap_put_u32(o, vm->shm_sel);
	snap_put_u32(o, vm->isr);
	snap_put_u32(o, vm->config_gen);
	for (unsigned i = 0; i < vm->ops->nr_queues; i++) {
		const struct virtq *q = &vm->q[i];

		snap_put_u16(o, q->size);
		snap_put_bool(o, vm->queue_ready[i] != 0);
		snap_put_u64(o, q->desc);
		snap_put_u64(o, q->avail);
		snap_put_u64(o, q->used);
		snap_put_u16(o, q->last_avail);
		snap_put_u16(o, q->used_idx);
		snap_put_u16(o, q->signalled_used);
		snap_put_bool(o, q->signalled_valid);
		snap_put_bool(o, q->notify_off);
	}
	if (vm->ops->save)
		err = vm->ops->save(vm->opaque, &dev);
	pthread_mutex_unlock(&vm->m->dev_lock);
	snap_put_u32(o, (u32)dev.len);
	snap_put_bytes(o, dev.buf, dev.len);
	if (!err)
		err = dev.err ? dev.err : o->err;
	snap_out_free(&dev);
	return err;
}

/* Everything the load reads, applied only once all of it was checked. */
struct mmio_saved {
	u32 status, isr, config_gen;
	u64 driver_features;
	bool features_bad;
	u32 dev_features_sel, drv_features_sel, queue_sel, shm_sel;
	bool ready[VIRTIO_MAX_QUEUES];
	struct virtq q[VIRTIO_MAX_QUEUES];
};

static void mmio_read_saved(struct virtio_mmio *vm, struct snap_in *in, struct mmio_saved *s)
{
	u32 id = snap_get_u32(in);
	unsigned nq = snap_get_u8(in);

	if (!in->bad && id != vm->ops->device_id)
		snap_reject(in, "the state is of virtio device id %u, not %u", id,
			    vm->ops->device_id);
	if (!in->bad && nq != vm->ops->nr_queues)
		snap_reject(in, "the state has %u queues, the device %u", nq, vm->ops->nr_queues);
	s->status = snap_get_u32(in);
	s->driver_features = snap_get_u64(in);
	s->features_bad = snap_get_bool(in);
	s->dev_features_sel = snap_get_u32(in);
	s->drv_features_sel = snap_get_u32(in);
	s->queue_sel = snap_get_u32(in);
	s->shm_sel = snap_get_u32(in);
	s->isr = snap_get_u32(in);
	s->config_gen = snap_get_u32(in);
	for (unsigned i = 0; i < vm->ops->nr_queues && !in->bad; i++) {
		struct virtq *q = &s->q[i];

		q->size = snap_get_u16(in);
		s->ready[i] = snap_get_bool(in);
		q->desc = snap_get_u64(in);
		q->avail = snap_get_u64(in);
		q->used = snap_get_u64(in);
		q->last_avail = snap_get_u16(in);
		q->used_idx = snap_get_u16(in);
		q->signalled_used = snap_get_u16(in);
		q->signalled_valid = snap_get_bool(in);
		q->notify_off = snap_get_bool(in);
	}
}

/* The checks the registers make as the driver writes them (mmio.c), for a
 * state that arrives all at once. */
static void mmio_check_saved(struct virtio_mmio *vm, struct snap_in *in, const struct mmio_saved *s)
{
	u32 st = s->status;

	if (st & ~(u32)(STATUS_DRIVER_BITS | VIRTIO_STATUS_NEEDS_RESET))
		snap_reject(in, "status %#x has unknown bits", st);
	/* 3.1.1: FEATURES_OK after DRIVER, DRIVER_OK after FEATURES_OK. */
	if ((st & VIRTIO_STATUS_FEATURES_OK) && !(st & VIRTIO_STATUS_DRIVER))
		snap_reject(in, "status %#x has FEATURES_OK without DRIVER", st);
	if ((st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_FEATURES_OK))
		snap_reject(in, "status %#x has DRIVER_OK without FEATURES_OK", st);
	/* Before FEATURES_OK the driver may have written anything: the device
	 * refuses it when FEATURES_OK is set, as it would have live. */
	if (st & VIRTIO_STATUS_FEATURES_OK) {
		if (s->driver_features & ~vm->offered)
			snap_reject(in, "driver features %#llx not offered (offered: %#llx)",
				    (unsigned long long)(s->driver_features & ~vm->offered),
				    (unsigned long long)vm->offered);
		if (!(s->driver_features >> VIRTIO_F_VERSION_1 & 1) || s->features_bad)
			snap_reject(in, "driver features %#llx accepted without VERSION_1",
				    (unsigned long long)s->driver_features);
	}
	if (s->isr & ~(u32)(VIRTIO_INT_USED | VIRTIO_INT_CONFIG))
		snap_reject(in, "interrupt status %#x has unknown bits", s->isr);
	for (unsigned i = 0; i < vm->ops->nr_queues; i++) {
		const struct virtq *q = &s->q[i];
		const char *why = NULL;

		if (!s->ready[i])
			continue; /* the driver may leave anything in a queue not ready */
		if (q->size > vm->ops->queue_max)
			snap_reject(in, "queue %u size %u is above its maximum %u", i, q->size,
				    vm->ops->queue_max);
		else if (virtq_validate(q, &vm->m->mem, &why) < 0)
			snap_reject(in, "queue %u: %s", i, why);
		else if ((u16)(q->last_avail - q->used_idx) > q->size)
			snap_reject(in, "queue %u has %u requests in flight, more than its size %u",
				    i, (u16)(q->last_avail - q->used_idx), q->size);
	}
}

/* The device's own state: a length, then exactly that many bytes. */
static void mmio_load_device(struct virtio_mmio *vm, struct snap_in *in)
{
	u32 len = snap_get_u32(in);
	struct snap_in dev;

	if (in->bad)
		return;
	if (len > in->len - in->pos) {
		snap_reject(in, "truncated: the device state has %zu of its %u bytes",
			    in->len - in->pos, len);
		return;
	}
	if (len < in->len - in->pos) {
		snap_reject(in, "%zu bytes left over after the state", in->len - in->pos - len);
		return;
	}
	if (!vm->ops->load) {
		if (len)
			snap_reject(in, "%u bytes of device state; this device has none", len);
		return;
	}
	snap_in_init(&dev, in->p + in->pos, len);
	if (vm->ops->load(vm->opaque, &dev) < 0 || snap_in_end(&dev) < 0) {
		snap_reject(in, "%s", dev.why[0] ? dev.why : "device state refused");
		return;
	}
	in->pos += len;
}

static void mmio_apply_saved(struct virtio_mmio *vm, const struct mmio_saved *s)
{
	vm->status = s->status;
	vm->broken = s->status & VIRTIO_STATUS_NEEDS_RESET;
	vm->driver_features = s->driver_features;
	vm->features_bad = s->features_bad;
	vm->dev_features_sel = s->dev_features_sel;
	vm->drv_features_sel = s->drv_features_sel;
	vm->queue_sel = s->queue_sel;
	vm->shm_sel = s->shm_sel;
	vm->isr = s->isr;
	vm->config_gen = s->config_gen;
	for (unsigned i = 0; i < vm->ops->nr_queues; i++) {
		struct virtq *q = &vm->q[i];

		*q = s->q[i];
		q->held = vm->held;
		vm->queue_ready[i] = s->ready[i];
		/* A broken device's queues stay stopped (virtio_mmio_needs_reset). */
		q->ready = s->ready[i] && !vm->broken;
		if (q->ready)
			mmio_queue_features(vm, q);
		vm->used_signalled[i] = q->used_idx;
	}
}

int virtio_mmio_load(struct virtio_mmio *vm, struct snap_in *in)
{
	struct mmio_saved s;
	int err = 0;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&vm->m->dev_lock);
	if (vm->status) {
		snap_reject(in, "the device is in use (status %#x): load needs a fresh one",
			    vm->status);
		err = -EBUSY;
		goto out;
	}
	mmio_read_saved(vm, in, &s);
	if (!in->bad)
		mmio_check_saved(vm, in, &s);
	if (!in->bad)
		mmio_load_device(vm, in);
	if (snap_in_end(in) < 0)
		goto out;
	mmio_apply_saved(vm, &s);
	mmio_update_line(vm);
	if ((vm->status & VIRTIO_STATUS_DRIVER_OK) && !vm->broken && vm->ops->activate &&
	    vm->ops->activate(vm->opaque, vm->driver_features) < 0)
		virtio_mmio_needs_reset(vm, "device activation failed after loading its state");
out:
	if (in->bad) {
		/* Every reason names the device, however deep it was found. */
		char why[sizeof(in->why) + 64];
		size_t n;

		snprintf(why, sizeof(why), "virtio-%s: %s", vm->ops->name, in->why);
		n = strnlen(why, sizeof(in->why) - 1);
		memcpy(in->why, why, n);
		in->why[n] = 0;
		err = err ? err : -EINVAL;
	}
	pthread_mutex_unlock(&vm->m->dev_lock);
	return err;
}
