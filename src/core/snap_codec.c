/* Field-by-field encoding of saved state (snap_codec.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/snap_codec.h"

void snap_out_init(struct snap_out *o)
{
	*o = (struct snap_out){0};
}

void snap_out_free(struct snap_out *o)
{
	free(o->buf);
	snap_out_init(o);
}

void snap_put_bytes(struct snap_out *o, const void *p, size_t n)
{
	if (o->err || !n)
		return;
	if (n > o->cap - o->len) {
		size_t cap = o->cap ? o->cap : 256;
		u8 *nb;

		while (cap - o->len < n) {
			if (cap > SIZE_MAX / 2) {
				o->err = -ENOMEM;
				return;
			}
			cap *= 2;
		}
		nb = realloc(o->buf, cap);
		if (!nb) {
			o->err = -ENOMEM;
			return;
		}
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void snap_put_str(struct snap_out *o, const char *s)
{
	u32 n = (u32)strlen(s);

	snap_put_u32(o, n);
	snap_put_bytes(o, s, n);
}

static void put_le(struct snap_out *o, u64 v, unsigned n)
{
	u8 b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (u8)(v >> (8 * i));
	snap_put_bytes(o, b, n);
}

void snap_put_u8(struct snap_out *o, u8 v) { put_le(o, v, 1); }
void snap_put_u16(struct snap_out *o, u16 v) { put_le(o, v, 2); }
void snap_put_u32(struct snap_out *o, u32 v) { put_le(o, v, 4); }
void snap_put_u64(struct snap_out *o, u64 v) { put_le(o, v, 8); }
void snap_put_bool(struct snap_out *o, bool v) { put_le(o, v ? 1 : 0, 1); }

void snap_in_init(struct snap_in *in, const void *p, size_t len)
{
	*in = (struct snap_in){.p = p, .len = len};
}

int snap_reject(struct snap_in *in, const char *fmt, ...)
{
	va_list ap;

	if (!in->bad) {
		va_start(ap, fmt);
		vsnprintf(in->why, sizeof(in->why), fmt, ap);
		va_end(ap);
	}
	in->bad = true;
	return -EINVAL;
}

void snap_get_bytes(struct snap_in *in, void *dst, size_t n)
{
	if (in->bad || n > in->len - in->pos) {
		if (!in->bad)
			snap_reject(in, "truncated: %zu bytes, more were expected", in->len);
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, in->p + in->pos, n);
	in->pos += n;
}

void snap_get_str(struct snap_in *in, char *dst, size_t cap, const char *name)
{
	u32 n = snap_get_u32(in);

	dst[0] = 0;
	if (in->bad)
		return;
	if (n >= cap) {
		snap_reject(in, "%s: %u bytes, at most %zu", name, n, cap - 1);
		return;
	}
	snap_get_bytes(in, dst, n);
	dst[n] = 0;
	if (strlen(dst) != n)
		snap_reject(in, "%s holds a NUL byte", name);
}

static u64 get_le(struct snap_in *in, unsigned n)
{
	u8 b[8];
	u64 v = 0;

	snap_get_bytes(in, b, n);
	for (unsigned i = 0; i < n; i++)
		v |= (u64)b[i] << (8 * i);
	return v;
}

u8 snap_get_u8(struct snap_in *in) { return (u8)get_le(in, 1); }
u16 snap_get_u16(struct snap_in *in) { return (u16)get_le(in, 2); }
u32 snap_get_u32(struct snap_in *in) { return (u32)get_le(in, 4); }
u64 snap_get_u64(struct snap_in *in) { return get_le(in, 8); }

bool snap_get_bool(struct snap_in *in)
{
	u8 v = snap_get_u8(in);

	if (v > 1)
		snap_reject(in, "a flag holds %u, not 0 or 1", v);
	return v == 1;
}

int snap_fail(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

u32 snap_get_index(struct snap_in *in, u32 limit, const char *name)
{
	u32 v = snap_get_u32(in);

	if (in->bad)
		return 0;
	if (v >= limit) {
		snap_reject(in, "%s %u is out of range (below %u)", name, v, limit);
		return 0;
	}
	return v;
}

int snap_in_end(struct snap_in *in)
{
	if (!in->bad && in->pos != in->len)
		snap_reject(in, "%zu bytes left over after the state", in->len - in->pos);
	return in->bad ? -EINVAL : 0;
}
