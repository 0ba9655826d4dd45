/* LZ4 kernel payloads: the legacy frame of the kernel's `lz4 -l` (lib/decompress_unlz4.c). */
#include <errno.h>
#include <lz4.h>

#include "boot/loader.h"
#include "boot/unpack.h"

/* A magic word, then blocks of {u32 compressed size, data} each unpacking
 * to at most 8 MiB; a repeated magic word starts another frame. */
#define LZ4_LEGACY_MAGIC 0x184C2102u
#define LZ4_LEGACY_BLOCK (8 * MiB)

int unpack_lz4(const u8 *in, u64 len, u8 *out, u64 size)
{
	u64 pos = 4, done = 0;

	if (len < 4 || get_le32(in) != LZ4_LEGACY_MAGIC)
		return -EINVAL;
	while (pos < len) {
		u64 csize;
		int n;

		if (len - pos < 4)
			return -EINVAL;
		csize = get_le32(in + pos);
		pos += 4;
		if (csize == LZ4_LEGACY_MAGIC)
			continue;
		if (!csize || csize > len - pos || csize > (u64)LZ4_compressBound(LZ4_LEGACY_BLOCK))
			return -EINVAL;
		n = LZ4_decompress_safe((const char *)in + pos, (char *)out + done, (int)csize,
					(int)MIN(size - done, (u64)LZ4_LEGACY_BLOCK));
		if (n <= 0)
			return -EINVAL;
		done += (u64)n;
		pos += csize;
	}
	return done == size ? 0 : -EINVAL;
}
