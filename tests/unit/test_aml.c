/* Unit tests for the AML emitter: bytes against encodings worked out by hand
 * from ACPI 6.4 section 20.2 (AML grammar) and 6.4 (resource descriptors). */
#include <errno.h>
#include <stdlib.h>

#include "acpi/aml.h"
#include "unit/test.h"

/* Checks that b holds exactly the n bytes of want, printing both on mismatch. */
static void check_bytes(const struct aml_buf *b, const u8 *want, size_t n, int line)
{
	if (b->err == 0 && b->len == n && !memcmp(b->data, want, n))
		return;
	printf("  bytes differ at line %d (err %d, len %zu, want %zu)\n  got: ", line, b->err,
	       b->len, n);
	for (size_t i = 0; i < b->len; i++)
		printf("%02X ", b->data[i]);
	printf("\n  want:");
	for (size_t i = 0; i < n; i++)
		printf(" %02X", want[i]);
	printf("\n");
	test_state_g.failed_now = 1;
}

#define EXPECT(b, ...)                                                                             \
	do {                                                                                       \
		static const u8 want_[] = {__VA_ARGS__};                                           \
		check_bytes(b, want_, sizeof(want_), __LINE__);                                    \
	} while (0)

/* Decodes a PkgLength (20.2.4); returns its value, sets *n to its size. */
static size_t pkg_decode(const u8 *p, size_t *n)
{
	size_t follow = p[0] >> 6, v;

	*n = 1 + follow;
	if (!follow)
		return p[0] & 0x3F;
	v = p[0] & 0x0F;
	for (size_t i = 0; i < follow; i++)
		v |= (size_t)p[1 + i] << (4 + 8 * i);
	return v;
}

static void test_pkg_length(void)
{
	u8 out[4];

	CHECK_EQ(aml_pkg_length(out, 0), 1);
	CHECK_EQ(out[0], 0x01);
	CHECK_EQ(aml_pkg_length(out, 62), 1); /* 63 is the largest 1-byte length */
	CHECK_EQ(out[0], 0x3F);
	CHECK_EQ(aml_pkg_length(out, 63), 2); /* 65 = 0x41: nibble 1, then 0x04 */
	CHECK_EQ(out[0], 0x41);
	CHECK_EQ(out[1], 0x04);
	CHECK_EQ(aml_pkg_length(out, 4093), 2); /* 4095 = 0xFFF */
	CHECK_EQ(out[0], 0x4F);
	CHECK_EQ(out[1], 0xFF);
	CHECK_EQ(aml_pkg_length(out, 4094), 3); /* 4097 = 0x1001 */
	CHECK_EQ(out[0], 0x81);
	CHECK_EQ(out[1], 0x00);
	CHECK_EQ(out[2], 0x01);
	CHECK_EQ(aml_pkg_length(out, 0x100000), 4); /* 0x100004 */
	CHECK_EQ(out[0], 0xC4);
	CHECK_EQ(out[1], 0x00);
	CHECK_EQ(out[2], 0x00);
	CHECK_EQ(out[3], 0x01);
	CHECK_EQ(aml_pkg_length(out, 0x0FFFFFFB), 4); /* 0x0FFFFFFF, the largest */
	CHECK_EQ(aml_pkg_length(out, 0x0FFFFFFC), -EINVAL);
}

static void test_name_string(void)
{
	struct aml_buf b;

	aml_init(&b, 64);
	aml_name_string(&b, "_SB");
	EXPECT(&b, '_', 'S', 'B', '_');
	b.len = 0;
	aml_name_string(&b, "\\_SB");
	EXPECT(&b, 0x5C, '_', 'S', 'B', '_');
	b.len = 0;
	aml_name_string(&b, "\\_SB.COM1");
	EXPECT(&b, 0x5C, 0x2E, '_', 'S', 'B', '_', 'C', 'O', 'M', '1');
	b.len = 0;
	aml_name_string(&b, "\\_SB.PCI0.S08");
	EXPECT(&b, 0x5C, 0x2F, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'S', '0', '8', '_');
	b.len = 0;
	aml_name_string(&b, "^^FOO");
	EXPECT(&b, 0x5E, 0x5E, 'F', 'O', 'O', '_');
	b.len = 0;
	aml_name_string(&b, "");
	EXPECT(&b, 0x00);
	b.len = 0;
	aml_name_string(&b, "\\");
	EXPECT(&b, 0x5C, 0x00);
	aml_release(&b);

	static const char *const bad[] = {"com1", "TOOLONG", "1ABC", "A..B", "A.",
					  ".A",   "\\^A",    "A-B",  "^\\A", "A B"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		aml_init(&b, 64);
		aml_name_string(&b, bad[i]);
		if (b.err != -EINVAL || b.len != 0)
			printf("  accepted bad name \"%s\"\n", bad[i]);
		CHECK_EQ(b.err, -EINVAL);
		CHECK_EQ(b.len, 0);
		aml_release(&b);
	}
}

