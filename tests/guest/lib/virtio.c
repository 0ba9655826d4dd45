/* Guest-side virtio-mmio helpers: device discovery, initialization, chains
 * (valid and broken), notification and bounded waits (lib/virtio.h). */
#include "virtio.h"

bool virtio_find(struct virtio_dev *d, u32 device_id, unsigned nth)
{
	for (unsigned i = 0; i < VIRTIO_MMIO_SLOTS; i++) {
		u64 base = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE;

		if (mmio_read32(base + VREG_MAGIC) == VIRTIO_MAGIC &&
		    mmio_read32(base + VREG_DEVICE_ID) == device_id && nth-- == 0) {
			d->base = base;
			return true;
		}
	}
	return false;
}

u64 virtio_device_features(const struct virtio_dev *d)
{
	u64 f;

	virtio_wr(d, VREG_DEV_FEATURES_SEL, 0);
	f = virtio_rd(d, VREG_DEV_FEATURES);
	virtio_wr(d, VREG_DEV_FEATURES_SEL, 1);
	return f | (u64)virtio_rd(d, VREG_DEV_FEATURES) << 32;
}

u32 virtio_queue_max(const struct virtio_dev *d, unsigned qi)
{
	virtio_wr(d, VREG_QUEUE_SEL, qi);
	return virtio_rd(d, VREG_QUEUE_NUM_MAX);
}

bool virtio_negotiate(struct virtio_dev *d, u64 want)
{
	u64 f = want | 1ULL << VIRTIO_F_VERSION_1;

	virtio_wr(d, VREG_STATUS, 0);
	if (virtio_rd(d, VREG_STATUS) != 0 || virtio_rd(d, VREG_INT_STATUS) != 0)
		return false;
	virtio_wr(d, VREG_STATUS, VSTAT_ACK);
	virtio_wr(d, VREG_STATUS, VSTAT_ACK | VSTAT_DRIVER);
	virtio_wr(d, VREG_DRV_FEATURES_SEL, 0);
	virtio_wr(d, VREG_DRV_FEATURES, (u32)f);
	virtio_wr(d, VREG_DRV_FEATURES_SEL, 1);
	virtio_wr(d, VREG_DRV_FEATURES, (u32)(f >> 32));
	virtio_wr(d, VREG_STATUS, VSTAT_ACK | VSTAT_DRIVER | VSTAT_FEATURES_OK);
	d->features = f;
	return virtio_rd(d, VREG_STATUS) & VSTAT_FEATURES_OK;
}

void virtio_queue_setup_at(const struct virtio_dev *d, unsigned qi, u32 size, u64 desc, u64 avail,
			   u64 used)
{
	virtio_wr(d, VREG_QUEUE_SEL, qi);
	virtio_wr(d, VREG_QUEUE_NUM, size);
	virtio_wr(d, VREG_QUEUE_DESC, (u32)desc);
	virtio_wr(d, VREG_QUEUE_DESC + 4, (u32)(desc >> 32));
	virtio_wr(d, VREG_QUEUE_DRIVER, (u32)avail);
	virtio_wr(d, VREG_QUEUE_DRIVER + 4, (u32)(avail >> 32));
	virtio_wr(d, VREG_QUEUE_DEVICE, (u32)used);
	virtio_wr(d, VREG_QUEUE_DEVICE + 4, (u32)(used >> 32));
	virtio_wr(d, VREG_QUEUE_READY, 1);
}

void virtio_queue_setup(struct virtio_dev *d, unsigned qi)
{
	struct virtq *q = &d->q[qi];

	/* Only what the device reads before the driver writes it: clearing
	 * whole pages costs much under instruction-by-instruction engines. */
	memset(q->desc, 0, sizeof(q->desc));
	q->avail_flags = q->avail_idx = q->used_event = 0;
	q->used_flags = q->used_idx = q->avail_event = 0;
	q->used_seen = 0;
	virtio_queue_setup_at(d, qi, VQ_SIZE, (u64)q->desc, (u64)&q->avail_flags,
			      (u64)&q->used_flags);
}

