/* Unit tests of the i8042 keyboard controller and its PS/2 keyboard: Linux's
 * probe sequences, keyboard commands, translation, the scan code queue,
 * Ctrl+Alt+Del, the interrupt line, both reset paths and hostile writes. */
#include <errno.h>
#include <unistd.h>

#include "dev/i8042.h"
#include "popek/layout.h"
#include "test.h"

struct fix {
	pthread_mutex_t lock;
	struct bus pio;
	struct irq_router irq;
	struct i8042 c;
	unsigned irq_calls;
	unsigned irq_edges; /* rising edges */
	bool irq_level;
	unsigned stops;
	int stop_why, stop_status;
};

static void fake_irq(void *opaque, unsigned gsi, bool level)
{
	struct fix *f = opaque;

	CHECK_EQ(gsi, GSI_I8042_KBD);
	CHECK(level != f->irq_level); /* the device only reports changes */
	f->irq_calls++;
	if (level && !f->irq_level)
		f->irq_edges++;
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

static void set_ctr(struct fix *f, u8 ctr)
{
	cmd(f, 0x60);
	put(f, ctr);
}

/* Reads every byte the controller has for the guest (at most max) into out,
 * the way Linux's interrupt handler does: one byte per rising edge. */
static unsigned drain(struct fix *f, u8 *out, unsigned max)
{
	unsigned n = 0;

	while ((status(f) & 0x01) && n < max) {
		CHECK(f->irq_level);
		out[n++] = data(f);
	}
	return n;
}

/* Expects exactly the bytes want[0..n) from the controller, then nothing. */
static void expect_bytes(struct fix *f, const u8 *want, unsigned n)
{
	u8 got[64];
	unsigned edges = f->irq_edges;
	unsigned got_n = drain(f, got, sizeof(got));

	CHECK_EQ(got_n, n);
	for (unsigned i = 0; i < n && i < got_n; i++)
		CHECK_EQ(got[i], want[i]);
	CHECK(!f->irq_level);
	/* Each byte after the first came with its own rising edge. */
	if (n > 1)
		CHECK_EQ(f->irq_edges - edges, n - 1);
}

#define EXPECT(f, ...)                                                                             \
	do {                                                                                       \
		static const u8 want_[] = {__VA_ARGS__};                                           \
		expect_bytes(f, want_, sizeof(want_));                                             \
	} while (0)

/* What Linux does before atkbd talks to the keyboard: i8042_controller_init
 * (keyboard disabled, interrupts off), the aux probe, i8042_enable_kbd_port. */
static void linux_controller_init(struct fix *f, bool translate)
{
	u8 ctr = query(f, 0x20);

	CHECK_EQ(ctr, 0x65);
	set_ctr(f, (ctr | 0x10) & ~0x01);
	CHECK_EQ(query(f, 0x20), 0x74);
	cmd(f, 0xD3); /* aux loop: answered without the aux flag */
	put(f, 0x5A);
	CHECK_EQ(status(f) & 0x21, 0x01);
	CHECK_EQ(data(f), 0x5A);
	CHECK_EQ(query(f, 0xA9), 0x02); /* no aux port */
	set_ctr(f, translate ? 0x65 : 0x25);
	CHECK_EQ(status(f) & 0x01, 0);
}

static void test_controller_probe(void)
{
	struct fix f;
	unsigned calls;

	fix_init(&f);
	/* Empty, system flag set, keyboard not locked, IBF never set. */
	CHECK_EQ(status(&f), 0x14);
	CHECK_EQ(query(&f, 0xAA), 0x55);
	CHECK_EQ(f.irq_calls, 2);   /* the BIOS left keyboard interrupts on */
	CHECK_EQ(status(&f), 0x1C); /* OBF clear, A2: last write was a command */
	CHECK_EQ(query(&f, 0x20), 0x65);
	CHECK_EQ(query(&f, 0x20), 0x65); /* stable CTR */
	set_ctr(&f, 0x30);
	CHECK_EQ(status(&f) & 0x09, 0x00);
	CHECK_EQ(query(&f, 0x20), 0x30);
	calls = f.irq_calls;
	CHECK_EQ(query(&f, 0xAB), 0x00);
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
	CHECK_EQ(query(&f, 0xE0), 0x00);
	CHECK_EQ(f.stops, 0);
	CHECK_EQ(f.irq_calls, calls); /* CTR interrupts are off */
	/* 0xD2: the next byte comes back as keyboard data, untranslated. */
	cmd(&f, 0xD2);
	put(&f, 0x1C);
	CHECK_EQ(data(&f), 0x1C);
	/* 0xD4: nothing answers on the aux side. */
	cmd(&f, 0xD4);
	put(&f, 0xFF);
	CHECK_EQ(status(&f) & 0x41, 0x40);
	cmd(&f, 0x20); /* the next access clears the timeout */
	CHECK_EQ(status(&f) & 0x40, 0);
	CHECK_EQ(data(&f), 0x30);
}

/* atkbd_probe, atkbd_deactivate, atkbd_reset_state, atkbd_activate. */
static void test_keyboard_linux_probe(void)
{
	struct fix f;

	fix_init(&f);
	linux_controller_init(&f, true);
	put(&f, 0xF2); /* GETID */
	CHECK(f.irq_level);
	EXPECT(&f, 0xFA, 0xAB, 0x41); /* 0x83 translated */
	put(&f, 0xF5);
	EXPECT(&f, 0xFA);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), -ENODEV); /* scanning off */
	put(&f, 0xED);
	EXPECT(&f, 0xFA);
	put(&f, 0x00);
	EXPECT(&f, 0xFA);
	put(&f, 0xF3);
	EXPECT(&f, 0xFA);
	put(&f, 0x00);
	EXPECT(&f, 0xFA);
	put(&f, 0xF4);
	EXPECT(&f, 0xFA);
	CHECK_EQ(f.c.r.kbd.leds, 0);
	CHECK_EQ(f.stops, 0);

	/* Without translation (i8042.direct) the ID comes as it is. */
	fix_init(&f);
	linux_controller_init(&f, false);
	put(&f, 0xF2);
	EXPECT(&f, 0xFA, 0xAB, 0x83);
}

