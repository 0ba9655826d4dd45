/* Forwarding of device interrupt lines to the engine's interrupt controller. */
#include "core/irq.h"

void irq_set_level(struct irq_router *r, unsigned gsi, bool level)
{
	if (r->set)
		r->set(r->opaque, gsi, level);
}

void irq_pulse(struct irq_router *r, unsigned gsi)
{
	irq_set_level(r, gsi, true);
	irq_set_level(r, gsi, false);
}
