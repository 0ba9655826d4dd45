/* Unit tests of virtio-console: guest output to the host fd, host input
 * into guest buffers with flow control, Ctrl-A escapes on a terminal, and a
 * broken chain putting the device into DEVICE_NEEDS_RESET. */
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include "virtio/console.h"
#include "virtio_fake_driver.h"

#define RXQ 0
#define TXQ 1
#define QSZ 64

struct fix {
	struct fd_machine fm;
	struct fd_driver d;
	struct virtio_console *c;
	int in[2], out[2]; /* pipes: in[1] -> device, device -> out[0] */
	gpa_t bufs;
};

static void fix_start(struct fix *f, int in_fd)
{
	CHECK_EQ(pipe(f->out), 0);
	fd_machine_init(&f->fm);
	CHECK_EQ(virtio_console_create(f->fm.m, in_fd, f->out[1], &f->c), 0);
	fd_machine_start(&f->fm);
	fd_driver_init(&f->d, &f->fm, 0, 0, 2, QSZ);
	f->bufs = fd_alloc(&f->d, 64 * 256);
}

static void fix_stop(struct fix *f)
{
	fd_machine_stop(&f->fm);
	virtio_console_destroy(f->c);
	fd_machine_fini(&f->fm);
	close(f->out[0]);
	close(f->out[1]);
}

static void tx(struct fix *f, const char *a, const char *b)
{
	gpa_t g = fd_alloc(&f->d, strlen(a) + strlen(b));
	struct fd_buf bufs[2] = {{g, (u32)strlen(a), false},
				 {g + strlen(a), (u32)strlen(b), false}};
	u32 id, len;

	memcpy(fd_ptr(&f->d, g, strlen(a) + strlen(b)), a, strlen(a));
	memcpy(fd_ptr(&f->d, g + strlen(a), strlen(b)), b, strlen(b));
	fd_add(&f->d, TXQ, bufs, 2);
	fd_kick(&f->d, TXQ);
	CHECK(fd_used(&f->d, TXQ, &id, &len, 1000));
	CHECK_EQ(len, 0);
}

/* Offers one receive buffer of len bytes (slot i of f->bufs, 256 each). */
static void rx_offer(struct fix *f, unsigned i, u32 len)
{
	struct fd_buf b = {f->bufs + i * 256, len, true};

	fd_add(&f->d, RXQ, &b, 1);
	fd_kick(&f->d, RXQ);
}

/* The next used receive buffer's bytes into out (NUL-terminated). */
static u32 rx_take(struct fix *f, char *out)
{
	u32 id, len = 0;

	out[0] = 0;
	if (!fd_used(&f->d, RXQ, &id, &len, 1000))
		return 0;
	CHECK(len <= 256);
	memcpy(out, fd_ptr(&f->d, f->bufs + id * 256, len), len);
	out[len] = 0;
	return len;
}

static void test_output(void)
{
	struct fix f;
	char buf[64] = "";

	CHECK_EQ(pipe(f.in), 0);
	fix_start(&f, f.in[0]);
	CHECK_EQ(fd_rd(&f.d, 8), 3);
	CHECK_EQ(fd_cfg_read(&f.d, 4, 4), 1); /* max_nr_ports */
	tx(&f, "hello, ", "host\n");
	CHECK_EQ(read(f.out[0], buf, sizeof(buf)), 12);
	CHECK(!memcmp(buf, "hello, host\n", 12));
	CHECK(f.fm.irqs > 0);
	fix_stop(&f);
	close(f.in[0]);
	close(f.in[1]);
}

