/* XZ kernel payloads (scripts/xz_wrap.sh: CRC32, x86 BCJ and LZMA2 filters) through liblzma. */
#include <errno.h>
#include <lzma.h>

#include "boot/unpack.h"

/* The kernel's stream asks for a 32 MiB dictionary (xz -9 for 64 MiB); a
 * header asking for more than this is refused rather than allocated. */
#define XZ_MEMLIMIT (256 * MiB)

int unpack_xz(const u8 *in, u64 len, u8 *out, u64 size)
{
	u64 memlimit = XZ_MEMLIMIT;
	size_t in_pos = 0, out_pos = 0;
	lzma_ret r;

	/* One stream (no LZMA_CONCATENATED), filters as its block headers say
	 * (the x86 BCJ filter included); its check (CRC32) is verified, and a
	 * check liblzma cannot verify is refused. The buffer decoder stops
	 * with LZMA_BUF_ERROR rather than write past out + size. */
	r = lzma_stream_buffer_decode(&memlimit, LZMA_TELL_UNSUPPORTED_CHECK, NULL, in, &in_pos,
				      len, out, &out_pos, size);
	if (r == LZMA_MEM_ERROR)
		return -ENOMEM;
	if (r != LZMA_OK || in_pos != len || out_pos != size)
		return -EINVAL;
	return 0;
}
