/* virtio-mem (virtio 1.2 section 5.15): the hot-plug area after RAM
 * (core/guest_mem.h) handed to the guest in blocks. The host sets a
 * requested size; the guest's driver plugs or unplugs blocks to reach it;
 * an unplugged block's pages go back to the host. */
#ifndef POPEK_VIRTIO_MEM_H
#define POPEK_VIRTIO_MEM_H

#include "core/config.h"

struct machine;
struct virtio_mem;

#define VIRTIO_ID_MEM        24
#define VIRTIO_MEM_QUEUE_MAX 128

/* Creates the device over m->mem's hot-plug area (m->mem.hotplug must be a
 * region) with cfg's block size; everything starts unplugged and the
 * requested size at 0. Logs one line and returns -errno on failure. */
int virtio_mem_create(struct machine *m, const struct hotplug_config *cfg, struct virtio_mem **out);
void virtio_mem_destroy(struct virtio_mem *d);

/* PATCH /hotplug/memory: asks the guest for bytes of plugged memory (a
 * multiple of the block size, at most the area; the caller checked) and
 * raises the config-change interrupt. Any thread but a vCPU's. */
void virtio_mem_request(struct virtio_mem *d, u64 bytes);
/* GET /hotplug/memory: bytes plugged now and requested. */
void virtio_mem_sizes(struct virtio_mem *d, u64 *plugged, u64 *requested);

#endif
