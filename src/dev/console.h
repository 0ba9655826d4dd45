/* The host side of the serial console: host input (stdin) into a UART. */
#ifndef POPEK_CONSOLE_H
#define POPEK_CONSOLE_H

#include <pthread.h>

#include "core/event_loop.h"
#include "dev/dev.h"
#include "dev/uart.h"

/*
 * Input flows on the event loop thread: when in_fd is readable, the console
 * takes the device lock, reads at most uart_rx_room() bytes and pushes them
 * into the UART. When the UART has no room, in_fd is taken off the loop, so
 * input waits in the host pipe or terminal; the UART's rx_ready callback (on
 * a vCPU thread) then writes kick_fd, and the loop thread puts in_fd back.
 * Every event_loop_add/remove happens on the loop thread.
 *
 * in_fd may be a terminal, a pipe, a socket, a regular file or /dev/null.
 * Files that epoll cannot watch (regular files, /dev/null) are read whenever
 * the UART has room. End of file or a read error just stops input.
 *
 * On a terminal, Ctrl-A starts an escape as in QEMU's -nographic: Ctrl-A x
 * stops the machine (MACHINE_STOP_USER, status 0), Ctrl-A Ctrl-A (or a)
 * sends one Ctrl-A, Ctrl-A h prints the escapes on stderr; any other key
 * after Ctrl-A is dropped. Pipes and files are passed through unchanged.
 */

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

struct console {
	struct uart *uart;
	struct event_loop *loop;
	pthread_mutex_t *lock; /* the machine's device lock */
	struct dev_stop stop;
	int in_fd;
	int kick_fd;      /* eventfd written by rx_ready; -1 before init */
	bool escapes;     /* in_fd is a terminal: Ctrl-A escapes are active */
	bool pollable;    /* epoll can watch in_fd */
	bool watching;    /* in_fd is on the loop */
	bool eof;         /* input ended: never read again */
	bool esc_pending; /* the last byte was Ctrl-A */
};

/* Wires in_fd to u. stop is used for Ctrl-A x (may have a NULL fn). Call on
 * the loop thread (or before the loop runs). Returns 0 or -errno. */
int console_init(struct console *c, struct uart *u, struct event_loop *loop, pthread_mutex_t *lock,
		 int in_fd, const struct dev_stop *stop);
/* Takes in_fd and kick_fd off the loop and closes kick_fd (not in_fd). Safe
 * after a failed init and on a zeroed console that never ran init. */
void console_destroy(struct console *c);

/* Escape processing, exposed for tests: filters n bytes of in (terminal
 * input) into out (room for n bytes). Returns the bytes to deliver and sets
 * *stop when Ctrl-A x was seen (bytes after it are dropped). */
size_t console_filter(struct console *c, const u8 *in, size_t n, u8 *out, bool *stop);

#endif
