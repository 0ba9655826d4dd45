/* Local APIC registers: the xAPIC MMIO page and the x2APIC MSRs (SDM 10.4.1, 10.12.1.2). */
#include "cpu/soft/irqchip/lapic_priv.h"

/* Writable bits of each LVT (SDM Figure 10-8): vector, delivery mode,
 * polarity, trigger mode, mask and the timer mode. Delivery status and
 * remote IRR read 0: deliveries here are instantaneous. */
const u32 lapic_lvt_writable[SOFT_LVT_NR] = {
    [SOFT_LVT_TIMER] = 0x000700FF, [SOFT_LVT_THERMAL] = 0x000107FF, [SOFT_LVT_PERF] = 0x000107FF,
    [SOFT_LVT_LINT0] = 0x0001A7FF, [SOFT_LVT_LINT1] = 0x0001A7FF,   [SOFT_LVT_ERROR] = 0x000100FF,
};

/* Work a register write leaves for after the lock is dropped. */
struct lapic_after {
	int eoi_vector; /* broadcast to the IOAPIC, or -1 */
	bool send;      /* deliver msg on the APIC bus */
	struct soft_apic_msg msg;
};

int lapic_reg_read_locked(struct soft_lapic *l, unsigned reg, u64 now_ns, u32 *out)
{
	bool x2 = lapic_x2apic(l);

	switch (reg) {
	case REG_ID:
		*out = x2 ? l->id : l->id << 24;
		return 0;
	case REG_VERSION:
		*out = SOFT_LAPIC_VERSION;
		return 0;
	case REG_TPR:
		*out = l->tpr;
		return 0;
	case REG_PPR:
		*out = lapic_ppr_locked(l);
		return 0;
	case REG_APR: /* not in x2APIC mode (SDM Table 10-6) */
	case REG_RRD:
	case REG_EOI: /* write-only */
		*out = 0;
		return x2 ? -1 : 0;
	case REG_LDR:
		*out = x2 ? lapic_x2apic_ldr(l->id) : l->ldr;
		return 0;
	case REG_DFR:
		*out = l->dfr;
		return x2 ? -1 : 0;
	case REG_SVR:
		*out = l->svr;
		return 0;
	case REG_ESR:
		*out = l->esr;
		return 0;
	case REG_ICR_LO:
		*out = l->icr_lo;
		return 0;
	case REG_ICR_HI:
		*out = l->icr_hi;
		return x2 ? -1 : 0;
	case REG_TIMER_INITIAL:
		*out = l->timer_initial;
		return 0;
	case REG_TIMER_CURRENT:
		*out = lapic_timer_current_locked(l, now_ns);
		return 0;
	case REG_TIMER_DCR:
		*out = l->timer_dcr;
		return 0;
	}
	if (reg >= REG_ISR && reg < REG_ISR + 8) {
		*out = l->isr[reg - REG_ISR];
		return 0;
	}
	if (reg >= REG_TMR && reg < REG_TMR + 8) {
		*out = l->tmr[reg - REG_TMR];
		return 0;
	}
	if (reg >= REG_IRR && reg < REG_IRR + 8) {
		*out = l->irr[reg - REG_IRR];
		return 0;
	}
	if (reg >= REG_LVT && reg < REG_LVT + SOFT_LVT_NR) {
		*out = l->lvt[reg - REG_LVT];
		return 0;
	}
	*out = 0;
	return x2 ? -1 : 0;
}

