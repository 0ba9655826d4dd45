/* Unit tests of the i8042 keyboard controller: Linux's probe sequence, the
 * absent keyboard and aux port, the interrupt line and both reset paths. */
#include "dev/i8042.h"
#include "popek/layout.h"
#include "test.h"

struct fix {
	pthread_mutex_t lock;
	struct bus pio;
	struct irq_router irq;
	struct i8042 c;
	unsigned irq_calls;
	bool irq_level;
	unsigned stops;
	int stop_why, stop_status;
};

static void fake_irq(void *opaque, unsigned gsi, bool level)
{
	struct fix *f = opaque;

	CHECK_EQ(gsi, 1);
	f->irq_calls++;
	f->irq_level = level;
}

static void fake_stop(void *opaque, enum machine_stop_reason why, int status)
{
	struct fix *f = opaque;

	f->stops++;
	f->stop_why = why;
	f->stop_status = status;
}

static void fix_init(struct fix *f)
{
	struct dev_stop stop = {fake_stop, f};

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	bus_init(&f->pio, "pio", &f->lock);
	f->irq.set = fake_irq;
	f->irq.opaque = f;
	CHECK_EQ(i8042_init(&f->c, &f->pio, &f->irq, &stop), 0);
}

static u8 status(struct fix *f)
{
	u64 v = 0;

	CHECK(bus_read(&f->pio, PORT_I8042_CMD, 1, &v));
	return (u8)v;
}

static u8 data(struct fix *f)
{
	u64 v = 0;

	CHECK(bus_read(&f->pio, PORT_I8042_DATA, 1, &v));
	return (u8)v;
}

static void cmd(struct fix *f, u8 v)
{
	CHECK(bus_write(&f->pio, PORT_I8042_CMD, 1, v));
}

static void put(struct fix *f, u8 v)
{
	CHECK(bus_write(&f->pio, PORT_I8042_DATA, 1, v));
}

/* A command with one result byte, as Linux's i8042_command() reads it. */
static u8 query(struct fix *f, u8 c)
{
	cmd(f, c);
	CHECK(status(f) & 0x01);
	CHECK(!(status(f) & 0x20)); /* never aux data */
	return data(f);
}

static void test_probe_sequence(void)
{
	struct fix f;
	unsigned calls;
	u8 ctr;

	fix_init(&f);
	/* Empty, system flag set, keyboard not locked, IBF never set. */
	CHECK_EQ(status(&f), 0x14);
	CHECK_EQ(query(&f, 0xAA), 0x55);
	CHECK_EQ(f.irq_calls, 2);   /* the BIOS left keyboard interrupts on */
	CHECK_EQ(status(&f), 0x1C); /* OBF clear, A2: last write was a command */
	ctr = query(&f, 0x20);
	CHECK_EQ(ctr, 0x65);
	CHECK_EQ(query(&f, 0x20), ctr); /* stable CTR */
	/* Write the CTR: keyboard disabled, interrupts off. */
	cmd(&f, 0x60);
	put(&f, 0x30);
	CHECK_EQ(status(&f) & 0x09, 0x00);
	CHECK_EQ(query(&f, 0x20), 0x30);
	calls = f.irq_calls;
	/* Aux probe: the loop test returns no aux data, the interface test
	 * reports a stuck clock, so Linux gives up on aux at once. */
	cmd(&f, 0xD3);
	put(&f, 0x5A);
	CHECK_EQ(status(&f) & 0x21, 0x01);
	CHECK_EQ(data(&f), 0x5A);
	CHECK_EQ(query(&f, 0xA9), 0x02);
	CHECK_EQ(query(&f, 0xAB), 0x00);
	/* Enable/disable bits. */
	cmd(&f, 0xAE);
	CHECK_EQ(query(&f, 0x20) & 0x10, 0);
	cmd(&f, 0xAD);
	CHECK_EQ(query(&f, 0x20) & 0x10, 0x10);
	cmd(&f, 0xA8);
	CHECK_EQ(query(&f, 0x20) & 0x20, 0);
	cmd(&f, 0xA7);
	CHECK_EQ(query(&f, 0x20) & 0x20, 0x20);
	CHECK_EQ(query(&f, 0xC0), 0x80);
	CHECK_EQ(query(&f, 0xD0), 0x03);
	CHECK_EQ(f.stops, 0);
	CHECK_EQ(f.irq_calls, calls); /* CTR interrupts are off */
}

