/* Local APIC state: interrupt acceptance and priorities, EOI, timer, resets and the APIC bus. */
#include "cpu/soft/irqchip/lapic_priv.h"

#include <errno.h>
#include <string.h>

/* ---- 256-bit vector registers (IRR, ISR, TMR) ---------------------------- */

static int vec_highest(const u32 *bits)
{
	for (int i = 7; i >= 0; i--)
		if (bits[i])
			return i * 32 + 31 - __builtin_clz(bits[i]);
	return -1;
}

static void vec_set(u32 *bits, unsigned v)
{
	bits[(v >> 5) & 7] |= 1u << (v & 31);
}

static void vec_clear(u32 *bits, unsigned v)
{
	bits[(v >> 5) & 7] &= ~(1u << (v & 31));
}

static bool vec_test(const u32 *bits, unsigned v)
{
	return bits[(v >> 5) & 7] & (1u << (v & 31));
}

/* ---- Priorities (SDM 10.8.3.1) ---------------------------------------- */

u32 lapic_ppr_locked(const struct soft_lapic *l)
{
	int isrv = vec_highest(l->isr);
	u32 isr_class = isrv < 0 ? 0 : (u32)isrv & 0xF0;

	if ((l->tpr & 0xF0) >= isr_class)
		return l->tpr & 0xFF;
	return isr_class;
}

/* The highest IRR vector whose priority class is above the PPR's, or -1. */
static int lapic_deliverable_locked(const struct soft_lapic *l)
{
	int v;

	if (!lapic_hw_enabled(l))
		return -1;
	v = vec_highest(l->irr);
	if (v < 0 || ((u32)v & 0xF0) <= (lapic_ppr_locked(l) & 0xF0))
		return -1;
	return v;
}

/* Whether the CPU must run an INTA cycle on the 8259A: an ExtINT message, or
 * the PIC's INTR through LINT0 in ExtINT mode; with the APIC globally
 * disabled, INTR reaches the CPU directly (SDM 10.4.3). */
static bool lapic_extint_locked(const struct soft_lapic *l)
{
	u32 lvt0 = l->lvt[SOFT_LVT_LINT0];

	if (l->extint_req)
		return true;
	if (!l->pic_intr)
		return false;
	if (!lapic_hw_enabled(l))
		return true;
	return !(lvt0 & LAPIC_LVT_MASKED) && ((lvt0 >> 8) & 7) == SOFT_APIC_DM_EXTINT;
}

/* Sets IRR (and TMR for level) for a fixed vector. Returns true if accepted. */
static bool lapic_accept_fixed_locked(struct soft_lapic *l, u8 vector, bool level)
{
	if (!lapic_hw_enabled(l) || !lapic_sw_enabled(l))
		return false; /* a disabled APIC takes no fixed interrupts (SDM 10.4.7.2) */
	if (vector < 16) {
		lapic_error_locked(l, LAPIC_ESR_RECV_ILLEGAL_VECTOR);
		return false;
	}
	vec_set(l->irr, vector);
	if (level)
		vec_set(l->tmr, vector);
	else
		vec_clear(l->tmr, vector);
	return true;
}

void lapic_error_locked(struct soft_lapic *l, u32 esr_bits)
{
	u32 lvt = l->lvt[SOFT_LVT_ERROR];

	l->esr_pending |= esr_bits;
	if (!(lvt & LAPIC_LVT_MASKED) && (lvt & 0xFF) >= 16 && lapic_sw_enabled(l)) {
		vec_set(l->irr, lvt & 0xFF);
		vec_clear(l->tmr, lvt & 0xFF);
	}
}

int lapic_eoi_locked(struct soft_lapic *l)
{
	int v = vec_highest(l->isr);

	if (v < 0)
		return -1;
	vec_clear(l->isr, (unsigned)v);
	/* Level-triggered: tell the IOAPIC to clear Remote IRR (SDM 10.8.5).
	 * Our version has no EOI-broadcast suppression (SVR bit 12). */
	return vec_test(l->tmr, (unsigned)v) ? v : -1;
}

/* ---- Public interrupt interface ------------------------------------------ */

static void lapic_kick(struct soft_lapic *l)
{
	struct soft_apic_bus *bus = l->bus;

	if (bus && bus->cpu && bus->cpu->kick)
		bus->cpu->kick(bus->cpu_opaque, l->id);
}

