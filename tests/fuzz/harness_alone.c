/* Whether a device target's next request is the only one the device sees
 * (see harness_alone.h). */
#include "harness_alone.h"

#include <string.h>

#define R_STATUS 0x070 /* virtio 1.2 section 4.2.2 */

bool fuzz_vm_alone(struct fuzz_vm *f, unsigned q, gpa_t buf, u64 len)
{
	const struct virtq *vq = virtio_mmio_queue(f->vm, q);
	const u8 *avail = vq ? guest_mem_ptr(&f->m->mem, vq->avail, 4) : NULL;
	u32 status = (u32)fuzz_vm_read(f, R_STATUS, 4);
	u16 avail_idx;

	if (!avail || !vq->ready || vq->size < 2 ||
	    (status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) !=
		VIRTIO_STATUS_DRIVER_OK)
		return false;
	memcpy(&avail_idx, avail + 2, 2);
	if (avail_idx != vq->last_avail)
		return false;
	const gpa_t rings[3][2] = {{vq->desc, 16 * (u64)vq->size},
				   {vq->avail, 6 + 2 * (u64)vq->size},
				   {vq->used, 6 + 8 * (u64)vq->size}};
	for (unsigned i = 0; i < 3; i++)
		if (rings[i][0] < buf + len && buf < rings[i][0] + rings[i][1])
			return false;
	return true;
}
