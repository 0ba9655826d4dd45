/* The memory devices' part of a snapshot's machine section (appended by
 * snapshot_config.c): the hot-plug area's geometry, which sizes the memory
 * file, and each pmem file, which the restore maps again.
 *
 * Order: u64 hot-plug total, u64 block size, u64 slot size (bytes; all 0
 * without virtio-mem); u32 pmem devices, each: id string, path string,
 * u8 flags (bit 0 root device, bit 1 read-only), u64 the file's size. */
#include <errno.h>
#include <string.h>

#include "vmm/snapshot_memdev.h"

void snapshot_memdev_encode(const struct vm_config *cfg, const u64 *pmem_sizes, struct snap_out *o)
{
	snap_put_u64(o, cfg->hotplug.total_size);
	snap_put_u64(o, cfg->hotplug.block_size);
	snap_put_u64(o, cfg->hotplug.slot_size);
	snap_put_u32(o, cfg->nr_pmem);
	for (unsigned i = 0; i < cfg->nr_pmem; i++) {
		const struct pmem_config *p = &cfg->pmem[i];

		snap_put_str(o, p->id);
		snap_put_str(o, p->path);
		snap_put_u8(o, (u8)(p->root_device | p->read_only << 1));
		snap_put_u64(o, pmem_sizes[i]);
	}
}

int snapshot_memdev_decode(struct snap_in *in, struct vm_config *cfg, u64 *pmem_sizes)
{
	struct hotplug_config *h = &cfg->hotplug;

	h->total_size = snap_get_u64(in);
	h->block_size = snap_get_u64(in);
	h->slot_size = snap_get_u64(in);
	if (!in->bad && h->total_size &&
	    (h->block_size < 2 * MiB || (h->block_size & (h->block_size - 1)) ||
	     h->total_size % h->block_size || h->total_size > 256 * GiB ||
	     h->slot_size % h->block_size))
		return snap_reject(in, "hot-plug area of %llu bytes in blocks of %llu",
				   (unsigned long long)h->total_size,
				   (unsigned long long)h->block_size);
	cfg->nr_pmem = snap_get_index(in, CONFIG_MAX_PMEM + 1, "pmem count");
	for (unsigned i = 0; i < cfg->nr_pmem && !in->bad; i++) {
		struct pmem_config *p = &cfg->pmem[i];
		u8 flags;

		memset(p, 0, sizeof(*p));
		snap_get_str(in, p->id, sizeof(p->id), "pmem id");
		snap_get_str(in, p->path, sizeof(p->path), "pmem path");
		flags = snap_get_u8(in);
		pmem_sizes[i] = snap_get_u64(in);
		if (flags >> 2)
			return snap_reject(in, "pmem %u: flags 0x%x have unknown bits", i, flags);
		p->root_device = flags & 1;
		p->read_only = flags >> 1 & 1;
	}
	return in->bad ? -EINVAL : 0;
}
