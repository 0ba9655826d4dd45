/* The snapshot state file's container: parser and writer (snapshot_file.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "boot/loader.h" /* get_le32 and friends */
#include "vmm/snapshot_file.h"

#define HEADER_LEN  32
#define SECTION_LEN 24
static const u8 magic[8] = {'P', 'O', 'P', 'E', 'K', 'S', 'N', 'P'};

static u32 crc(const u8 *p, u64 len)
{
	uLong c = crc32(0L, Z_NULL, 0);

	while (len) { /* zlib takes a uInt at a time */
		uInt n = len > 0x40000000 ? 0x40000000 : (uInt)len;
		c = crc32(c, p, n);
		p += n;
		len -= n;
	}
	return (u32)c;
}

static int refuse(int err, char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return err;
}

int snap_file_parse(const u8 *buf, size_t len, struct snap_file *out, char *why, size_t why_len)
{
	size_t off = HEADER_LEN;
	u32 count;

	*out = (struct snap_file){0};
	if (len < HEADER_LEN)
		return refuse(-EINVAL, why, why_len,
			      "truncated: %zu bytes, shorter than the header", len);
	if (memcmp(buf, magic, sizeof(magic)))
		return refuse(-EINVAL, why, why_len, "not a popek snapshot state file (bad magic)");
	if (get_le32(buf + 28) || crc(buf, 24) != get_le32(buf + 24))
		return refuse(-EINVAL, why, why_len, "damaged header (checksum mismatch)");
	out->version = get_le32(buf + 8);
	if (out->version != SNAP_FILE_VERSION)
		return refuse(-EPROTO, why, why_len, "version %u, this popek reads version %u",
			      out->version, SNAP_FILE_VERSION);
	if (get_le64(buf + 16) != len)
		return refuse(-EINVAL, why, why_len,
			      "truncated or extended: %zu bytes, the header says %llu", len,
			      (unsigned long long)get_le64(buf + 16));
	count = get_le32(buf + 12);
	if (count > SNAP_FILE_MAX_SECTIONS)
		return refuse(-EINVAL, why, why_len, "%u sections, more than %u", count,
			      SNAP_FILE_MAX_SECTIONS);
	out->sections = calloc(count ? count : 1, sizeof(*out->sections));
	if (!out->sections)
		return refuse(-ENOMEM, why, why_len, "out of memory");
	for (u32 i = 0; i < count; i++) {
		struct snap_section *s = &out->sections[i];
		const u8 *h = buf + off;
		u64 padded;

		if (len - off < SECTION_LEN)
			goto bad_end;
		s->type = get_le32(h);
		s->index = get_le32(h + 4);
		s->len = get_le64(h + 8);
		if (get_le32(h + 20))
			goto bad_section;
		off += SECTION_LEN;
		if (s->len > len - off)
			goto bad_end;
		padded = (s->len + 7) & ~7ULL;
		if (padded > len - off)
			goto bad_end;
		s->data = buf + off;
		if (crc(s->data, s->len) != get_le32(h + 16)) {
			struct snap_section bad = *s;

			snap_file_free(out);
			return refuse(-EINVAL, why, why_len,
				      "section %u (type %#x, index %u) damaged "
				      "(checksum mismatch)",
				      i, bad.type, bad.index);
		}
		for (u64 k = s->len; k < padded; k++)
			if (s->data[k])
				goto bad_section;
		if (snap_file_find(&(struct snap_file){.count = i, .sections = out->sections},
				   s->type, s->index)) {
			struct snap_section bad = *s;

			snap_file_free(out);
			return refuse(-EINVAL, why, why_len,
				      "section %u (type %#x, index %u) repeated", i, bad.type,
				      bad.index);
		}
		off += padded;
		out->count = i + 1;
	}
	if (off != len) {
		snap_file_free(out);
		return refuse(-EINVAL, why, why_len, "%zu bytes after the last section", len - off);
	}
	return 0;
bad_end:
	count = out->count;
	snap_file_free(out);
	return refuse(-EINVAL, why, why_len, "truncated: section %u runs past the end of the file",
		      count);
bad_section:
	count = out->count;
	snap_file_free(out);
	return refuse(-EINVAL, why, why_len, "section %u damaged (reserved bytes not zero)", count);
}

void snap_file_free(struct snap_file *f)
{
	free(f->sections);
	f->sections = NULL;
	f->count = 0;
}

const struct snap_section *snap_file_find(const struct snap_file *f, u32 type, u32 index)
{
	for (u32 i = 0; i < f->count; i++)
		if (f->sections[i].type == type && f->sections[i].index == index)
			return &f->sections[i];
	return NULL;
}

void snap_writer_init(struct snap_writer *w)
{
	*w = (struct snap_writer){0};
}

/* Room for n more bytes, zeroed. */
static u8 *grow(struct snap_writer *w, u64 n)
{
	if (w->err)
		return NULL;
	if (n > ((size_t)-1 >> 1) - w->len) {
		w->err = -E2BIG;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		u8 *b;

		while (cap < w->len + n)
			cap *= 2;
		b = realloc(w->buf, cap);
		if (!b) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->buf = b;
		w->cap = cap;
	}
	u8 *p = w->buf + w->len;

	memset(p, 0, (size_t)n);
	w->len += (size_t)n;
	return p;
}

void snap_writer_add(struct snap_writer *w, u32 type, u32 index, const void *data, u64 len)
{
	u64 padded = (len + 7) & ~7ULL;
	u8 *h;

	if (!w->len && !grow(w, HEADER_LEN))
		return;
	if (w->count >= SNAP_FILE_MAX_SECTIONS) {
		w->err = w->err ? w->err : -E2BIG;
		return;
	}
	h = grow(w, SECTION_LEN + padded);
	if (!h)
		return;
	put_le32(h, type);
	put_le32(h + 4, index);
	put_le64(h + 8, len);
	put_le32(h + 16, crc(data, len));
	if (len)
		memcpy(h + SECTION_LEN, data, (size_t)len);
	w->count++;
}

int snap_writer_finish(struct snap_writer *w, u8 **buf, size_t *len)
{
	if (!w->len)
		grow(w, HEADER_LEN);
	if (w->err) {
		int err = w->err;

		free(w->buf);
		*w = (struct snap_writer){0};
		return err;
	}
	memcpy(w->buf, magic, sizeof(magic));
	put_le32(w->buf + 8, SNAP_FILE_VERSION);
	put_le32(w->buf + 12, w->count);
	put_le64(w->buf + 16, w->len);
	put_le32(w->buf + 24, crc(w->buf, 24));
	*buf = w->buf;
	*len = w->len;
	*w = (struct snap_writer){0};
	return 0;
}
