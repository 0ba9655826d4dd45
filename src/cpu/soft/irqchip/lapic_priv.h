/* Helpers shared by lapic.c (state, priorities, timer, APIC bus),
 * lapic_regs.c (the xAPIC page and x2APIC MSR views) and irqchip_state.c
 * (the snapshot form). Private to those three. */
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

/* Register numbers: xAPIC offset >> 4 = x2APIC MSR - 0x800 (SDM Table 10-6). */
enum {
	REG_ID = 0x02,
	REG_VERSION = 0x03,
	REG_TPR = 0x08,
	REG_APR = 0x09,
	REG_PPR = 0x0A,
	REG_EOI = 0x0B,
	REG_RRD = 0x0C,
	REG_LDR = 0x0D,
	REG_DFR = 0x0E,
	REG_SVR = 0x0F,
	REG_ISR = 0x10, /* 0x10-0x17 */
	REG_TMR = 0x18, /* 0x18-0x1F */
	REG_IRR = 0x20, /* 0x20-0x27 */
	REG_ESR = 0x28,
	REG_LVT_CMCI = 0x2F, /* not modelled (SOFT_LAPIC_VERSION: max LVT entry 5) */
	REG_ICR_LO = 0x30,
	REG_ICR_HI = 0x31,
	REG_LVT = 0x32, /* timer, thermal, perf, LINT0, LINT1, error: 0x32-0x37 */
	REG_TIMER_INITIAL = 0x38,
	REG_TIMER_CURRENT = 0x39,
	REG_TIMER_DCR = 0x3E,
	REG_SELF_IPI = 0x3F, /* x2APIC only */
};

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

/* Writable bits of each LVT, indexed SOFT_LVT_* (lapic_regs.c). */
extern const u32 lapic_lvt_writable[SOFT_LVT_NR];
/* Reads register reg (an xAPIC offset >> 4) as the guest would. Returns 0, or
 * -1 if it does not exist in this mode or is write-only (#GP in x2APIC mode;
 * reads 0 in xAPIC mode). */
int lapic_reg_read_locked(struct soft_lapic *l, unsigned reg, u64 now_ns, u32 *out);

/* Timer (SDM 10.5.4). */
void lapic_timer_set_initial_locked(struct soft_lapic *l, u32 count, u64 now_ns);
u32 lapic_timer_current_locked(const struct soft_lapic *l, u64 now_ns);
void lapic_timer_set_lvt_locked(struct soft_lapic *l, u32 lvt);
void lapic_tsc_deadline_write_locked(struct soft_lapic *l, u64 tsc);
/* Loads a one-shot or periodic count as if it had counted from initial
 * down to current by now_ns (a snapshot's load): the next expiry is when
 * current would have run out. LVT timer and TDCR must be loaded already. */
void lapic_timer_resume_locked(struct soft_lapic *l, u32 initial, u32 current, u64 now_ns);

#endif
