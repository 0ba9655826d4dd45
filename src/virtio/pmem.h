/* virtio-pmem (virtio 1.2 section 5.19): a host file mapped into guest
 * physical memory (core/guest_mem.h), which the guest's driver presents as
 * /dev/pmemN; its one queue carries flush requests, which reach the file
 * (msync and fdatasync) on the machine's event loop. */
#ifndef POPEK_VIRTIO_PMEM_H
#define POPEK_VIRTIO_PMEM_H

#include "core/config.h"

struct machine;
struct virtio_pmem;

#define VIRTIO_ID_PMEM        27
#define VIRTIO_PMEM_QUEUE_MAX 64

/* Creates the device for cfg over guest memory region `region` (mapped from
 * fd by guest_mem_add_file; the device takes fd and closes it). Logs one
 * error line and returns -errno on failure (fd closed then too). */
int virtio_pmem_create(struct machine *m, const struct pmem_config *cfg, unsigned region, int fd,
		       struct virtio_pmem **out);
/* Replaces the flush limiter (PATCH /pmem/{id}), from any thread but the
 * event loop's. */
void virtio_pmem_set_rate_limiter(struct virtio_pmem *p, const struct rate_limit_config *cfg);
void virtio_pmem_destroy(struct virtio_pmem *p);

#endif
