/* virtio-console device (virtio 1.2 section 5.3): a single port (no
 * VIRTIO_CONSOLE_F_MULTIPORT) between the guest's hvc0 and host fds, served
 * on the machine's event loop thread. */
#include "virtio/console.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/machine.h"
#include "popek/log.h"
#include "virtio/virtio.h"

#define VIRTIO_ID_CONSOLE 3
#define CONSOLE_RXQ       0 /* receiveq: host -> guest (5.3.2) */
#define CONSOLE_TXQ       1 /* transmitq: guest -> host */
#define CONSOLE_QUEUE_MAX 128
#define CONSOLE_ESC       0x01 /* Ctrl-A */

struct virtio_console {
	struct machine *m;
	struct virtio_mmio *vm;
	struct event_loop *loop;
	int in_fd, out_fd, kick_fd;

	/* Under the device lock. */
	bool active;         /* DRIVER_OK and not reset since */
	unsigned gen;        /* bumped by every reset */
	bool busy;           /* a transmitted chain is being written out unlocked */
	pthread_cond_t idle; /* signalled when busy drops */

	/* Loop thread only. */
	bool pollable, watching, eof, escapes, esc_pending, out_broken;
	u32 pend_off, pend_len; /* input not yet in a guest buffer */
	u8 pend[4096];
	struct virtq_elem elem;
};

/* ---- transport callbacks (vCPU thread, device lock held) ----------------- */

