/* Unit tests of the console (host input -> UART with flow control, Ctrl-A
 * escapes) and of devices_create() wiring every device on a machine. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "dev/devices.h"
#include "popek/layout.h"
#include "test.h"

/* ---- console ------------------------------------------------------------ */

struct cfix {
	pthread_mutex_t lock;
	struct bus pio;
	struct irq_router irq; /* no sink */
	struct event_loop loop;
	struct uart u;
	struct console c;
	pthread_t thread;
	unsigned stops;
	int why, status;
};

static void fake_stop(void *opaque, enum machine_stop_reason why, int status)
{
	struct cfix *f = opaque;

	f->stops++;
	f->why = why;
	f->status = status;
}

static void *loop_thread(void *arg)
{
	event_loop_run(arg);
	return NULL;
}

static void cfix_start(struct cfix *f, int in_fd)
{
	struct dev_stop stop = {fake_stop, f};

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	bus_init(&f->pio, "pio", &f->lock);
	CHECK_EQ(event_loop_init(&f->loop), 0);
	CHECK_EQ(uart_init(&f->u, &f->pio, PORT_UART0, &f->irq, GSI_UART0, -1), 0);
	CHECK_EQ(console_init(&f->c, &f->u, &f->loop, &f->lock, in_fd, &stop), 0);
	CHECK_EQ(pthread_create(&f->thread, NULL, loop_thread, &f->loop), 0);
}

static void cfix_stop(struct cfix *f)
{
	event_loop_quit(&f->loop);
	pthread_join(f->thread, NULL);
	console_destroy(&f->c);
	event_loop_destroy(&f->loop);
	pthread_mutex_destroy(&f->lock);
}

static u8 uart_in(struct cfix *f, unsigned reg)
{
	u64 v = 0;

	CHECK(bus_read(&f->pio, PORT_UART0 + reg, 1, &v));
	return (u8)v;
}

/* Waits up to 2 s for the UART to hold data; returns whether it does. */
static bool wait_data(struct cfix *f)
{
	const struct timespec ms = {0, 1000 * 1000};

	for (int i = 0; i < 2000; i++) {
		if (uart_in(f, 5) & 0x01)
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

/* Waits up to 2 s for the console to see the end of its input, or (with
 * want_stop) for a stop request. Reads under the lock, like the loop. */
static bool wait_console(struct cfix *f, bool want_stop)
{
	const struct timespec ms = {0, 1000 * 1000};

	for (int i = 0; i < 2000; i++) {
		bool done;

		pthread_mutex_lock(&f->lock);
		done = want_stop ? f->stops > 0 : f->c.eof;
		pthread_mutex_unlock(&f->lock);
		if (done)
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

/* Reads n bytes as a guest driver would, checking they match want. */
static void guest_read(struct cfix *f, const char *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!wait_data(f)) {
			printf("  no byte %zu of %zu arrived\n", i, n);
			CHECK(0);
			return;
		}
		CHECK_EQ(uart_in(f, 0), (u8)want[i]);
	}
}

static void test_filter(void)
{
	struct console c;
	u8 out[16];
	bool stop;

	memset(&c, 0, sizeof(c));
	CHECK_EQ(console_filter(&c, (const u8 *)"ab\x01xcd", 6, out, &stop), 2);
	CHECK(stop);
	CHECK(!memcmp(out, "ab", 2));
	CHECK_EQ(console_filter(&c, (const u8 *)"\x01\x01z\x01", 4, out, &stop), 2);
	CHECK(!stop);
	CHECK(!memcmp(out, "\x01z", 2));
	CHECK(c.esc_pending); /* escape split across reads */
	CHECK_EQ(console_filter(&c, (const u8 *)"x", 1, out, &stop), 0);
	CHECK(stop);
	CHECK_EQ(console_filter(&c, (const u8 *)"\x01qok", 4, out, &stop), 2);
	CHECK(!stop);
	CHECK(!memcmp(out, "ok", 2)); /* unknown escape dropped */
}

/* 40 bytes through a 16-byte FIFO: nothing is lost or reordered. */
static void test_pipe_flow_control(void)
{
	const char msg[] = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
	struct cfix f;
	int p[2];

	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(write(p[1], msg, 40), 40);
	cfix_start(&f, p[0]);
	CHECK(!f.c.escapes);
	usleep(20 * 1000);
	CHECK_EQ(uart_in(&f, 5) & 0x01, 0);                /* no driver listening: held back */
	CHECK(bus_write(&f.pio, PORT_UART0 + 2, 1, 0x01)); /* FIFO on */
	CHECK(bus_write(&f.pio, PORT_UART0 + 1, 1, 0x01)); /* IER.RDI */
	guest_read(&f, msg, 40);
	CHECK_EQ(uart_in(&f, 5) & 0x02, 0); /* never an overrun */
	close(p[1]);                        /* EOF: input just stops */
	CHECK(wait_console(&f, false));
	CHECK_EQ(f.stops, 0);
	cfix_stop(&f);
	close(p[0]);
}

/* epoll cannot watch regular files: they are read when the UART has room. */
static void test_regular_file_input(void)
{
	char path[] = "/tmp/popek_test_console_XXXXXX";
	const char msg[] = "regular file input, longer than one FIFO";
	int fd = mkstemp(path);
	struct cfix f;

	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, msg, sizeof(msg) - 1, 0), (ssize_t)sizeof(msg) - 1);
	cfix_start(&f, fd);
	CHECK(!f.c.pollable);
	CHECK(bus_write(&f.pio, PORT_UART0 + 2, 1, 0x01));
	CHECK(bus_write(&f.pio, PORT_UART0 + 1, 1, 0x01));
	guest_read(&f, msg, sizeof(msg) - 1);
	CHECK(wait_console(&f, false));
	cfix_stop(&f);
	close(fd);
	unlink(path);
}

