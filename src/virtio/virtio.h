/* The virtio-mmio transport (virtio 1.2 section 4.2, version 2 registers) and
 * the contract between it and each device back-end. The transport owns the
 * registers, feature negotiation, status and queues; a device owns its
 * configuration space and its requests.
 *
 * Changes to the lead's first version (virtio engineer 1): the locking rule
 * below, virtio_mmio_lock()/unlock() for device threads, and
 * virtio_mmio_cmdline() for the lead.
 *
 * Locking: every transport entry point below except create/destroy/cmdline,
 * and every virtq_pop()/virtq_push() on a transport's queue, runs with the
 * machine's device lock (m->dev_lock) held. Callbacks (ops) are called with
 * it held; a device thread or the event loop takes it with virtio_mmio_lock()
 * around pop/push/signal and drops it for the slow work (disk, sockets). The
 * buffers a popped element points to stay valid guest RAM without the lock.
 * reset() may wait for the device's in-flight work on a condition variable
 * that uses the device lock (pthread_cond_wait(&c, virtio_mmio_lock_ptr(vm))):
 * the transport expects the lock to be released during that wait. */
#ifndef POPEK_VIRTIO_H
#define POPEK_VIRTIO_H

#include <pthread.h>

#include "virtio/virtqueue.h"

struct machine;
struct snap_in;
struct snap_out;
struct virtio_dev_stats;
struct virtio_mmio;

#define VIRTIO_MAX_QUEUES 8

/* Device status bits (virtio 1.2 section 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED      128

/* Transport feature bits offered for every device. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

/* What a device tells the transport. Callbacks run with the machine's device
 * lock held (on a vCPU thread for MMIO accesses); long work (disk, network)
 * belongs on the device's own thread. */
struct virtio_dev_ops {
	const char *name; /* "blk", "net", ... for messages */
	u32 device_id;    /* virtio 1.2 section 5 */
	u64 features;     /* device-specific feature bits offered */
	unsigned nr_queues;
	u16 queue_max; /* QueueNumMax */
	u32 config_size;
	/* Device configuration space reads/writes (offset < config_size). */
	void (*config_read)(void *opaque, u32 offset, void *buf, u32 len);
	void (*config_write)(void *opaque, u32 offset, const void *buf, u32 len);
	/* The driver set DRIVER_OK: queues are configured; features final. */
	int (*activate)(void *opaque, u64 features);
	/* The driver notified queue q (QueueNotify). */
	void (*notify)(void *opaque, unsigned q);
	/* Device reset (status 0 or NEEDS_RESET recovery): stop using queues. */
	void (*reset)(void *opaque);
	/* Snapshots, for a device with guest-visible state beyond the transport
	 * (both optional). save appends the device's fields with snap_put_*.
	 * load reads them from in, which holds exactly what save wrote; it
	 * checks every value and applies them only when all are acceptable and
	 * nothing is left over (snap_in_end), else returns -EINVAL with the
	 * reason in in and changes nothing. load runs on a device in its reset
	 * state, before the transport applies its own state and activates it. */
	int (*save)(void *opaque, struct snap_out *o);
	int (*load)(void *opaque, struct snap_in *in);
	/* The transport holds the queues (virtq_pop pops nothing): return once
	 * every chain the device popped is pushed. May wait on a condition
	 * variable that uses the device lock. NULL: the device never drops the
	 * lock between a pop and its push. */
	void (*quiesce)(void *opaque);
	/* The end of a quiesce (optional; device lock held). */
	void (*unquiesce)(void *opaque);
	/* Rate limiting (optional; device lock held): how many times each of
	 * the device's limiters made it wait (blk, rng: out[0]; net: out[0]
	 * receive, out[1] transmit). */
	void (*throttled)(void *opaque, u64 out[2]);
	/* What only the device can tell apart (optional; device lock held):
	 * fills out->dev (struct virtio_dev_counts). */
	void (*counts)(void *opaque, struct virtio_dev_stats *out);
};

/* Creates a virtio-mmio device in the next free slot (base and GSI from
 * include/popek/layout.h), registers it on m->mmio and records it for the
 * ACPI DSDT. Returns 0 or -errno (-ENOSPC when all slots are used). */
int virtio_mmio_create(struct machine *m, const struct virtio_dev_ops *ops, void *opaque,
		       struct virtio_mmio **out);
