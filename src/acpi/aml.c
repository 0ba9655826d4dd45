/* AML emitter: bounded buffer, names, data objects and blocks (ACPI 6.4 section 20.2). */
#include "acpi/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Opcodes (20.3 AML Byte Stream Byte Values). */
#define AML_ZERO_OP            0x00
#define AML_ONE_OP             0x01
#define AML_NAME_OP            0x08
#define AML_BYTE_PREFIX        0x0A
#define AML_WORD_PREFIX        0x0B
#define AML_DWORD_PREFIX       0x0C
#define AML_STRING_PREFIX      0x0D
#define AML_QWORD_PREFIX       0x0E
#define AML_SCOPE_OP           0x10
#define AML_BUFFER_OP          0x11
#define AML_PACKAGE_OP         0x12
#define AML_METHOD_OP          0x14
#define AML_DUAL_NAME_PREFIX   0x2E
#define AML_MULTI_NAME_PREFIX  0x2F
#define AML_EXT_OP_PREFIX      0x5B
#define AML_DEVICE_OP          0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR          '\\'
#define AML_PARENT_PREFIX_CHAR '^'
#define AML_RETURN_OP          0xA4

#define AML_MAX_SEGS 255 /* MultiNamePrefix SegCount is one byte */

void aml_init(struct aml_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = MIN(max, (size_t)AML_MAX_SIZE);
}

