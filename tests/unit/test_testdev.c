/* Unit tests of the guest-program test device (map in src/dev/testdev.h). */
#include "dev/testdev.h"
#include "popek/layout.h"
#include "test.h"

struct fix {
	pthread_mutex_t lock;
	struct bus pio, mmio;
	struct irq_router irq;
	struct testdev td;
	unsigned calls;
	bool level;
	unsigned gsi; /* of the last call */
	char trace[16];
};

static void fake_irq(void *opaque, unsigned gsi, bool level)
{
	struct fix *f = opaque;

	f->gsi = gsi;
	if (f->calls < sizeof(f->trace) - 1)
		f->trace[f->calls] = level ? 'H' : 'L';
	f->calls++;
	f->level = level;
}

static void fix_init(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	bus_init(&f->pio, "pio", &f->lock);
	bus_init(&f->mmio, "mmio", &f->lock);
	f->irq.set = fake_irq;
	f->irq.opaque = f;
	CHECK_EQ(testdev_init(&f->td, &f->pio, &f->mmio, &f->irq, GSI_TESTDEV), 0);
}

static u64 pin(struct fix *f, unsigned off, unsigned size)
{
	u64 v = 0;

	CHECK(bus_read(&f->pio, PORT_TESTDEV + off, size, &v));
	return v;
}

static u64 mrd(struct fix *f, unsigned off, unsigned size)
{
	u64 v = 0;

	CHECK(bus_read(&f->mmio, LAYOUT_TESTDEV_MMIO + off, size, &v));
	return v;
}

static void mwr(struct fix *f, unsigned off, unsigned size, u64 v)
{
	CHECK(bus_write(&f->mmio, LAYOUT_TESTDEV_MMIO + off, size, v));
}

static void test_ports(void)
{
	struct fix f;

	fix_init(&f);
	CHECK_EQ(pin(&f, 0, 4), 0);
	CHECK(bus_write(&f.pio, PORT_TESTDEV, 4, 0xDEADBEEF));
	CHECK_EQ(pin(&f, 0, 4), 0xDEADBEEF);
	CHECK_EQ(pin(&f, 0, 1), 0xEF);
	CHECK_EQ(pin(&f, 2, 2), 0xDEAD);
	CHECK(bus_write(&f.pio, PORT_TESTDEV + 1, 1, 0x11));
	CHECK_EQ(pin(&f, 0, 4), 0xDEAD11EF);
	CHECK_EQ(pin(&f, 4, 1), TESTDEV_MAGIC);
	CHECK(bus_write(&f.pio, PORT_TESTDEV + 4, 1, 0));
	CHECK_EQ(pin(&f, 4, 1), TESTDEV_MAGIC);
	CHECK_EQ(pin(&f, 5, 1), 0);
	CHECK_EQ(pin(&f, 4, 4), TESTDEV_MAGIC); /* bytes 5-7 read 0 */
	CHECK_EQ(f.td.r.count, 0);              /* ports are not counted */
}

static void test_mmio_scratch(void)
{
	struct fix f;

	fix_init(&f);
	mwr(&f, 0x00, 8, 0x0123456789ABCDEFULL);
	CHECK_EQ(mrd(&f, 0x00, 8), 0x0123456789ABCDEFULL);
	CHECK_EQ(mrd(&f, 0x00, 1), 0xEF);
	CHECK_EQ(mrd(&f, 0x03, 4), 0x23456789); /* unaligned, little endian */
	mwr(&f, 0xFF, 1, 0x5A);
	CHECK_EQ(mrd(&f, 0xFF, 1), 0x5A);
	mwr(&f, 0xF8, 8, 0x1122334455667788ULL);
	CHECK_EQ(mrd(&f, 0xFE, 2), 0x1122);
	mwr(&f, 0xFC, 8, 0xFFFFFFFFFFFFFFFFULL); /* straddles into COUNT: ignored */
	CHECK_EQ(mrd(&f, 0xFC, 4), 0x11223344);
	CHECK_EQ(mrd(&f, 0x200, 4), 0);
}

static void test_mmio_count(void)
{
	struct fix f;

	fix_init(&f);
	CHECK_EQ(mrd(&f, TESTDEV_COUNT, 8), 1); /* this read included */
	mwr(&f, 0x10, 4, 1);
	mwr(&f, 0x800, 4, 1);
	CHECK_EQ(mrd(&f, TESTDEV_COUNT, 8), 4);
	CHECK_EQ(mrd(&f, TESTDEV_COUNT, 4), 5);
	CHECK_EQ(mrd(&f, TESTDEV_COUNT + 4, 4), 0);
	mwr(&f, TESTDEV_COUNT, 8, 0); /* read-only */
	CHECK_EQ(mrd(&f, TESTDEV_COUNT, 8), 8);
}

static void test_mmio_irq(void)
{
	struct fix f;

	fix_init(&f);
	mwr(&f, TESTDEV_PULSE, 4, 0);
	CHECK(!strcmp(f.trace, "HL"));
	mwr(&f, TESTDEV_LEVEL, 4, 3); /* bit 0 only */
	CHECK(f.level);
	CHECK_EQ(mrd(&f, TESTDEV_LEVEL, 4), 1);
	mwr(&f, TESTDEV_PULSE, 4, 0); /* already high: nothing */
	CHECK_EQ(f.calls, 3);
	mwr(&f, TESTDEV_LEVEL, 4, 2);
	CHECK(!f.level);
	CHECK_EQ(mrd(&f, TESTDEV_LEVEL, 4), 0);
	CHECK(!strcmp(f.trace, "HLHL"));
	CHECK_EQ(mrd(&f, TESTDEV_PULSE, 4), 0);
	CHECK_EQ(f.gsi, GSI_TESTDEV);
}

/* PULSE_GSI pulses any line of the machine's 24, and nothing else. */
static void test_mmio_pulse_gsi(void)
{
	struct fix f;

	fix_init(&f);
	mwr(&f, TESTDEV_PULSE_GSI, 4, 23);
	CHECK(!strcmp(f.trace, "HL"));
	CHECK_EQ(f.gsi, 23);
	mwr(&f, TESTDEV_PULSE_GSI, 1, 0);
	CHECK(!strcmp(f.trace, "HLHL"));
	CHECK_EQ(f.gsi, 0);
	mwr(&f, TESTDEV_PULSE_GSI, 4, LAYOUT_IOAPIC_PINS); /* not a line */
	mwr(&f, TESTDEV_PULSE_GSI, 8, 1ULL << 32);
	mwr(&f, TESTDEV_PULSE_GSI + 1, 1, 1); /* not the register's offset */
	CHECK_EQ(f.calls, 4);
	mwr(&f, TESTDEV_LEVEL, 4, 1);
	mwr(&f, TESTDEV_PULSE_GSI, 4, GSI_TESTDEV); /* held high: nothing */
	CHECK_EQ(f.calls, 5);
	mwr(&f, TESTDEV_PULSE_GSI, 4, GSI_UART0);
	CHECK_EQ(f.calls, 7);
	CHECK_EQ(f.gsi, GSI_UART0);
	CHECK_EQ(mrd(&f, TESTDEV_PULSE_GSI, 4), 0);
}

int main(void)
{
	TEST_RUN(test_ports);
	TEST_RUN(test_mmio_scratch);
	TEST_RUN(test_mmio_count);
	TEST_RUN(test_mmio_pulse_gsi);
	TEST_RUN(test_mmio_irq);
	return test_done();
}
