/* QEMU isa-debug-exit compatible port: a guest ends popek with a status. */
#ifndef POPEK_DEBUG_EXIT_H
#define POPEK_DEBUG_EXIT_H

#include "core/bus.h"
#include "dev/dev.h"

/*
 * PORT_DEBUG_EXIT (0xF4). Writing v stops the machine with
 * MACHINE_STOP_DEBUG_EXIT and status (v << 1) | 1, as QEMU's
 * isa-debug-exit (iosize 1) makes QEMU exit. An 8-bit write gives 1..511.
 * 16- and 32-bit writes at 0xF4 use the whole value: status is
 * ((v << 1) | 1) kept to 31 bits so it stays positive; the OS keeps only its
 * low 8 bits as the process exit status, i.e. ((v & 0x7F) << 1) | 1 for any
 * width. The range claims 0xF4-0xF7 so that wider writes reach the device;
 * writes that do not start at 0xF4 are ignored. Reads return 0.
 */

#define DEBUG_EXIT_NR_PORTS 4

struct debug_exit {
	struct dev_stop stop;
};

int debug_exit_init(struct debug_exit *d, struct bus *pio, const struct dev_stop *stop);

#endif
