/* The host terminal: raw mode for the serial console and its restoration. */
#ifndef POPEK_TERM_H
#define POPEK_TERM_H

#include <signal.h>
#include <termios.h>

#include "popek/types.h"

/* Owned by the caller (main); zero it or call term_raw() before term_restore(). */
struct term_state {
	int fd;
	volatile sig_atomic_t saved; /* orig holds the settings to restore */
	struct termios orig;
};

/* When fd is a terminal, saves its settings and makes it raw like QEMU's
 * -nographic (cfmakeraw: no echo, no line editing, no signals from ^C/^Z,
 * no output post-processing, VMIN 1). When fd is not a terminal (pipe, file,
 * /dev/null) does nothing and returns 0. Returns -errno when a terminal's
 * settings cannot be read or changed. */
int term_raw(struct term_state *t, int fd);

/* Puts the saved settings back. Idempotent and async-signal-safe (only
 * tcsetattr), so main may call it at exit and from a fatal-signal path. */
void term_restore(struct term_state *t);

#endif