bool virtio_init(struct virtio_dev *d, u64 want, unsigned nr_queues)
{
	u64 offered = virtio_device_features(d);

	d->want = want;
	d->nr_queues = nr_queues;
	want |= offered & 1ULL << VIRTIO_F_INDIRECT_DESC;
	if (!virtio_negotiate(d, want))
		return false;
	for (unsigned i = 0; i < nr_queues; i++)
		virtio_queue_setup(d, i);
	virtio_wr(d, VREG_STATUS, VSTAT_ALL);
	virtio_wr(d, VREG_INT_ACK, virtio_rd(d, VREG_INT_STATUS));
	return virtio_rd(d, VREG_STATUS) == VSTAT_ALL;
}

void vq_publish(struct virtq *q, u16 head)
{
	q->avail_ring[q->avail_idx % VQ_SIZE] = head;
	asm volatile("" ::: "memory"); /* x86 keeps stores in order (2.7.13) */
	q->avail_idx++;
}

void virtio_notify(const struct virtio_dev *d, unsigned qi)
{
	asm volatile("" ::: "memory");
	virtio_wr(d, VREG_QUEUE_NOTIFY, qi);
}

void virtio_kick(struct virtio_dev *d, unsigned qi, u16 head)
{
	vq_publish(&d->q[qi], head);
	virtio_notify(d, qi);
}

bool vq_wait_used(struct virtq *q, struct vq_used_elem *out)
{
	u64 t0 = rdtsc();

	while (rdtsc() - t0 < VIRTIO_WAIT_LONG) {
		if (vq_has_used(q)) {
			if (out) {
				out->id = q->used_ring[q->used_seen % VQ_SIZE].id;
				out->len = q->used_ring[q->used_seen % VQ_SIZE].len;
			}
			q->used_seen++;
			return true;
		}
		pause();
		outb(0x80, 0); /* an exit now and then, for KVM hosts */
	}
	return false;
}

bool virtio_wait_status(const struct virtio_dev *d, u32 mask, u64 ticks)
{
	u64 t0 = rdtsc();

	while (rdtsc() - t0 < ticks)
		if (virtio_rd(d, VREG_STATUS) & mask)
			return true;
	return false;
}

const char *vq_attack_name(enum vq_attack a)
{
	static const char *const names[VQ_NR_ATTACKS] = {
	    [VQ_OUT_OF_RANGE] = "buffer outside RAM",
	    [VQ_LOOP] = "descriptor loop",
	    [VQ_HUGE_LEN] = "4 GiB buffer length",
	    [VQ_WRONG_DIR] = "buffer in the wrong direction",
	    [VQ_INDIRECT_LOOP] = "loop in an indirect table",
	    [VQ_INDIRECT_OUTSIDE] = "indirect table outside RAM",
	};

	return a < VQ_NR_ATTACKS ? names[a] : "?";
}

/* Two descriptors covering buf that link back to the first: 0 -> 1 -> 0. */
static void vq_loop(struct vq_desc *t, u64 buf, u32 len, u16 flags)
{
	t[0] = (struct vq_desc){buf, len / 2, flags | VDESC_NEXT, 1};
	t[1] = (struct vq_desc){buf + len / 2, len - len / 2, flags | VDESC_NEXT, 0};
}

u16 vq_build_attack(struct virtq *q, enum vq_attack a, u64 buf, u32 len, bool write)
{
	u16 w = write ? VDESC_WRITE : 0;

	switch (a) {
	case VQ_OUT_OF_RANGE:
		vq_desc_set(q, 0, VIRTIO_BAD_ADDR, len, w, 0);
		break;
	case VQ_LOOP:
		vq_loop(q->desc, buf, len, w);
		break;
	case VQ_HUGE_LEN:
		vq_desc_set(q, 0, buf, 0xFFFFF000u, w, 0);
		break;
	case VQ_WRONG_DIR:
		vq_desc_set(q, 0, buf, len, w ^ VDESC_WRITE, 0);
		break;
	case VQ_INDIRECT_LOOP:
		vq_loop(q->indirect, buf, len, w);
		vq_desc_set(q, 0, (u64)q->indirect, 2 * sizeof(struct vq_desc), VDESC_INDIRECT, 0);
		break;
	default: /* VQ_INDIRECT_OUTSIDE */
		vq_desc_set(q, 0, VIRTIO_BAD_ADDR, 2 * sizeof(struct vq_desc), VDESC_INDIRECT, 0);
		break;
	}
	return 0;
}

