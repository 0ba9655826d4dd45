/* Guest-side virtio-mmio driver helpers for hostile-driver tests: find a
 * device, initialize it, build valid and broken descriptor chains, notify,
 * and wait (bounded) for the device's answer or its DEVICE_NEEDS_RESET. */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include "guest.h"

/* popek's virtio-mmio slots (include/popek/layout.h). */
#define VIRTIO_MMIO_BASE  0xD0000000UL
#define VIRTIO_MMIO_SIZE  0x1000UL
#define VIRTIO_MMIO_SLOTS 13
#define VIRTIO_MAGIC      0x74726976 /* "virt" */

/* An address no 64 MiB test guest has RAM at (2 GiB, below the MMIO hole). */
#define VIRTIO_BAD_ADDR 0x80000000UL

/* Device IDs (virtio 1.2 section 5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLK     2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_VSOCK   19

/* virtio-mmio registers (virtio 1.2 section 4.2.2). */
#define VREG_MAGIC            0x000
#define VREG_VERSION          0x004
#define VREG_DEVICE_ID        0x008
#define VREG_DEV_FEATURES     0x010
#define VREG_DEV_FEATURES_SEL 0x014
#define VREG_DRV_FEATURES     0x020
#define VREG_DRV_FEATURES_SEL 0x024
#define VREG_QUEUE_SEL        0x030
#define VREG_QUEUE_NUM_MAX    0x034
#define VREG_QUEUE_NUM        0x038
#define VREG_QUEUE_READY      0x044
#define VREG_QUEUE_NOTIFY     0x050
#define VREG_INT_STATUS       0x060
#define VREG_INT_ACK          0x064
#define VREG_STATUS           0x070
#define VREG_QUEUE_DESC       0x080
#define VREG_QUEUE_DRIVER     0x090
#define VREG_QUEUE_DEVICE     0x0a0
#define VREG_CONFIG           0x100

/* Device status (2.1) and interrupt status (4.2.2) bits. */
#define VSTAT_ACK         1
#define VSTAT_DRIVER      2
#define VSTAT_DRIVER_OK   4
#define VSTAT_FEATURES_OK 8
#define VSTAT_NEEDS_RESET 64
#define VSTAT_ALL         (VSTAT_ACK | VSTAT_DRIVER | VSTAT_FEATURES_OK | VSTAT_DRIVER_OK)
#define VINT_USED         1
#define VINT_CONFIG       2

/* Transport feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

/* Descriptor flags (2.7.5). */
#define VDESC_NEXT     1
#define VDESC_WRITE    2
#define VDESC_INDIRECT 4

#define VQ_SIZE           16 /* QueueNum of every queue set up here */
#define VQ_INDIRECT_MAX   8  /* entries of each queue's indirect table */
#define VIRTIO_MAX_QUEUES 3

struct vq_desc {
	u64 addr;
	u32 len;
	u16 flags, next;
};

struct vq_used_elem {
	u32 id, len;
};

/* One split virtqueue (2.7) of VQ_SIZE entries: descriptor table, driver
 * area and device area on their own pages, then an indirect table and the
 * driver's progress on the device area's page. */
struct virtq {
	struct vq_desc desc[VQ_SIZE];
	u8 pad0[4096 - sizeof(struct vq_desc) * VQ_SIZE];
	volatile u16 avail_flags, avail_idx, avail_ring[VQ_SIZE], used_event;
	u8 pad1[4096 - 6 - 2 * VQ_SIZE];
	volatile u16 used_flags, used_idx;
	volatile struct vq_used_elem used_ring[VQ_SIZE];
	volatile u16 avail_event;
	struct vq_desc indirect[VQ_INDIRECT_MAX] __attribute__((aligned(16)));
	u16 used_seen; /* used elements consumed by vq_wait_used() */
} __attribute__((aligned(4096)));

struct virtio_dev {
	struct virtq q[VIRTIO_MAX_QUEUES];
	u64 base;           /* register block */
	u64 want;           /* features asked for by the last virtio_init() */
	u64 features;       /* features negotiated by it */
	unsigned nr_queues; /* queues it set up */
};

static inline u32 virtio_rd(const struct virtio_dev *d, u32 reg)
{
	return mmio_read32(d->base + reg);
}

static inline void virtio_wr(const struct virtio_dev *d, u32 reg, u32 v)
{
	mmio_write32(d->base + reg, v);
}

static inline void vq_desc_set(struct virtq *q, u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	q->desc[i] = (struct vq_desc){addr, len, flags, next};
}

/* The nth (0: first) device with this ID among the slots; sets d->base. */
bool virtio_find(struct virtio_dev *d, u32 device_id, unsigned nth);

/* virtio-blk (5.2.6): request types, status values and the header. */
#define BLK_T_IN     0
#define BLK_T_OUT    1
#define BLK_T_GET_ID 8
#define BLK_S_OK     0
#define BLK_S_IOERR  1
#define BLK_S_UNSUPP 2
struct blk_req_hdr {
	u32 type, reserved;
	u64 sector;
};
/* One well-formed request on d's queue 0: the header, len bytes at data
 * (none when len is 0; the device writes them unless type is BLK_T_OUT),
 * the status byte. Returns the status, or 0xEE when the device did not
 * answer. */