static void test_integers(void)
{
	struct aml_buf b;

	aml_init(&b, 64);
	aml_integer(&b, 0);
	aml_integer(&b, 1);
	aml_integer(&b, 2);
	aml_integer(&b, 0xFF);
	EXPECT(&b, 0x00, 0x01, 0x0A, 0x02, 0x0A, 0xFF);
	b.len = 0;
	aml_integer(&b, 0x100);
	aml_integer(&b, 0xFFFF);
	EXPECT(&b, 0x0B, 0x00, 0x01, 0x0B, 0xFF, 0xFF);
	b.len = 0;
	aml_integer(&b, 0x10000);
	aml_integer(&b, 0xD0000000);
	EXPECT(&b, 0x0C, 0x00, 0x00, 0x01, 0x00, 0x0C, 0x00, 0x00, 0x00, 0xD0);
	b.len = 0;
	aml_integer(&b, 0x100000000ULL);
	aml_integer(&b, 0x8877665544332211ULL);
	EXPECT(&b, 0x0E, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0E, 0x11, 0x22, 0x33,
	       0x44, 0x55, 0x66, 0x77, 0x88);
	aml_release(&b);
}

static void test_strings(void)
{
	struct aml_buf b;

	aml_init(&b, 64);
	aml_name_str(&b, "_HID", "LNRO0005");
	EXPECT(&b, 0x08, '_', 'H', 'I', 'D', 0x0D, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00);
	b.len = 0;
	aml_string(&b, "");
	EXPECT(&b, 0x0D, 0x00);
	b.len = 0;
	aml_string(&b, "caf\xc3\xa9");
	CHECK_EQ(b.err, -EINVAL);
	CHECK_EQ(b.len, 0);
	aml_release(&b);
}

static void test_eisaid(void)
{
	struct aml_buf b;
	u32 v = 0;

	CHECK_EQ(aml_eisaid_value("PNP0501", &v), 0);
	CHECK_EQ(v, 0x0105D041);
	CHECK_EQ(aml_eisaid_value("PNP0B00", &v), 0);
	CHECK_EQ(v, 0x000BD041);
	CHECK_EQ(aml_eisaid_value("PNP0A03", &v), 0);
	CHECK_EQ(v, 0x030AD041);
	CHECK_EQ(aml_eisaid_value("pnp0501", &v), -EINVAL);
	CHECK_EQ(aml_eisaid_value("PNP050", &v), -EINVAL);
	CHECK_EQ(aml_eisaid_value("PNP05011", &v), -EINVAL);
	CHECK_EQ(aml_eisaid_value("PNP05G1", &v), -EINVAL);

	aml_init(&b, 64);
	aml_name_eisaid(&b, "_HID", "PNP0501");
	EXPECT(&b, 0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x05, 0x01);
	b.len = 0;
	aml_eisaid(&b, "PNP0G00");
	CHECK_EQ(b.err, -EINVAL);
	aml_release(&b);
}

static void test_method_sta(void)
{
	struct aml_buf b;

	/* Method (_STA, 0, NotSerialized) { Return (0x0F) } */
	aml_init(&b, 64);
	aml_method_return_integer(&b, "_STA", 0x0F);
	EXPECT(&b, 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xA4, 0x0A, 0x0F);
	aml_release(&b);

	/* Method (FOO, 2, Serialized) {} */
	aml_init(&b, 64);
	aml_end(&b, aml_method(&b, "FOO", 2, true));
	EXPECT(&b, 0x14, 0x06, 'F', 'O', 'O', '_', 0x0A);
	aml_end(&b, aml_method(&b, "BAR", 8, false));
	CHECK_EQ(b.err, -EINVAL);
	aml_release(&b);
}

