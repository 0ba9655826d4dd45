/* The virtio-mmio transport, version 2 register layout (virtio 1.2 section 4.2.2). */
#include "virtio/virtio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fastpath.h"
#include "core/machine.h"
#include "popek/log.h"
#include "virtio/mmio_priv.h"

/* Register offsets (virtio 1.2 section 4.2.2, table "MMIO Device Register Layout"). */
#define REG_MAGIC               0x000
#define REG_VERSION             0x004
#define REG_DEVICE_ID           0x008
#define REG_VENDOR_ID           0x00c
#define REG_DEVICE_FEATURES     0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES     0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL           0x030
#define REG_QUEUE_NUM_MAX       0x034
#define REG_QUEUE_NUM           0x038
#define REG_QUEUE_READY         0x044
#define REG_QUEUE_NOTIFY        0x050
#define REG_INTERRUPT_STATUS    0x060
#define REG_INTERRUPT_ACK       0x064
#define REG_STATUS              0x070
#define REG_QUEUE_DESC_LOW      0x080
#define REG_QUEUE_DESC_HIGH     0x084
#define REG_QUEUE_DRIVER_LOW    0x090
#define REG_QUEUE_DRIVER_HIGH   0x094
#define REG_QUEUE_DEVICE_LOW    0x0a0
#define REG_QUEUE_DEVICE_HIGH   0x0a4
#define REG_SHM_SEL             0x0ac
#define REG_SHM_LEN_LOW         0x0b0
#define REG_SHM_BASE_HIGH       0x0bc
#define REG_CONFIG_GENERATION   0x0fc
#define REG_CONFIG              0x100

#define VIRTIO_MMIO_MAGIC   0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION 2
#define VIRTIO_MMIO_VENDOR  0x4b504f50 /* "POPK" */

/* One-time warnings about driver mistakes that do not break the device. */
enum {
	WARN_ACCESS_SIZE = 1 << 0,
	WARN_FEATURES_LATE = 1 << 1,
	WARN_STATUS_CLEAR = 1 << 2,
	WARN_QUEUE_BUSY = 1 << 3,
	WARN_FEATURES_BAD = 1 << 4,
	WARN_NO_FEATURES_OK = 1 << 5,
	WARN_UNKNOWN_REG = 1 << 6,
};

void mmio_update_line(struct virtio_mmio *vm)
{
	bool level = vm->isr != 0;

	if (level == vm->line)
		return;
	vm->line = level;
	vm->stats.interrupts += level;
	irq_set_level(&vm->m->irq, vm->gsi, level);
}

static void mmio_warn_size(struct virtio_mmio *vm, u64 offset, unsigned size)
{
	if (vm->warned & WARN_ACCESS_SIZE)
		return;
	vm->warned |= WARN_ACCESS_SIZE;
	log_warn("virtio-%s@%#llx: %u-byte access at register offset %#llx: only aligned "
		 "32-bit accesses are allowed (virtio 1.2 section 4.2.2.2); ignored",
		 vm->ops->name, (unsigned long long)vm->base, size, (unsigned long long)offset);
}

static void mmio_warn_once(struct virtio_mmio *vm, u32 bit, const char *what, u64 val)
{
	if (vm->warned & bit)
		return;
	vm->warned |= bit;
	log_warn("virtio-%s@%#llx: %s (%#llx); ignored", vm->ops->name,
		 (unsigned long long)vm->base, what, (unsigned long long)val);
}

void virtio_mmio_needs_reset(struct virtio_mmio *vm, const char *why)
{
	if (vm->broken)
		return;
	vm->broken = true;
	vm->stats.errors++;
	log_warn("virtio-%s@%#llx: %s: device needs reset", vm->ops->name,
		 (unsigned long long)vm->base, why);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vm->q[i].ready = false; /* stops virtq_pop/virtq_push */
	vm->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (vm->status & VIRTIO_STATUS_DRIVER_OK) {
		vm->isr |= VIRTIO_INT_CONFIG; /* 2.1.2: config change notification */
		mmio_update_line(vm);
	}
}

