/* 16550A UART (COM1): the guest's serial console. */
#ifndef POPEK_UART_H
#define POPEK_UART_H

#include <stdatomic.h>

#include "core/bus.h"
#include "core/irq.h"
#include "core/snap_codec.h"

/*
 * Register map (8 ports from the base; National PC16550D datasheet, "Register
 * Description"): 0 RBR/THR (DLL when LCR.DLAB), 1 IER (DLM when DLAB), 2 IIR
 * read / FCR write, 3 LCR, 4 MCR, 5 LSR, 6 MSR, 7 SCR.
 *
 * Model:
 * - Transmission is instantaneous: THR and the transmitter are always empty
 *   (LSR.THRE and TEMT stay 1), so every THR write goes straight to out_fd
 *   and re-arms the THR-empty interrupt.
 * - The interrupt output is a level (pending = IIR bit 0 clear) passed to
 *   irq_set_level() on every change. It is not gated by MCR.OUT2 (as QEMU).
 * - Receive: a 16-byte FIFO (1 byte in 16450 mode). Data below the FIFO
 *   trigger level is reported at once as a character timeout (IIR 0x0C)
 *   instead of after four character times.
 * - Loopback (MCR.LOOP): THR bytes go to the receive FIFO (a full FIFO sets
 *   LSR.OE and drops the byte; in 16450 mode the byte overwrites RBR) and the
 *   modem outputs drive the inputs (DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD).
 *   Outside loopback the host side reads as a connected modem (CTS, DSR, DCD).
 * - Host input is flow-controlled: uart_rx_room() is 0 unless the guest has
 *   the received-data interrupt enabled (IER bit 0) and is not in loopback,
 *   so input typed or piped before a driver is listening stays in the host
 *   pipe instead of being dropped by the driver's FIFO reset (Linux enables
 *   IER.RDI only while the tty is open). A guest that polls instead of taking
 *   interrupts sets IER bit 0 and masks the line at its interrupt controller.
 */

#define UART_NR_PORTS  8
#define UART_FIFO_SIZE 16

/* Guest-visible state: plain data, no pointers (can be saved as is). */
struct uart_regs {
	u8 ier, lcr, mcr, fcr, scr, dll, dlm;
	u8 lsr_err;  /* LSR bits OE, PE, FE, BI: cleared by reading LSR */
	u8 msr;      /* modem status: inputs in bits 4-7, deltas in bits 0-3 */
	u8 rbr_last; /* what RBR reads when the FIFO is empty */
	u8 rx_fifo[UART_FIFO_SIZE];
	u8 rx_head, rx_count;
	bool thre_pending; /* THR-empty interrupt not acknowledged yet */
	bool irq_level;    /* current level of the interrupt output */
};

/* Called (under the device lock) when uart_rx_room() went from 0 to > 0. */
typedef void uart_rx_ready_fn(void *opaque);

struct uart {
	struct uart_regs r;
	/* Wiring (not guest state). */
	struct irq_router *irq;
	unsigned gsi;
	int out_fd;      /* transmitted bytes go here; -1 drops them */
	bool out_failed; /* out_fd broke: logged once, output dropped */
	uart_rx_ready_fn *rx_ready;
	void *rx_opaque;
	/* For the metrics (read from other threads): bytes the guest took
	 * from the receive FIFO, bytes it sent to out_fd. */
	_Atomic u64 read_count, write_count;
};

/* Resets u and claims [base, base + 8) on pio. out_fd may be -1. Returns 0
 * or the -errno of bus_register(). */
int uart_init(struct uart *u, struct bus *pio, u16 base, struct irq_router *irq, unsigned gsi,
	      int out_fd);
void uart_set_rx_ready(struct uart *u, uart_rx_ready_fn *fn, void *opaque);

/* Power-on state (registers, FIFO, interrupt line low). */
void uart_reset(struct uart *u);

/* How many bytes uart_receive() accepts now (see flow control above). Call
 * with the device lock held, like uart_receive(). */
unsigned uart_rx_room(const struct uart *u);
/* Pushes up to uart_rx_room() bytes from the host into the receive FIFO and
 * updates the interrupt line. Returns how many were taken. */
size_t uart_receive(struct uart *u, const u8 *buf, size_t len);

/* The guest-visible state (uart_regs; field order at uart_save() in uart.c)
 * for a snapshot. Returns 0 or o->err. */
int uart_save(const struct uart *u, struct snap_out *o);
/* Loads what uart_save() wrote into an initialized u, only if all of it is
 * valid and in[] holds nothing more; then drives the interrupt line to the
 * loaded state and, when the receiver has room again, calls rx_ready.
 * Returns 0, or -EINVAL with u unchanged and the reason in in->why. */
int uart_load(struct uart *u, struct snap_in *in);

#endif
