/* Soft engine interrupt routing: GSIs to the IOAPIC and 8259A pair, the PIT, their bus ranges. */
#ifndef POPEK_SOFT_IRQ_ROUTE_H
#define POPEK_SOFT_IRQ_ROUTE_H

#include <pthread.h>

#include "core/bus.h"
#include "cpu/soft/irqchip/ioapic.h"
#include "cpu/soft/irqchip/lapic.h"
#include "cpu/soft/irqchip/pic.h"
#include "cpu/soft/irqchip/pit.h"

#define SOFT_IRQ_ROUTE_GSIS SOFT_IOAPIC_PINS

/* Guest time in ns since VM start (the same clock the vCPUs use). */
typedef u64 soft_clock_fn(void *opaque);

/*
 * IOAPIC, PIC and PIT behind one lock. Every entry point takes it, so
 * callers need no other lock (the machine's device lock may or may not be
 * held: lock order is device lock, then this lock, then one LAPIC's lock).
 *
 * Wiring (the MADT's view, src/acpi/madt.c): GSI 0 (the PIT) goes to PIC
 * IRQ0 and IOAPIC pin 2; GSI 1-15 to PIC IRQ n and IOAPIC pin n (GSI 2 only
 * to the IOAPIC: PIC IRQ2 is the cascade); GSI 16-23 to IOAPIC pin n only.
 * The PIC's INT output goes to LINT0 of APIC id 0.
 */
struct soft_irq_route {
	pthread_mutex_t lock;
	struct soft_apic_bus *apic;
	struct soft_ioapic ioapic;
	struct soft_pic pic;
	struct soft_pit pit;
	soft_clock_fn *clock;
	void *clock_opaque;
	u32 gsi_levels; /* current level of every GSI, for tests and dumps */
};

/* Sets up the three models, connects them to apic (installing apic->irq so
 * EOIs and ExtINT acknowledges reach this router) and remembers the clock
 * used for port accesses. ioapic_id is the MADT's IOAPIC id. */
int soft_irq_route_init(struct soft_irq_route *r, struct soft_apic_bus *apic, unsigned ioapic_id,
			soft_clock_fn *clock, void *clock_opaque);
void soft_irq_route_destroy(struct soft_irq_route *r);

/* Sets the level of gsi (>= 24 ignored). Matches irq_set_fn with opaque =
 * the route, so vm_create can install it: m->irq.set = soft_irq_route_irq_set. */
void soft_irq_route_set(struct soft_irq_route *r, unsigned gsi, bool level);
void soft_irq_route_irq_set(void *opaque, unsigned gsi, bool level);

/* Registers the IOAPIC page on mmio and the PIC (0x20, 0xA0), ELCR (0x4D0),
 * PIT (0x40-0x43) and port 0x61 on pio. Not the LAPIC: it is per CPU (see
 * soft_lapic_is_mmio). Returns 0 or -errno (logged). */
int soft_irq_route_register(struct soft_irq_route *r, struct bus *pio, struct bus *mmio);

/* PIT timer: the next channel 0 edge in guest ns (UINT64_MAX if none), and
 * firing it (raises GSI 0). Any vCPU thread may call these. */
u64 soft_irq_route_next_deadline(struct soft_irq_route *r);
void soft_irq_route_tick(struct soft_irq_route *r, u64 now_ns);

/* The bus handlers, exposed for tests: offset is from the range base. */
u64 soft_irq_route_pio_read(struct soft_irq_route *r, u16 port, unsigned size);
void soft_irq_route_pio_write(struct soft_irq_route *r, u16 port, unsigned size, u64 value);

#endif
