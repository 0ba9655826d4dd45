/* zstd kernel payloads (`zstd -22 --ultra`, lib/decompress_unzstd.c) through libzstd. */
#include <errno.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "boot/unpack.h"

int unpack_zstd(const u8 *in, u64 len, u8 *out, u64 size)
{
	size_t n;

	/* One call: every frame of in (the kernel's build makes one) into
	 * out, its checksum verified when the frame has one; a frame that
	 * would write past out + size fails with dstSize_tooSmall, trailing
	 * bytes that are no frame with an error too. No window is allocated
	 * when the whole output buffer is given. */
	n = ZSTD_decompress(out, size, in, len);
	if (ZSTD_isError(n))
		return ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation ? -ENOMEM : -EINVAL;
	return n == size ? 0 : -EINVAL;
}
