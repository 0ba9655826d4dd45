/* Split virtqueue parsing and completion (virtio 1.2 section 2.7), checked
 * against hostile drivers: every ring, table and buffer must lie in RAM. */
#include "virtio/virtqueue.h"

#include <errno.h>
#include <string.h>

/* Ring layouts (virtio 1.2 sections 2.7.5, 2.7.6, 2.7.8). */
#define VRING_DESC_F_NEXT          1
#define VRING_DESC_F_WRITE         2
#define VRING_DESC_F_INDIRECT      4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY     1

struct vring_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct vring_avail {
	u16 flags;
	u16 idx;
	u16 ring[]; /* then u16 used_event */
};

struct vring_used_elem {
	u32 id;
	u32 len;
};

struct vring_used {
	u16 flags;
	u16 idx;
	struct vring_used_elem ring[]; /* then u16 avail_event */
};

_Static_assert(sizeof(struct vring_desc) == 16, "virtq_desc is 16 bytes");
_Static_assert(sizeof(struct vring_used_elem) == 8, "virtq_used_elem is 8 bytes");

static u64 virtq_avail_bytes(u16 size)
{
	return 6 + 2 * (u64)size; /* flags, idx, ring[size], used_event */
}

static u64 virtq_used_bytes(u16 size)
{
	return 6 + 8 * (u64)size; /* flags, idx, ring[size], avail_event */
}

int virtq_validate(const struct virtq *q, const struct guest_mem *mem, const char **why)
{
	const char *w = NULL;

	if (!q->size || q->size > VIRTQ_MAX_SIZE || (q->size & (q->size - 1)))
		w = "queue size is not a power of 2 up to the maximum";
	else if (q->desc % 16 || q->avail % 2 || q->used % 4) /* 2.7 alignment table */
		w = "ring address misaligned";
	else if (!guest_mem_ptr(mem, q->desc, 16 * (u64)q->size))
		w = "descriptor table outside RAM";
	else if (!guest_mem_ptr(mem, q->avail, virtq_avail_bytes(q->size)))
		w = "available ring outside RAM";
	else if (!guest_mem_ptr(mem, q->used, virtq_used_bytes(q->size)))
		w = "used ring outside RAM";
	if (w && why)
		*why = w;
	return w ? -EINVAL : 0;
}

static struct vring_avail *virtq_avail(const struct virtq *q, const struct guest_mem *mem)
{
	return guest_mem_ptr(mem, q->avail, virtq_avail_bytes(q->size));
}

static struct vring_used *virtq_used(const struct virtq *q, const struct guest_mem *mem)
{
	return guest_mem_ptr(mem, q->used, virtq_used_bytes(q->size));
}

/* avail_event: where the driver should next notify (2.7.10). */
static void virtq_set_avail_event(struct virtq *q, const struct guest_mem *mem,
				  struct vring_used *used, u16 val)
{
	u16 *ev = (u16 *)&used->ring[q->size];

	__atomic_store_n(ev, val, __ATOMIC_RELAXED);
	guest_mem_dirty_mark_host(mem, ev, sizeof(*ev));
}

static int virtq_fail(const char **why, const char *what)
{
	if (why)
		*why = what;
	return -EINVAL;
}

/* What virtq_walk does with each buffer (p, len bytes, in RAM) of a chain:
 * 0 to go on, or -EINVAL with *why set. */
typedef int virtq_visit_fn(void *ctx, void *p, u32 len, bool writable, const char **why);

