/* gzip kernel payloads (`gzip -n -9`, lib/decompress_inflate.c) through zlib's inflate. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

#include "boot/unpack.h"

int unpack_gzip(const u8 *in, u64 len, u8 *out, u64 size)
{
	z_stream z;
	int r;

	/* zlib counts in uInt; no kernel comes near 4 GiB either way. */
	if (len > UINT_MAX || size > UINT_MAX)
		return -EINVAL;
	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip header and trailer around a deflate
	 * stream with a window of up to 32 KiB; inflate checks the trailer's
	 * CRC32 and ISIZE itself. */
	r = inflateInit2(&z, 15 + 16);
	if (r != Z_OK)
		return r == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	z.next_in = (Bytef *)in; /* zlib's API is not const; it only reads */
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)size;
	/* All input and output at once: inflate runs until the member ends,
	 * the output is full or the input runs out (Z_BUF_ERROR: no progress). */
	do
		r = inflate(&z, Z_FINISH);
	while (r == Z_OK);
	inflateEnd(&z);
	if (r == Z_MEM_ERROR)
		return -ENOMEM;
	if (r != Z_STREAM_END || z.avail_in || z.avail_out)
		return -EINVAL;
	return 0;
}
