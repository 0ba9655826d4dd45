/* Unit tests of the fw_cfg I/O interface: selector, data reads, items. */
#include "dev/fw_cfg.h"
#include "popek/layout.h"
#include "test.h"

struct fix {
	pthread_mutex_t lock;
	struct bus pio;
	struct fw_cfg fc;
};

static void fix_init(struct fix *f, u64 ram, unsigned cpus)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	bus_init(&f->pio, "pio", &f->lock);
	CHECK_EQ(fw_cfg_init(&f->fc, &f->pio, ram, cpus), 0);
}

static void select_item(struct fix *f, u16 key)
{
	CHECK(bus_write(&f->pio, PORT_FW_CFG, 2, key));
}

/* n data bytes, little endian. */
static u64 read_le(struct fix *f, unsigned n)
{
	u64 v = 0, b = 0;

	for (unsigned i = 0; i < n; i++) {
		CHECK(bus_read(&f->pio, PORT_FW_CFG + 1, 1, &b));
		v |= b << (8 * i);
	}
	return v;
}

static void test_signature_and_id(void)
{
	struct fix f;
	char sig[5] = {0};
	u64 b = 0;

	fix_init(&f, 256 * MiB, 2);
	select_item(&f, FW_CFG_SIGNATURE);
	for (int i = 0; i < 4; i++) {
		CHECK(bus_read(&f.pio, PORT_FW_CFG + 1, 1, &b));
		sig[i] = (char)b;
	}
	CHECK(!strcmp(sig, "QEMU"));
	CHECK_EQ(read_le(&f, 4), 0);       /* past the end */
	select_item(&f, FW_CFG_SIGNATURE); /* selecting rewinds */
	CHECK_EQ(read_le(&f, 1), 'Q');
	select_item(&f, FW_CFG_ID);
	CHECK_EQ(read_le(&f, 4), 1); /* no DMA */
}

static void test_sizes(void)
{
	struct fix f;

	fix_init(&f, 5 * GiB, 3);
	select_item(&f, FW_CFG_RAM_SIZE);
	CHECK_EQ(read_le(&f, 8), 5 * GiB);
	select_item(&f, FW_CFG_NB_CPUS);
	CHECK_EQ(read_le(&f, 2), 3);
	CHECK_EQ(read_le(&f, 1), 0);
	select_item(&f, FW_CFG_MAX_CPUS);
	CHECK_EQ(read_le(&f, 2), 3);
	select_item(&f, FW_CFG_FILE_DIR);
	CHECK_EQ(read_le(&f, 4), 0); /* big-endian count 0 */
}

static void test_unknown_and_odd_accesses(void)
{
	struct fix f;
	u64 v = 0;

	fix_init(&f, 256 * MiB, 1);
	select_item(&f, 0x0002);
	CHECK_EQ(read_le(&f, 8), 0);
	select_item(&f, 0x8000 | FW_CFG_SIGNATURE); /* arch-local key: unknown */
	CHECK_EQ(read_le(&f, 1), 0);
	select_item(&f, 0xFFFF);
	CHECK_EQ(read_le(&f, 1), 0);
	/* An 8-bit selector write works too. */
	CHECK(bus_write(&f.pio, PORT_FW_CFG, 1, FW_CFG_SIGNATURE));
	CHECK_EQ(read_le(&f, 1), 'Q');
	/* Data writes are ignored, selector reads give 0. */
	CHECK(bus_write(&f.pio, PORT_FW_CFG + 1, 1, 0x42));
	CHECK_EQ(read_le(&f, 1), 'E');
	CHECK(bus_read(&f.pio, PORT_FW_CFG, 1, &v));
	CHECK_EQ(v, 0);
	/* A 16-bit read at the data port runs past the range: unclaimed. */
	CHECK(!bus_read(&f.pio, PORT_FW_CFG + 1, 2, &v));
}

int main(void)
{
	TEST_RUN(test_signature_and_id);
	TEST_RUN(test_sizes);
	TEST_RUN(test_unknown_and_odd_accesses);
	return test_done();
}