/* Walks the chain starting at head (2.7.5, 2.7.5.3 indirect descriptors). */
static int virtq_walk(struct virtq *q, const struct guest_mem *mem, u16 head,
		      virtq_visit_fn *visit, void *ctx, const char **why)
{
	const struct vring_desc *table = guest_mem_ptr(mem, q->desc, 16 * (u64)q->size);
	u32 table_size = q->size, idx = head, count = 0;
	bool in_indirect = false, seen_write = false;

	if (!table)
		return virtq_fail(why, "descriptor table outside RAM");
	for (;;) {
		struct vring_desc d;

		/* One copy per descriptor: the guest may change it under us. */
		memcpy(&d, &table[idx], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!q->indirect)
				return virtq_fail(why, "indirect descriptor without the feature");
			if (in_indirect)
				return virtq_fail(why, "nested indirect descriptor");
			if (d.flags & VRING_DESC_F_NEXT)
				return virtq_fail(why, "indirect descriptor with NEXT");
			if (!d.len || d.len % 16)
				return virtq_fail(why,
						  "indirect table length not a multiple of 16");
			if (d.len / 16 > VIRTQ_MAX_SEGS)
				return virtq_fail(why, "indirect table too long");
			table = guest_mem_ptr(mem, d.addr, d.len);
			if (!table)
				return virtq_fail(why, "indirect table outside RAM");
			table_size = d.len / 16;
			in_indirect = true;
			idx = 0;
			count = 0;
			continue;
		}
		/* A chain longer than its table must revisit an entry: a loop. */
		if (++count > table_size)
			return virtq_fail(why, "descriptor loop");
		if (d.flags & VRING_DESC_F_WRITE)
			seen_write = true;
		else if (seen_write)
			return virtq_fail(why, "readable descriptor after a writable one");
		if (d.len) {
			void *p = guest_mem_ptr(mem, d.addr, d.len);

			if (!p)
				return virtq_fail(why, "buffer outside RAM");
			int r = visit(ctx, p, d.len, d.flags & VRING_DESC_F_WRITE, why);
			if (r < 0)
				return r;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		idx = d.next;
		if (idx >= table_size)
			return virtq_fail(why, "next descriptor index out of range");
	}
	return 1;
}

/* virtq_pop's visitor: the buffer becomes the element's next segment. */
static int elem_add(void *ctx, void *p, u32 len, bool writable, const char **why)
{
	struct virtq_elem *e = ctx;
	unsigned n = e->nr_out + e->nr_in;

	if (n >= VIRTQ_MAX_SEGS)
		return virtq_fail(why, "descriptor chain too long");
	e->iov[n].iov_base = p;
	e->iov[n].iov_len = len;
	if (writable) {
		e->nr_in++;
		e->in_len += len;
	} else {
		e->nr_out++;
		e->out_len += len;
	}
	return 0;
}

/* virtq_push's visitor with the dirty log on: what the device may have
 * written is marked (after it wrote it). */
static int mark_written(void *ctx, void *p, u32 len, bool writable, const char **why)
{
	(void)why;
	if (writable)
		guest_mem_dirty_mark_host(ctx, p, len);
	return 0;
}

int virtq_pop(struct virtq *q, const struct guest_mem *mem, struct virtq_elem *e, const char **why)
{
	struct vring_avail *avail;
	struct vring_used *used = NULL;
	u16 avail_idx, pending, head;

	if (!q->ready || !q->size || q->held)
		return 0;
	avail = virtq_avail(q, mem);
	if (!avail)
		return virtq_fail(why, "available ring outside RAM");
	avail_idx = __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE);
	if (avail_idx == q->last_avail && q->event_idx && !q->notify_off) {
		/* Ask for a notification at the next buffer, then look again:
		 * the driver may have added one before it saw avail_event
		 * (2.7.10; the full barrier orders the store before the load). */
		used = virtq_used(q, mem);
		if (!used)
			return virtq_fail(why, "used ring outside RAM");
		virtq_set_avail_event(q, mem, used, q->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE);
	}
	pending = (u16)(avail_idx - q->last_avail);
	if (!pending)
		return 0;
	if (pending > q->size)
		return virtq_fail(why, "available index moved by more than the queue size");
	head = __atomic_load_n(&avail->ring[q->last_avail % q->size], __ATOMIC_RELAXED);
	if (head >= q->size)
		return virtq_fail(why, "available ring entry out of range");
	e->head = head;
	e->nr_out = e->nr_in = 0;
	e->out_len = e->in_len = 0;
	int r = virtq_walk(q, mem, head, elem_add, e, why);
	if (r < 0)
		return r;
	e->out = e->iov;
	e->in = e->iov + e->nr_out;
	q->last_avail++;
	q->nr_popped++;
	q->bytes_read += e->out_len;
	return 1;
}

