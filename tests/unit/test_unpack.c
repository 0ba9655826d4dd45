/* Unit tests of the payload unpackers (LZ4, XZ, gzip, zstd): truncation, corruption, bombs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "payload_fixture.h"
#include "test.h"

#define DATA_LEN (300 * 1000)

/* Test data a little like a kernel: repeats, noise, and x86 CALL rel32
 * opcodes (E8) for the XZ BCJ filter to rewrite. */
static u8 *test_data(size_t len)
{
	u8 *d = malloc(len);

	for (size_t i = 0; i < len; i++)
		d[i] = (u8)(i % 251 < 100 ? i / 97 : i * 13);
	for (size_t i = 0; i + 5 < len; i += 37) {
		d[i] = 0xe8;
		put_le32(d + i + 1, (u32)(i * 3));
	}
	return d;
}

static int unpack(const u8 *p, size_t len, u64 max, u8 **out, u64 *out_len, enum unpack_format *fmt)
{
	return unpack_payload(p, len, max, out, out_len, fmt);
}

/* ---- formats ------------------------------------------------------------- */

static void test_identify(void)
{
	static const struct {
		const char *bytes;
		size_t len;
		enum unpack_format want;
	} cases[] = {
	    {"\x02\x21\x4c\x18\x00", 5, UNPACK_LZ4},
	    {"\xfd"
	     "7zXZ\x00\x00",
	     7, UNPACK_XZ},
	    {"\x1f\x8b\x08\x00", 4, UNPACK_GZIP},
	    {"\x28\xb5\x2f\xfd\x00", 5, UNPACK_ZSTD},
	    {"\xfd"
	     "7zXZ",
	     5, UNPACK_UNKNOWN},                         /* the magic cut short */
	    {"\x1f\x8b\x07\x00", 4, UNPACK_UNKNOWN},     /* gzip, not deflate */
	    {"BZh91AY&SY", 10, UNPACK_UNKNOWN},          /* bzip2 */
	    {"\x5d\x00\x00\x80\x00", 5, UNPACK_UNKNOWN}, /* LZMA alone */
	    {"\x89LZO\x00\r\n", 7, UNPACK_UNKNOWN},      /* lzop */
	    {"\x7f"
	     "ELF",
	     4, UNPACK_UNKNOWN}, /* not compressed */
	    {"", 0, UNPACK_UNKNOWN},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_EQ(unpack_identify((const u8 *)cases[i].bytes, cases[i].len), cases[i].want);
	CHECK(!strcmp(unpack_format_name(UNPACK_XZ), "XZ"));
	CHECK(!strcmp(unpack_format_name(UNPACK_GZIP), "gzip"));
	CHECK(!strcmp(unpack_format_name(UNPACK_UNKNOWN), "unknown"));
}

/* Every format unpacks to the data, with the size cap met exactly. */
static void test_round_trip(void)
{
	u8 *data = test_data(DATA_LEN);

	for (size_t i = 0; i < ARRAY_SIZE(payload_formats); i++) {
		enum unpack_format f = payload_formats[i], got = UNPACK_UNKNOWN;
		size_t plen;
		u8 *p = payload_build(f, data, DATA_LEN, &plen), *out;
		u64 out_len;

		CHECK_EQ(unpack(p, plen, DATA_LEN, &out, &out_len, &got), 0);
		CHECK_EQ(got, f);
		CHECK_EQ(out_len, DATA_LEN);
		CHECK(out && !memcmp(out, data, DATA_LEN));
		free(out);
		CHECK_EQ(unpack(p, plen, DATA_LEN - 1, &out, &out_len, NULL), -EFBIG);
		CHECK(!out && !out_len);
		free(p);
	}
	free(data);
}

/* gzip with an FNAME field (gzip without -n): zlib skips the header. */
static void test_gzip_header_fields(void)
{
	u8 *data = test_data(DATA_LEN), *p, *out;
	size_t plen;
	u64 out_len;

	p = payload_gzip_stream(data, DATA_LEN, "vmlinux.bin", &plen);
	CHECK(p[3] & 0x08); /* FNAME */
	CHECK_EQ(unpack(p, plen, UNPACK_MAX, &out, &out_len, NULL), 0);
	CHECK(out_len == DATA_LEN && !memcmp(out, data, DATA_LEN));
	free(out);
	free(p);
	free(data);
}

/* The fuzz seeds, made by the command-line tools as the kernel's build runs
 * them (xz --check=crc32 --x86, gzip -n -9, zstd -19, lz4 -l, then the size
 * word; see tests/fuzz/seeds/fuzz_unpack/README): the same 5800 bytes. */
static void test_tool_payloads(void)
{
	static const char *const names[] = {"lz4", "xz", "gzip", "zstd"};
	u8 data[5800 + 1], file[4096], *out; /* + sprintf's NUL */
	size_t pos = 0;
	u64 out_len;

	for (unsigned i = 0; i < 200; i++) {
		data[pos] = 0xe8;
		put_le32(data + pos + 1, i * 40);
		pos += 5;
		pos += (size_t)sprintf((char *)data + pos, "popek unpacks kernels %u\n", i % 7);
	}
	CHECK_EQ(pos, 5800);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char path[128];
		enum unpack_format got;
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "tests/fuzz/seeds/fuzz_unpack/%s.bin", names[i]);
		f = fopen(path, "rb");
		CHECK(f != NULL);
		if (!f)
			continue;
		n = fread(file, 1, sizeof(file), f);
		fclose(f);
		CHECK_EQ(unpack(file, n, UNPACK_MAX, &out, &out_len, &got), 0);
		CHECK_EQ(got, payload_formats[i]);
		CHECK(out_len == 5800 && !memcmp(out, data, 5800));
		free(out);
	}
}

