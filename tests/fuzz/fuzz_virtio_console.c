/* libFuzzer harness for virtio-console (src/virtio/console.c) behind the
 * real virtio-mmio transport: a hostile driver's program (tests/fuzz/
 * harness.c) interleaved with host input on each kind of input fd the device
 * accepts (none, pipe, regular file, terminal with Ctrl-A escapes) and
 * output to /dev/null or to a pipe nobody reads any more. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "harness.h"
#include "virtio/console.h"

enum fuzz_in { IN_NONE, IN_PIPE, IN_FILE, IN_TTY };

struct fuzz_console {
	int in_fd;  /* the device's input, or -1 */
	int writer; /* the host's end of a pipe or terminal, or -1 */
	int out_fd;
};

static void fuzz_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A terminal in raw mode (no echo, no line editing), as popek's own
 * interactive console would see it; its master end is the host's keyboard. */
static int fuzz_open_tty(struct fuzz_console *fc)
{
	char name[64];
	struct termios t;

	fc->writer = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fc->writer < 0 || grantpt(fc->writer) || unlockpt(fc->writer) ||
	    ptsname_r(fc->writer, name, sizeof(name)))
		return -1;
	fc->in_fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fc->in_fd < 0 || tcgetattr(fc->in_fd, &t))
		return -1;
	cfmakeraw(&t);
	return tcsetattr(fc->in_fd, TCSANOW, &t);
}

/* Input header: mode (bits 0-1 enum fuzz_in, bit 2 output to a broken
 * pipe); for IN_FILE a le16 length and the file's contents follow. */
static void fuzz_open(struct fuzz_console *fc, struct fuzz_cursor *cur)
{
	u8 mode = fuzz_take8(cur);
	int p[2];

	fc->in_fd = fc->writer = fc->out_fd = -1;
	switch (mode & 3) {
	case IN_PIPE:
		if (pipe2(p, O_CLOEXEC) || fcntl(p[1], F_SETFL, O_NONBLOCK))
			abort();
		fc->in_fd = p[0];
		fc->writer = p[1];
		break;
	case IN_FILE: {
		size_t len;
		const u8 *src = fuzz_take_bytes(cur, fuzz_take16(cur) % 8192, &len);

		fc->in_fd = memfd_create("popek-fuzz-console", MFD_CLOEXEC);
		if (fc->in_fd < 0 || (len && write(fc->in_fd, src, len) != (ssize_t)len) ||
		    lseek(fc->in_fd, 0, SEEK_SET))
			abort();
		break;
	}
	case IN_TTY:
		if (fuzz_open_tty(fc))
			abort();
		break;
	default:
		break;
	}
	if (mode & 4) {
		if (pipe2(p, O_CLOEXEC))
			abort();
		close(p[0]); /* writes fail with EPIPE: the device stops its output */
		fc->out_fd = p[1];
	} else {
		fc->out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fc->out_fd < 0)
			abort();
	}
}

/* Device steps: 10-11 the host types up to 256 bytes (Ctrl-A escapes
 * included on a terminal), 12 the host closes its end, 13-15 the loop. */
static void fuzz_console_step(struct fuzz_vm *f, struct fuzz_cursor *cur, u8 op)
{
	struct fuzz_console *fc = f->opaque;
	size_t len;
	const u8 *src;

	switch (op & 15) {
	case 10:
	case 11:
		src = fuzz_take_bytes(cur, 1 + fuzz_take8(cur), &len);
		if (fc->writer >= 0 && write(fc->writer, src, len) < 0) {
			/* full: the host's bytes wait, as a real writer's would */
		}
		break;
	case 12:
		fuzz_close(&fc->writer);
		break;
	default:
		break;
	}
	fuzz_vm_run_loop(f);
}

/* The device writes its receive buffers: used elements are not checked. */
static const struct fuzz_vm_dev fuzz_console_dev = {
    .step = fuzz_console_step,
};

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_cursor cur = {data, size};
	struct fuzz_console fc;
	struct virtio_console *c;
	struct fuzz_vm f;

	signal(SIGPIPE, SIG_IGN); /* as popek's main() does for its fds */
	fuzz_open(&fc, &cur);
	fuzz_vm_init(&f);
	if (virtio_console_create(f.m, fc.in_fd, fc.out_fd, &c))
		abort();
	fuzz_vm_attach(&f, &fuzz_console_dev, &fc);
	fuzz_vm_play(&f, &cur);
	virtio_console_destroy(c);
	fuzz_vm_fini(&f);
	fuzz_close(&fc.in_fd);
	fuzz_close(&fc.writer);
	fuzz_close(&fc.out_fd);
	return 0;
}