static void test_dev_null_and_no_input(void)
{
	int fd = open("/dev/null", O_RDONLY);
	struct cfix f;

	cfix_start(&f, fd);
	CHECK(bus_write(&f.pio, PORT_UART0 + 1, 1, 0x01));
	CHECK(wait_console(&f, false));
	CHECK_EQ(uart_in(&f, 5) & 0x01, 0);
	cfix_stop(&f);
	close(fd);

	cfix_start(&f, -1); /* no input at all */
	CHECK(f.c.eof);
	CHECK(bus_write(&f.pio, PORT_UART0 + 1, 1, 0x01));
	cfix_stop(&f);
}

/* Ctrl-A x (on a terminal) stops the machine as a user request. */
static void test_escape_stops(void)
{
	struct cfix f;
	int p[2];

	CHECK_EQ(pipe(p), 0);
	cfix_start(&f, p[0]);
	pthread_mutex_lock(&f.lock);
	f.c.escapes = true; /* as if p[0] were a terminal */
	pthread_mutex_unlock(&f.lock);
	CHECK(bus_write(&f.pio, PORT_UART0 + 2, 1, 0x01));
	CHECK(bus_write(&f.pio, PORT_UART0 + 1, 1, 0x01));
	CHECK_EQ(write(p[1], "hi\x01x", 4), 4);
	guest_read(&f, "hi", 2);
	CHECK(wait_console(&f, true));
	CHECK_EQ(f.stops, 1);
	CHECK_EQ(f.why, MACHINE_STOP_USER);
	CHECK_EQ(f.status, 0);
	cfix_stop(&f);
	close(p[0]);
	close(p[1]);
}

/* ---- devices_create ----------------------------------------------------- */

