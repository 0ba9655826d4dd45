/* Kernel payloads built in the tests as the kernel's build makes them, with the packaged libraries.
 */
#ifndef POPEK_TEST_PAYLOAD_FIXTURE_H
#define POPEK_TEST_PAYLOAD_FIXTURE_H

#include <lz4.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "boot/loader.h"
#include "boot/unpack.h"

/* The kernel's `lz4 -l`: legacy frames of data in blocks of at most block
 * bytes, here with a second frame magic before the last block. */
static inline u8 *payload_lz4_stream(const u8 *data, size_t len, size_t block, size_t *out_len)
{
	size_t cap = 16 + len / block * 8 + (size_t)LZ4_compressBound((int)len) + 64, pos = 4;
	u8 *o = calloc(1, cap);

	put_le32(o, 0x184C2102);
	for (size_t off = 0; off < len; off += block) {
		size_t n = MIN(block, len - off);
		int c;
		if (off && off + n == len) {
			put_le32(o + pos, 0x184C2102);
			pos += 4;
		}
		c = LZ4_compress_default((const char *)data + off, (char *)o + pos + 4, (int)n,
					 (int)(cap - pos - 4));
		if (c <= 0)
			abort();
		put_le32(o + pos, (u32)c);
		pos += 4 + (size_t)c;
	}
	*out_len = pos;
	return o;
}

/* scripts/xz_wrap.sh for x86: `xz --check=crc32 --x86 --lzma2=,dict=32MiB`
 * (a 1 MiB dictionary here: the test data is smaller). */
static inline u8 *payload_xz_stream(const u8 *data, size_t len, size_t *out_len)
{
	lzma_options_lzma opt;
	lzma_filter filters[] = {
	    {LZMA_FILTER_X86, NULL}, {LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
	size_t cap = lzma_stream_buffer_bound(len) + 8, pos = 0;
	u8 *o = malloc(cap);

	if (lzma_lzma_preset(&opt, 6))
		abort();
	opt.dict_size = 1 << 20;
	if (lzma_stream_buffer_encode(filters, LZMA_CHECK_CRC32, NULL, data, len, o, &pos, cap) !=
	    LZMA_OK)
		abort();
	*out_len = pos;
	return o;
}

/* `gzip -n -9`: one gzip member, its trailer (CRC32, ISIZE) included; with
 * name, the header carries an FNAME field too (gzip without -n). */
static inline u8 *payload_gzip_stream(const u8 *data, size_t len, const char *name, size_t *out_len)
{
	gz_header hdr;
	z_stream z;
	size_t cap;
	u8 *o;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	if (name) {
		memset(&hdr, 0, sizeof(hdr));
		hdr.name = (Bytef *)name;
		hdr.os = 3;
		if (deflateSetHeader(&z, &hdr) != Z_OK)
			abort();
	}
	cap = deflateBound(&z, len) + 64;
	o = malloc(cap);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = o;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	*out_len = z.total_out;
	deflateEnd(&z);
	return o;
}

/* `zstd -22 --ultra` (level 3 here, for speed): one frame with its
 * content checksum, as the zstd tool writes by default. */
static inline u8 *payload_zstd_stream(const u8 *data, size_t len, size_t *out_len)
{
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	size_t cap = ZSTD_compressBound(len) + 8, n;
	u8 *o = malloc(cap);

	if (!cctx || ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)))
		abort();
	n = ZSTD_compress2(cctx, o, cap, data, len);
	if (ZSTD_isError(n))
		abort();
	ZSTD_freeCCtx(cctx);
	*out_len = n;
	return o;
}

/* The compressed stream alone (gzip: with its own trailer). */
static inline u8 *payload_stream(enum unpack_format f, const u8 *data, size_t len, size_t *out_len)
{
	switch (f) {
	case UNPACK_LZ4:
		return payload_lz4_stream(data, len, 64 * 1024, out_len);
	case UNPACK_XZ:
		return payload_xz_stream(data, len, out_len);
	case UNPACK_GZIP:
		return payload_gzip_stream(data, len, NULL, out_len);
	case UNPACK_ZSTD:
		return payload_zstd_stream(data, len, out_len);
	default:
		abort();
	}
}

/* scripts/Makefile.lib size_append: the stream of *len bytes (room for 4
 * more or not) followed by size as a little-endian u32. */
static inline u8 *payload_size_append(u8 *stream, size_t *len, u32 size)
{
	stream = realloc(stream, *len + 4);
	put_le32(stream + *len, size);
	*len += 4;
	return stream;
}

/* A payload as the bzImage carries it: the stream, then the unpacked size
 * (gzip: its trailer's ISIZE already is that size). */
static inline u8 *payload_build(enum unpack_format f, const u8 *data, size_t len, size_t *out_len)
{
	u8 *p = payload_stream(f, data, len, out_len);

	return f == UNPACK_GZIP ? p : payload_size_append(p, out_len, (u32)len);
}

static const enum unpack_format payload_formats[] = {UNPACK_LZ4, UNPACK_XZ, UNPACK_GZIP,
						     UNPACK_ZSTD};

#endif