void aml_release(struct aml_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static void aml_fail(struct aml_buf *b, int err)
{
	if (!b->err)
		b->err = err;
}

/* Makes room for n more bytes, within max. False (and err set) otherwise. */
static bool aml_reserve(struct aml_buf *b, size_t n)
{
	size_t cap;
	u8 *p;

	if (b->err)
		return false;
	if (n > b->max - b->len) {
		aml_fail(b, -ENOSPC);
		return false;
	}
	if (b->len + n <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	cap = MIN(cap, b->max);
	p = realloc(b->data, cap);
	if (!p) {
		aml_fail(b, -ENOMEM);
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void aml_bytes(struct aml_buf *b, const void *p, size_t n)
{
	if (!n || !aml_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* Inserts n bytes at pos, shifting what follows (used to place PkgLength). */
static void aml_insert(struct aml_buf *b, size_t pos, const u8 *p, size_t n)
{
	if (pos > b->len) {
		aml_fail(b, -EINVAL);
		return;
	}
	if (!aml_reserve(b, n))
		return;
	memmove(b->data + pos + n, b->data + pos, b->len - pos);
	memcpy(b->data + pos, p, n);
	b->len += n;
}

void aml_byte(struct aml_buf *b, u8 v)
{
	aml_bytes(b, &v, 1);
}

void aml_le16(struct aml_buf *b, u16 v)
{
	u8 x[2] = {v & 0xff, v >> 8};

	aml_bytes(b, x, sizeof(x));
}

void aml_le32(struct aml_buf *b, u32 v)
{
	aml_le16(b, v & 0xffff);
	aml_le16(b, v >> 16);
}

void aml_le64(struct aml_buf *b, u64 v)
{
	aml_le32(b, v & 0xffffffff);
	aml_le32(b, v >> 32);
}

/*
 * 20.2.4: one byte holds lengths up to 63 in bits 5:0. Longer ones put the
 * count of following bytes (1-3) in bits 7:6, the low nibble in bits 3:0
 * and the rest, 8 bits at a time, in the following bytes.
 */
int aml_pkg_length(u8 out[4], size_t body_len)
{
	size_t total;
	int n;

	if (body_len + 1 <= 0x3F) {
		out[0] = body_len + 1;
		return 1;
	}
	for (n = 2; n <= 4; n++) {
		total = body_len + n;
		if (total < (1ULL << (4 + 8 * (n - 1))))
			break;
	}
	if (n > 4)
		return -EINVAL;
	out[0] = ((n - 1) << 6) | (total & 0x0F);
	for (int i = 1; i < n; i++)
		out[i] = (total >> (4 + 8 * (i - 1))) & 0xFF;
	return n;
}

static bool name_lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return name_lead_char(c) || (c >= '0' && c <= '9');
}

/* Checks one NameSeg of 1-4 characters ending at '.' or NUL; returns its length or 0. */
static size_t name_seg_len(const char *s)
{
	size_t n = 0;

	if (!name_lead_char(s[0]))
		return 0;
	while (s[n] && s[n] != '.') {
		if (n == 4 || !name_char(s[n]))
			return 0;
		n++;
	}
	return n;
}

static void aml_name_seg(struct aml_buf *b, const char *s, size_t n)
{
	u8 seg[4] = {'_', '_', '_', '_'};

	memcpy(seg, s, n);
	aml_bytes(b, seg, sizeof(seg));
}

/* 20.2.2 NameString := <RootChar NamePath> | <PrefixPath NamePath>. */
void aml_name_string(struct aml_buf *b, const char *path)
{
	const char *p = path, *segs;
	unsigned nsegs = 0;
	size_t n;

	if (*p == AML_ROOT_CHAR)
		p++;
	else
		while (*p == AML_PARENT_PREFIX_CHAR)
			p++;
	segs = p;
	while (*p) {
		n = name_seg_len(p);
		if (!n || nsegs == AML_MAX_SEGS || (p[n] == '.' && !p[n + 1])) {
			aml_fail(b, -EINVAL);
			return;
		}
		nsegs++;
		p += n + (p[n] == '.');
	}
	aml_bytes(b, path, segs - path);
	if (nsegs == 0) {
		aml_byte(b, 0x00); /* NullName */
		return;
	}
	if (nsegs == 2) {
		aml_byte(b, AML_DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		aml_byte(b, AML_MULTI_NAME_PREFIX);
		aml_byte(b, nsegs);
	}
	for (p = segs; *p; p += n + (p[n] == '.')) {
		n = name_seg_len(p);
		aml_name_seg(b, p, n);
	}
}

/* 20.2.3 ComputationalData: writes the shortest encoding of v, returns its size. */
static size_t integer_encode(u8 out[9], u64 v)
{
	size_t n;

	if (v == 0 || v == 1) {
		out[0] = v ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	if (v <= 0xFF) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xFFFF) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xFFFFFFFF) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (v >> (8 * i)) & 0xFF;
	return 1 + n;
}

void aml_integer(struct aml_buf *b, u64 v)
{
	u8 x[9];

	aml_bytes(b, x, integer_encode(x, v));
}

/* 20.2.3 String := StringPrefix AsciiCharList NullChar, chars 0x01-0x7F. */
void aml_string(struct aml_buf *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		if ((u8)*p > 0x7F) {
			aml_fail(b, -EINVAL);
			return;
		}
	}
	aml_byte(b, AML_STRING_PREFIX);
	aml_bytes(b, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * 6.1.5 (_HID) and 19.6.35 (EISAID): three uppercase letters, five bits each
 * ('A' = 1), then four hex digits, stored as the bytes of a big-endian
 * 32-bit value (bit 31 zero); the AML integer holds them little-endian.
 */
int aml_eisaid_value(const char *id, u32 *out)
{
	u32 be = 0;

	if (strlen(id) != 7)
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		be |= (u32)(id[i] - 0x40) << (26 - 5 * i);
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);

		if (d < 0)
			return -EINVAL;
		be |= (u32)d << (4 * (6 - i));
	}
	*out = __builtin_bswap32(be);
	return 0;
}

void aml_eisaid(struct aml_buf *b, const char *id)
{
	u32 v;

	if (aml_eisaid_value(id, &v)) {
		aml_fail(b, -EINVAL);
		return;
	}
	/* Always a DWord, as ASL compilers emit it: the value is an id, not a number. */
	aml_byte(b, AML_DWORD_PREFIX);
	aml_le32(b, v);
}

void aml_name(struct aml_buf *b, const char *name)
{
	aml_byte(b, AML_NAME_OP);
	aml_name_string(b, name);
}

void aml_name_integer(struct aml_buf *b, const char *name, u64 v)
{
	aml_name(b, name);
	aml_integer(b, v);
}

void aml_name_str(struct aml_buf *b, const char *name, const char *s)
{
	aml_name(b, name);
	aml_string(b, s);
}

void aml_name_eisaid(struct aml_buf *b, const char *name, const char *id)
{
	aml_name(b, name);
	aml_eisaid(b, id);
}

static struct aml_block block_open(struct aml_buf *b, bool is_buffer)
{
	return (struct aml_block){.start = b->len, .is_buffer = is_buffer};
}

/* 20.2.5.1 DefScope := ScopeOp PkgLength NameString TermList. */
struct aml_block aml_scope(struct aml_buf *b, const char *name)
{
	struct aml_block blk;

	aml_byte(b, AML_SCOPE_OP);
	blk = block_open(b, false);
	aml_name_string(b, name);
	return blk;
}

/* 20.2.5.2 DefDevice := DeviceOp PkgLength NameString TermList. */
struct aml_block aml_device(struct aml_buf *b, const char *name)
{
	struct aml_block blk;

	aml_byte(b, AML_EXT_OP_PREFIX);
	aml_byte(b, AML_DEVICE_OP);
	blk = block_open(b, false);
	aml_name_string(b, name);
	return blk;
}

/* 20.2.5.2 DefMethod := MethodOp PkgLength NameString MethodFlags TermList;
 * MethodFlags bits 2:0 ArgCount, bit 3 SerializeFlag, bits 7:4 SyncLevel (0). */
struct aml_block aml_method(struct aml_buf *b, const char *name, unsigned nargs, bool serialized)
{
	struct aml_block blk;

	aml_byte(b, AML_METHOD_OP);
	blk = block_open(b, false);
	aml_name_string(b, name);
	if (nargs > 7)
		aml_fail(b, -EINVAL);
	aml_byte(b, (nargs & 7) | (serialized ? 0x08 : 0));
	return blk;
}

/* 20.2.5.4 DefPackage := PackageOp PkgLength NumElements PackageElementList. */
struct aml_block aml_package(struct aml_buf *b, unsigned nr_elements)
{
	struct aml_block blk;

	aml_byte(b, AML_PACKAGE_OP);
	blk = block_open(b, false);
	if (nr_elements > 0xFF)
		aml_fail(b, -EINVAL);
	aml_byte(b, nr_elements & 0xFF);
	return blk;
}

/* 20.2.5.4 DefBuffer := BufferOp PkgLength BufferSize ByteList. */
struct aml_block aml_buffer(struct aml_buf *b)
{
	aml_byte(b, AML_BUFFER_OP);
	return block_open(b, true);
}

void aml_end(struct aml_buf *b, struct aml_block blk)
{
	u8 head[4 + 9];
	size_t body, n = 0;
	int pl;

	if (b->err)
		return;
	if (blk.start > b->len) {
		aml_fail(b, -EINVAL);
		return;
	}
	body = b->len - blk.start;
	if (blk.is_buffer) {
		u8 size[9];
		size_t sn = integer_encode(size, body); /* BufferSize counts the bytes only */

		pl = aml_pkg_length(head, body + sn);
		if (pl > 0) {
			memcpy(head + pl, size, sn);
			n = pl + sn;
		}
	} else {
		pl = aml_pkg_length(head, body);
		n = pl > 0 ? (size_t)pl : 0;
	}
	if (pl < 0) {
		aml_fail(b, -ENOSPC);
		return;
	}
	aml_insert(b, blk.start, head, n);
}

void aml_return(struct aml_buf *b)
{
	aml_byte(b, AML_RETURN_OP);
}

void aml_method_return_integer(struct aml_buf *b, const char *name, u64 v)
{
	struct aml_block m = aml_method(b, name, 0, false);

	aml_return(b);
	aml_integer(b, v);
	aml_end(b, m);
}
