/* virtio-mem's area and the pmem files in a snapshot's machine section. */
#ifndef POPEK_VMM_SNAPSHOT_MEMDEV_H
#define POPEK_VMM_SNAPSHOT_MEMDEV_H

#include "core/config.h"
#include "core/snap_codec.h"

/* pmem_sizes: bytes of each pmem file (a restore refuses a file whose size
 * changed: the guest's view of the device would). */
void snapshot_memdev_encode(const struct vm_config *cfg, const u64 *pmem_sizes, struct snap_out *o);
/* Fills cfg's hotplug and pmem fields and pmem_sizes (CONFIG_MAX_PMEM);
 * 0 or -EINVAL with the reason in in->why. */
int snapshot_memdev_decode(struct snap_in *in, struct vm_config *cfg, u64 *pmem_sizes);

#endif