static void test_keyboard_commands(void)
{
	struct fix f;

	fix_init(&f);
	linux_controller_init(&f, false);
	put(&f, 0xFF); /* reset: ACK, then BAT passed */
	EXPECT(&f, 0xFA, 0xAA);
	put(&f, 0xED); /* LEDs */
	EXPECT(&f, 0xFA);
	put(&f, 0x07);
	EXPECT(&f, 0xFA);
	CHECK_EQ(f.c.r.kbd.leds, 7);
	put(&f, 0xF0); /* scan code set: get */
	put(&f, 0x00);
	EXPECT(&f, 0xFA, 0xFA, 0x02);
	put(&f, 0xF0); /* a bad set is refused; the command still waits */
	put(&f, 0x07);
	put(&f, 0x03);
	EXPECT(&f, 0xFA, 0xFE, 0xFA);
	CHECK_EQ(f.c.r.kbd.set, 3);
	put(&f, 0xEE); /* echo */
	EXPECT(&f, 0xEE);
	put(&f, 0xFE); /* resend the last byte */
	EXPECT(&f, 0xEE);
	put(&f, 0xEF); /* not a command */
	EXPECT(&f, 0xFE);
	put(&f, 0x12); /* a parameter with no command */
	EXPECT(&f, 0xFE);
	put(&f, 0xED); /* a command in place of the parameter starts anew */
	put(&f, 0xF2);
	EXPECT(&f, 0xFA, 0xFA, 0xAB, 0x83);
	put(&f, 0xF6); /* defaults: set 2, LEDs off, scanning on */
	EXPECT(&f, 0xFA);
	CHECK_EQ(f.c.r.kbd.set, 2);
	CHECK_EQ(f.c.r.kbd.leds, 0);
	CHECK(f.c.r.kbd.scanning);
	put(&f, 0xFB); /* set 3 key types: key numbers until a command */
	put(&f, 0x11);
	put(&f, 0x19);
	EXPECT(&f, 0xFA, 0xFA, 0xFA);
	put(&f, 0xF2);
	put(&f, 0xF4); /* enable empties the keyboard's buffer first */
	EXPECT(&f, 0xFA, 0xFA);
	/* With translation, set-2 answers reach the guest in set 1. */
	set_ctr(&f, 0x65);
	put(&f, 0xF0);
	put(&f, 0x00);
	EXPECT(&f, 0xFA, 0xFA, 0x41);
}