/* ---- damage ---------------------------------------------------------------- */

/* A stream cut short, with a right size word after it, and the whole
 * payload cut short: refused, nothing returned. */
static void test_truncated(void)
{
	u8 *data = test_data(DATA_LEN);

	for (size_t i = 0; i < ARRAY_SIZE(payload_formats); i++) {
		enum unpack_format f = payload_formats[i];
		size_t slen, plen, cuts[] = {1, 4, 17, 1000};
		u8 *s = payload_stream(f, data, DATA_LEN, &slen), *p = malloc(slen + 4), *out;
		u64 out_len;

		for (size_t k = 0; k < ARRAY_SIZE(cuts); k++) {
			plen = slen - cuts[k];
			memcpy(p, s, plen);
			if (f == UNPACK_GZIP) /* the ISIZE ends the cut stream */
				put_le32(p + plen - 4, DATA_LEN);
			else
				put_le32(p + plen, DATA_LEN), plen += 4;
			CHECK_EQ(unpack(p, plen, UNPACK_MAX, &out, &out_len, NULL), -EINVAL);
			CHECK(!out && !out_len);
			/* the payload itself cut: the last word is no size */
			plen = slen - cuts[k];
			memcpy(p, s, plen);
			CHECK(unpack(p, plen, 2 * DATA_LEN, &out, &out_len, NULL) < 0);
			CHECK(!out && !out_len);
		}
		/* Shorter than any payload, the magic alone. */
		CHECK_EQ(unpack(s, 15, UNPACK_MAX, &out, &out_len, NULL), -EINVAL);
		CHECK_EQ(unpack(s, 4, UNPACK_MAX, &out, &out_len, NULL),
			 f == UNPACK_XZ ? -ENOTSUP : -EINVAL);
		free(p);
		free(s);
	}
	free(data);
}

/* A size word one off either way or zero, and bytes between the stream
 * and the size word: refused. */
static void test_size_word(void)
{
	u8 *data = test_data(DATA_LEN);

	for (size_t i = 0; i < ARRAY_SIZE(payload_formats); i++) {
		enum unpack_format f = payload_formats[i];
		size_t plen;
		u8 *p = payload_build(f, data, DATA_LEN, &plen), *out, *q;
		u32 sizes[] = {DATA_LEN - 1, DATA_LEN + 1, 0};
		u64 out_len;

		for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
			put_le32(p + plen - 4, sizes[k]);
			CHECK_EQ(unpack(p, plen, UNPACK_MAX, &out, &out_len, NULL), -EINVAL);
			CHECK(!out && !out_len);
		}
		put_le32(p + plen - 4, DATA_LEN);
		/* Four zero bytes (xz's stream padding) before the size word. */
		q = calloc(1, plen + 4);
		memcpy(q, p, plen - 4);
		put_le32(q + plen, DATA_LEN);
		CHECK_EQ(unpack(q, plen + 4, UNPACK_MAX, &out, &out_len, NULL), -EINVAL);
		CHECK(!out);
		free(q);
		free(p);
	}
	free(data);
}

/* One byte flipped in the middle of the stream: the XZ, gzip and zstd
 * checks catch it; random flips never read or write out of bounds (ASan)
 * and a payload that still unpacks gives the data (LZ4, which has no
 * check, at least its length). */
static void test_corrupt(void)
{
	u8 *data = test_data(DATA_LEN);

	srand(7);
	for (size_t i = 0; i < ARRAY_SIZE(payload_formats); i++) {
		enum unpack_format f = payload_formats[i];
		size_t plen;
		u8 *p = payload_build(f, data, DATA_LEN, &plen), *m = malloc(plen), *out;
		u64 out_len;
		int r;

		if (f != UNPACK_LZ4) {
			memcpy(m, p, plen);
			m[plen / 2] ^= 0x20;
			CHECK_EQ(unpack(m, plen, UNPACK_MAX, &out, &out_len, NULL), -EINVAL);
			CHECK(!out);
		}
		for (int k = 0; k < 200; k++) {
			memcpy(m, p, plen);
			for (int j = 0; j < 3; j++)
				m[6 + (size_t)rand() % (plen - 10)] ^= (u8)(1 + rand() % 255);
			r = unpack(m, plen, UNPACK_MAX, &out, &out_len, NULL);
			CHECK(r == 0 || r == -EINVAL);
			if (!r && f != UNPACK_LZ4)
				CHECK(out_len == DATA_LEN && !memcmp(out, data, DATA_LEN));
			if (!r)
				CHECK_EQ(out_len, DATA_LEN);
			free(out);
		}
		free(m);
		free(p);
	}
	free(data);
}

