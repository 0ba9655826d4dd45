/* A device for guest test programs (tests/guest): scratch registers, an
 * access counter and an interrupt line under guest control. Attached only
 * when vm_config.testdev is set. */
#ifndef POPEK_TESTDEV_H
#define POPEK_TESTDEV_H

#include "core/bus.h"
#include "core/irq.h"
#include "core/snap_codec.h"

/*
 * Register map (all little endian).
 *
 * Ports PORT_TESTDEV (0xE0) .. 0xE7, any access size that fits, byte-wise:
 *   0xE0-0xE3  SCRATCH  32-bit read/write: reads return the last value
 *                       written (inl 0xE0 after outl 0xE0; outb 0xE1 sets
 *                       bits 8-15 only). Reset value 0.
 *   0xE4       MAGIC    read-only: 0x5A. Writes ignored.
 *   0xE5-0xE7  reserved: read 0, writes ignored.
 *
 * MMIO at LAYOUT_TESTDEV_MMIO (0xD1000000), LAYOUT_TESTDEV_SIZE (4 KiB):
 *   0x000-0x0FF  SCRATCH  256 bytes of memory: reads and writes of 1, 2, 4
 *                         or 8 bytes at any offset where the access fits
 *                         below 0x100 (unaligned allowed). Reset: zeros.
 *   0x100        COUNT    read-only u64: how many MMIO accesses (reads and
 *                         writes, of any offset, this read included) the
 *                         device has seen. Narrower reads inside 0x100-0x107
 *                         return the matching bytes.
 *   0x108        LEVEL    write: sets the GSI_TESTDEV line to (v & 1).
 *                         Read: the current level (0 or 1).
 *   0x110        PULSE    write (any value): pulses GSI_TESTDEV (high, then
 *                         low); does nothing while LEVEL holds the line
 *                         high. Read: 0.
 *   0x118        PULSE_GSI write v: pulses GSI v, any of the machine's
 *                         LAYOUT_IOAPIC_PINS lines whatever device owns it,
 *                         so that a guest program can check every route
 *                         (tests/guest/gsi_routes.c); other values, and
 *                         GSI_TESTDEV while LEVEL holds it, do nothing. A
 *                         pulse lowers a line another device holds high: for
 *                         programs that leave those devices quiet. Read: 0.
 *   elsewhere, and accesses straddling two registers: read 0, writes
 *   ignored (still counted).
 * LEVEL and PULSE act on writes of any size at exactly that offset.
 */

#define TESTDEV_NR_PORTS     8
#define TESTDEV_MAGIC        0x5A
#define TESTDEV_SCRATCH      0x000
#define TESTDEV_SCRATCH_SIZE 0x100
#define TESTDEV_COUNT        0x100
#define TESTDEV_LEVEL        0x108
#define TESTDEV_PULSE        0x110
#define TESTDEV_PULSE_GSI    0x118

struct testdev_regs {
	u32 port_scratch;
	u8 mem[TESTDEV_SCRATCH_SIZE];
	u64 count;
	bool level;
};

struct testdev {
	struct testdev_regs r;
	struct irq_router *irq;
	unsigned gsi;
};

/* Resets td and claims the ports on pio and the window on mmio. */
int testdev_init(struct testdev *td, struct bus *pio, struct bus *mmio, struct irq_router *irq,
		 unsigned gsi);

/* The guest-visible state (field order at testdev_save() in testdev.c) for a
 * snapshot. Returns 0 or o->err. */
int testdev_save(const struct testdev *td, struct snap_out *o);
/* Loads what testdev_save() wrote, only if it is valid and in[] holds nothing
 * more; then drives GSI_TESTDEV to the loaded LEVEL. Returns 0, or -EINVAL
 * with td unchanged and the reason in in->why. */
int testdev_load(struct testdev *td, struct snap_in *in);

#endif