void virtq_unpop(struct virtq *q, const struct virtq_elem *e)
{
	q->last_avail--;
	q->nr_popped--;
	q->bytes_read -= e->out_len;
}

int virtq_push(struct virtq *q, const struct guest_mem *mem, u16 head, u32 len)
{
	struct vring_used *used;
	struct vring_used_elem *el;

	if (!q->ready || !q->size)
		return -EINVAL;
	if (head >= q->size)
		return -EINVAL;
	used = virtq_used(q, mem);
	if (!used)
		return -EFAULT;
	el = &used->ring[q->used_idx % q->size];
	__atomic_store_n(&el->id, (u32)head, __ATOMIC_RELAXED);
	__atomic_store_n(&el->len, len, __ATOMIC_RELAXED);
	q->used_idx++;
	q->bytes_written += len;
	/* The device wrote len bytes into the chain's buffers (through
	 * guest_mem_ptr): tell whoever caches guest code, and the dirty log
	 * which pages (the chain walked again: only the guest can have
	 * changed it, and it checks as at pop). */
	if (len) {
		guest_mem_dma_written(mem, 0, 0);
		if (mem->dirty)
			virtq_walk(q, mem, head, mark_written, (void *)mem, NULL);
	}
	/* The element must be visible before the index that publishes it (2.7.8). */
	__atomic_store_n(&used->idx, q->used_idx, __ATOMIC_RELEASE);
	guest_mem_dirty_mark_host(mem, used, virtq_used_bytes(q->size));
	return 0;
}

bool virtq_should_notify(struct virtq *q, const struct guest_mem *mem)
{
	struct vring_avail *avail;
	u16 old = q->signalled_used, new = q->used_idx, event;
	bool valid = q->signalled_valid;

	if (!q->ready || !q->size)
		return false;
	avail = virtq_avail(q, mem);
	if (!avail)
		return false;
	/* Our used->idx store must be visible before we read the driver's
	 * suppression fields, or both sides could skip the interrupt. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(__atomic_load_n(&avail->flags, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	q->signalled_used = new;
	q->signalled_valid = true;
	if (!valid)
		return true;
	event = __atomic_load_n(&avail->ring[q->size], __ATOMIC_RELAXED); /* used_event */
	/* vring_need_event(): did new_idx step past event since old? (2.7.10) */
	return (u16)(new - event - 1) < (u16)(new - old);
}

void virtq_set_notify(struct virtq *q, const struct guest_mem *mem, bool enable)
{
	struct vring_used *used;

	q->notify_off = !enable;
	if (!q->ready || !q->size)
		return;
	used = virtq_used(q, mem);
	if (!used)
		return;
	if (q->event_idx) {
		if (enable)
			virtq_set_avail_event(q, mem, used, q->last_avail);
	} else {
		__atomic_store_n(&used->flags, enable ? 0 : VRING_USED_F_NO_NOTIFY,
				 __ATOMIC_RELAXED);
		guest_mem_dirty_mark_host(mem, &used->flags, sizeof(used->flags));
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len;
		if (off >= seg) {
			off -= seg;
			continue;
		}
		size_t c = MIN(seg - off, len - done);
		memcpy((u8 *)buf + done, (const u8 *)iov[i].iov_base + off, c);
		done += c;
		off = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len;
		if (off >= seg) {
			off -= seg;
			continue;
		}
		size_t c = MIN(seg - off, len - done);
		memcpy((u8 *)iov[i].iov_base + off, (const u8 *)buf + done, c);
		done += c;
		off = 0;
	}
	return done;
}