bool virtio_expect_reset(struct virtio_dev *d, unsigned qi, const char *what)
{
	bool broke = virtio_wait_status(d, VSTAT_NEEDS_RESET, VIRTIO_WAIT_LONG);
	bool ok = check(broke, "%s: device sets DEVICE_NEEDS_RESET", what);

	if (broke)
		ok &= check(virtio_rd(d, VREG_INT_STATUS) & VINT_CONFIG,
			    "%s: with a configuration change interrupt", what);
	ok &= check(!vq_has_used(&d->q[qi]), "%s: nothing was completed", what);
	ok &= check(virtio_init(d, d->want, d->nr_queues),
		    "%s: the device resets and initializes again", what);
	return ok;
}

void vq_join(char *what, unsigned n, const char *a, const char *b)
{
	unsigned i = 0;

	for (; *a && i < n - 3; a++)
		what[i++] = *a;
	what[i++] = ':';
	what[i++] = ' ';
	for (; *b && i < n - 1; b++)
		what[i++] = *b;
	what[i] = 0;
}

/* FNV-1a over n bytes: enough to see whether a buffer changed. */
u64 vq_hash(const volatile u8 *p, u32 n)
{
	u64 h = 0xcbf29ce484222325ULL;

	for (u32 i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

void virtio_attack_queue(struct virtio_dev *d, unsigned qi, const char *qname, u64 buf, u32 len,
			 bool write, virtio_trigger_fn trigger)
{
	for (unsigned a = 0; a < VQ_NR_ATTACKS; a++) {
		u8 *p = (u8 *)buf;
		char what[96];
		u64 before;

		vq_join(what, sizeof(what), qname, vq_attack_name(a));
		/* Each attack starts on a working device (the last one ends
		 * with a re-initialization that was checked). */
		if (virtio_rd(d, VREG_STATUS) != VSTAT_ALL &&
		    !check(virtio_init(d, d->want, d->nr_queues), "%s: device ready", what))
			return;
		/* A rejected request has no effect, on guest memory either:
		 * a device-writable buffer is poisoned first, so that a
		 * device writing it anyway changes it. */
		if (write)
			memset(p, VQ_POISON, len);
		before = vq_hash(p, len);
		virtio_kick(d, qi, vq_build_attack(&d->q[qi], a, buf, len, write));
		if (trigger)
			trigger(d);
		virtio_expect_reset(d, qi, what);
		check(vq_hash(p, len) == before, "%s: its buffer is unchanged", what);
	}
}

u8 blk_request(struct virtio_dev *d, u32 type, u64 sector, void *data, u32 len)
{
	static struct blk_req_hdr hdr __attribute__((aligned(16)));
	static volatile u8 status;
	struct virtq *q = &d->q[0];

	hdr = (struct blk_req_hdr){type, 0, sector};
	status = 0xEE;
	vq_desc_set(q, 0, (u64)&hdr, 16, VDESC_NEXT, len ? 1 : 2);
	if (len)
		vq_desc_set(q, 1, (u64)data, len, VDESC_NEXT | (type == BLK_T_OUT ? 0 : VDESC_WRITE), 2);
	vq_desc_set(q, 2, (u64)&status, 1, VDESC_WRITE, 0);
	virtio_kick(d, 0, 0);
	if (!vq_wait_used(q, NULL))
		return 0xEE;
	return status;
}