bool soft_lapic_set_irq(struct soft_lapic *l, u8 vector, bool level_trigger)
{
	bool ok;

	pthread_mutex_lock(&l->lock);
	ok = lapic_accept_fixed_locked(l, vector, level_trigger);
	pthread_mutex_unlock(&l->lock);
	if (ok)
		lapic_kick(l);
	return ok;
}

int soft_lapic_pending_vector(struct soft_lapic *l)
{
	int v;

	pthread_mutex_lock(&l->lock);
	v = lapic_extint_locked(l) ? SOFT_LAPIC_EXTINT : lapic_deliverable_locked(l);
	pthread_mutex_unlock(&l->lock);
	return v;
}

int soft_lapic_ack(struct soft_lapic *l)
{
	struct soft_apic_bus *bus = l->bus;
	int v;

	pthread_mutex_lock(&l->lock);
	if (lapic_extint_locked(l)) {
		l->extint_req = false;
		pthread_mutex_unlock(&l->lock);
		/* ExtINT bypasses IRR/ISR: the 8259A supplies the vector. */
		if (bus && bus->irq && bus->irq->extint_ack)
			return bus->irq->extint_ack(bus->irq_opaque) & 0xFF;
		return -1;
	}
	v = lapic_deliverable_locked(l);
	if (v < 0) {
		/* Raised, then masked by TPR before the INTA: spurious (SDM 10.9). */
		v = l->svr & 0xFF;
	} else {
		vec_clear(l->irr, (unsigned)v);
		vec_set(l->isr, (unsigned)v);
	}
	pthread_mutex_unlock(&l->lock);
	return v;
}

unsigned soft_lapic_take_nmis(struct soft_lapic *l)
{
	return atomic_exchange(&l->nmi_pending, 0);
}

bool soft_lapic_nmi_pending(struct soft_lapic *l)
{
	return atomic_load(&l->nmi_pending) != 0;
}

bool soft_lapic_set_pic_intr(struct soft_lapic *l, bool level)
{
	bool wake;

	pthread_mutex_lock(&l->lock);
	wake = level && !l->pic_intr;
	l->pic_intr = level;
	wake = wake && lapic_extint_locked(l);
	pthread_mutex_unlock(&l->lock);
	return wake;
}

u8 soft_lapic_get_tpr(struct soft_lapic *l)
{
	u8 tpr;

	pthread_mutex_lock(&l->lock);
	tpr = (u8)l->tpr;
	pthread_mutex_unlock(&l->lock);
	return tpr;
}

void soft_lapic_set_tpr(struct soft_lapic *l, u8 tpr)
{
	pthread_mutex_lock(&l->lock);
	l->tpr = tpr;
	pthread_mutex_unlock(&l->lock);
}

u64 soft_lapic_get_cr8(struct soft_lapic *l)
{
	return soft_lapic_get_tpr(l) >> 4;
}

void soft_lapic_set_cr8(struct soft_lapic *l, u64 cr8)
{
	soft_lapic_set_tpr(l, (u8)((cr8 & 0xF) << 4));
}

bool soft_lapic_pv_eoi_ok(struct soft_lapic *l)
{
	unsigned in_service = 0;
	bool ok;

	pthread_mutex_lock(&l->lock);
	for (unsigned i = 0; i < 8; i++)
		in_service += (unsigned)__builtin_popcount(l->isr[i]);
	ok = in_service == 1 && vec_highest(l->irr) < 0 &&
	     !vec_test(l->tmr, (unsigned)vec_highest(l->isr));
	pthread_mutex_unlock(&l->lock);
	return ok;
}

void soft_lapic_eoi(struct soft_lapic *l)
{
	struct soft_apic_bus *bus = l->bus;
	int v;

	pthread_mutex_lock(&l->lock);
	v = lapic_eoi_locked(l);
	pthread_mutex_unlock(&l->lock);
	if (v >= 0 && bus && bus->irq && bus->irq->eoi)
		bus->irq->eoi(bus->irq_opaque, (u8)v);
}

/* ---- Timer (SDM 10.5.4) -------------------------------------------------- */

/* Divide configuration register bits 0, 1 and 3 (SDM Figure 10-10). */
static u32 lapic_timer_div(u32 dcr)
{
	u32 v = (dcr & 3) | ((dcr >> 1) & 4);

	return 1u << ((v + 1) & 7);
}

