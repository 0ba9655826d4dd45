/* virtio-mem: the configuration space (5.15.4), and the guest's plug,
 * unplug, unplug-all and state requests (5.15.6) answered at once on the
 * vCPU that notified, each range checked against the area and the block
 * bitmap before anything changes. An unplugged block's host pages are
 * discarded, so it reads as zeroes if plugged again and the host gets the
 * memory back. */
#include "virtio/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/machine.h"
#include "core/snap_codec.h"
#include "popek/log.h"
#include "virtio/virtio.h"

/* Request types (virtio_mem_req.type) and answers (virtio_mem_resp.type). */
#define MEM_REQ_PLUG        0
#define MEM_REQ_UNPLUG      1
#define MEM_REQ_UNPLUG_ALL  2
#define MEM_REQ_STATE       3
#define MEM_RESP_ACK        0
#define MEM_RESP_NACK       1
#define MEM_RESP_ERROR      3
#define MEM_STATE_PLUGGED   0
#define MEM_STATE_UNPLUGGED 1
#define MEM_STATE_MIXED     2

#define MEM_REQ_LEN    24 /* le16 type, 3 x le16 padding, le64 addr, le16 nb_blocks, padding */
#define MEM_RESP_LEN   10 /* le16 type, 3 x le16 padding, le16 state */
#define MEM_CONFIG_LEN 56

struct virtio_mem {
	struct machine *m;
	struct virtio_mmio *vm;
	gpa_t addr; /* the area as the guest sees it */
	u64 size;   /* region_size = usable_region_size */
	u8 *host;
	u64 block; /* block_size */
	u64 nr_blocks;
	/* Under the device lock: */
	u64 *plugged; /* one bit per block */
	u64 nr_plugged;
	u64 requested; /* bytes */
	struct virtq_elem elem;
};

static bool block_plugged(const struct virtio_mem *d, u64 b)
{
	return d->plugged[b / 64] >> (b % 64) & 1;
}

/* 5.15.4: block_size, node_id (0, with padding), addr, region_size,
 * usable_region_size, plugged_size, requested_size. */
static void mem_config_read(void *opaque, u32 offset, void *buf, u32 len)
{
	struct virtio_mem *d = opaque;
	u64 cfg[MEM_CONFIG_LEN / 8] = {
	    d->block, 0, d->addr, d->size, d->size, d->nr_plugged * d->block, d->requested};

	memset(buf, 0, len);
	if (offset < sizeof(cfg))
		memcpy(buf, (u8 *)cfg + offset, MIN(len, (u32)sizeof(cfg) - offset));
}

static int mem_activate(void *opaque, u64 features)
{
	(void)opaque;
	(void)features;
	return 0;
}

/* Gives blocks [first, first + n) back to the host (device lock held). */
static void blocks_discard(struct virtio_mem *d, u64 first, u64 n)
{
	const struct guest_mem *mem = &d->m->mem;

	madvise(d->host + first * d->block, n * d->block, MADV_DONTNEED);
	/* The bytes changed without a store: code cached from them is stale. */
	guest_mem_dma_written(mem, d->addr + first * d->block, n * d->block);
}

static void blocks_set(struct virtio_mem *d, u64 first, u64 n, bool plug)
{
	for (u64 b = first; b < first + n; b++) {
		if (plug)
			d->plugged[b / 64] |= 1ULL << (b % 64);
		else
			d->plugged[b / 64] &= ~(1ULL << (b % 64));
	}
	if (plug)
		d->nr_plugged += n;
	else {
		d->nr_plugged -= n;
		blocks_discard(d, first, n);
	}
}

/* The answer to one request (5.15.6.1-5.15.6.4); *state for STATE. */
static u16 mem_handle(struct virtio_mem *d, u16 type, u64 addr, u16 nb, u16 *state)
{
	u64 first, n = nb, plugged = 0;

	if (type == MEM_REQ_UNPLUG_ALL) {
		for (u64 b = 0; b < d->nr_blocks; b++)
			if (block_plugged(d, b))
				blocks_set(d, b, 1, false);
		return MEM_RESP_ACK;
	}
	if (type > MEM_REQ_STATE)
		return MEM_RESP_ERROR;
	/* A range inside the usable area, block-aligned, at least one block. */
	if (!n || addr < d->addr || (addr - d->addr) % d->block ||
	    (addr - d->addr) / d->block >= d->nr_blocks ||
	    n > d->nr_blocks - (addr - d->addr) / d->block)
		return MEM_RESP_ERROR;
	first = (addr - d->addr) / d->block;
	for (u64 b = first; b < first + n; b++)
		plugged += block_plugged(d, b);
	switch (type) {
	case MEM_REQ_PLUG:
		if (plugged)
			return MEM_RESP_ERROR;
		if ((d->nr_plugged + n) * d->block > d->requested)
			return MEM_RESP_NACK; /* more than the host asked for */
		blocks_set(d, first, n, true);
		return MEM_RESP_ACK;
	case MEM_REQ_UNPLUG:
		if (plugged != n)
			return MEM_RESP_ERROR;
		blocks_set(d, first, n, false);
		return MEM_RESP_ACK;
	default:
		*state = !plugged       ? MEM_STATE_UNPLUGGED
			 : plugged == n ? MEM_STATE_PLUGGED
					: MEM_STATE_MIXED;
		return MEM_RESP_ACK;
	}
}