u8 blk_request(struct virtio_dev *d, u32 type, u64 sector, void *data, u32 len);
/* The 64 feature bits the device offers. */
u64 virtio_device_features(const struct virtio_dev *d);
/* QueueNumMax of queue qi. */
u32 virtio_queue_max(const struct virtio_dev *d, unsigned qi);

/* Reset, ACKNOWLEDGE, DRIVER, then DriverFeatures = want | VERSION_1 and
 * FEATURES_OK (3.1.1 steps 1-6). Returns whether FEATURES_OK stuck. */
bool virtio_negotiate(struct virtio_dev *d, u64 want);
/* Writes queue qi's size and ring addresses, then QueueReady = 1. */
void virtio_queue_setup_at(const struct virtio_dev *d, unsigned qi, u32 size, u64 desc, u64 avail,
			   u64 used);
/* Empties d->q[qi] and sets it up at its own address. */
void virtio_queue_setup(struct virtio_dev *d, unsigned qi);
/* The whole initialization (3.1.1) with want | VERSION_1 | INDIRECT_DESC
 * (when offered) and queues 0..nr_queues-1 empty; acknowledges any
 * interrupt. Returns whether the status reads ACK|DRIVER|FEATURES_OK|DRIVER_OK. */
bool virtio_init(struct virtio_dev *d, u64 want, unsigned nr_queues);

/* Puts head in queue qi's avail ring; virtio_kick() also notifies. */
void vq_publish(struct virtq *q, u16 head);
void virtio_notify(const struct virtio_dev *d, unsigned qi);
void virtio_kick(struct virtio_dev *d, unsigned qi, u16 head);

/* Time-bounded waits (the device works on its own thread): ~2 s, or ~0.2 s
 * for VIRTIO_WAIT_SHORT, which looks for something that must NOT happen. */
#define VIRTIO_WAIT_LONG  4000000000ULL /* TSC ticks */
#define VIRTIO_WAIT_SHORT 400000000ULL
/* Waits for the next used element of q and consumes it (*out, if set). */
bool vq_wait_used(struct virtq *q, struct vq_used_elem *out);
/* Whether q has used elements not consumed yet. */
static inline bool vq_has_used(const struct virtq *q)
{
	return q->used_idx != q->used_seen;
}
/* Waits until a bit of mask is set in the status register. */
bool virtio_wait_status(const struct virtio_dev *d, u32 mask, u64 ticks);

/* The broken chains: each is a broken version of a valid one-buffer request
 * (buf, len, device-writable or not). */
enum vq_attack {
	VQ_OUT_OF_RANGE,     /* the buffer at VIRTIO_BAD_ADDR */
	VQ_LOOP,             /* the buffer split in two descriptors: 0 -> 1 -> 0 */
	VQ_HUGE_LEN,         /* the buffer's length almost 4 GiB */
	VQ_WRONG_DIR,        /* device-writable flipped */
	VQ_INDIRECT_LOOP,    /* a loop inside an indirect table */
	VQ_INDIRECT_OUTSIDE, /* an indirect table at VIRTIO_BAD_ADDR */
	VQ_NR_ATTACKS
};
const char *vq_attack_name(enum vq_attack a);
/* Writes the attack's descriptors from desc[0] (and q->indirect); returns
 * the head to publish. */
u16 vq_build_attack(struct virtq *q, enum vq_attack a, u64 buf, u32 len, bool write);

/* "<a>: <b>" into what (n bytes): the freestanding runtime has no snprintf. */
void vq_join(char *what, unsigned n, const char *a, const char *b);
/* A hash of n bytes at p (FNV-1a), to see whether a device changed them. */
u64 vq_hash(const volatile u8 *p, u32 n);

/* Checks that the device set DEVICE_NEEDS_RESET with a configuration change
 * interrupt and completed nothing on queue qi, then that virtio_init() with
 * the same features and queues brings it back. Returns whether all held. */
bool virtio_expect_reset(struct virtio_dev *d, unsigned qi, const char *what);

/* Called after an attack was posted and notified, for queues the device only
 * reads when it has something to deliver (e.g. receive queues). */
typedef void (*virtio_trigger_fn)(struct virtio_dev *d);
/* Every vq_attack on queue qi (named qname in messages), each on a freshly
 * initialized device: posted, notified, trigger (if set) called, and
 * virtio_expect_reset(). (buf, len, write) is a valid request's buffer; a
 * device-writable one is filled with VQ_POISON before each attack, and
 * either kind must come out unchanged (a rejected request has no effect). */
#define VQ_POISON 0xA5
void virtio_attack_queue(struct virtio_dev *d, unsigned qi, const char *qname, u64 buf, u32 len,
			 bool write, virtio_trigger_fn trigger);

#endif