static void test_package_s5(void)
{
	struct aml_buf b;
	struct aml_block pkg;

	/* Name (_S5, Package (4) {5, 0, 0, 0}) */
	aml_init(&b, 64);
	aml_name(&b, "_S5");
	pkg = aml_package(&b, 4);
	aml_integer(&b, 5);
	aml_integer(&b, 0);
	aml_integer(&b, 0);
	aml_integer(&b, 0);
	aml_end(&b, pkg);
	EXPECT(&b, 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0A, 0x05, 0x00, 0x00, 0x00);
	aml_release(&b);
}

static void test_scope_device(void)
{
	struct aml_buf b;
	struct aml_block sb, dev;

	/* Scope (\_SB) { Device (COM1) { Name (_UID, Zero) } } */
	aml_init(&b, 64);
	sb = aml_scope(&b, "\\_SB");
	dev = aml_device(&b, "COM1");
	aml_name_integer(&b, "_UID", 0);
	aml_end(&b, dev);
	aml_end(&b, sb);
	EXPECT(&b, 0x10, 0x13, 0x5C, '_', 'S', 'B', '_', 0x5B, 0x82, 0x0B, 'C', 'O', 'M', '1', 0x08,
	       '_', 'U', 'I', 'D', 0x00);
	aml_release(&b);
}

/* Nested blocks whose PkgLength needs 2 and 3 bytes: the outer lengths must
 * account for the bytes inserted into the inner ones. */
static void test_nested_long(void)
{
	struct aml_buf b;
	struct aml_block sb, dev;
	size_t n, v, dev_at;

	aml_init(&b, 1 * MiB);
	sb = aml_scope(&b, "\\_SB");
	dev = aml_device(&b, "BIG");
	for (int i = 0; i < 1000; i++)
		aml_name_integer(&b, "X", 0x12345678); /* 10 bytes each */
	aml_end(&b, dev);
	aml_end(&b, sb);
	CHECK_EQ(b.err, 0);
	/* ScopeOp, then a PkgLength covering everything after the opcode. */
	CHECK_EQ(b.data[0], 0x10);
	v = pkg_decode(&b.data[1], &n);
	CHECK_EQ(n, 3);
	CHECK_EQ(v, b.len - 1);
	dev_at = 1 + n + 5; /* opcode, PkgLength, "\_SB_" */
	CHECK_EQ(b.data[dev_at], 0x5B);
	CHECK_EQ(b.data[dev_at + 1], 0x82);
	v = pkg_decode(&b.data[dev_at + 2], &n);
	CHECK_EQ(n, 3);
	CHECK_EQ(v, b.len - dev_at - 2);
	CHECK_EQ(v, n + 4 + 1000 * 10);
	aml_release(&b);
}

static void test_restemplate_com1(void)
{
	struct aml_buf b;
	struct aml_block crs;

	/* ResourceTemplate () { IO (Decode16, 0x3F8, 0x3F8, 0x01, 0x08) IRQNoFlags () {4} } */
	aml_init(&b, 64);
	crs = aml_restemplate(&b);
	aml_res_io(&b, 0x3F8, 0x3F8, 1, 8);
	aml_res_irq_noflags(&b, 4);
	aml_restemplate_end(&b, crs);
	EXPECT(&b, 0x11, 0x10, 0x0A, 0x0D, 0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08, 0x22,
	       0x10, 0x00, 0x79, 0x00);
	aml_res_irq_noflags(&b, 16);
	CHECK_EQ(b.err, -EINVAL);
	aml_release(&b);
}

static void test_restemplate_virtio(void)
{
	struct aml_buf b;
	struct aml_block crs;
	const u32 gsi = 5, two[2] = {0x10, 0x20};

	/* ResourceTemplate () { Memory32Fixed (ReadWrite, 0xD0000000, 0x1000)
	 *   Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {5} } */
	aml_init(&b, 64);
	crs = aml_restemplate(&b);
	aml_res_memory32_fixed(&b, true, 0xD0000000, 0x1000);
	aml_res_interrupt(&b, AML_IRQ_CONSUMER, &gsi, 1);
	aml_restemplate_end(&b, crs);
	EXPECT(&b, 0x11, 0x1A, 0x0A, 0x17, 0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xD0, 0x00,
	       0x10, 0x00, 0x00, 0x89, 0x06, 0x00, 0x01, 0x01, 0x05, 0x00, 0x00, 0x00, 0x79, 0x00);
	aml_release(&b);

	/* Interrupt (ResourceProducer, Edge, ActiveLow, Shared) {0x10, 0x20} and ReadOnly memory */
	aml_init(&b, 64);
	aml_res_interrupt(&b, AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED, two, 2);
	aml_res_memory32_fixed(&b, false, 0x1000, 0x10);
	EXPECT(&b, 0x89, 0x0A, 0x00, 0x0E, 0x02, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00,
	       0x86, 0x09, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00);
	aml_res_interrupt(&b, AML_IRQ_CONSUMER, two, 0);
	CHECK_EQ(b.err, -EINVAL);
	aml_release(&b);
}