static void test_no_keyboard(void)
{
	struct fix f;

	fix_init(&f);
	cmd(&f, 0x60);
	put(&f, 0x45);                     /* keyboard interrupt on */
	put(&f, 0xF2);                     /* GET ID to the keyboard */
	CHECK_EQ(status(&f) & 0x41, 0x41); /* timeout + OBF */
	CHECK(f.irq_level);
	CHECK_EQ(data(&f), 0xFE);
	CHECK(!f.irq_level);
	CHECK_EQ(f.irq_calls, 2);
	cmd(&f, 0x20); /* next access clears the timeout */
	CHECK_EQ(status(&f) & 0x40, 0);
	CHECK(f.irq_level); /* command results raise IRQ 1 too, as on boards */
	CHECK_EQ(data(&f), 0x45);
	/* 0xD2: the next byte comes back as keyboard data. */
	cmd(&f, 0xD2);
	put(&f, 0x1C);
	CHECK_EQ(data(&f), 0x1C);
	/* 0xD4: nothing answers on the aux side. */
	cmd(&f, 0xD4);
	put(&f, 0xFF);
	CHECK_EQ(status(&f) & 0x41, 0x40);
}

static void test_output_port_reset(void)
{
	struct fix f;

	fix_init(&f);
	cmd(&f, 0xD1);
	put(&f, 0xDF); /* A20 on, reset high: Linux's A20 enable */
	CHECK_EQ(f.stops, 0);
	CHECK_EQ(query(&f, 0xD0), 0xDF);
	cmd(&f, 0xD1);
	put(&f, 0xDE);
	CHECK_EQ(f.stops, 1);
	CHECK_EQ(f.stop_why, MACHINE_STOP_RESET);
	CHECK_EQ(f.stop_status, 0);
}

static void test_pulse_reset(void)
{
	struct fix f;

	fix_init(&f);
	cmd(&f, 0xFF); /* pulse nothing */
	CHECK_EQ(f.stops, 0);
	cmd(&f, 0xFE); /* Linux's reboot=k */
	CHECK_EQ(f.stops, 1);
	CHECK_EQ(f.stop_why, MACHINE_STOP_RESET);
	CHECK_EQ(f.stop_status, 0);
	cmd(&f, 0xF0); /* all lines, reset included */
	CHECK_EQ(f.stops, 2);
}

static void test_ports(void)
{
	struct fix f;

	fix_init(&f);
	/* 0x61 stays free for the PIT (system control port B). */
	CHECK(bus_find(&f.pio, PORT_SYSTEM_CONTROL_B) == NULL);
	CHECK_EQ(bus_register(&f.pio, PORT_SYSTEM_CONTROL_B, 1, NULL, NULL), 0);
	/* A command byte write is interrupted by a new command. */
	cmd(&f, 0x60);
	cmd(&f, 0xAA);
	CHECK_EQ(data(&f), 0x55);
	put(&f, 0x00); /* goes to the (absent) keyboard, not the CTR */
	CHECK_EQ(data(&f), 0xFE);
	CHECK_EQ(query(&f, 0x20), 0x65);
}

int main(void)
{
	TEST_RUN(test_probe_sequence);
	TEST_RUN(test_no_keyboard);
	TEST_RUN(test_output_port_reset);
	TEST_RUN(test_pulse_reset);
	TEST_RUN(test_ports);
	return test_done();
}
