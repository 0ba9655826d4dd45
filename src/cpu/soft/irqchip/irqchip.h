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

#include "core/irqchip_state.h"
#include "core/vcpu_state.h"

/*
 * Snapshots (issue 12, irqchip_state.c): the soft chips to and from the
 * engine-neutral forms. now_ns is the guest time of the save or the load;
 * times in the forms are relative to it, so a state saved at T and loaded at
 * T' goes on counting from where it was at T. Only while no vCPU runs.
 */

/* The IOAPIC, the 8259A pair and the PIT (takes r's lock). */
void soft_irqchip_save(struct soft_irq_route *r, struct x86_irqchip_state *st, u64 now_ns);
/* Replaces their state with st: 0, or -EINVAL with a one-line reason in why
 * (st is checked as irqchip_state_check() does, and against this machine's
 * wiring) and nothing changed. The PIC's INT output (the BSP's LINT0) and the
 * PIT's next interrupt are recomputed from the loaded registers. */
int soft_irqchip_load(struct soft_irq_route *r, const struct x86_irqchip_state *st, u64 now_ns,
		      char *why, size_t why_len);

/* One LAPIC as its xAPIC register page (core/vcpu_state.h): what the guest
 * reads at each offset, TMCCT (0x390) the current count at now_ns, ID (0x20)
 * in bits 31:24 in either mode. A timer expiry due by now_ns is first put in
 * IRR, as the vCPU's next soft_lapic_tick() would: save before reading
 * IA32_TSC_DEADLINE, which then reads 0 if it fired. */
void soft_lapic_save(struct soft_lapic *l, u8 page[X86_LAPIC_PAGE], u64 now_ns);
/* Loads the registers of page into l: 0, or -EINVAL with a one-line reason
 * in why and nothing changed. Not in the page's responsibility, so restore
 * them first: IA32_APIC_BASE (soft_lapic_set_base: the mode decides what the
 * page means) and the TSC offset; the id must match. A one-shot or periodic
 * timer expires when the saved current count would have run out; a
 * TSC-deadline timer is re-armed by the caller's IA32_TSC_DEADLINE write,
 * after this. The 8259A's INTR (soft_irqchip_load), pending NMIs and ExtINT
 * (the vCPU's events) are not the page's and are left alone. */
int soft_lapic_load(struct soft_lapic *l, const u8 page[X86_LAPIC_PAGE], u64 now_ns, char *why,
		    size_t why_len);

#endif