static void mmio_stats_add(struct virtio_dev_stats *st, const struct virtq *q, unsigned i)
{
	st->requests += q->nr_popped;
	st->bytes_read += q->bytes_read;
	st->bytes_written += q->bytes_written;
	if (i < ARRAY_SIZE(st->q_requests)) {
		st->q_requests[i] += q->nr_popped;
		st->q_bytes_read[i] += q->bytes_read;
		st->q_bytes_written[i] += q->bytes_written;
	}
}

void virtio_mmio_stats(struct virtio_mmio *vm, struct virtio_dev_stats *out)
{
	pthread_mutex_lock(&vm->m->dev_lock);
	*out = vm->stats;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		mmio_stats_add(out, &vm->q[i], i);
	if (vm->ops->throttled)
		vm->ops->throttled(vm->opaque, out->throttled);
	if (vm->ops->counts)
		vm->ops->counts(vm->opaque, out);
	pthread_mutex_unlock(&vm->m->dev_lock);
}

const char *virtio_mmio_name(const struct virtio_mmio *vm)
{
	return vm->ops->name;
}

/* Status 0: back to the state after creation (4.2.3.1, 2.4). The device
 * quiesces first; its reset() may wait with the device lock released. */
static void mmio_reset(struct virtio_mmio *vm)
{
	if (vm->ops->reset)
		vm->ops->reset(vm->opaque);
	vm->driver_features = 0;
	vm->features_bad = false;
	vm->dev_features_sel = vm->drv_features_sel = vm->queue_sel = vm->shm_sel = 0;
	vm->status = 0;
	vm->isr = 0;
	vm->broken = false;
	memset(vm->queue_ready, 0, sizeof(vm->queue_ready));
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		mmio_stats_add(&vm->stats, &vm->q[i], i);
	memset(vm->q, 0, sizeof(vm->q));
	memset(vm->used_signalled, 0, sizeof(vm->used_signalled));
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vm->q[i].held = vm->held;
	mmio_update_line(vm);
}

static struct virtq *mmio_cur_queue(struct virtio_mmio *vm)
{
	return vm->queue_sel < vm->ops->nr_queues ? &vm->q[vm->queue_sel] : NULL;
}

/* Negotiated transport features that the queue code honours. */
void mmio_queue_features(struct virtio_mmio *vm, struct virtq *q)
{
	q->event_idx = vm->driver_features >> VIRTIO_F_EVENT_IDX & 1;
	q->indirect = vm->driver_features >> VIRTIO_F_INDIRECT_DESC & 1;
}