static void console_kick(struct virtio_console *c)
{
	u64 one = 1;

	if (write(c->kick_fd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the loop will run */
	}
}

static void console_config_read(void *opaque, u32 offset, void *buf, u32 len)
{
	/* struct virtio_console_config (5.3.4): cols, rows, max_nr_ports,
	 * emerg_wr. Without F_SIZE and F_MULTIPORT only max_nr_ports = 1 means
	 * anything. */
	static const u8 cfg[12] = {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};

	(void)opaque;
	memset(buf, 0, len);
	if (offset < sizeof(cfg))
		memcpy(buf, cfg + offset, MIN(len, sizeof(cfg) - offset));
}

static void console_config_write(void *opaque, u32 offset, const void *buf, u32 len)
{
	(void)opaque, (void)offset, (void)buf, (void)len; /* no F_EMERG_WRITE offered */
}

static int console_activate(void *opaque, u64 features)
{
	struct virtio_console *c = opaque;

	(void)features;
	c->active = true;
	console_kick(c); /* input may be waiting */
	return 0;
}

static void console_notify(void *opaque, unsigned q)
{
	(void)q;
	console_kick(opaque);
}

static void console_reset(void *opaque)
{
	struct virtio_console *c = opaque;

	c->active = false;
	c->gen++;
}

/* The queues are held: the chain being written out (at most one) is pushed
 * before busy drops, in the same locked stretch. */
static void console_quiesce(void *opaque)
{
	struct virtio_console *c = opaque;

	while (c->busy)
		pthread_cond_wait(&c->idle, virtio_mmio_lock_ptr(c->vm));
}

static const struct virtio_dev_ops console_ops = {
    .name = "console",
    .device_id = VIRTIO_ID_CONSOLE,
    .features = 0,
    .nr_queues = 2,
    .queue_max = CONSOLE_QUEUE_MAX,
    .config_size = 12,
    .config_read = console_config_read,
    .config_write = console_config_write,
    .activate = console_activate,
    .notify = console_notify,
    .reset = console_reset,
    .quiesce = console_quiesce,
};

/* ---- guest output (loop thread) ------------------------------------------ */

/* Writes iov to out_fd, waiting out a full pipe; drops output after an error. */
static void console_write(struct virtio_console *c, struct iovec *iov, unsigned n)
{
	while (n && !c->out_broken) {
		ssize_t w = writev(c->out_fd, iov, (int)MIN(n, 1024u));

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = c->out_fd, .events = POLLOUT};
			poll(&p, 1, 1000);
			continue;
		}
		if (w < 0) {
			log_warn("virtio-console: output stops: %s", strerror(errno));
			c->out_broken = true;
			return;
		}
		size_t done = (size_t)w;
		while (n && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (u8 *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
}

/* Takes everything the guest transmitted. The lock is dropped while writing:
 * the buffers stay guest RAM, and a reset meanwhile cancels the push. */
static void console_tx(struct virtio_console *c)
{
	const struct guest_mem *mem = virtio_mmio_mem(c->vm);

	for (;;) {
		const char *why = NULL;
		unsigned gen;
		int r = 0;

		virtio_mmio_lock(c->vm);
		gen = c->gen;
		if (c->active) {
			r = virtq_pop(virtio_mmio_queue(c->vm, CONSOLE_TXQ), mem, &c->elem, &why);
			if (r > 0 && c->elem.nr_in) { /* 5.3.6.1 */
				why = "transmit buffer is device-writable";
				r = -EINVAL;
			}
			if (r < 0)
				virtio_mmio_needs_reset(c->vm, why);
		}
		c->busy = r > 0;
		virtio_mmio_unlock(c->vm);
		if (r <= 0)
			return;
		console_write(c, c->elem.out, c->elem.nr_out);
		virtio_mmio_lock(c->vm);
		c->busy = false;
		pthread_cond_broadcast(&c->idle);
		if (c->active && c->gen == gen) {
			virtq_push(virtio_mmio_queue(c->vm, CONSOLE_TXQ), mem, c->elem.head, 0);
			virtio_mmio_signal_used(c->vm, CONSOLE_TXQ);
		}
		virtio_mmio_unlock(c->vm);
	}
}

/* ---- host input (loop thread) -------------------------------------------- */

/* Moves pending input into the guest's receive buffers. */
static void console_rx(struct virtio_console *c)
{
	const struct guest_mem *mem = virtio_mmio_mem(c->vm);
	bool pushed = false;
	struct virtq *q;

	if (!c->pend_len)
		return;
	virtio_mmio_lock(c->vm);
	if (!c->active)
		goto out;
	q = virtio_mmio_queue(c->vm, CONSOLE_RXQ);
	while (c->pend_len) {
		const char *why = NULL;
		size_t n;
		int r = virtq_pop(q, mem, &c->elem, &why);

		if (r > 0 && c->elem.nr_out) { /* 5.3.6.1 */
			why = "receive buffer is device-readable";
			r = -EINVAL;
		}
		if (r < 0)
			virtio_mmio_needs_reset(c->vm, why);
		if (r <= 0)
			break;
		n = iov_from_buf(c->elem.in, c->elem.nr_in, 0, c->pend + c->pend_off, c->pend_len);
		virtq_push(q, mem, c->elem.head, (u32)n);
		pushed = true;
		c->pend_off += (u32)n;
		c->pend_len -= (u32)n;
	}
	if (pushed)
		virtio_mmio_signal_used(c->vm, CONSOLE_RXQ);
out:
	virtio_mmio_unlock(c->vm);
	if (!c->pend_len)
		c->pend_off = 0;
}

/* Ctrl-A escapes on a terminal (as the serial console has them). */
static u32 console_filter(struct virtio_console *c, u8 *buf, u32 n, bool *stop)
{
	u32 m = 0;

	for (u32 i = 0; i < n; i++) {
		u8 b = buf[i];

		if (!c->esc_pending) {
			if (b == CONSOLE_ESC)
				c->esc_pending = true;
			else
				buf[m++] = b;
			continue;
		}
		c->esc_pending = false;
		if (b == 'x' || b == 'X') {
			*stop = true;
			return m;
		}
		if (b == CONSOLE_ESC || b == 'a')
			buf[m++] = CONSOLE_ESC;
		/* anything else after Ctrl-A is dropped */
	}
	return m;
}

static void console_unwatch(struct virtio_console *c)
{
	if (c->watching)
		event_loop_remove(c->loop, c->in_fd);
	c->watching = false;
}

static void console_on_input(void *opaque, int fd, u32 events);

static void console_watch(struct virtio_console *c)
{
	if (c->watching || c->eof || !c->pollable)
		return;
	if (event_loop_add(c->loop, c->in_fd, console_on_input, c) < 0) {
		log_warn("virtio-console: cannot watch input fd %d: input stops", c->in_fd);
		c->eof = true;
		return;
	}
	c->watching = true;
}

/* Reads one chunk of input into the empty pending buffer. */
static void console_read(struct virtio_console *c)
{
	bool stop = false;
	ssize_t n;

	if (c->pollable) {
		/* Never block the loop: another reader may have taken the bytes. */
		struct pollfd p = {.fd = c->in_fd, .events = POLLIN};
		if (poll(&p, 1, 0) <= 0)
			return;
	}
	n = read(c->in_fd, c->pend, sizeof(c->pend));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		log_debug("virtio-console: input ends (%s)", n ? strerror(errno) : "end of file");
		c->eof = true;
		console_unwatch(c);
		return;
	}
	c->pend_off = 0;
	c->pend_len = c->escapes ? console_filter(c, c->pend, (u32)n, &stop) : (u32)n;
	if (stop) {
		c->eof = true;
		console_unwatch(c);
		machine_request_stop(c->m, MACHINE_STOP_USER, 0);
	}
}

/* After the guest's buffers or the pending input changed. */
static void console_pump(struct virtio_console *c)
{
	console_rx(c);
	if (c->pollable) {
		if (c->pend_len)
			console_unwatch(c); /* the driver's next notify brings us back */
		else
			console_watch(c);
		return;
	}
	/* Files epoll cannot watch: read while the guest takes the input. */
	while (!c->pend_len && !c->eof) {
		console_read(c);
		console_rx(c);
	}
}

static void console_on_input(void *opaque, int fd, u32 events)
{
	struct virtio_console *c = opaque;

	(void)fd, (void)events;
	if (!c->pend_len)
		console_read(c);
	console_pump(c);
}

static void console_on_kick(void *opaque, int fd, u32 events)
{
	struct virtio_console *c = opaque;
	u64 v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* spurious wake-up */
	}
	console_tx(c);
	console_pump(c);
}

