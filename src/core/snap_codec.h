/* Field-by-field encoding of one piece of saved state (a snapshot section's
 * payload, src/vmm/snapshot_file.h): little-endian integers and byte
 * strings, no padding and no pointers, so the form does not depend on a
 * struct's layout. A saved state is untrusted input: every read is bounds-
 * checked, and a loader that finds a value out of range says which with
 * snap_reject(); the first reason is kept. */
#ifndef POPEK_SNAP_CODEC_H
#define POPEK_SNAP_CODEC_H

#include "popek/types.h"

/* A growing output buffer. On allocation failure err becomes -ENOMEM and
 * later puts do nothing. */
struct snap_out {
	u8 *buf;
	size_t len, cap;
	int err;
};

void snap_out_init(struct snap_out *o);
void snap_out_free(struct snap_out *o);
void snap_put_u8(struct snap_out *o, u8 v);
void snap_put_u16(struct snap_out *o, u16 v);
void snap_put_u32(struct snap_out *o, u32 v);
void snap_put_u64(struct snap_out *o, u64 v);
void snap_put_bool(struct snap_out *o, bool v); /* one byte, 0 or 1 */
void snap_put_bytes(struct snap_out *o, const void *p, size_t n);
void snap_put_str(struct snap_out *o, const char *s); /* u32 length, the bytes */

/* A reader over one payload. Past the end (or after a rejection) every get
 * returns 0 and bad is set. */
struct snap_in {
	const u8 *p;
	size_t len, pos;
	bool bad;
	char why[160];
};

void snap_in_init(struct snap_in *in, const void *p, size_t len);
u8 snap_get_u8(struct snap_in *in);
u16 snap_get_u16(struct snap_in *in);
u32 snap_get_u32(struct snap_in *in);
u64 snap_get_u64(struct snap_in *in);
bool snap_get_bool(struct snap_in *in); /* a byte other than 0 or 1 is rejected */
void snap_get_bytes(struct snap_in *in, void *dst, size_t n); /* zeroes dst when short */
/* What snap_put_str wrote, into dst (cap bytes, NUL-terminated; "" when
 * bad): rejected, naming name, when it has cap bytes or more, or a NUL. */
void snap_get_str(struct snap_in *in, char *dst, size_t cap, const char *name);
/* A value read is not acceptable: records fmt (the first reason wins) and
 * marks in bad. Returns -EINVAL. */
int snap_reject(struct snap_in *in, const char *fmt, ...) PRINTF_FMT(2, 3);
/* For checks outside a snap_in (an engine's loader): writes the one-line
 * reason into why (when why_len is not 0) and returns -EINVAL. */
int snap_fail(char *why, size_t why_len, const char *fmt, ...) PRINTF_FMT(3, 4);
/* Reads a u32 that must be below limit (a count or an index); name goes into
 * the reason. Out of range: rejected, returns 0. */
u32 snap_get_index(struct snap_in *in, u32 limit, const char *name);
/* 0 when nothing was wrong and every byte was read; else -EINVAL with the
 * reason in in->why. */
int snap_in_end(struct snap_in *in);

#endif