static void mmio_write_status(struct virtio_mmio *vm, u32 val)
{
	u32 old = vm->status, now;

	if (val == 0) {
		mmio_reset(vm);
		return;
	}
	now = val & STATUS_DRIVER_BITS;
	if (old & ~now & STATUS_DRIVER_BITS) {
		/* 2.1.2: the driver MUST NOT clear a status bit (except by reset). */
		mmio_warn_once(vm, WARN_STATUS_CLEAR, "status write clears bits", val);
		return;
	}
	if ((now & ~old & VIRTIO_STATUS_FEATURES_OK)) {
		u64 f = vm->driver_features;
		if (!(now & VIRTIO_STATUS_DRIVER) || (f & ~vm->offered) || vm->features_bad ||
		    !(f >> VIRTIO_F_VERSION_1 & 1)) {
			/* 3.1.1: the device refuses by leaving FEATURES_OK clear. */
			mmio_warn_once(vm, WARN_FEATURES_BAD,
				       "driver features not offered or without VERSION_1", f);
			now &= ~(u32)VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if ((now & ~old & VIRTIO_STATUS_DRIVER_OK) && !(now & VIRTIO_STATUS_FEATURES_OK)) {
		mmio_warn_once(vm, WARN_NO_FEATURES_OK, "DRIVER_OK without FEATURES_OK", val);
		now &= ~(u32)VIRTIO_STATUS_DRIVER_OK;
	}
	vm->status = now | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((now & ~old & VIRTIO_STATUS_DRIVER_OK) && !vm->broken) {
		for (unsigned i = 0; i < vm->ops->nr_queues; i++)
			mmio_queue_features(vm, &vm->q[i]);
		if (vm->ops->activate) {
			int err = vm->ops->activate(vm->opaque, vm->driver_features);
			if (err < 0)
				virtio_mmio_needs_reset(vm, "device activation failed");
		}
	}
}

static void mmio_write_features(struct virtio_mmio *vm, u32 val)
{
	if (!(vm->status & VIRTIO_STATUS_DRIVER) || (vm->status & VIRTIO_STATUS_FEATURES_OK)) {
		/* 3.1.1 step 4: features are written between DRIVER and FEATURES_OK. */
		mmio_warn_once(vm, WARN_FEATURES_LATE, "DriverFeatures written out of order", val);
		return;
	}
	if (vm->drv_features_sel == 0)
		vm->driver_features = (vm->driver_features & ~0xffffffffULL) | val;
	else if (vm->drv_features_sel == 1)
		vm->driver_features = (vm->driver_features & 0xffffffffULL) | (u64)val << 32;
	else if (val)                    /* no feature bits above 63 exist */
		vm->features_bad = true; /* FEATURES_OK will be refused */
}

static void mmio_write_queue_ready(struct virtio_mmio *vm, struct virtq *q, u32 val)
{
	const char *why = NULL;
	unsigned idx = vm->queue_sel;

	if (!(val & 1)) {
		vm->queue_ready[idx] = 0;
		q->ready = false;
		return;
	}
	if (vm->queue_ready[idx] || vm->broken)
		return;
	if (q->size > vm->ops->queue_max) {
		virtio_mmio_needs_reset(vm, "queue size above QueueNumMax");
		return;
	}
	if (virtq_validate(q, &vm->m->mem, &why) < 0) {
		virtio_mmio_needs_reset(vm, why);
		return;
	}
	vm->queue_ready[idx] = 1;
	q->last_avail = q->used_idx = 0;
	vm->used_signalled[idx] = 0;
	q->signalled_used = 0;
	q->signalled_valid = false;
	q->notify_off = false;
	mmio_queue_features(vm, q);
	q->ready = true;
}

/* QueueDesc/Driver/Device Low/High: only while the queue is not ready. */
static void mmio_write_queue_addr(struct virtio_mmio *vm, struct virtq *q, u32 reg, u32 val)
{
	gpa_t *a;

	if (vm->queue_ready[vm->queue_sel]) {
		mmio_warn_once(vm, WARN_QUEUE_BUSY, "queue register written while ready", reg);
		return;
	}
	switch (reg & ~4u) {
	case REG_QUEUE_DESC_LOW:
		a = &q->desc;
		break;
	case REG_QUEUE_DRIVER_LOW:
		a = &q->avail;
		break;
	default:
		a = &q->used;
		break;
	}
	if (reg & 4)
		*a = (*a & 0xffffffffULL) | (u64)val << 32;
	else
		*a = (*a & ~0xffffffffULL) | val;
}

static void mmio_notify(struct virtio_mmio *vm, u32 val)
{
	unsigned idx = val & 0xffff; /* without NOTIFICATION_DATA: the queue index */

	vm->stats.notifies++;
	if (idx >= vm->ops->nr_queues || vm->broken || !(vm->status & VIRTIO_STATUS_DRIVER_OK) ||
	    !vm->q[idx].ready)
		return;
	if (vm->ops->notify)
		vm->ops->notify(vm->opaque, idx);
}

/* The event loop: the guest wrote n->q to QueueNotify and the engine only
 * signalled the eventfd. The same checks as for an MMIO write apply. */
static void mmio_on_notify_fd(void *opaque, int fd, u32 events)
{
	struct mmio_notify_fd *n = opaque;
	struct virtio_mmio *vm = n->vm;
	u64 writes;

	(void)events;
	if (read(fd, &writes, sizeof(writes)) != sizeof(writes))
		return;
	atomic_fetch_add_explicit(&vm->m->fastpath.notifies, writes, memory_order_relaxed);
	pthread_mutex_lock(&vm->m->dev_lock);
	mmio_notify(vm, n->q);
	pthread_mutex_unlock(&vm->m->dev_lock);
}

/* Where the engine can (KVM's ioeventfd), QueueNotify writes of a queue's
 * index complete in the kernel and wake the event loop instead of exiting
 * to a vCPU thread (virtio 1.2 section 4.2.3.3: without NOTIFICATION_DATA
 * the value is the queue index). Writes of other values or sizes still
 * arrive through mmio_write(), so each write is delivered by one path. */
static void mmio_notify_fds_init(struct virtio_mmio *vm)
{
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vm->notify_fd[q] = (struct mmio_notify_fd){vm, q, -1};
	for (unsigned q = 0; q < vm->ops->nr_queues; q++) {
		gpa_t reg = vm->base + REG_QUEUE_NOTIFY;
		int fd = fastpath_add_notify(vm->m, reg, 4, q), err = fd;

		if (fd == -ENOTSUP)
			return;
		if (fd >= 0)
			err = event_loop_add(&vm->m->loop, fd, mmio_on_notify_fd, &vm->notify_fd[q]);
		if (err < 0) {
			fastpath_del_notify(vm->m, reg, 4, q, fd);
			log_warn("virtio-%s@%#llx: no ioeventfd for queue %u (%s): its "
				 "notifications exit to popek",
				 vm->ops->name, (unsigned long long)vm->base, q, strerror(-err));
			continue;
		}
		vm->notify_fd[q].fd = fd;
	}
}

static void mmio_notify_fds_destroy(struct virtio_mmio *vm)
{
	for (unsigned q = 0; q < vm->ops->nr_queues; q++) {
		int fd = vm->notify_fd[q].fd;

		if (fd < 0)
			continue;
		event_loop_remove(&vm->m->loop, fd);
		fastpath_del_notify(vm->m, vm->base + REG_QUEUE_NOTIFY, 4, q, fd);
		vm->notify_fd[q].fd = -1;
	}
}

static void mmio_write_reg(struct virtio_mmio *vm, u32 reg, u32 val)
{
	struct virtq *q = mmio_cur_queue(vm);

	switch (reg) {
	case REG_DEVICE_FEATURES_SEL:
		vm->dev_features_sel = val;
		break;
	case REG_DRIVER_FEATURES:
		mmio_write_features(vm, val);
		break;
	case REG_DRIVER_FEATURES_SEL:
		vm->drv_features_sel = val;
		break;
	case REG_QUEUE_SEL:
		vm->queue_sel = val;
		break;
	case REG_QUEUE_NUM:
		if (q && !vm->queue_ready[vm->queue_sel])
			q->size = val > 0xffff ? 0 : (u16)val; /* checked at QueueReady */
		break;
	case REG_QUEUE_READY:
		if (q)
			mmio_write_queue_ready(vm, q, val);
		break;
	case REG_QUEUE_NOTIFY:
		mmio_notify(vm, val);
		break;
	case REG_INTERRUPT_ACK:
		vm->isr &= ~val;
		mmio_update_line(vm);
		break;
	case REG_STATUS:
		mmio_write_status(vm, val);
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		if (q)
			mmio_write_queue_addr(vm, q, reg, val);
		break;
	case REG_SHM_SEL:
		vm->shm_sel = val;
		break;
	default:
		mmio_warn_once(vm, WARN_UNKNOWN_REG, "write to a read-only or unknown register",
			       reg);
		break;
	}
}

static u32 mmio_read_reg(struct virtio_mmio *vm, u32 reg)
{
	struct virtq *q = mmio_cur_queue(vm);

	switch (reg) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return VIRTIO_MMIO_VERSION;
	case REG_DEVICE_ID:
		return vm->ops->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		return vm->dev_features_sel < 2 ? (u32)(vm->offered >> (32 * vm->dev_features_sel))
						: 0;
	case REG_QUEUE_NUM_MAX:
		return q ? vm->ops->queue_max : 0;
	case REG_QUEUE_NUM:
		return q ? q->size : 0;
	case REG_QUEUE_READY:
		return q ? vm->queue_ready[vm->queue_sel] : 0;
	case REG_INTERRUPT_STATUS:
		return vm->isr;
	case REG_STATUS:
		return vm->status;
	case REG_QUEUE_DESC_LOW:
		return q ? (u32)q->desc : 0;
	case REG_QUEUE_DESC_HIGH:
		return q ? (u32)(q->desc >> 32) : 0;
	case REG_QUEUE_DRIVER_LOW:
		return q ? (u32)q->avail : 0;
	case REG_QUEUE_DRIVER_HIGH:
		return q ? (u32)(q->avail >> 32) : 0;
	case REG_QUEUE_DEVICE_LOW:
		return q ? (u32)q->used : 0;
	case REG_QUEUE_DEVICE_HIGH:
		return q ? (u32)(q->used >> 32) : 0;
	case REG_CONFIG_GENERATION:
		return vm->config_gen;
	default:
		/* SHMLen/SHMBase: no shared memory regions, so all-ones (4.2.2). */
		if (reg >= REG_SHM_LEN_LOW && reg <= REG_SHM_BASE_HIGH)
			return 0xffffffff;
		return 0;
	}
}

static u64 mmio_read(void *opaque, u64 offset, unsigned size)
{
	struct virtio_mmio *vm = opaque;
	u64 v = 0;

	if (offset >= REG_CONFIG) {
		u64 off = offset - REG_CONFIG;
		/* 4.2.2: config space allows byte, word and dword accesses. */
		if (vm->ops->config_read && off < vm->ops->config_size &&
		    size <= vm->ops->config_size - off)
			vm->ops->config_read(vm->opaque, (u32)off, &v, size);
		return v;
	}
	if (size != 4 || offset % 4) {
		mmio_warn_size(vm, offset, size);
		return 0;
	}
	return mmio_read_reg(vm, (u32)offset);
}

static void mmio_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct virtio_mmio *vm = opaque;

	if (offset >= REG_CONFIG) {
		u64 off = offset - REG_CONFIG;
		if (vm->ops->config_write && off < vm->ops->config_size &&
		    size <= vm->ops->config_size - off && size <= 8)
			vm->ops->config_write(vm->opaque, (u32)off, &value, size);
		return;
	}
	if (size != 4 || offset % 4) {
		mmio_warn_size(vm, offset, size);
		return;
	}
	mmio_write_reg(vm, (u32)offset, (u32)value);
}

