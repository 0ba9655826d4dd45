/* The snapshot state file's container (vmm/snapshot_file.h): a file written
 * and read back, and each kind of damage refused with its own reason. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "test.h"
#include "vmm/snapshot_file.h"

#define T_VCPU SNAP_TYPE('V', 'C', 'P', 'U')
#define T_UART SNAP_TYPE('U', 'A', 'R', 'T')

static const u8 vcpu0[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
static const u8 vcpu1[] = {0xaa, 0xbb};
static const u8 uart[16] = {0x7f};

/* Three sections: two vCPUs (13 and 2 bytes, padded) and a UART. */
static u8 *sample(size_t *len)
{
	struct snap_writer w;
	u8 *buf;

	snap_writer_init(&w);
	snap_writer_add(&w, T_VCPU, 0, vcpu0, sizeof(vcpu0));
	snap_writer_add(&w, T_VCPU, 1, vcpu1, sizeof(vcpu1));
	snap_writer_add(&w, T_UART, 0, uart, sizeof(uart));
	CHECK_EQ(snap_writer_finish(&w, &buf, len), 0);
	return buf;
}

static void test_round_trip(void)
{
	size_t len;
	u8 *buf = sample(&len);
	struct snap_file f;
	const struct snap_section *s;
	char why[128] = "";

	CHECK_EQ(len, 32 + (24 + 16) + (24 + 8) + (24 + 16));
	CHECK_EQ(snap_file_parse(buf, len, &f, why, sizeof(why)), 0);
	CHECK_EQ(f.count, 3);
	CHECK_EQ(f.version, SNAP_FILE_VERSION);
	s = snap_file_find(&f, T_VCPU, 1);
	CHECK(s && s->len == sizeof(vcpu1) && !memcmp(s->data, vcpu1, sizeof(vcpu1)));
	s = snap_file_find(&f, T_VCPU, 0);
	CHECK(s && s->len == sizeof(vcpu0) && !memcmp(s->data, vcpu0, sizeof(vcpu0)));
	s = snap_file_find(&f, T_UART, 0);
	CHECK(s && s->len == sizeof(uart) && !memcmp(s->data, uart, sizeof(uart)));
	CHECK(snap_file_find(&f, T_UART, 1) == NULL);
	snap_file_free(&f);
	free(buf);
}

static void test_empty(void)
{
	struct snap_writer w;
	struct snap_file f;
	size_t len;
	u8 *buf;

	snap_writer_init(&w);
	CHECK_EQ(snap_writer_finish(&w, &buf, &len), 0);
	CHECK_EQ(len, 32);
	CHECK_EQ(snap_file_parse(buf, len, &f, NULL, 0), 0);
	CHECK_EQ(f.count, 0);
	snap_file_free(&f);
	free(buf);
}

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
}

/* The header's checksum again, after a field of it was changed on purpose. */
static void reseal(u8 *buf)
{
	put32(buf + 24, (u32)crc32(crc32(0L, Z_NULL, 0), buf, 24));
}

/* One kind of damage: buf is a fresh sample changed by the case, of length
 * len; it must be refused with err and a reason containing want. */
static void refused(const char *what, const u8 *buf, size_t len, int err, const char *want)
{
	struct snap_file f = {.count = 99};
	char why[160] = "";
	int r = snap_file_parse(buf, len, &f, why, sizeof(why));

	if (r != err || !strstr(why, want))
		printf("  %s: got %d \"%s\", want %d \"...%s...\"\n", what, r, why, err, want);
	CHECK_EQ(r, err);
	CHECK(strstr(why, want) != NULL);
	CHECK_EQ(f.count, 0);
	CHECK(f.sections == NULL);
}

static void test_damage(void)
{
	size_t len;
	u8 *good = sample(&len), *b = malloc(len + 16);
	const size_t s1 = 32 + 24 + 16; /* the second section's header */

#define FRESH() memcpy(b, good, len)
	FRESH();
	refused("empty", b, 0, -EINVAL, "shorter than the header");
	refused("a short header", b, 31, -EINVAL, "shorter than the header");
	FRESH();
	b[0] = 'X';
	refused("magic", b, len, -EINVAL, "bad magic");
	FRESH();
	b[12] ^= 1; /* the count, not resealed */
	refused("header checksum", b, len, -EINVAL, "damaged header");
	FRESH();
	put32(b + 8, SNAP_FILE_VERSION + 1);
	reseal(b);
	refused("version", b, len, -EPROTO, "version 5, this popek reads version 4");
	FRESH();
	put32(b + 8, SNAP_FILE_VERSION - 1); /* before the Firecracker settings */
	reseal(b);
	refused("old version", b, len, -EPROTO, "version 3, this popek reads version 4");
	refused("truncated", good, len - 8, -EINVAL, "truncated or extended");
	FRESH();
	memset(b + len, 0, 8);
	refused("extended", b, len + 8, -EINVAL, "truncated or extended");
	FRESH();
	put32(b + 12, 4); /* one section more than there is */
	reseal(b);
	refused("count too high", b, len, -EINVAL, "section 3 runs past the end");
	FRESH();
	put32(b + 12, 2); /* the third section left over */
	reseal(b);
	refused("count too low", b, len, -EINVAL, "bytes after the last section");
	FRESH();
	put32(b + 12, 100000);
	reseal(b);
	refused("count huge", b, len, -EINVAL, "more than");
	FRESH();
	b[s1 + 24] ^= 0x40; /* the second vCPU's first byte */
	refused("payload checksum", b, len, -EINVAL, "section 1 (type");
	FRESH();
	put32(b + s1 + 8, 0xfffffff0u); /* a length past the end */
	put32(b + s1 + 12, 0xffffffffu);
	refused("section length", b, len, -EINVAL, "section 1 runs past the end");
	FRESH();
	put32(b + s1 + 8, 7); /* 7 bytes, padded to 8: the checksum no longer fits */
	refused("section length changed", b, len, -EINVAL, "section 1 (type");
	FRESH();
	b[s1 + 24 + 7] = 1; /* the padding after the second vCPU's 2 bytes */
	refused("padding", b, len, -EINVAL, "reserved bytes not zero");
	FRESH();
	b[s1 + 20] = 1; /* the section header's reserved word */
	refused("reserved", b, len, -EINVAL, "reserved bytes not zero");
	FRESH();
	put32(b + s1 + 4, 0); /* vCPU 1 renamed vCPU 0 */
	refused("repeated", b, len, -EINVAL, "repeated");
#undef FRESH
	free(b);
	free(good);
}

int main(void)
{
	TEST_RUN(test_round_trip);
	TEST_RUN(test_empty);
	TEST_RUN(test_damage);
	return test_done();
}
