/* libFuzzer harness for virtio-blk request execution (src/virtio/blk.c)
 * behind the split virtqueue: the input is guest RAM with a queue of
 * requests, served against a 256 KiB in-memory disk image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "virtio/blk.h"

#define FUZZ_RAM  (2 * MiB)
#define FUZZ_AREA (32 * KiB) /* input bytes land here; the used ring after */
#define FUZZ_DISK (256 * KiB)

struct fuzz_state {
	struct guest_mem *mem;
	struct disk disk;
	char path[64];
	struct virtio_blk_req_env env;
	struct virtq_elem e;
};

static struct fuzz_state *fuzz_state(void)
{
	static struct fuzz_state *s; /* set up once for the whole run */

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	int fd = memfd_create("popek-fuzz-disk", 0);
	if (!s || fd < 0 || ftruncate(fd, FUZZ_DISK))
		abort();
	s->mem = fuzz_guest_mem(FUZZ_RAM);
	snprintf(s->path, sizeof(s->path), "/proc/self/fd/%d", fd);
	if (disk_open(&s->disk, s->path, false))
		abort();
	s->env.disk = &s->disk;
	s->env.capacity = FUZZ_DISK / DISK_SECTOR;
	memcpy(s->env.id, "fuzz", 4);
	return s;
}

/* Input: byte 0 = log2 queue size (mod 5), byte 1 = bit 0 indirect, bit 1
 * read-only disk, bits 2-3 discard / write-zeroes negotiated, then guest
 * RAM from address 0 (avail ring at 0, descriptor table at 0x40, used ring
 * at 0x8000): small, so that short inputs reach request execution. */
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_state *s = fuzz_state();
	struct virtq q;
	const char *why;

	if (size < 2)
		return 0;
	memset(s->mem->base, 0, FUZZ_AREA);
	memcpy(s->mem->base, data + 2, MIN(size - 2, FUZZ_AREA));
	memset(&q, 0, sizeof(q));
	q.size = (u16)(1u << (data[0] % 5));
	q.indirect = data[1] & 1;
	q.avail = 0;
	q.desc = 0x40;
	q.used = 0x8000;
	q.ready = true;
	s->disk.readonly = data[1] & 2;
	s->env.features = virtio_blk_features(s->disk.readonly, true);
	if (!(data[1] & 4))
		s->env.features &= ~(1ULL << VIRTIO_BLK_F_DISCARD);
	if (!(data[1] & 8))
		s->env.features &= ~(1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	for (unsigned n = 0; n < q.size; n++) {
		u32 used = 0;
		int r = virtq_pop(&q, s->mem, &s->e, &why);
		if (r <= 0)
			break;
		r = virtio_blk_execute(&s->env, &s->e, &used, &why);
		if (r < 0) {
			if (!why || s->e.nr_in)
				abort(); /* only a chain without a status byte is fatal */
			break;
		}
		if (used < 1 || used > s->e.in_len)
			abort();
		const struct iovec *last = &s->e.in[s->e.nr_in - 1];
		u8 status = ((u8 *)last->iov_base)[last->iov_len - 1];
		if (status > VIRTIO_BLK_S_UNSUPP)
			abort();
		virtq_push(&q, s->mem, s->e.head, used);
	}
	return 0;
}
