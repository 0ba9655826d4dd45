/* libFuzzer harness for split virtqueue parsing (src/virtio/virtqueue.c):
 * the input is a queue configuration plus the first 64 KiB of a 2 MiB guest
 * RAM holding the descriptor table, rings and indirect tables; every popped
 * chain must lie in RAM and respect the documented limits. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "virtio/virtqueue.h"

#define FUZZ_RAM  (2 * MiB)
#define FUZZ_AREA (32 * KiB) /* input bytes land here; the used ring after */

static void fuzz_check_elem(const struct guest_mem *mem, const struct virtq_elem *e, u16 qsize)
{
	const u8 *lo = mem->base, *hi = mem->base + mem->ram_size;
	u64 out = 0, in = 0;

	if (e->head >= qsize || e->nr_out + e->nr_in > VIRTQ_MAX_SEGS)
		abort();
	if (e->out != e->iov || e->in != e->iov + e->nr_out)
		abort();
	for (unsigned i = 0; i < e->nr_out + e->nr_in; i++) {
		const u8 *p = e->iov[i].iov_base;
		if (!e->iov[i].iov_len || p < lo || p > hi || e->iov[i].iov_len > (size_t)(hi - p))
			abort();
		if (i < e->nr_out)
			out += e->iov[i].iov_len;
		else
			in += e->iov[i].iov_len;
	}
	if (out != e->out_len || in != e->in_len)
		abort();
}

/* Input: byte 0 = log2 queue size (mod 7), byte 1 = bit 0 indirect, bit 1
 * event_idx, bytes 2-3 = last_avail, then guest RAM from address 0 (avail
 * ring at 0, descriptor table at 0x100, used ring at 0x8000): compact, so
 * that short inputs reach descriptors and indirect tables. */
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct virtq_elem e;
	struct guest_mem *mem = fuzz_guest_mem(FUZZ_RAM);
	struct virtq q;
	const char *why;

	if (size < 4)
		return 0;
	memset(mem->base, 0, FUZZ_AREA);
	memcpy(mem->base, data + 4, MIN(size - 4, FUZZ_AREA));
	memset(&q, 0, sizeof(q));
	q.size = (u16)(1u << (data[0] % 7));
	q.indirect = data[1] & 1;
	q.event_idx = data[1] & 2;
	q.last_avail = (u16)(data[2] | data[3] << 8);
	q.avail = 0;
	q.desc = 0x100;
	q.used = 0x8000;
	q.ready = true;
	if (virtq_validate(&q, mem, &why))
		abort();
	for (unsigned n = 0; n < 2u * q.size + 2; n++) {
		u16 before = q.last_avail;
		int r = virtq_pop(&q, mem, &e, &why);
		if (r < 0) {
			if (!why || q.last_avail != before)
				abort();
			break;
		}
		if (r == 0)
			break;
		fuzz_check_elem(mem, &e, q.size);
		if (virtq_push(&q, mem, e.head, (u32)e.in_len))
			abort();
		virtq_should_notify(&q, mem);
	}
	virtq_set_notify(&q, mem, data[1] & 4);
	return 0;
}