/* A Buffer of 100 bytes: BufferSize 0x0A 0x64 and a 2-byte PkgLength (104). */
static void test_buffer_long(void)
{
	struct aml_buf b;
	struct aml_block buf;
	u8 zeros[100] = {0};

	aml_init(&b, 256);
	buf = aml_buffer(&b);
	aml_bytes(&b, zeros, sizeof(zeros));
	aml_end(&b, buf);
	CHECK_EQ(b.err, 0);
	CHECK_EQ(b.len, 105);
	CHECK_EQ(b.data[0], 0x11);
	CHECK_EQ(b.data[1], 0x48);
	CHECK_EQ(b.data[2], 0x06);
	CHECK_EQ(b.data[3], 0x0A);
	CHECK_EQ(b.data[4], 100);
	aml_release(&b);
}

/* The buffer never grows past max; the first error sticks; nothing after it is written. */
static void test_bounds(void)
{
	struct aml_buf b;
	struct aml_block dev;
	u8 big[300];

	memset(big, 0xAB, sizeof(big));
	aml_init(&b, 8);
	aml_bytes(&b, big, 8);
	CHECK_EQ(b.err, 0);
	CHECK_EQ(b.len, 8);
	aml_byte(&b, 1);
	CHECK_EQ(b.err, -ENOSPC);
	CHECK_EQ(b.len, 8);
	CHECK(b.cap <= 8);
	aml_release(&b);

	/* Growth beyond the first allocation, up to exactly max. */
	aml_init(&b, 1000);
	for (int i = 0; i < 3; i++)
		aml_bytes(&b, big, sizeof(big));
	aml_bytes(&b, big, 100);
	CHECK_EQ(b.err, 0);
	CHECK_EQ(b.len, 1000);
	CHECK(b.cap <= 1000);
	aml_bytes(&b, big, 1);
	CHECK_EQ(b.err, -ENOSPC);
	aml_release(&b);

	/* The body fits, the PkgLength inserted at aml_end() does not. */
	aml_init(&b, 8);
	dev = aml_device(&b, "DEV");
	CHECK_EQ(b.len, 6);
	aml_end(&b, dev);
	CHECK_EQ(b.err, 0);
	CHECK_EQ(b.len, 7);
	dev = aml_device(&b, "DEV");
	CHECK_EQ(b.err, -ENOSPC);
	CHECK(b.len <= 8);
	aml_end(&b, dev);
	aml_integer(&b, 0);
	CHECK_EQ(b.err, -ENOSPC);
	CHECK(b.len <= 8);
	aml_release(&b);

	aml_init(&b, 8);
	aml_bytes(&b, big, 8);
	aml_end(&b, (struct aml_block){.start = 2});
	CHECK_EQ(b.err, -ENOSPC);
	aml_release(&b);

	/* A block mark beyond the data is a caller bug, reported, not followed. */
	aml_init(&b, 64);
	aml_byte(&b, 0);
	aml_end(&b, (struct aml_block){.start = 50});
	CHECK_EQ(b.err, -EINVAL);
	CHECK_EQ(b.len, 1);
	aml_release(&b);
}

int main(void)
{
	TEST_RUN(test_pkg_length);
	TEST_RUN(test_name_string);
	TEST_RUN(test_integers);
	TEST_RUN(test_strings);
	TEST_RUN(test_eisaid);
	TEST_RUN(test_method_sta);
	TEST_RUN(test_package_s5);
	TEST_RUN(test_scope_device);
	TEST_RUN(test_nested_long);
	TEST_RUN(test_restemplate_com1);
	TEST_RUN(test_restemplate_virtio);
	TEST_RUN(test_buffer_long);
	TEST_RUN(test_bounds);
	return test_done();
}
