/* The virtio-mmio transport's state, shared by its register file (mmio.c)
 * and its snapshot and quiesce code (mmio_state.c); nothing else includes it. */
#ifndef POPEK_VIRTIO_MMIO_PRIV_H
#define POPEK_VIRTIO_MMIO_PRIV_H

#include "virtio/virtio.h"

#define VIRTIO_INT_USED   1 /* InterruptStatus bit 0: used buffer notification */
#define VIRTIO_INT_CONFIG 2 /* bit 1: configuration change */

#define STATUS_DRIVER_BITS                                                                         \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |            \
	 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED)

struct virtio_mmio {
	struct machine *m;
	const struct virtio_dev_ops *ops;
	void *opaque;
	unsigned slot;
	u64 base;
	u32 gsi;

	u64 offered;         /* device features | transport features */
	u64 driver_features; /* DriverFeatures as written */
	bool features_bad;   /* a bit above 63 was written */
	u32 dev_features_sel, drv_features_sel, queue_sel, shm_sel;
	u32 status;
	u32 isr;   /* InterruptStatus */
	bool line; /* current level of the GSI */
	u32 config_gen;
	bool broken; /* DEVICE_NEEDS_RESET until the driver resets */
	u32 warned;
	u32 queue_ready[VIRTIO_MAX_QUEUES]; /* QueueReady as the driver sees it */
	struct virtq q[VIRTIO_MAX_QUEUES];
	u16 used_signalled[VIRTIO_MAX_QUEUES]; /* q[i].used_idx at the last signal_used */
	bool held;                             /* quiesced for a snapshot */
	/* Counters of queues since reset (q[] keeps the current ones). */
	struct virtio_dev_stats stats;

	/* QueueNotify writes of each queue's index that the engine turns into
	 * eventfd signals (KVM's ioeventfd); fd -1: they arrive as MMIO writes. */
	struct mmio_notify_fd {
		struct virtio_mmio *vm;
		unsigned q;
		int fd;
	} notify_fd[VIRTIO_MAX_QUEUES];
};

/* Sets the GSI to the level InterruptStatus asks for. */
void mmio_update_line(struct virtio_mmio *vm);
/* Copies the negotiated EVENT_IDX and INDIRECT_DESC bits into q. */
void mmio_queue_features(struct virtio_mmio *vm, struct virtq *q);

#endif
