/* Helpers shared by lapic.c (state, priorities, timer, APIC bus) and
 * lapic_regs.c (the xAPIC page and x2APIC MSR views). Private to those two. */
#ifndef POPEK_SOFT_LAPIC_PRIV_H
#define POPEK_SOFT_LAPIC_PRIV_H

#include "cpu/soft/irqchip/lapic.h"

#define LAPIC_LVT_MASKED         (1u << 16)
#define LAPIC_SVR_ENABLE         (1u << 8)
#define LAPIC_TIMER_ONESHOT      0u
#define LAPIC_TIMER_PERIODIC     1u
#define LAPIC_TIMER_TSC_DEADLINE 2u

/* ESR bits (SDM 10.5.3). */
#define LAPIC_ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define LAPIC_ESR_RECV_ILLEGAL_VECTOR (1u << 6)

/* All of these need l->lock held. */
static inline bool lapic_hw_enabled(const struct soft_lapic *l)
{
	return atomic_load_explicit(&l->base, memory_order_relaxed) & SOFT_APIC_BASE_EN;
}

static inline bool lapic_x2apic(const struct soft_lapic *l)
{
	return atomic_load_explicit(&l->base, memory_order_relaxed) & SOFT_APIC_BASE_EXTD;
}

static inline bool lapic_sw_enabled(const struct soft_lapic *l)
{
	return l->svr & LAPIC_SVR_ENABLE;
}

static inline u32 lapic_timer_mode(const struct soft_lapic *l)
{
	return (l->lvt[SOFT_LVT_TIMER] >> 17) & 3;
}

/* x2APIC logical id: cluster id[19:4] in bits 31:16, bit id[3:0] below (SDM 10.12.10.2). */
static inline u32 lapic_x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xF));
}

u32 lapic_ppr_locked(const struct soft_lapic *l);
/* Handles an EOI write: returns the vector to broadcast to the IOAPIC
 * (level-triggered, TMR set) or -1. The caller broadcasts after unlocking. */
int lapic_eoi_locked(struct soft_lapic *l);
/* Records an ESR error and raises the LVT error interrupt if unmasked. */
void lapic_error_locked(struct soft_lapic *l, u32 esr_bits);
/* Power-on register state except id and IA32_APIC_BASE. */
void lapic_reset_regs_locked(struct soft_lapic *l);
int lapic_set_base_locked(struct soft_lapic *l, u64 value);

/* Timer (SDM 10.5.4). */
void lapic_timer_set_initial_locked(struct soft_lapic *l, u32 count, u64 now_ns);
u32 lapic_timer_current_locked(const struct soft_lapic *l, u64 now_ns);
void lapic_timer_set_lvt_locked(struct soft_lapic *l, u32 lvt);
void lapic_tsc_deadline_write_locked(struct soft_lapic *l, u64 tsc);

#endif
