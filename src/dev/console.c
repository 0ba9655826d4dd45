/* Serial console input: host fd -> UART receive FIFO, with flow control and
 * QEMU-style Ctrl-A escapes on terminals. */
#include "dev/console.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "popek/log.h"

static const char console_help[] = "\r\n"
				   "C-a x    exit popek\r\n"
				   "C-a C-a  send C-a to the guest\r\n"
				   "C-a h    print this help\r\n";

size_t console_filter(struct console *c, const u8 *in, size_t n, u8 *out, bool *stop)
{
	size_t m = 0;

	*stop = false;
	for (size_t i = 0; i < n; i++) {
		u8 b = in[i];

		if (!c->esc_pending) {
			if (b == CONSOLE_ESCAPE)
				c->esc_pending = true;
			else
				out[m++] = b;
			continue;
		}
		c->esc_pending = false;
		switch (b) {
		case 'x':
		case 'X':
			*stop = true;
			return m;
		case CONSOLE_ESCAPE:
		case 'a':
			out[m++] = CONSOLE_ESCAPE;
			break;
		case 'h':
		case '?':
			if (write(STDERR_FILENO, console_help, sizeof(console_help) - 1) < 0) {
				/* nowhere to report it */
			}
			break;
		default:
			break; /* unknown escape: dropped */
		}
	}
	return m;
}

static void console_on_input(void *opaque, int fd, u32 events);

static void console_unwatch(struct console *c)
{
	if (!c->watching)
		return;
	event_loop_remove(c->loop, c->in_fd);
	c->watching = false;
}

static void console_watch(struct console *c)
{
	int err;

	if (c->watching || c->eof || !c->pollable)
		return;
	err = event_loop_add(c->loop, c->in_fd, console_on_input, c);
	if (err < 0) {
		log_warn("console: cannot watch input fd %d (%s): input stops", c->in_fd,
			 strerror(-err));
		c->eof = true;
		return;
	}
	c->watching = true;
}

static void console_end(struct console *c, const char *why)
{
	log_debug("console: input ends (%s)", why);
	c->eof = true;
	console_unwatch(c);
}

/* Moves what the UART can take now from in_fd into it. Lock held, loop
 * thread. A watched fd gets one read per call (epoll calls again while data
 * is left); an unwatchable one is read until the UART is full. */
static void console_read(struct console *c)
{
	u8 in[UART_FIFO_SIZE], out[UART_FIFO_SIZE];
	unsigned room;

	while (!c->eof && (room = uart_rx_room(c->uart)) > 0) {
		bool stop = false;
		ssize_t n;
		size_t m;

		if (c->pollable) {
			/* Never block the loop (and the device lock) in read(). */
			struct pollfd p = {.fd = c->in_fd, .events = POLLIN};
			if (poll(&p, 1, 0) <= 0)
				return;
		}
		n = read(c->in_fd, in, MIN(room, sizeof(in)));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			console_end(c, n ? strerror(errno) : "end of file");
			return;
		}
		if (c->escapes) {
			m = console_filter(c, in, (size_t)n, out, &stop);
		} else {
			memcpy(out, in, (size_t)n);
			m = (size_t)n;
		}
		uart_receive(c->uart, out, m);
		if (stop) {
			console_end(c, "C-a x");
			dev_request_stop(&c->stop, MACHINE_STOP_USER, 0);
			return;
		}
		if (c->pollable)
			return;
	}
}

static void console_on_input(void *opaque, int fd, u32 events)
{
	struct console *c = opaque;

	(void)fd;
	(void)events;
	pthread_mutex_lock(c->lock);
	console_read(c);
	if (!uart_rx_room(c->uart))
		console_unwatch(c); /* the UART's rx_ready brings it back */
	pthread_mutex_unlock(c->lock);
}

static void console_on_kick(void *opaque, int fd, u32 events)
{
	struct console *c = opaque;
	u64 v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* spurious wake-up: nothing to drain */
	}
	pthread_mutex_lock(c->lock);
	if (uart_rx_room(c->uart)) {
		if (c->pollable)
			console_watch(c);
		else
			console_read(c);
	}
	pthread_mutex_unlock(c->lock);
}

/* The UART has room again (device lock held, any thread). */
static void console_rx_ready(void *opaque)
{
	struct console *c = opaque;
	u64 one = 1;

	if (c->eof || c->watching)
		return;
	if (write(c->kick_fd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the loop will run */
	}
}

int console_init(struct console *c, struct uart *u, struct event_loop *loop, pthread_mutex_t *lock,
		 int in_fd, const struct dev_stop *stop)
{
	int err;

	memset(c, 0, sizeof(*c));
	c->uart = u;
	c->loop = loop;
	c->lock = lock;
	c->stop = *stop;
	c->in_fd = in_fd;
	c->kick_fd = -1;
	c->eof = in_fd < 0;
	if (c->eof)
		return 0;
	c->escapes = isatty(in_fd);

	c->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->kick_fd < 0) {
		err = -errno;
		log_error("console: cannot create an eventfd: %s", strerror(-err));
		return err;
	}
	err = event_loop_add(loop, c->kick_fd, console_on_kick, c);
	if (err < 0) {
		log_error("console: cannot add to the event loop: %s", strerror(-err));
		goto fail;
	}
	/* epoll refuses regular files and /dev/null with EPERM. */
	err = event_loop_add(loop, in_fd, console_on_input, c);
	if (err == -EPERM) {
		c->pollable = false;
	} else if (err < 0) {
		log_error("console: cannot watch input fd %d: %s", in_fd, strerror(-err));
		event_loop_remove(loop, c->kick_fd);
		goto fail;
	} else {
		c->pollable = true;
		c->watching = true;
	}
	pthread_mutex_lock(lock);
	uart_set_rx_ready(u, console_rx_ready, c);
	if (!uart_rx_room(u))
		console_unwatch(c);
	else if (!c->pollable)
		console_read(c);
	pthread_mutex_unlock(lock);
	return 0;
fail:
	close(c->kick_fd);
	c->kick_fd = -1;
	return err;
}

void console_destroy(struct console *c)
{
	if (!c->loop)
		return;
	if (c->uart)
		uart_set_rx_ready(c->uart, NULL, NULL);
	console_unwatch(c);
	if (c->kick_fd >= 0) {
		event_loop_remove(c->loop, c->kick_fd);
		close(c->kick_fd);
		c->kick_fd = -1;
	}
	c->loop = NULL;
}
