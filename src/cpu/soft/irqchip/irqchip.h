/* The interrupt controllers' contract with the rest of the soft engine: the
 * LAPIC, the IOAPIC, the 8259A pair, the PIT and the GSI routing in front of
 * them. Files outside irqchip/ include this header only. */
#ifndef POPEK_SOFT_IRQCHIP_H
#define POPEK_SOFT_IRQCHIP_H

#include "cpu/soft/irqchip/ioapic.h"
#include "cpu/soft/irqchip/irq_route.h"
#include "cpu/soft/irqchip/lapic.h"
#include "cpu/soft/irqchip/pic.h"
#include "cpu/soft/irqchip/pit.h"

#endif