static const struct bus_ops virtio_mmio_bus_ops = {
    .name = "virtio-mmio",
    .read = mmio_read,
    .write = mmio_write,
};

int virtio_mmio_create(struct machine *m, const struct virtio_dev_ops *ops, void *opaque,
		       struct virtio_mmio **out)
{
	struct virtio_mmio *vm;
	unsigned n = m->nr_virtio_slots;
	int err;

	*out = NULL;
	if (ops->nr_queues > VIRTIO_MAX_QUEUES || !ops->nr_queues || !ops->queue_max ||
	    ops->queue_max > VIRTQ_MAX_SIZE || (ops->queue_max & (ops->queue_max - 1)))
		return -EINVAL;
	if (n >= LAYOUT_VIRTIO_MMIO_MAX)
		return -ENOSPC;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->m = m;
	vm->ops = ops;
	vm->opaque = opaque;
	vm->slot = n;
	vm->base = LAYOUT_VIRTIO_MMIO_BASE + n * LAYOUT_VIRTIO_MMIO_SIZE;
	vm->gsi = LAYOUT_VIRTIO_GSI_BASE + n;
	vm->offered = ops->features | 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_INDIRECT_DESC |
		      1ULL << VIRTIO_F_EVENT_IDX;
	err = bus_register(&m->mmio, vm->base, LAYOUT_VIRTIO_MMIO_SIZE, &virtio_mmio_bus_ops, vm);
	if (err < 0) {
		free(vm);
		return err;
	}
	m->virtio_slots[n].base = vm->base;
	m->virtio_slots[n].size = LAYOUT_VIRTIO_MMIO_SIZE;
	m->virtio_slots[n].gsi = vm->gsi;
	m->virtio_slots[n].dev = vm;
	m->nr_virtio_slots = n + 1;
	mmio_notify_fds_init(vm);
	/* The line is level-triggered (see mmio_update_line) and ours alone. */
	err = fastpath_level_irq(m, vm->gsi);
	if (err < 0 && err != -ENOTSUP)
		log_warn("virtio-%s@%#llx: no irqfd for GSI %u (%s): interrupts go through the "
			 "ordinary path",
			 ops->name, (unsigned long long)vm->base, vm->gsi, strerror(-err));
	*out = vm;
	return 0;
}