static void test_input(void)
{
	struct fix f;
	char buf[300];
	static char big[10000], got[10000];
	u32 n = 0;

	CHECK_EQ(pipe(f.in), 0);
	fix_start(&f, f.in[0]);
	/* Input before any buffer waits; then fills buffers in order. */
	CHECK(write(f.in[1], "0123456789", 10) == 10);
	fd_sleep_ms(20);
	rx_offer(&f, 0, 4);
	CHECK_EQ(rx_take(&f, buf), 4);
	CHECK(!strcmp(buf, "0123"));
	rx_offer(&f, 1, 200);
	CHECK_EQ(rx_take(&f, buf), 6);
	CHECK(!strcmp(buf, "456789"));
	/* More than the device buffers: nothing lost, order kept. */
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	CHECK(write(f.in[1], big, sizeof(big)) == (ssize_t)sizeof(big));
	for (unsigned i = 2; n < sizeof(big) && i < 200; i++) {
		u32 len;
		rx_offer(&f, i % 64, 256);
		len = rx_take(&f, buf);
		CHECK(len > 0);
		memcpy(got + n, buf, MIN(len, sizeof(big) - n));
		n += len;
	}
	CHECK_EQ(n, sizeof(big));
	CHECK(!memcmp(got, big, sizeof(big)));
	fix_stop(&f);
	close(f.in[0]);
	close(f.in[1]);
}

static void test_escapes(void)
{
	struct fix f;
	struct termios t;
	char buf[64];
	int master = posix_openpt(O_RDWR | O_NOCTTY), slave;

	CHECK(master >= 0);
	CHECK_EQ(grantpt(master), 0);
	CHECK_EQ(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	CHECK(slave >= 0);
	tcgetattr(slave, &t);
	cfmakeraw(&t);
	tcsetattr(slave, TCSANOW, &t);
	fix_start(&f, slave);
	/* Ctrl-A Ctrl-A and Ctrl-A a send one Ctrl-A; Ctrl-A z is dropped. */
	CHECK(write(master,
		    "a\x01\x01"
		    "b\x01z"
		    "c\x01"
		    "ad",
		    10) == 10);
	rx_offer(&f, 0, 64);
	{
		char all[64] = "";
		for (int i = 0; i < 4 && strlen(all) < 6; i++) {
			if (!rx_take(&f, buf))
				break;
			strcat(all, buf);
			rx_offer(&f, (unsigned)i + 1, 64);
		}
		CHECK(!strcmp(all, "a\x01"
				   "bc\x01"
				   "d"));
	}
	CHECK(!machine_stopping(f.fm.m));
	CHECK(write(master, "\x01x", 2) == 2);
	for (int i = 0; i < 1000 && !machine_stopping(f.fm.m); i++)
		fd_sleep_ms(1);
	CHECK_EQ(f.fm.m->stop_reason, MACHINE_STOP_USER);
	fix_stop(&f);
	close(slave);
	close(master);
}

static void test_broken_chain(void)
{
	struct fix f;
	struct fd_buf b = {FD_RAM - 8, 64, false}; /* runs past the end of RAM */
	char buf[64];

	fix_start(&f, -1);
	fd_add(&f.d, TXQ, &b, 1);
	fd_kick(&f.d, TXQ);
	for (int i = 0; i < 1000 && !(fd_status(&f.d) & VIRTIO_STATUS_NEEDS_RESET); i++)
		fd_sleep_ms(1);
	CHECK(fd_status(&f.d) & VIRTIO_STATUS_NEEDS_RESET);
	/* After a reset the device works again. */
	fd_driver_init(&f.d, &f.fm, 0, 0, 2, QSZ);
	tx(&f, "again", "");
	CHECK_EQ(read(f.out[0], buf, sizeof(buf)), 5);
	fix_stop(&f);
}

/* /dev/null as input (epoll cannot watch it): end of file, no busy loop. */
static void test_devnull(void)
{
	struct fix f;
	int fd = open("/dev/null", O_RDONLY);
	char buf[8];

	fix_start(&f, fd);
	rx_offer(&f, 0, 64);
	CHECK_EQ(rx_take(&f, buf), 0);
	fix_stop(&f);
	close(fd);
}

int main(void)
{
	TEST_RUN(test_output);
	TEST_RUN(test_input);
	TEST_RUN(test_escapes);
	TEST_RUN(test_broken_chain);
	TEST_RUN(test_devnull);
	return test_done();
}
