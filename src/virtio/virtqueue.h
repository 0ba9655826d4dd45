/* Split virtqueues (virtio 1.2 section 2.7): popping descriptor chains that
 * the guest made available, with every address, length and link checked,
 * and pushing used elements back. Pure logic over guest memory: no threads,
 * no device knowledge.
 *
 * Changes to the lead's first version (virtio engineer 1): struct virtq gained
 * notify_off (virtq_set_notify's state, needed with EVENT_IDX), and
 * virtq_validate() checks a queue's configuration before QueueReady. With
 * EVENT_IDX, virtq_pop() itself publishes avail_event when the ring is empty
 * (unless notifications are off), so a device that just pops until 0 never
 * misses a notification. A queue that is not ready pops nothing and refuses
 * pushes (-EINVAL); a held queue pops nothing either. Callers serialize all
 * calls on one queue (the transport's queues: hold the machine's device lock,
 * see virtio.h). */
#ifndef POPEK_VIRTQUEUE_H
#define POPEK_VIRTQUEUE_H

#include <sys/uio.h>

#include "core/guest_mem.h"

#define VIRTQ_MAX_SIZE 1024 /* largest queue size popek offers */
#define VIRTQ_MAX_SEGS 1024 /* longest chain (direct + indirect) accepted */

/* The driver-visible configuration of one queue plus the device's progress. */
struct virtq {
	u16 size;   /* QueueNum, a power of 2 <= VIRTQ_MAX_SIZE */
	bool ready; /* QueueReady */
	gpa_t desc, avail, used;
	u16 last_avail;     /* next avail ring index the device will read */
	u16 used_idx;       /* device's copy of used->idx */
	bool event_idx;     /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;      /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	u16 signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
	bool notify_off; /* virtq_set_notify(false) in force */
	/* Held for a snapshot (virtio_mmio_quiesce): virtq_pop pops nothing and
	 * writes nothing to the rings, pushes still complete what was popped. */
	bool held;
	/* What went through this queue since it was configured, for metrics:
	 * chains popped, bytes the driver gave the device (readable segments)
	 * and bytes the device wrote back (virtq_push's len). */
	u64 nr_popped, bytes_read, bytes_written;
};

/* Checks size (power of 2, <= VIRTQ_MAX_SIZE), ring alignment (16/2/4) and
 * that the three rings (with the event fields) lie in RAM. Returns 0 or
 * -EINVAL with *why set. */
int virtq_validate(const struct virtq *q, const struct guest_mem *mem, const char **why);

/* One popped chain: readable (driver -> device) segments first, then
 * writable ones, as host pointers already checked to lie in guest RAM. */
struct virtq_elem {
	u16 head;
	unsigned nr_out, nr_in; /* readable, writable segment counts */
	struct iovec *out, *in; /* point into iov[] */
	u64 out_len, in_len;    /* total bytes each way */
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/* Pops the next available chain into *e. Returns 1 when one was popped, 0
 * when the ring is empty, or -EINVAL when the guest broke the rules (address
 * or length outside RAM, a loop or over-long chain, a readable descriptor
 * after a writable one, a bad indirect table, an avail index that jumps by
 * more than the queue size); *why then says which, for one log line, and the
 * device must enter DEVICE_NEEDS_RESET. */
int virtq_pop(struct virtq *q, const struct guest_mem *mem, struct virtq_elem *e, const char **why);

/* Gives back e, the chain the last virtq_pop returned, before anything was
 * pushed: the next virtq_pop returns it again. For a device that cannot
 * serve the request yet (its rate limiter is empty); the counters forget it. */
void virtq_unpop(struct virtq *q, const struct virtq_elem *e);

/* Returns chain head with len bytes written to it to the used ring. */
int virtq_push(struct virtq *q, const struct guest_mem *mem, u16 head, u32 len);

/* Whether the driver wants an interrupt for what was pushed since the last
 * call that returned true (avail->flags NO_INTERRUPT or used_event with
 * EVENT_IDX, virtio 1.2 section 2.7.10). */
bool virtq_should_notify(struct virtq *q, const struct guest_mem *mem);

/* Tells the driver whether to notify (used->flags / avail_event). */
void virtq_set_notify(struct virtq *q, const struct guest_mem *mem, bool enable);

/* Copies between an iovec array and a flat buffer; return bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len);

#endif