/* Ctrl+Alt+Del in every scan code set, with and without translation. */
static void test_ctrl_alt_del(void)
{
	struct fix f;

	fix_init(&f);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), -ENODEV); /* no driver yet */
	CHECK_EQ(status(&f) & 0x01, 0);
	CHECK_EQ(f.irq_calls, 0);
	linux_controller_init(&f, true);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), -ENODEV); /* never talked to it */
	put(&f, 0xF4);
	EXPECT(&f, 0xFA);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), 0);
	/* Set 2 through the translator: set 1, E0 kept, F0 folded into bit 7. */
	EXPECT(&f, 0x1D, 0x38, 0xE0, 0x53, 0xE0, 0xD3, 0xB8, 0x9D);

	set_ctr(&f, 0x25); /* raw set 2 */
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), 0);
	EXPECT(&f, 0x14, 0x11, 0xE0, 0x71, 0xE0, 0xF0, 0x71, 0xF0, 0x11, 0xF0, 0x14);
	put(&f, 0xF0);
	put(&f, 0x01);
	EXPECT(&f, 0xFA, 0xFA);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), 0);
	EXPECT(&f, 0x1D, 0x38, 0xE0, 0x53, 0xE0, 0xD3, 0xB8, 0x9D);
	put(&f, 0xF0);
	put(&f, 0x03);
	EXPECT(&f, 0xFA, 0xFA);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), 0);
	EXPECT(&f, 0x11, 0x19, 0x64, 0xF0, 0x64, 0xF0, 0x19, 0xF0, 0x11);

	/* No interrupt, a disabled interface or keyboard: nobody listens. */
	set_ctr(&f, 0x24);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), -ENODEV);
	set_ctr(&f, 0x35);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), -ENODEV);
	set_ctr(&f, 0x25);
	put(&f, 0xF5);
	EXPECT(&f, 0xFA);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), -ENODEV);
	CHECK_EQ(f.stops, 0);
}

/* The queue: bounded, held while the interface is disabled, behind a
 * controller answer; the line goes low on every read. */
static void test_queue(void)
{
	struct fix f;
	u8 got[64];
	unsigned n;

	fix_init(&f);
	linux_controller_init(&f, false);
	for (unsigned i = 0; i < 20; i++)
		put(&f, 0xF2); /* 60 answer bytes, never read */
	CHECK_EQ(f.c.r.kbd.len, I8042_KBD_QUEUE);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), -ENOSPC);
	n = drain(&f, got, sizeof(got));
	CHECK_EQ(n, 1 + I8042_KBD_QUEUE); /* the output buffer and the queue */
	CHECK_EQ(got[0], 0xFA);
	CHECK_EQ(got[1], 0xAB);
	CHECK_EQ(got[2], 0x83);
	CHECK(!f.irq_level);
	CHECK_EQ(data(&f), got[n - 1]); /* an empty buffer reads stale, no edge */
	CHECK(!f.irq_level);

	/* Disabled interface: bytes wait in the keyboard; a controller answer
	 * takes the output buffer first, then the keyboard's bytes follow. */
	put(&f, 0xF4);
	EXPECT(&f, 0xFA);
	cmd(&f, 0xAD);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), -ENODEV);
	set_ctr(&f, 0x25);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f.c), 0);
	cmd(&f, 0xAD);
	CHECK_EQ(data(&f), 0x14); /* loaded before the interface was disabled */
	CHECK_EQ(status(&f) & 0x01, 0);
	CHECK_EQ(query(&f, 0x20), 0x35);
	cmd(&f, 0xAE);
	CHECK(f.irq_level);
	/* An answer waits behind an unread byte, then goes before the rest. */
	cmd(&f, 0x20);
	CHECK_EQ(data(&f), 0x11);
	CHECK_EQ(data(&f), 0x25);
	EXPECT(&f, 0xE0, 0x71, 0xE0, 0xF0, 0x71, 0xF0, 0x11, 0xF0, 0x14);

	/* Writing to the keyboard enables its interface, as PS/2 controllers do. */
	cmd(&f, 0xAD);
	put(&f, 0xEE);
	EXPECT(&f, 0xEE);
	CHECK_EQ(query(&f, 0x20), 0x25);
}

static void *loop_thread(void *arg)
{
	event_loop_run(arg);
	return NULL;
}