/* Decodes an ICR write into an APIC bus message (SDM 10.6.1). */
static void lapic_send_ipi_locked(struct soft_lapic *l, u32 lo, u32 dest, struct lapic_after *after)
{
	struct soft_apic_msg *m = &after->msg;

	m->vector = lo & 0xFF;
	m->mode = (lo >> 8) & 7;
	m->logical = lo & (1u << 11);
	m->assert = lo & (1u << 14);
	m->level = lo & (1u << 15);
	m->shorthand = (lo >> 18) & 3;
	m->x2apic = lapic_x2apic(l);
	m->dest = m->x2apic ? dest : dest >> 24;
	m->src = (int)l->id;
	if (m->mode == 3 || m->mode == SOFT_APIC_DM_EXTINT)
		return; /* reserved; ExtINT is not an IPI */
	if ((m->mode == SOFT_APIC_DM_FIXED || m->mode == SOFT_APIC_DM_LOWEST) && m->vector < 16) {
		lapic_error_locked(l, LAPIC_ESR_SEND_ILLEGAL_VECTOR);
		return;
	}
	after->send = true;
}

static void lapic_write_lvt_locked(struct soft_lapic *l, unsigned i, u32 v)
{
	v &= lapic_lvt_writable[i];
	/* While software-disabled, the mask bits stay set (SDM 10.4.7.2). */
	if (!lapic_sw_enabled(l))
		v |= LAPIC_LVT_MASKED;
	if (i == SOFT_LVT_TIMER)
		lapic_timer_set_lvt_locked(l, v);
	else
		l->lvt[i] = v;
}

/* Writes register reg. Returns 0, or -1 for #GP in x2APIC mode (read-only or
 * absent registers, non-zero writes to EOI/ESR); xAPIC mode ignores those. */
static int lapic_reg_write_locked(struct soft_lapic *l, unsigned reg, u32 v, u64 now_ns,
				  struct lapic_after *after)
{
	bool x2 = lapic_x2apic(l);

	switch (reg) {
	case REG_TPR:
		l->tpr = v & 0xFF;
		return 0;
	case REG_EOI:
		if (x2 && v)
			return -1;
		after->eoi_vector = lapic_eoi_locked(l);
		return 0;
	case REG_LDR:
		if (x2)
			return -1; /* derived from the id in x2APIC mode */
		l->ldr = v & 0xFF000000;
		return 0;
	case REG_DFR:
		if (x2)
			return -1;
		l->dfr = v | 0x0FFFFFFF;
		return 0;
	case REG_SVR:
		/* Bit 12 (EOI-broadcast suppression) is not offered by our version. */
		l->svr = v & 0x3FF;
		if (!lapic_sw_enabled(l))
			for (unsigned i = 0; i < SOFT_LVT_NR; i++)
				l->lvt[i] |= LAPIC_LVT_MASKED;
		return 0;
	case REG_ESR:
		if (x2 && v)
			return -1;
		/* A write latches the errors seen since the last one (SDM 10.5.3). */
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		return 0;
	case REG_ICR_LO:
		l->icr_lo = v & ~(1u << 12); /* delivery status: always idle */
		if (!x2)
			lapic_send_ipi_locked(l, l->icr_lo, l->icr_hi, after);
		return 0;
	case REG_ICR_HI:
		if (x2)
			return -1;
		l->icr_hi = v & 0xFF000000;
		return 0;
	case REG_TIMER_INITIAL:
		lapic_timer_set_initial_locked(l, v, now_ns);
		return 0;
	case REG_TIMER_DCR:
		l->timer_dcr = v & 0xB;
		return 0;
	case REG_SELF_IPI:
		if (!x2)
			return 0;
		lapic_send_ipi_locked(l, (v & 0xFF) | (SOFT_APIC_SH_SELF << 18), 0, after);
		return 0;
	}
	if (reg >= REG_LVT && reg < REG_LVT + SOFT_LVT_NR) {
		lapic_write_lvt_locked(l, reg - REG_LVT, v);
		return 0;
	}
	/* Read-only or absent. */
	return x2 ? -1 : 0;
}

static void lapic_after(struct soft_lapic *l, const struct lapic_after *after)
{
	struct soft_apic_bus *bus = l->bus;

	if (!bus)
		return;
	if (after->eoi_vector >= 0 && bus->irq && bus->irq->eoi)
		bus->irq->eoi(bus->irq_opaque, (u8)after->eoi_vector);
	if (after->send)
		soft_apic_bus_deliver(bus, &after->msg);
}

