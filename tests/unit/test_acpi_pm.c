/* Unit tests of the ACPI sleep/reset registers: S5 poweroff and reset. */
#include <stdlib.h>

#include "dev/acpi_pm.h"
#include "popek/layout.h"
#include "test.h"

struct fix {
	pthread_mutex_t lock;
	struct bus pio;
	struct acpi_pm pm;
	unsigned n;
	int why, status;
};

static void fake_stop(void *opaque, enum machine_stop_reason why, int status)
{
	struct fix *f = opaque;

	f->n++;
	f->why = why;
	f->status = status;
}

static void fix_init(struct fix *f)
{
	struct dev_stop stop = {fake_stop, f};

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	bus_init(&f->pio, "pio", &f->lock);
	CHECK_EQ(acpi_pm_init(&f->pm, &f->pio, &stop), 0);
}

/* What Linux (ACPICA hwesleep.c) writes to power off: clear WAK_STS, then
 * SLP_TYP 5 << 2 | SLP_EN. */
static void test_s5_poweroff(void)
{
	struct fix f;
	u64 v = 1;

	fix_init(&f);
	CHECK(bus_write(&f.pio, PORT_ACPI_SLEEP_STS, 1, 0x80));
	CHECK(bus_read(&f.pio, PORT_ACPI_SLEEP_STS, 1, &v));
	CHECK_EQ(v, 0);
	CHECK_EQ(f.n, 0);
	CHECK(bus_write(&f.pio, PORT_ACPI_SLEEP_CTL, 1, 5 << 2)); /* no SLP_EN */
	CHECK_EQ(f.n, 0);
	CHECK(bus_write(&f.pio, PORT_ACPI_SLEEP_CTL, 1, 0x34));
	CHECK_EQ(f.n, 1);
	CHECK_EQ(f.why, MACHINE_STOP_POWEROFF);
	CHECK_EQ(f.status, 0);
	CHECK(bus_read(&f.pio, PORT_ACPI_SLEEP_CTL, 1, &v));
	CHECK_EQ(v, 0);
}

static void test_other_sleep_types(void)
{
	struct fix f;

	fix_init(&f);
	setenv("POPEK_LOG", "error", 1); /* the expected warning */
	CHECK(bus_write(&f.pio, PORT_ACPI_SLEEP_CTL, 1, 0x20 | (3 << 2))); /* S3 */
	CHECK(bus_write(&f.pio, PORT_ACPI_SLEEP_CTL, 1, 0x20 | (1 << 2)));
	unsetenv("POPEK_LOG");
	CHECK_EQ(f.n, 0);
	CHECK(f.pm.warned_sleep);
}

static void test_reset(void)
{
	struct fix f;
	u64 v = 1;

	fix_init(&f);
	CHECK(bus_write(&f.pio, PORT_ACPI_RESET, 1, ACPI_RESET_VALUE + 1));
	CHECK_EQ(f.n, 0);
	CHECK(bus_write(&f.pio, PORT_ACPI_RESET, 1, ACPI_RESET_VALUE));
	CHECK_EQ(f.n, 1);
	CHECK_EQ(f.why, MACHINE_STOP_RESET);
	CHECK_EQ(f.status, 0);
	CHECK(bus_read(&f.pio, PORT_ACPI_RESET, 1, &v));
	CHECK_EQ(v, 0);
	/* A 16-bit write at the status port reaches the reset port too. */
	CHECK(bus_write(&f.pio, PORT_ACPI_SLEEP_STS, 2, ACPI_RESET_VALUE << 8 | 0x80));
	CHECK_EQ(f.n, 2);
}

static void test_port_0x61_free(void)
{
	struct fix f;

	fix_init(&f);
	CHECK(bus_find(&f.pio, PORT_SYSTEM_CONTROL_B) == NULL);
	CHECK(bus_find(&f.pio, PORT_ACPI_RESET + 1) == NULL);
}

int main(void)
{
	TEST_RUN(test_s5_poweroff);
	TEST_RUN(test_other_sleep_types);
	TEST_RUN(test_reset);
	TEST_RUN(test_port_0x61_free);
	return test_done();
}