/* The LZ4 legacy frame's own limits: a block size past the input or above
 * what an 8 MiB block compresses to. */
static void test_lz4_blocks(void)
{
	u8 *data = test_data(DATA_LEN), *out;
	size_t plen;
	u8 *p = payload_build(UNPACK_LZ4, data, DATA_LEN, &plen);
	u64 out_len;

	put_le32(p + 4, 0xfffffff0);
	CHECK_EQ(unpack(p, plen, UNPACK_MAX, &out, &out_len, NULL), -EINVAL);
	put_le32(p + 4, (u32)LZ4_compressBound(8 << 20) + 1);
	CHECK_EQ(unpack(p, plen, UNPACK_MAX, &out, &out_len, NULL), -EINVAL);
	put_le32(p + 4, 0);
	CHECK_EQ(unpack(p, plen, UNPACK_MAX, &out, &out_len, NULL), -EINVAL);
	free(p);
	free(data);
}

/* A kernel-sized payload in the kernel's 8 MiB blocks (unpacked two at a
 * time, by two threads): the data, and a block cut short in the middle
 * still found. The 64 KiB blocks of the tests above unpack one after another
 * (the blocks are not where 8 MiB blocks would put them). */
static void test_lz4_big_blocks(void)
{
	const size_t len = 20 * MiB + 12345;
	u8 *data = test_data(len), *out;
	size_t plen;
	u8 *p = payload_size_append(payload_lz4_stream(data, len, 8 * MiB, &plen), &plen, (u32)len);
	u64 out_len;

	CHECK_EQ(unpack(p, plen, UNPACK_MAX, &out, &out_len, NULL), 0);
	CHECK(out_len == len && !memcmp(out, data, len));
	free(out);
	/* The second block cut short (its size word, after the magic and the
	 * first block): its data ends inside a sequence. */
	u8 *size2 = p + 4 + 4 + get_le32(p + 4);
	put_le32(size2, get_le32(size2) - 10);
	CHECK_EQ(unpack(p, plen, UNPACK_MAX, &out, &out_len, NULL), -EINVAL);
	CHECK(!out && !out_len);
	free(p);
	free(data);
}

/* ---- bombs and unknown formats -------------------------------------------- */

/* 24 MiB of zeros compress to a few KiB: refused before any allocation when
 * the size word is above the cap, and stopped at the size word's count when
 * the size word lies (no byte written past it: ASan). */
static void test_bomb(void)
{
	const size_t big = 24 * MiB;
	u8 *zeros = calloc(1, big);

	for (size_t i = 0; i < ARRAY_SIZE(payload_formats); i++) {
		enum unpack_format f = payload_formats[i];
		size_t plen;
		u8 *p = payload_build(f, zeros, big, &plen), *out;
		u64 out_len;

		CHECK(plen < big / 100);
		CHECK_EQ(unpack(p, plen, 8 * MiB, &out, &out_len, NULL), -EFBIG);
		CHECK(!out && !out_len);
		put_le32(p + plen - 4, (u32)MiB);
		CHECK_EQ(unpack(p, plen, 8 * MiB, &out, &out_len, NULL), -EINVAL);
		CHECK(!out && !out_len);
		free(p);
	}
	free(zeros);
}

/* bzip2, LZMA, LZO, or no payload at all: -ENOTSUP, the caller boots the
 * bzImage's own decompressor. */
static void test_unknown(void)
{
	static const char *payloads[] = {"BZh91AY&SY\x01\x02\x03\x04\x05\x06\x07\x08",
					 "\x5d\x00\x00\x80\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00",
					 "\x89LZO\x00\r\n\x1a\n\x10\x30\x20\xa0\x00\x00\x00"};
	enum unpack_format got = UNPACK_XZ;
	u8 *out;
	u64 out_len;

	for (size_t i = 0; i < ARRAY_SIZE(payloads); i++) {
		CHECK_EQ(unpack((const u8 *)payloads[i], 17, UNPACK_MAX, &out, &out_len, &got),
			 -ENOTSUP);
		CHECK_EQ(got, UNPACK_UNKNOWN);
		CHECK(!out && !out_len);
	}
	CHECK_EQ(unpack((const u8 *)"", 0, UNPACK_MAX, &out, &out_len, NULL), -ENOTSUP);
}

int main(void)
{
	TEST_RUN(test_identify);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_gzip_header_fields);
	TEST_RUN(test_tool_payloads);
	TEST_RUN(test_truncated);
	TEST_RUN(test_size_word);
	TEST_RUN(test_corrupt);
	TEST_RUN(test_lz4_blocks);
	TEST_RUN(test_lz4_big_blocks);
	TEST_RUN(test_bomb);
	TEST_RUN(test_unknown);
	return test_done();
}