void virtio_mmio_destroy(struct virtio_mmio *vm);

/* The device lock (m->dev_lock) for device threads; see "Locking" above. */
void virtio_mmio_lock(struct virtio_mmio *vm);
void virtio_mmio_unlock(struct virtio_mmio *vm);
pthread_mutex_t *virtio_mmio_lock_ptr(struct virtio_mmio *vm);

/* What a device did since it was created, summed over its queues and
 * resets: chains popped (requests), bytes the driver gave it (read) and
 * bytes it wrote back into guest buffers (written), QueueNotify writes,
 * interrupts raised (rising edges of its line) and DEVICE_NEEDS_RESET
 * events. Takes the device lock. */
/* What only a device can tell apart, for the metrics (ops->counts). blk:
 * reads and writes that succeeded and their data bytes, flushes that
 * succeeded, and requests refused as malformed or out of range. */
struct virtio_dev_counts {
	u64 reads, writes, read_bytes, write_bytes, flushes, invalid;
};
struct virtio_dev_stats {
	u64 requests, bytes_read, bytes_written, notifies, interrupts, errors;
	u64 throttled[2]; /* ops->throttled's counts, 0 without it */
	/* The same three for each of the first two queues alone (net: 0
	 * receive, 1 transmit). */
	u64 q_requests[2], q_bytes_read[2], q_bytes_written[2];
	struct virtio_dev_counts dev; /* ops->counts's, 0 without it */
};
void virtio_mmio_stats(struct virtio_mmio *vm, struct virtio_dev_stats *out);
/* The device's short name ("blk", "net", ...). */
const char *virtio_mmio_name(const struct virtio_mmio *vm);

/* Appends " virtio_mmio.device=4K@0xBASE:GSI" for every slot of m to buf
 * (len bytes, NUL-terminated), for guests without ACPI whose kernel has
 * VIRTIO_MMIO_CMDLINE_DEVICES. Returns the length appended or -ENOSPC. */
int virtio_mmio_cmdline(struct machine *m, char *buf, size_t len);

/* Snapshots. virtio_mmio_quiesce: with the vCPUs paused, holds every queue
 * (no new chain is popped, so host input waits too), waits for the device's
 * requests in flight to be completed into the used rings, and raises the
 * interrupts those completions call for; virtio_mmio_unquiesce lets the
 * device look at its queues again. virtio_mmio_save appends the transport's
 * state and then the device's (ops->save) to o, after quiesce. virtio_mmio_load
 * reads what save wrote, the whole of in, into a device that is still in its
 * reset state: every value is checked (against this device's features,
 * queue limits and guest RAM) and nothing changes unless all are acceptable;
 * then the interrupt line follows InterruptStatus and a DRIVER_OK device is
 * activated. Returns 0 or -EINVAL (-EBUSY: the device is in use) with the
 * reason, naming the device, in in->why. All take the device lock. */
void virtio_mmio_quiesce(struct virtio_mmio *vm);
void virtio_mmio_unquiesce(struct virtio_mmio *vm);
int virtio_mmio_save(struct virtio_mmio *vm, struct snap_out *o);
int virtio_mmio_load(struct virtio_mmio *vm, struct snap_in *in);
/* Whether the device is quiesced (device lock held): host-initiated pushes
 * (the balloon's statistics request) wait. */
bool virtio_mmio_quiesced(const struct virtio_mmio *vm);

/* The device's queue q (valid after activate). */
struct virtq *virtio_mmio_queue(struct virtio_mmio *vm, unsigned q);
const struct guest_mem *virtio_mmio_mem(struct virtio_mmio *vm);

/* After pushing used elements on q: raise the interrupt if the driver wants
 * it (virtq_should_notify). Any thread, with the device lock held. */
void virtio_mmio_signal_used(struct virtio_mmio *vm, unsigned q);
/* The configuration space changed: raise the config-change interrupt. */
void virtio_mmio_signal_config(struct virtio_mmio *vm);
/* The guest broke the rules: set DEVICE_NEEDS_RESET, log why once, and stop
 * processing until the driver resets the device: every queue stops popping
 * (virtq_pop returns 0) and pushing, and notify() is no longer called. The
 * config-change interrupt tells a DRIVER_OK driver (virtio 1.2 section 2.1.2). */
void virtio_mmio_needs_reset(struct virtio_mmio *vm, const char *why);

#endif
