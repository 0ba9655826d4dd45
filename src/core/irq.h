/* Interrupt lines (GSIs): devices set a line's level without knowing which
 * engine (KVM's in-kernel irqchip or the soft engine's IOAPIC/PIC) sinks it. */
#ifndef POPEK_IRQ_H
#define POPEK_IRQ_H

#include "popek/types.h"

typedef void irq_set_fn(void *opaque, unsigned gsi, bool level);

struct irq_router {
	irq_set_fn *set;   /* installed by the engine at VM creation; NULL drops */
	void *opaque;
};

/* Level-triggered devices hold the line high while they need service. */
void irq_set_level(struct irq_router *r, unsigned gsi, bool level);
/* Edge-triggered devices (ISA: UART, RTC, PIT) pulse: high then low. */
void irq_pulse(struct irq_router *r, unsigned gsi);

#endif