/* Only at machine teardown: the bus range stays registered (the bus has no
 * unregister), so no vCPU may run any more. */
void virtio_mmio_destroy(struct virtio_mmio *vm)
{
	if (vm->m->virtio_slots[vm->slot].dev == vm)
		vm->m->virtio_slots[vm->slot].dev = NULL;
	mmio_notify_fds_destroy(vm);
	free(vm);
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *vm, unsigned q)
{
	return q < vm->ops->nr_queues ? &vm->q[q] : NULL;
}

const struct guest_mem *virtio_mmio_mem(struct virtio_mmio *vm)
{
	return &vm->m->mem;
}

void virtio_mmio_lock(struct virtio_mmio *vm)
{
	pthread_mutex_lock(&vm->m->dev_lock);
}

void virtio_mmio_unlock(struct virtio_mmio *vm)
{
	pthread_mutex_unlock(&vm->m->dev_lock);
}

pthread_mutex_t *virtio_mmio_lock_ptr(struct virtio_mmio *vm)
{
	return &vm->m->dev_lock;
}

void virtio_mmio_signal_used(struct virtio_mmio *vm, unsigned q)
{
	if (q >= vm->ops->nr_queues || vm->broken)
		return;
	vm->used_signalled[q] = vm->q[q].used_idx;
	if (!virtq_should_notify(&vm->q[q], &vm->m->mem))
		return;
	vm->isr |= VIRTIO_INT_USED;
	mmio_update_line(vm);
}

void virtio_mmio_signal_config(struct virtio_mmio *vm)
{
	vm->config_gen++;
	if (!(vm->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	vm->isr |= VIRTIO_INT_CONFIG;
	mmio_update_line(vm);
}

int virtio_mmio_cmdline(struct machine *m, char *buf, size_t len)
{
	size_t start = strnlen(buf, len), pos = start;

	if (start >= len)
		return -ENOSPC;
	for (unsigned i = 0; i < m->nr_virtio_slots; i++) {
		int n =
		    snprintf(buf + pos, len - pos, " virtio_mmio.device=4K@%#llx:%u",
			     (unsigned long long)m->virtio_slots[i].base, m->virtio_slots[i].gsi);
		if (n < 0 || (size_t)n >= len - pos) {
			buf[start] = 0;
			return -ENOSPC;
		}
		pos += (size_t)n;
	}
	return (int)(pos - start);
}
