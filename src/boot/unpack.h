/* Host-side unpacking of a bzImage's compressed payload: the formats, their decompressors. */
#ifndef POPEK_BOOT_UNPACK_H
#define POPEK_BOOT_UNPACK_H

#include "popek/types.h"

/* The payload formats the kernel's build makes (arch/x86/boot/compressed/
 * Makefile, scripts/Makefile.lib) that popek unpacks; bzip2, LZMA and LZO
 * payloads are UNPACK_UNKNOWN and boot through the kernel's own decompressor. */
enum unpack_format { UNPACK_UNKNOWN, UNPACK_LZ4, UNPACK_XZ, UNPACK_GZIP, UNPACK_ZSTD };

/* The largest unpacked kernel popek accepts, whatever the guest's RAM (the
 * Debian kernels unpack to 53 and 66 MB). */
#define UNPACK_MAX (1024 * MiB)

/* The format of a payload, from its magic bytes only. */
enum unpack_format unpack_identify(const u8 *in, u64 len);

/* "LZ4", "XZ", "gzip", "zstd" or "unknown", for messages. */
const char *unpack_format_name(enum unpack_format format);

/* Unpacks a kernel payload of len bytes as the kernel's build makes it: the
 * compressed stream, then the unpacked size as a little-endian u32 (LZ4, XZ
 * and zstd: size_append after the stream; gzip: the stream's own ISIZE).
 * The stream must end exactly before that size (gzip: exactly at len) and
 * unpack to exactly that many bytes; the size must be 1..max, and no more
 * than max bytes are ever written or allocated (a decompression bomb stops
 * there). Pure (fuzzable). On success *out is malloc'ed and *out_len its
 * size. *format (when not NULL) gets the format found. Returns 0, -ENOTSUP
 * for an unknown format, -EFBIG when the size is above max, -EINVAL for a
 * truncated or corrupt payload, or -ENOMEM. Logs nothing. */
int unpack_payload(const u8 *in, u64 len, u64 max, u8 **out, u64 *out_len,
		   enum unpack_format *format);

/* One decompressor per format, called by unpack_payload once the size is
 * checked and the buffer allocated: in/len is the compressed stream (for
 * gzip with its ISIZE), out the buffer of exactly size bytes to fill.
 * Each returns 0 when the stream is well formed, ends exactly at in + len
 * and unpacks to exactly size bytes; -EINVAL for anything else (never
 * writing past out + size), -ENOMEM when the library cannot allocate. */
typedef int unpack_fn(const u8 *in, u64 len, u8 *out, u64 size);

unpack_fn unpack_lz4;  /* unpack_lz4.c: LZ4 legacy frames (lib/decompress_unlz4.c) */
unpack_fn unpack_xz;   /* unpack_xz.c: one .xz stream, any filters (liblzma) */
unpack_fn unpack_gzip; /* unpack_gzip.c: one gzip member (zlib) */
unpack_fn unpack_zstd; /* unpack_zstd.c: zstd frames (libzstd) */

#endif