/* Bus clock ticks <-> guest ns. */
static u64 lapic_ticks_to_ns(u64 ticks)
{
	return (u64)((unsigned __int128)ticks * 1000000000ULL / SOFT_LAPIC_BUS_HZ);
}

static u64 lapic_ns_to_ticks_up(u64 ns)
{
	return (u64)(((unsigned __int128)ns * SOFT_LAPIC_BUS_HZ + 999999999ULL) / 1000000000ULL);
}

static u64 lapic_timer_eff_period(const struct soft_lapic *l)
{
	if (lapic_timer_mode(l) == LAPIC_TIMER_PERIODIC)
		return MAX(l->timer_period_ns, SOFT_LAPIC_MIN_PERIOD_NS);
	return l->timer_period_ns;
}

void lapic_timer_set_initial_locked(struct soft_lapic *l, u32 count, u64 now_ns)
{
	if (lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE)
		return; /* ignored in TSC-deadline mode */
	l->timer_initial = count;
	l->timer_start_ns = now_ns;
	l->timer_period_ns = lapic_ticks_to_ns((u64)count * lapic_timer_div(l->timer_dcr));
	l->timer_deadline_ns = count ? now_ns + lapic_timer_eff_period(l) : UINT64_MAX;
}

u32 lapic_timer_current_locked(const struct soft_lapic *l, u64 now_ns)
{
	u64 period = lapic_timer_eff_period(l), elapsed, rem, div, count;

	if (lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE || !period)
		return 0;
	elapsed = now_ns > l->timer_start_ns ? now_ns - l->timer_start_ns : 0;
	if (lapic_timer_mode(l) == LAPIC_TIMER_PERIODIC)
		rem = period - elapsed % period;
	else if (elapsed >= period || l->timer_deadline_ns == UINT64_MAX)
		return 0;
	else
		rem = period - elapsed;
	div = lapic_timer_div(l->timer_dcr);
	count = (lapic_ns_to_ticks_up(rem) + div - 1) / div;
	return (u32)MIN(count, (u64)l->timer_initial);
}

void lapic_timer_resume_locked(struct soft_lapic *l, u32 initial, u32 current, u64 now_ns)
{
	u64 eff, rem, done;

	l->timer_initial = 0;
	l->timer_period_ns = 0;
	l->timer_start_ns = now_ns;
	l->timer_deadline_ns = UINT64_MAX;
	lapic_timer_set_initial_locked(l, initial, now_ns); /* nothing in TSC-deadline mode */
	eff = lapic_timer_eff_period(l);
	if (!eff)
		return;
	if (!current && lapic_timer_mode(l) != LAPIC_TIMER_PERIODIC) {
		l->timer_deadline_ns = UINT64_MAX; /* a one-shot count that ran out: it fired */
		return;
	}
	rem = MIN(lapic_ticks_to_ns((u64)current * lapic_timer_div(l->timer_dcr)), eff);
	done = eff - rem;
	/* Guest time at a load goes on from the saved one (engine.h, load_vm),
	 * so now_ns >= done; a clock behind that starts the count at 0, and it
	 * reads high until it runs out, on time. */
	l->timer_start_ns = now_ns >= done ? now_ns - done : 0;
	l->timer_deadline_ns = now_ns + rem;
}

void lapic_timer_set_lvt_locked(struct soft_lapic *l, u32 lvt)
{
	u32 old_mode = lapic_timer_mode(l);

	l->lvt[SOFT_LVT_TIMER] = lvt;
	if ((old_mode == LAPIC_TIMER_TSC_DEADLINE) !=
	    (lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE)) {
		/* Switching to or from TSC-deadline mode disarms (SDM 10.5.4.1). */
		l->timer_initial = 0;
		l->timer_period_ns = 0;
		l->tsc_deadline = 0;
		l->timer_deadline_ns = UINT64_MAX;
	}
}

/* Guest TSC value -> guest ns; deadlines already in the past become 0. */
static u64 lapic_tsc_to_ns(const struct soft_lapic *l, u64 tsc)
{
	u64 ns = tsc - l->tsc_offset;

	return (s64)ns < 0 ? 0 : ns;
}