/* Another thread's request is typed on the event loop's thread. */
static void test_host_request(void)
{
	struct event_loop loop;
	struct fix f;
	pthread_t t;

	fix_init(&f);
	i8042_detach(&f.c); /* never attached: nothing to do */
	CHECK_EQ(i8042_request_ctrl_alt_del(&f.c), -ENODEV);
	CHECK_EQ(event_loop_init(&loop), 0);
	CHECK_EQ(i8042_attach(&f.c, &loop, &f.lock), 0);
	linux_controller_init(&f, true);
	put(&f, 0xF4);
	EXPECT(&f, 0xFA);
	CHECK_EQ(i8042_ctrl_alt_del_ready(&f.c), 0);
	CHECK_EQ(pthread_create(&t, NULL, loop_thread, &loop), 0);
	CHECK_EQ(i8042_request_ctrl_alt_del(&f.c), 0);
	for (unsigned i = 0; i < 1000 && !(status(&f) & 0x01); i++)
		usleep(1000);
	EXPECT(&f, 0x1D, 0x38, 0xE0, 0x53, 0xE0, 0xD3, 0xB8, 0x9D);
	/* A request nobody can type is dropped on the loop (and logged). */
	put(&f, 0xF5);
	EXPECT(&f, 0xFA);
	CHECK_EQ(i8042_ctrl_alt_del_ready(&f.c), -ENODEV);
	CHECK_EQ(i8042_request_ctrl_alt_del(&f.c), 0);
	usleep(50000);
	CHECK_EQ(status(&f) & 0x01, 0);
	event_loop_quit(&loop);
	pthread_join(t, NULL);
	i8042_detach(&f.c);
	i8042_detach(&f.c);
	event_loop_destroy(&loop);
	CHECK_EQ(f.stops, 0);
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
	/* Wider accesses are not the device's. */
	CHECK(!bus_write(&f.pio, PORT_I8042_CMD, 2, 0xAAAA));
	CHECK_EQ(status(&f) & 0x01, 0);
	/* A command byte write is interrupted by a new command. */
	cmd(&f, 0x60);
	cmd(&f, 0xAA);
	CHECK_EQ(data(&f), 0x55);
	put(&f, 0x00); /* goes to the keyboard, not the CTR: not a command */
	CHECK_EQ(data(&f), 0xFE);
	CHECK_EQ(query(&f, 0x20), 0x65);
}

/* Random bytes to both ports and random reads: the state stays bounded, the
 * line matches the state and every change reaches the router once. */
static void test_hostile(void)
{
	struct fix f;
	u32 seed = 12345;
	unsigned resets = 0;

	fix_init(&f);
	for (unsigned i = 0; i < 200000; i++) {
		u8 v, r;

		seed = seed * 1103515245u + 12345u;
		v = (u8)(seed >> 16);
		r = (u8)(seed >> 24);
		switch (r & 3) {
		case 0:
			if (v >= 0xF0 && !(v & 1))
				resets++;
			else if (v == 0xD1)
				v = 0xD0; /* keep the output port's reset line high */
			cmd(&f, v);
			break;
		case 1:
			put(&f, v);
			break;
		case 2:
			data(&f);
			break;
		default:
			if (!(r & 0x3C))
				i8042_send_ctrl_alt_del(&f.c);
			status(&f);
			break;
		}
		CHECK(f.c.r.kbd.len <= I8042_KBD_QUEUE);
		CHECK(f.c.r.kbd.head < I8042_KBD_QUEUE);
		CHECK(f.c.r.kbd.set >= 1 && f.c.r.kbd.set <= 3);
		CHECK_EQ(status(&f) & 0xA2, 0); /* no IBF, aux or parity bits */
		CHECK_EQ(f.irq_level, (status(&f) & 0x01) && (f.c.r.ram[0] & 0x01));
	}
	CHECK_EQ(f.stops, resets);
}

int main(void)
{
	TEST_RUN(test_controller_probe);
	TEST_RUN(test_keyboard_linux_probe);
	TEST_RUN(test_keyboard_commands);
	TEST_RUN(test_ctrl_alt_del);
	TEST_RUN(test_queue);
	TEST_RUN(test_host_request);
	TEST_RUN(test_output_port_reset);
	TEST_RUN(test_pulse_reset);
	TEST_RUN(test_ports);
	TEST_RUN(test_hostile);
	return test_done();
}
