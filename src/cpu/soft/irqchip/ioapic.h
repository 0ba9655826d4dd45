/* The soft engine's IOAPIC, an 82093AA with 24 pins: redirection table and delivery to LAPICs. */
#ifndef POPEK_SOFT_IOAPIC_H
#define POPEK_SOFT_IOAPIC_H

#include "cpu/soft/irqchip/lapic.h"
#include "popek/layout.h"

#define SOFT_IOAPIC_PINS      LAYOUT_IOAPIC_PINS
#define SOFT_IOAPIC_VERSION   0x00170011u /* max redirection entry 23, version 0x11 */
#define SOFT_IOAPIC_MMIO_SIZE 0x1000ULL

/* Redirection entry bits (82093AA datasheet 3.2.4). */
#define SOFT_IOAPIC_RTE_DEST_LOGICAL (1ull << 11)
#define SOFT_IOAPIC_RTE_DELIVS       (1ull << 12)
#define SOFT_IOAPIC_RTE_POLARITY     (1ull << 13)
#define SOFT_IOAPIC_RTE_REMOTE_IRR   (1ull << 14)
#define SOFT_IOAPIC_RTE_LEVEL        (1ull << 15)
#define SOFT_IOAPIC_RTE_MASKED       (1ull << 16)

/*
 * Not thread-safe by itself: the caller (irq_route.c) serializes every call
 * with one lock. Deliveries go to the LAPICs through bus, which takes each
 * target's lock in turn (lock order: IOAPIC/PIC lock, then a LAPIC's), and
 * queue their kicks on the bus: call soft_apic_bus_flush() after unlocking.
 *
 * Line levels are logical ("asserted"), as devices report them: the
 * polarity bit is stored for the guest but does not invert the input.
 */
struct soft_ioapic {
	struct soft_apic_bus *bus;
	u32 id; /* ID register bits 27:24 */
	u32 ioregsel;
	u64 rte[SOFT_IOAPIC_PINS];
	u32 lines; /* asserted input pins */
	u64 stat_delivered;
};

/* Reset state (all pins masked) with IOAPIC id (the MADT's) and bus. */
void soft_ioapic_init(struct soft_ioapic *io, struct soft_apic_bus *bus, unsigned id);
void soft_ioapic_reset(struct soft_ioapic *io);
/* IOREGSEL (offset 0) and IOWIN (offset 0x10); other offsets read 0 and
 * ignore writes. size 1, 2 or 4 (8 reads/writes the low 4 bytes). */
u32 soft_ioapic_mmio_read(struct soft_ioapic *io, u64 offset, unsigned size);
void soft_ioapic_mmio_write(struct soft_ioapic *io, u64 offset, unsigned size, u32 value);
/* The input of pin changed: edge pins deliver on assertion, level pins while
 * asserted and Remote IRR is clear. Pins >= SOFT_IOAPIC_PINS are ignored. */
void soft_ioapic_set_pin(struct soft_ioapic *io, unsigned pin, bool level);
/* EOI broadcast from a LAPIC: clears Remote IRR of level pins with vector,
 * and delivers again those whose line is still asserted. */
void soft_ioapic_eoi(struct soft_ioapic *io, u8 vector);

#endif