static void mem_notify(void *opaque, unsigned qi)
{
	struct virtio_mem *d = opaque;
	const struct guest_mem *mem = &d->m->mem;
	struct virtq *q = virtio_mmio_queue(d->vm, qi);
	bool pushed = false;
	const char *why = NULL;
	int r;

	while ((r = virtq_pop(q, mem, &d->elem, &why)) > 0) {
		u8 req[MEM_REQ_LEN] = {0}, resp[MEM_RESP_LEN] = {0};
		u16 type, nb, state = 0, ans;
		u64 addr;

		if (d->elem.out_len < MEM_REQ_LEN || d->elem.in_len < MEM_RESP_LEN) {
			why = "request shorter than 24 bytes or response shorter than 10";
			r = -EINVAL;
			break;
		}
		iov_to_buf(d->elem.out, d->elem.nr_out, 0, req, sizeof(req));
		memcpy(&type, req, 2);
		memcpy(&addr, req + 8, 8);
		memcpy(&nb, req + 16, 2);
		ans = mem_handle(d, type, addr, nb, &state);
		memcpy(resp, &ans, 2);
		memcpy(resp + 8, &state, 2);
		iov_from_buf(d->elem.in, d->elem.nr_in, 0, resp, sizeof(resp));
		virtq_push(q, mem, d->elem.head, MEM_RESP_LEN);
		pushed = true;
	}
	if (r < 0)
		virtio_mmio_needs_reset(d->vm, why);
	if (pushed)
		virtio_mmio_signal_used(d->vm, qi);
}

/* 5.15.5: a reset leaves the blocks as they are; the driver asks for their
 * state or unplugs all when it starts again. */
static void mem_reset(void *opaque)
{
	(void)opaque;
}

/* The requested size and the block bitmap; the area and block size come
 * from the configuration, which the snapshot carries. */
static int mem_save(void *opaque, struct snap_out *o)
{
	struct virtio_mem *d = opaque;

	snap_put_u64(o, d->nr_blocks);
	snap_put_u64(o, d->requested);
	for (u64 i = 0; i < (d->nr_blocks + 63) / 64; i++)
		snap_put_u64(o, d->plugged[i]);
	return 0;
}

static int mem_load(void *opaque, struct snap_in *in)
{
	struct virtio_mem *d = opaque;
	u64 words = (d->nr_blocks + 63) / 64, n = 0;
	u64 nr = snap_get_u64(in), requested = snap_get_u64(in);
	u64 *bits;

	if (nr != d->nr_blocks)
		return snap_reject(in, "%llu blocks where this device has %llu",
				   (unsigned long long)nr, (unsigned long long)d->nr_blocks);
	bits = calloc(words, sizeof(u64));
	if (!bits)
		return snap_reject(in, "out of memory");
	for (u64 i = 0; i < words; i++) {
		bits[i] = snap_get_u64(in);
		n += (u64)__builtin_popcountll(bits[i]);
	}
	if (snap_in_end(in) < 0 || (d->nr_blocks % 64 && bits[words - 1] >> (d->nr_blocks % 64)) ||
	    requested > d->size || requested % d->block) {
		free(bits);
		return in->bad ? -EINVAL
			       : snap_reject(in, "block bitmap or requested size out of range");
	}
	memcpy(d->plugged, bits, words * sizeof(u64));
	free(bits);
	d->nr_plugged = n;
	d->requested = requested;
	return 0;
}

static const struct virtio_dev_ops mem_ops = {
    .name = "mem",
    .device_id = VIRTIO_ID_MEM,
    .nr_queues = 1,
    .queue_max = VIRTIO_MEM_QUEUE_MAX,
    .config_size = MEM_CONFIG_LEN,
    .config_read = mem_config_read,
    .activate = mem_activate,
    .notify = mem_notify,
    .reset = mem_reset,
    .save = mem_save,
    .load = mem_load,
};

void virtio_mem_request(struct virtio_mem *d, u64 bytes)
{
	virtio_mmio_lock(d->vm);
	d->requested = bytes;
	virtio_mmio_signal_config(d->vm);
	virtio_mmio_unlock(d->vm);
}

void virtio_mem_sizes(struct virtio_mem *d, u64 *plugged, u64 *requested)
{
	virtio_mmio_lock(d->vm);
	*plugged = d->nr_plugged * d->block;
	*requested = d->requested;
	virtio_mmio_unlock(d->vm);
}

int virtio_mem_create(struct machine *m, const struct hotplug_config *cfg, struct virtio_mem **out)
{
	const struct guest_mem_region *r;
	struct virtio_mem *d;
	int err;

	*out = NULL;
	if (m->mem.hotplug < 0 || !cfg->block_size)
		return -EINVAL;
	r = &m->mem.regions[m->mem.hotplug];
	if (r->size % cfg->block_size)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->m = m;
	d->addr = r->gpa;
	d->size = r->size;
	d->host = r->host;
	d->block = cfg->block_size;
	d->nr_blocks = r->size / cfg->block_size;
	d->plugged = calloc((d->nr_blocks + 63) / 64, sizeof(u64));
	if (!d->plugged) {
		free(d);
		return -ENOMEM;
	}
	err = virtio_mmio_create(m, &mem_ops, d, &d->vm);
	if (err < 0) {
		log_error("virtio-mem: no free virtio-mmio slot (at most %u devices): %s",
			  LAYOUT_VIRTIO_MMIO_MAX, strerror(-err));
		free(d->plugged);
		free(d);
		return err;
	}
	*out = d;
	return 0;
}

void virtio_mem_destroy(struct virtio_mem *d)
{
	if (!d)
		return;
	virtio_mmio_destroy(d->vm);
	free(d->plugged);
	free(d);
}