int virtio_console_create(struct machine *m, int in_fd, int out_fd, struct virtio_console **out)
{
	struct virtio_console *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->m = m;
	c->loop = &m->loop;
	pthread_cond_init(&c->idle, NULL);
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->eof = in_fd < 0;
	c->escapes = in_fd >= 0 && isatty(in_fd);
	c->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->kick_fd < 0) {
		err = -errno;
		log_error("virtio-console: cannot create an eventfd: %s", strerror(-err));
		pthread_cond_destroy(&c->idle);
		free(c);
		return err;
	}
	err = virtio_mmio_create(m, &console_ops, c, &c->vm);
	if (err < 0) {
		log_error("--virtio-console: cannot add the device: %s", strerror(-err));
		goto fail;
	}
	err = event_loop_add(c->loop, c->kick_fd, console_on_kick, c);
	if (err < 0) {
		log_error("virtio-console: cannot add to the event loop: %s", strerror(-err));
		goto fail;
	}
	if (!c->eof) {
		/* epoll refuses regular files and /dev/null: read those on demand. */
		err = event_loop_add(c->loop, in_fd, console_on_input, c);
		c->pollable = err != -EPERM;
		c->watching = err == 0;
		if (err < 0 && err != -EPERM) {
			log_error("virtio-console: cannot watch input fd %d: %s", in_fd,
				  strerror(-err));
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	virtio_console_destroy(c);
	return err;
}

void virtio_console_destroy(struct virtio_console *c)
{
	if (!c)
		return;
	console_unwatch(c);
	if (c->kick_fd >= 0) {
		event_loop_remove(c->loop, c->kick_fd);
		close(c->kick_fd);
	}
	if (c->vm)
		virtio_mmio_destroy(c->vm);
	pthread_cond_destroy(&c->idle);
	free(c);
}
