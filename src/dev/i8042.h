/* i8042 keyboard controller at ports 0x60/0x64, with nothing plugged in:
 * enough for Linux's probe to pass quietly, and its reset line. */
#ifndef POPEK_I8042_H
#define POPEK_I8042_H

#include "core/bus.h"
#include "core/irq.h"
#include "dev/dev.h"

/*
 * What the guest sees:
 * - Status (read 0x64): OBF (bit 0), system flag (bit 2, POST passed),
 *   command/data (bit 3), keyboard not locked (bit 4), timeout (bit 6). IBF
 *   is never set: every write is handled at once.
 * - Controller commands (write 0x64): 0x20-0x3F read RAM (0x20 = command
 *   byte), 0x60-0x7F write RAM (the next data byte), 0xA7/0xA8 disable/enable
 *   aux, 0xA9 aux interface test -> 0x02 ("clock line stuck high": no aux
 *   port), 0xAA self-test -> 0x55, 0xAB keyboard interface test -> 0x00,
 *   0xAD/0xAE disable/enable keyboard, 0xC0 input port -> 0x80, 0xD0/0xD1
 *   read/write output port (bit 0 clear resets the machine; A20, bit 1, is
 *   stored but the A20 gate is always open), 0xD2 next byte as keyboard
 *   data, 0xD3 next byte echoed *without* the aux flag (no aux port: Linux's
 *   loop test fails at once instead of waiting), 0xD4 byte to the aux device
 *   (dropped, timeout bit set), 0xE0 test inputs -> 0x00, 0xF0-0xFF pulse
 *   output lines (bit 0 clear: reset, so 0xFE resets).
 * - Data written to 0x60 with no command pending goes to the keyboard,
 *   which is absent: the controller answers 0xFE with the timeout bit set,
 *   so Linux's atkbd gives up at once.
 * - The keyboard interrupt (GSI 1) is a level: high while the output buffer
 *   is full and command byte bit 0 is set, as on real boards.
 * A reset (0xFE, 0xD1 with bit 0 clear) asks the machine to stop with
 * MACHINE_STOP_RESET, status 0.
 */

#define I8042_GSI_KBD 1

struct i8042_regs {
	u8 ram[32];     /* ram[0] is the command byte */
	u8 out;         /* output buffer */
	u8 status;      /* status bits kept between accesses (OBF, A2, timeout) */
	u8 outport;     /* output port (0xD0/0xD1) */
	u8 pending_cmd; /* command waiting for its data byte, 0 if none */
	bool irq_level;
};

struct i8042 {
	struct i8042_regs r;
	struct irq_router *irq;
	struct dev_stop stop;
};

/* Resets c and claims ports 0x60 and 0x64 (not 0x61: the PIT's port B). */
int i8042_init(struct i8042 *c, struct bus *pio, struct irq_router *irq,
	       const struct dev_stop *stop);

#endif
