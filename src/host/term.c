/* Raw-mode terminal handling for the serial console (termios(3)). */
#include "host/term.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "popek/log.h"

int term_raw(struct term_state *t, int fd)
{
	struct termios raw;

	t->fd = fd;
	t->saved = 0;
	if (!isatty(fd))
		return 0;
	if (tcgetattr(fd, &t->orig) < 0) {
		int err = -errno;
		log_error("terminal on fd %d: cannot read its settings: %s", fd, strerror(-err));
		return err;
	}
	raw = t->orig;
	cfmakeraw(&raw);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	/* TCSANOW: keep what the user typed ahead (TCSAFLUSH would drop it). */
	if (tcsetattr(fd, TCSANOW, &raw) < 0) {
		int err = -errno;
		log_error("terminal on fd %d: cannot switch to raw mode: %s", fd, strerror(-err));
		return err;
	}
	t->saved = 1;
	return 0;
}

void term_restore(struct term_state *t)
{
	if (!t->saved)
		return;
	t->saved = 0;
	/* TCSANOW: never wait for output to drain (we may be in a signal path). */
	tcsetattr(t->fd, TCSANOW, &t->orig);
}