u64 soft_lapic_mmio_read(struct soft_lapic *l, u64 offset, unsigned size, u64 now_ns)
{
	unsigned byte = offset & 0xF;
	u32 v = 0;

	if (byte + size > 4 || offset > 0xFFF)
		return 0;
	pthread_mutex_lock(&l->lock);
	if (!lapic_x2apic(l))
		lapic_reg_read_locked(l, (unsigned)(offset >> 4), now_ns, &v);
	pthread_mutex_unlock(&l->lock);
	v >>= byte * 8;
	return size >= 4 ? v : v & ((1u << (size * 8)) - 1);
}

void soft_lapic_mmio_write(struct soft_lapic *l, u64 offset, unsigned size, u64 value, u64 now_ns)
{
	struct lapic_after after = {.eoi_vector = -1};

	/* Registers are 32 bits wide at 16-byte strides; other accesses are
	 * undefined (SDM 10.4.1) and dropped. */
	if (size != 4 || (offset & 0xF) || offset > 0xFFF)
		return;
	pthread_mutex_lock(&l->lock);
	if (!lapic_x2apic(l))
		lapic_reg_write_locked(l, (unsigned)(offset >> 4), (u32)value, now_ns, &after);
	pthread_mutex_unlock(&l->lock);
	lapic_after(l, &after);
}

int soft_lapic_msr_read(struct soft_lapic *l, u32 index, u64 now_ns, u64 *value)
{
	u32 v = 0;
	int ret = 0;

	*value = 0;
	pthread_mutex_lock(&l->lock);
	if (index == SOFT_MSR_APIC_BASE) {
		*value = atomic_load(&l->base);
	} else if (index == SOFT_MSR_TSC_DEADLINE) {
		if (lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE)
			*value = l->tsc_deadline;
	} else if (index >= SOFT_MSR_X2APIC_FIRST && index <= SOFT_MSR_X2APIC_LAST &&
		   lapic_x2apic(l)) {
		unsigned reg = index - SOFT_MSR_X2APIC_FIRST;

		ret = lapic_reg_read_locked(l, reg, now_ns, &v);
		*value = v;
		if (reg == REG_ICR_LO) /* one 64-bit ICR in x2APIC mode */
			*value |= (u64)l->icr_hi << 32;
	} else {
		ret = -1;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int soft_lapic_msr_write(struct soft_lapic *l, u32 index, u64 value, u64 now_ns)
{
	struct lapic_after after = {.eoi_vector = -1};
	int ret = 0;

	pthread_mutex_lock(&l->lock);
	if (index == SOFT_MSR_APIC_BASE) {
		ret = lapic_set_base_locked(l, value);
	} else if (index == SOFT_MSR_TSC_DEADLINE) {
		lapic_tsc_deadline_write_locked(l, value);
	} else if (index >= SOFT_MSR_X2APIC_FIRST && index <= SOFT_MSR_X2APIC_LAST &&
		   lapic_x2apic(l)) {
		unsigned reg = index - SOFT_MSR_X2APIC_FIRST;

		if (reg == REG_ICR_LO) {
			/* Bits 63:32 are the 32-bit destination (SDM 10.12.9). */
			l->icr_hi = (u32)(value >> 32);
			ret = lapic_reg_write_locked(l, reg, (u32)value, now_ns, &after);
			if (!ret)
				lapic_send_ipi_locked(l, l->icr_lo, l->icr_hi, &after);
		} else if (value >> 32) {
			ret = -1; /* reserved bits */
		} else {
			ret = lapic_reg_write_locked(l, reg, (u32)value, now_ns, &after);
		}
	} else {
		ret = -1;
	}
	pthread_mutex_unlock(&l->lock);
	if (!ret)
		lapic_after(l, &after);
	return ret;
}