void lapic_tsc_deadline_write_locked(struct soft_lapic *l, u64 tsc)
{
	if (lapic_timer_mode(l) != LAPIC_TIMER_TSC_DEADLINE)
		return; /* writes are ignored in other modes (SDM 10.5.4.1) */
	l->tsc_deadline = tsc;
	l->timer_deadline_ns = tsc ? lapic_tsc_to_ns(l, tsc) : UINT64_MAX;
}

void soft_lapic_set_tsc_offset(struct soft_lapic *l, u64 tsc_offset)
{
	pthread_mutex_lock(&l->lock);
	l->tsc_offset = tsc_offset;
	if (lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE && l->tsc_deadline)
		l->timer_deadline_ns = lapic_tsc_to_ns(l, l->tsc_deadline);
	pthread_mutex_unlock(&l->lock);
}

u64 soft_lapic_next_deadline(struct soft_lapic *l)
{
	u64 d;

	pthread_mutex_lock(&l->lock);
	d = l->timer_deadline_ns;
	pthread_mutex_unlock(&l->lock);
	return d;
}

void soft_lapic_tick(struct soft_lapic *l, u64 now_ns)
{
	u32 lvt;
	u64 period;

	pthread_mutex_lock(&l->lock);
	if (l->timer_deadline_ns > now_ns)
		goto out;
	lvt = l->lvt[SOFT_LVT_TIMER];
	if (!(lvt & LAPIC_LVT_MASKED))
		lapic_accept_fixed_locked(l, lvt & 0xFF, false);
	switch (lapic_timer_mode(l)) {
	case LAPIC_TIMER_TSC_DEADLINE:
		l->tsc_deadline = 0; /* reads 0 once it fired */
		l->timer_deadline_ns = UINT64_MAX;
		break;
	case LAPIC_TIMER_PERIODIC:
		/* Late ticks are coalesced into one interrupt. */
		period = lapic_timer_eff_period(l);
		if (!period || now_ns < l->timer_start_ns) {
			l->timer_deadline_ns = UINT64_MAX;
			break;
		}
		l->timer_deadline_ns =
		    l->timer_start_ns + ((now_ns - l->timer_start_ns) / period + 1) * period;
		break;
	default:
		l->timer_deadline_ns = UINT64_MAX;
		break;
	}
out:
	pthread_mutex_unlock(&l->lock);
}

/* ---- Reset and IA32_APIC_BASE -------------------------------------------- */

void lapic_reset_regs_locked(struct soft_lapic *l)
{
	l->tpr = 0;
	l->ldr = 0;
	l->dfr = 0xFFFFFFFF;
	l->svr = 0xFF;
	l->esr = l->esr_pending = 0;
	memset(l->isr, 0, sizeof(l->isr));
	memset(l->tmr, 0, sizeof(l->tmr));
	memset(l->irr, 0, sizeof(l->irr));
	l->icr_lo = l->icr_hi = 0;
	for (unsigned i = 0; i < SOFT_LVT_NR; i++)
		l->lvt[i] = LAPIC_LVT_MASKED;
	/* What firmware leaves on a PC: the BSP in virtual wire mode, so that
	 * the 8259A reaches the CPU until the OS sets the APIC up (MP spec 3.6.2.2). */
	if (l->id == 0)
		l->lvt[SOFT_LVT_LINT0] = SOFT_APIC_DM_EXTINT << 8;
	l->timer_initial = l->timer_dcr = 0;
	l->timer_start_ns = l->timer_period_ns = 0;
	l->timer_deadline_ns = UINT64_MAX;
	l->tsc_deadline = 0;
	l->extint_req = false;
	atomic_store(&l->nmi_pending, 0);
}

int lapic_set_base_locked(struct soft_lapic *l, u64 value)
{
	/* Reserved: bits 0-7, 9 and those above the physical address width. */
	const u64 reserved = 0xFFull | (1ull << 9) | ~((1ull << 52) - 1);
	u64 old = atomic_load(&l->base);
	bool en = value & SOFT_APIC_BASE_EN, extd = value & SOFT_APIC_BASE_EXTD;

	if (value & reserved)
		return -1;
	/* Valid transitions only (SDM 10.12.5, Figure 10-27). */
	if (extd && !en)
		return -1;
	if ((old & SOFT_APIC_BASE_EXTD) && en && !extd)
		return -1;
	if (!(old & SOFT_APIC_BASE_EN) && extd)
		return -1;
	if (!en && (old & SOFT_APIC_BASE_EN))
		lapic_reset_regs_locked(l);
	value = (value & ~SOFT_APIC_BASE_BSP) | (old & SOFT_APIC_BASE_BSP);
	atomic_store(&l->base, value);
	return 0;
}