static void test_devices_create(void)
{
	struct machine *m = calloc(1, sizeof(*m));
	int in[2], out[2], saved_in = dup(0), saved_out = dup(1);
	char buf[8] = {0};
	u64 v = 0;

	CHECK_EQ(pipe(in), 0);
	CHECK_EQ(pipe(out), 0);
	m->cfg.mem_size = 256 * MiB;
	m->cfg.nr_cpus = 2;
	m->cfg.testdev = true;
	pthread_mutex_init(&m->dev_lock, NULL);
	bus_init(&m->pio, "pio", &m->dev_lock);
	bus_init(&m->mmio, "mmio", &m->dev_lock);
	CHECK_EQ(event_loop_init(&m->loop), 0);

	fflush(stdout);
	dup2(in[0], 0);
	dup2(out[1], 1);
	CHECK_EQ(devices_create(m), 0);
	CHECK(bus_write(&m->pio, PORT_UART0, 1, 'K')); /* COM1 -> fd 1 */
	dup2(saved_in, 0);
	dup2(saved_out, 1);
	CHECK_EQ(read(out[0], buf, sizeof(buf)), 1);
	CHECK_EQ(buf[0], 'K');

	CHECK(bus_find(&m->pio, PORT_I8042_DATA) != NULL);
	CHECK(bus_find(&m->pio, PORT_I8042_CMD) != NULL);
	CHECK(bus_find(&m->pio, PORT_SYSTEM_CONTROL_B) == NULL);
	CHECK(bus_find(&m->pio, PORT_RTC + 1) != NULL);
	CHECK(bus_find(&m->pio, PORT_TESTDEV) != NULL);
	CHECK(bus_find(&m->mmio, LAYOUT_TESTDEV_MMIO) != NULL);
	CHECK(bus_read(&m->pio, PORT_TESTDEV + 4, 1, &v));
	CHECK_EQ(v, TESTDEV_MAGIC);
	CHECK(bus_write(&m->pio, PORT_FW_CFG, 2, FW_CFG_NB_CPUS));
	CHECK(bus_read(&m->pio, PORT_FW_CFG + 1, 1, &v));
	CHECK_EQ(v, 2);

	/* ACPI S5 reaches machine_request_stop(). */
	CHECK(!machine_stopping(m));
	CHECK(bus_write(&m->pio, PORT_ACPI_SLEEP_CTL, 1, 0x34));
	CHECK(machine_stopping(m));
	CHECK_EQ(m->stop_reason, MACHINE_STOP_POWEROFF);
	CHECK_EQ(m->exit_status, 0);

	devices_destroy(m);
	CHECK(m->devs == NULL);
	devices_destroy(m); /* idempotent */
	event_loop_destroy(&m->loop);
	pthread_mutex_destroy(&m->dev_lock);
	free(m);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	close(saved_in);
	close(saved_out);
}

static void test_devices_without_testdev(void)
{
	struct machine *m = calloc(1, sizeof(*m));
	int saved_in = dup(0), null = open("/dev/null", O_RDONLY);

	m->cfg.mem_size = 64 * MiB;
	m->cfg.nr_cpus = 1;
	pthread_mutex_init(&m->dev_lock, NULL);
	bus_init(&m->pio, "pio", &m->dev_lock);
	bus_init(&m->mmio, "mmio", &m->dev_lock);
	CHECK_EQ(event_loop_init(&m->loop), 0);
	dup2(null, 0);
	CHECK_EQ(devices_create(m), 0);
	dup2(saved_in, 0);
	CHECK(bus_find(&m->pio, PORT_TESTDEV) == NULL);
	CHECK(bus_find(&m->mmio, LAYOUT_TESTDEV_MMIO) == NULL);
	/* i8042 reset -> MACHINE_STOP_RESET, status 0. */
	CHECK(bus_write(&m->pio, PORT_I8042_CMD, 1, 0xFE));
	CHECK_EQ(m->stop_reason, MACHINE_STOP_RESET);
	CHECK_EQ(m->exit_status, 0);
	devices_destroy(m);
	event_loop_destroy(&m->loop);
	pthread_mutex_destroy(&m->dev_lock);
	free(m);
	close(null);
	close(saved_in);
}

int main(void)
{
	TEST_RUN(test_filter);
	TEST_RUN(test_pipe_flow_control);
	TEST_RUN(test_regular_file_input);
	TEST_RUN(test_dev_null_and_no_input);
	TEST_RUN(test_escape_stops);
	TEST_RUN(test_devices_create);
	TEST_RUN(test_devices_without_testdev);
	return test_done();
}
