/* i8042 keyboard controller at ports 0x60/0x64 with a PS/2 keyboard on its
 * first port: enough for Linux's i8042 and atkbd drivers to bind, for the host
 * to type Ctrl+Alt+Del into the guest, and for the controller's reset line. */
#ifndef POPEK_I8042_H
#define POPEK_I8042_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/bus.h"
#include "core/event_loop.h"
#include "core/irq.h"
#include "dev/dev.h"
#include "popek/layout.h"

/*
 * What the guest sees (IBM PS/2 Technical Reference, "Keyboard/Auxiliary
 * Device Controller" and "Keyboards"):
 * - Status (read 0x64): OBF (bit 0), system flag (bit 2, POST passed),
 *   command/data (bit 3), keyboard not locked (bit 4), timeout (bit 6). IBF
 *   is never set: every write is handled at once. AUX data (bit 5) is never
 *   set: there is no aux (mouse) port.
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
 *   output lines (bit 0 clear: reset, so 0xFE resets). A controller's answer
 *   waits while the output buffer holds an unread byte, then goes first.
 * - Data written to 0x60 with no controller command pending goes to the
 *   keyboard (and, as on PS/2 controllers, enables the keyboard interface).
 *   The keyboard speaks scan code set 2 by default (0xF0 selects 1-3) and
 *   answers: 0xFF reset -> 0xFA 0xAA; 0xF2 identify -> 0xFA 0xAB 0x83; 0xED
 *   LEDs and 0xF3 typematic -> 0xFA, then 0xFA for their parameter; 0xF4
 *   enable, 0xF5 disable, 0xF6 defaults, 0xF7-0xFD -> 0xFA; 0xEE echo ->
 *   0xEE; 0xFE resend -> its last byte; anything else -> 0xFE. A command
 *   byte (>= 0xED) in place of an expected parameter starts a new command.
 *   Its answers and keys wait in a 32-byte queue (bytes past that are lost)
 *   and move to the output buffer one at a time while the keyboard
 *   interface is enabled (command byte bit 4 clear).
 * - Translation (command byte bit 6, on at power-up as a BIOS leaves it):
 *   keyboard bytes are translated from set 2 to set 1 on their way to the
 *   output buffer, and a 0xF0 (break) prefix is swallowed and sets bit 7 of
 *   the next byte, as the 8042 does; Linux's atkbd expects exactly that.
 * - The keyboard interrupt (GSI_I8042_KBD, an ISA edge line) follows "output
 *   buffer full and command byte bit 0 set", so each byte loaded after a read
 *   is a new rising edge.
 * A reset (0xFE, 0xD1 with bit 0 clear) asks the machine to stop with
 * MACHINE_STOP_RESET, status 0.
 */

#define I8042_KBD_QUEUE 32 /* a power of two */

/* The PS/2 keyboard behind the controller's first port. */
struct i8042_kbd {
	u8 queue[I8042_KBD_QUEUE]; /* bytes sent, not yet taken by the controller */
	u8 head, len;
	u8 pending; /* command waiting for a parameter (0xED, 0xF0, 0xF3, 0xFB-0xFD), 0 if none */
	u8 last;    /* last byte sent, for 0xFE (resend) */
	u8 set;     /* scan code set, 1-3 */
	u8 leds;
	bool scanning; /* keys are reported (0xF4; off after 0xF5) */
	bool driven;   /* the guest has sent the keyboard a byte: a driver is there */
};

struct i8042_regs {
	u8 ram[32];     /* ram[0] is the command byte */
	u8 out;         /* output buffer */
	u8 status;      /* status bits kept between accesses (OBF, A2, timeout) */
	u8 outport;     /* output port (0xD0/0xD1) */
	u8 pending_cmd; /* command waiting for its data byte, 0 if none */
	u8 reply;       /* a controller answer waiting for the output buffer */
	bool has_reply;
	bool xlate_break; /* translating: a 0xF0 was swallowed */
	bool irq_level;
	struct i8042_kbd kbd;
};

struct i8042 {
	struct i8042_regs r;
	struct irq_router *irq;
	struct dev_stop stop;
	/* Host requests (i8042_request_ctrl_alt_del), served on loop's thread. */
	struct event_loop *loop;
	pthread_mutex_t *lock; /* the device lock */
	int req_fd;            /* eventfd on loop, valid when attached */
	bool attached;
	_Atomic bool cad_requested;
};

/* Resets c and claims ports 0x60 and 0x64 (not 0x61: the PIT's port B). */
int i8042_init(struct i8042 *c, struct bus *pio, struct irq_router *irq,
	       const struct dev_stop *stop);

/*
 * Lets other threads type on the keyboard: creates an eventfd that loop
 * serves by taking lock and feeding the device, as the console does with
 * host input (an API thread may not drive interrupt lines itself: on KVM that
 * is an ioctl its seccomp filter forbids). Call on the loop's thread before
 * it runs. Logs one line and returns -errno on failure.
 */
int i8042_attach(struct i8042 *c, struct event_loop *loop, pthread_mutex_t *lock);
/* Takes the eventfd off the loop and closes it (before event_loop_destroy).
 * Harmless on a zeroed or never attached struct. */
void i8042_detach(struct i8042 *c);

/*
 * Whether Ctrl+Alt+Del can be typed now (call under the device lock): 0;
 * -ENODEV when no guest driver listens: the guest never sent the keyboard a
 * byte, or has disabled its scanning, the keyboard interface or its
 * interrupt; -ENOSPC when the queue has no room for the whole sequence.
 */
int i8042_ctrl_alt_del_ready(const struct i8042 *c);

/*
 * Types Ctrl+Alt+Del on the keyboard (presses of Left Ctrl, Left Alt and
 * Delete, then their releases, in the keyboard's scan code set) and raises
 * the keyboard interrupt. Call under the device lock on a thread that may
 * drive interrupt lines (a vCPU's or the loop's). Returns 0, or the error of
 * i8042_ctrl_alt_del_ready() with nothing sent.
 */
int i8042_send_ctrl_alt_del(struct i8042 *c);

/* From any thread, without the device lock: i8042_send_ctrl_alt_del() soon,
 * on the loop's thread (a failure then is logged). Returns 0, or -ENODEV
 * when c is not attached to a loop. */
int i8042_request_ctrl_alt_del(struct i8042 *c);

/* The guest-visible state of the controller and its keyboard (field order
 * at i8042_save() in i8042.c) for a snapshot. Returns 0 or o->err. */
int i8042_save(const struct i8042 *c, struct snap_out *o);
/* Loads what i8042_save() wrote into an initialized c, only if all of it is
 * valid and in[] holds nothing more; then drives the keyboard interrupt line
 * to the loaded state. Returns 0, or -EINVAL with c unchanged and the reason
 * in in->why. */
int i8042_load(struct i8042 *c, struct snap_in *in);

#endif