u64 soft_lapic_get_base(struct soft_lapic *l)
{
	return atomic_load(&l->base);
}

int soft_lapic_set_base(struct soft_lapic *l, u64 value)
{
	int ret;

	pthread_mutex_lock(&l->lock);
	ret = lapic_set_base_locked(l, value);
	pthread_mutex_unlock(&l->lock);
	return ret;
}

static u64 lapic_default_base(unsigned id)
{
	return SOFT_APIC_BASE_DEFAULT | SOFT_APIC_BASE_EN | (id == 0 ? SOFT_APIC_BASE_BSP : 0);
}

void soft_lapic_reset(struct soft_lapic *l)
{
	pthread_mutex_lock(&l->lock);
	atomic_store(&l->base, lapic_default_base(l->id));
	lapic_reset_regs_locked(l);
	l->pic_intr = false;
	pthread_mutex_unlock(&l->lock);
}

void soft_lapic_init_reset(struct soft_lapic *l)
{
	pthread_mutex_lock(&l->lock);
	lapic_reset_regs_locked(l);
	pthread_mutex_unlock(&l->lock);
}

int soft_lapic_init(struct soft_lapic *l, struct soft_apic_bus *bus, unsigned id)
{
	int err;

	if (id >= CONFIG_MAX_CPUS)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	err = pthread_mutex_init(&l->lock, NULL);
	if (err)
		return -err;
	l->bus = bus;
	l->id = id;
	atomic_init(&l->base, lapic_default_base(id));
	atomic_init(&l->nmi_pending, 0);
	lapic_reset_regs_locked(l);
	if (bus)
		atomic_store(&bus->lapic[id], l);
	return 0;
}

void soft_lapic_destroy(struct soft_lapic *l)
{
	if (l->bus)
		atomic_store(&l->bus->lapic[l->id], NULL);
	pthread_mutex_destroy(&l->lock);
}

bool soft_lapic_is_mmio(struct soft_lapic *l, u64 gpa)
{
	u64 base = atomic_load_explicit(&l->base, memory_order_relaxed);

	if ((base & (SOFT_APIC_BASE_EN | SOFT_APIC_BASE_EXTD)) != SOFT_APIC_BASE_EN)
		return false;
	return (gpa & ~0xFFFull) == (base & ~0xFFFull & ((1ull << 52) - 1));
}

/* ---- The APIC bus (SDM 10.6.2 destinations) ------------------------------ */

void soft_apic_bus_init(struct soft_apic_bus *bus, const struct soft_apic_cpu_ops *cpu,
			void *cpu_opaque)
{
	memset(bus, 0, sizeof(*bus));
	for (unsigned i = 0; i < CONFIG_MAX_CPUS; i++)
		atomic_init(&bus->lapic[i], NULL);
	atomic_init(&bus->deferred_kicks, 0);
	atomic_init(&bus->deferred_inits, 0);
	bus->cpu = cpu;
	bus->cpu_opaque = cpu_opaque;
}

void soft_apic_bus_defer_kick(struct soft_apic_bus *bus, unsigned id)
{
	if (id < CONFIG_MAX_CPUS)
		atomic_fetch_or(&bus->deferred_kicks, 1ull << id);
}

void soft_apic_bus_flush(struct soft_apic_bus *bus)
{
	const struct soft_apic_cpu_ops *cpu = bus->cpu;
	u64 inits = atomic_exchange(&bus->deferred_inits, 0);
	u64 kicks = atomic_exchange(&bus->deferred_kicks, 0);

	for (; inits; inits &= inits - 1)
		if (cpu && cpu->init)
			cpu->init(bus->cpu_opaque, (unsigned)__builtin_ctzll(inits));
	for (; kicks; kicks &= kicks - 1)
		if (cpu && cpu->kick)
			cpu->kick(bus->cpu_opaque, (unsigned)__builtin_ctzll(kicks));
}

