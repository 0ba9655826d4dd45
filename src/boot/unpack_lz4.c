/* LZ4 kernel payloads: the legacy frame of the kernel's `lz4 -l` (lib/decompress_unlz4.c). */
#include <errno.h>
#include <lz4.h>
#include <pthread.h>
#include <stdlib.h>

#include "boot/loader.h"
#include "boot/unpack.h"

/* A magic word, then blocks of {u32 compressed size, data} each unpacking
 * to at most 8 MiB; a repeated magic word starts another frame. */
#define LZ4_LEGACY_MAGIC 0x184C2102u
#define LZ4_LEGACY_BLOCK (8 * MiB)

/* One block of the payload and where it unpacks to. */
struct lz4_block {
	const u8 *src;
	int csize;
	u64 off; /* in the output */
	int got; /* bytes it unpacked to, or <= 0: broken */
};

/* One after another: a block unpacks after the one before, whatever its size. */
static int unpack_lz4_serial(const struct lz4_block *b, unsigned n, u8 *out, u64 size)
{
	u64 done = 0;

	for (unsigned k = 0; k < n; k++) {
		int got =
		    LZ4_decompress_safe((const char *)b[k].src, (char *)out + done, b[k].csize,
					(int)MIN(size - done, (u64)LZ4_LEGACY_BLOCK));
		if (got <= 0)
			return -EINVAL;
		done += (u64)got;
	}
	return done == size ? 0 : -EINVAL;
}

/* A thread's share: blocks first, first + step, ... */
struct lz4_share {
	struct lz4_block *b;
	unsigned n, first, step;
	u8 *out;
	u64 size;
};

static void *unpack_lz4_share(void *arg)
{
	struct lz4_share *h = arg;

	for (unsigned k = h->first; k < h->n; k += h->step) {
		struct lz4_block *b = &h->b[k];
		b->got = b->off < h->size
			     ? LZ4_decompress_safe(
				   (const char *)b->src, (char *)h->out + b->off, b->csize,
				   (int)MIN(h->size - b->off, (u64)LZ4_LEGACY_BLOCK))
			     : -1;
	}
	return NULL;
}

/* The blocks of a kernel's payload are independent and, but for the last,
 * unpack to 8 MiB each (the kernel's build compresses 8 MiB at a time):
 * two threads unpack every other block in place. A payload where that
 * does not hold (frames with a short block inside) unpacks again one block
 * after another. */
static int unpack_lz4_blocks(struct lz4_block *b, unsigned n, u8 *out, u64 size)
{
	struct lz4_share odd = {b, n, 1, 2, out, size}, even = {b, n, 0, 2, out, size};
	pthread_t t;
	bool helper;

	for (unsigned k = 0; k < n; k++)
		b[k].off = (u64)k * LZ4_LEGACY_BLOCK;
	helper = n > 1 && !pthread_create(&t, NULL, unpack_lz4_share, &odd);
	if (!helper)
		even.step = 1; /* no thread: all of them here */
	unpack_lz4_share(&even);
	if (helper)
		pthread_join(t, NULL);
	bool fits = true;
	for (unsigned k = 0; k < n && fits; k++)
		fits = b[k].got > 0 && (k + 1 < n ? (u64)b[k].got == LZ4_LEGACY_BLOCK
						  : b[k].off + (u64)b[k].got == size);
	return fits ? 0 : unpack_lz4_serial(b, n, out, size);
}

int unpack_lz4(const u8 *in, u64 len, u8 *out, u64 size)
{
	u64 pos = 4;
	unsigned n = 0, cap = 0;
	struct lz4_block *b = NULL;
	int r;

	if (len < 4 || get_le32(in) != LZ4_LEGACY_MAGIC)
		return -EINVAL;
	while (pos < len) {
		u64 csize;

		if (len - pos < 4)
			goto bad;
		csize = get_le32(in + pos);
		pos += 4;
		if (csize == LZ4_LEGACY_MAGIC)
			continue;
		if (!csize || csize > len - pos || csize > (u64)LZ4_compressBound(LZ4_LEGACY_BLOCK))
			goto bad;
		if (n == cap) {
			struct lz4_block *nb = realloc(b, (cap = cap ? 2 * cap : 16) * sizeof(*b));
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		b[n++] = (struct lz4_block){.src = in + pos, .csize = (int)csize};
		pos += csize;
	}
	r = n ? unpack_lz4_blocks(b, n, out, size) : (size ? -EINVAL : 0);
	free(b);
	return r;
bad:
	free(b);
	return -EINVAL;
}