static bool lapic_match_locked(const struct soft_lapic *t, const struct soft_apic_msg *m)
{
	bool self = m->src >= 0 && (u32)m->src == t->id;
	u32 bcast = m->x2apic ? 0xFFFFFFFFu : 0xFFu;
	u32 ldr, dest = m->dest;

	switch (m->shorthand) {
	case SOFT_APIC_SH_SELF:
		return self;
	case SOFT_APIC_SH_ALL:
		return true;
	case SOFT_APIC_SH_ALL_BUT_SELF:
		return !self;
	}
	if (dest == bcast)
		return true;
	if (!m->logical)
		return dest == t->id;
	if (lapic_x2apic(t)) {
		/* Cluster in bits 31:16, member bitmap in 15:0 (SDM 10.12.10.2).
		 * 8-bit logical messages to x2APIC mode need interrupt
		 * remapping, which this machine does not have. */
		ldr = lapic_x2apic_ldr(t->id);
		return m->x2apic && (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xFFFF);
	}
	ldr = t->ldr >> 24;
	if ((t->dfr >> 28) == 0xF) /* flat model: a bitmap of 8 CPUs */
		return (dest & ldr & 0xFF) != 0;
	/* Cluster model: cluster in bits 7:4, member bitmap in bits 3:0. */
	return ((dest >> 4) & 0xF) == (ldr >> 4) && (dest & ldr & 0xF);
}

void soft_apic_bus_deliver(struct soft_apic_bus *bus, const struct soft_apic_msg *m)
{
	const struct soft_apic_cpu_ops *cpu = bus->cpu;

	if ((m->mode == SOFT_APIC_DM_FIXED || m->mode == SOFT_APIC_DM_LOWEST) && m->vector < 16)
		return;
	for (unsigned id = 0; id < CONFIG_MAX_CPUS; id++) {
		struct soft_lapic *t = atomic_load(&bus->lapic[id]);
		bool kick = false, init = false, sipi = false;

		if (!t)
			continue;
		/* INIT and SIPI never go to the sender itself (SDM Table 10-3). */
		if ((m->mode == SOFT_APIC_DM_INIT || m->mode == SOFT_APIC_DM_SIPI) &&
		    m->src == (int)id)
			continue;
		pthread_mutex_lock(&t->lock);
		if (!lapic_match_locked(t, m)) {
			pthread_mutex_unlock(&t->lock);
			continue;
		}
		switch (m->mode) {
		case SOFT_APIC_DM_FIXED:
		case SOFT_APIC_DM_LOWEST:
			/* A level-triggered de-assert message carries nothing. */
			if (m->assert || !m->level)
				kick = lapic_accept_fixed_locked(t, m->vector, m->level);
			break;
		case SOFT_APIC_DM_NMI:
			/* Counted, not a flag: two that arrive before the
			 * vCPU looks are two NMIs (engine.c vcpu_interrupts). */
			atomic_fetch_add(&t->nmi_pending, 1);
			kick = true;
			break;
		case SOFT_APIC_DM_EXTINT:
			t->extint_req = true;
			kick = true;
			break;
		case SOFT_APIC_DM_INIT:
			/* INIT level de-assert only synchronized arbitration
			 * ids on old CPUs; it does nothing now (SDM 10.6.1). */
			if (m->assert || !m->level) {
				lapic_reset_regs_locked(t);
				init = true;
			}
			break;
		case SOFT_APIC_DM_SIPI:
			sipi = true;
			break;
		default: /* SMI and reserved modes: nothing to do */
			break;
		}
		pthread_mutex_unlock(&t->lock);
		if (m->defer) {
			/* No SIPI from the IOAPIC: that delivery mode is reserved there. */
			if (init)
				atomic_fetch_or(&bus->deferred_inits, 1ull << id);
			if (kick)
				atomic_fetch_or(&bus->deferred_kicks, 1ull << id);
		} else {
			if (init && cpu && cpu->init)
				cpu->init(bus->cpu_opaque, id);
			if (sipi && cpu && cpu->sipi)
				cpu->sipi(bus->cpu_opaque, id, m->vector);
			if (kick && cpu && cpu->kick)
				cpu->kick(bus->cpu_opaque, id);
		}
		/* Lowest priority goes to one CPU: the first that matches. */
		if (m->mode == SOFT_APIC_DM_LOWEST)
			break;
	}
}
