/* The soft interrupt controllers to and from the snapshot forms (core/irqchip_state.h,
 * core/vcpu_state.h). */
#include "cpu/soft/irqchip/irqchip.h"
#include "cpu/soft/irqchip/lapic_priv.h"

#include <errno.h>
#include <string.h>

/* The fields the chips and the forms share, under the same names. */
/* clang-format off */
#define PIC_FIELDS(X)                                                                              \
	X(irr) X(isr) X(imr) X(lines) X(elcr) X(elcr_mask) X(base) X(prio_add) X(icw_step)         \
	X(icw4_needed) X(single) X(ltim) X(auto_eoi) X(rotate_aeoi) X(sfnm) X(special_mask)        \
	X(read_isr) X(poll)
#define PIT_FIELDS(X)                                                                              \
	X(count) X(mode) X(rw) X(bcd) X(gate) X(armed) X(running) X(base_ticks) X(write_msb)      \
	X(write_lsb) X(read_msb) X(latch) X(latch_left) X(status_latched) X(status) X(irq_armed)  \
	X(irq_tick)
/* clang-format on */
#define COPY_FIELD(f) dst->f = src->f;

#define ROUTE_PIT_IOAPIC_PIN 2 /* GSI 0's pin (irq_route.c) */

static const char *const pic_name[2] = {"master", "slave"};

static void pic_chip_save(const struct soft_pic_chip *src, struct x86_pic_chip_state *dst)
{
	PIC_FIELDS(COPY_FIELD)
}

static void pic_chip_load(const struct x86_pic_chip_state *src, struct soft_pic_chip *dst)
{
	PIC_FIELDS(COPY_FIELD)
}

/* The PIT counts from base_ns in guest time: kept as how long the current
 * run has lasted, which the load's time continues. */
static void pit_channel_save(const struct soft_pit_channel *src, struct x86_pit_channel_state *dst,
			     u64 now_ns)
{
	PIT_FIELDS(COPY_FIELD)
	dst->run_ns = src->running && now_ns > src->base_ns ? now_ns - src->base_ns : 0;
}

static void pit_channel_load(const struct x86_pit_channel_state *src, struct soft_pit_channel *dst,
			     u64 now_ns)
{
	PIT_FIELDS(COPY_FIELD)
	dst->base_ns = now_ns - src->run_ns;
	/* Guest time at a load goes on from the saved one (engine.h,
	 * load_vm), so the run fits in it; else its excess becomes ticks. */
	if (src->run_ns > now_ns) {
		dst->base_ns = 0;
		dst->base_ticks = x86_pit_ticks(src) -
				  (u64)((unsigned __int128)now_ns * SOFT_PIT_HZ / 1000000000ULL);
	}
}

void soft_irqchip_save(struct soft_irq_route *r, struct x86_irqchip_state *st, u64 now_ns)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&r->lock);
	st->ioapic.id = r->ioapic.id;
	st->ioapic.ioregsel = r->ioapic.ioregsel;
	st->ioapic.lines = r->ioapic.lines;
	memcpy(st->ioapic.rte, r->ioapic.rte, sizeof(st->ioapic.rte));
	for (unsigned i = 0; i < 2; i++)
		pic_chip_save(&r->pic.chip[i], &st->pic[i]);
	for (unsigned i = 0; i < 3; i++)
		pit_channel_save(&r->pit.ch[i], &st->pit[i], now_ns);
	st->port61 = r->pit.port61;
	pthread_mutex_unlock(&r->lock);
}

/* What this machine's wiring fixes, beyond what any PC's chips could hold. */
static int irqchip_check_wiring(struct soft_irq_route *r, const struct x86_irqchip_state *st,
				char *why, size_t why_len)
{
	for (unsigned i = 0; i < 2; i++)
		if (st->pic[i].elcr_mask != r->pic.chip[i].elcr_mask)
			return snap_fail(
			    why, why_len, "PIC %s ELCR mask 0x%02x; this machine's is 0x%02x",
			    pic_name[i], st->pic[i].elcr_mask, r->pic.chip[i].elcr_mask);
	/* Gates of counters 0 and 1 are tied high (soft_pit_init). */
	for (unsigned i = 0; i < 2; i++)
		if (!st->pit[i].gate)
			return snap_fail(why, why_len,
					 "PIT channel %u gate is low; it is tied high here", i);
	return 0;
}

int soft_irqchip_load(struct soft_irq_route *r, const struct x86_irqchip_state *st, u64 now_ns,
		      char *why, size_t why_len)
{
	const struct x86_ioapic_state *io = &st->ioapic;
	u32 lines = io->lines;
	int err;

	err = irqchip_state_check(st, why, why_len);
	if (err)
		return err;
	pthread_mutex_lock(&r->lock);
	err = irqchip_check_wiring(r, st, why, why_len);
	if (err) {
		pthread_mutex_unlock(&r->lock);
		return err;
	}
	r->ioapic.id = io->id;
	r->ioapic.ioregsel = io->ioregsel;
	r->ioapic.lines = lines;
	/* Deliveries here are instantaneous: delivery status always reads idle. */
	for (unsigned i = 0; i < SOFT_IOAPIC_PINS; i++)
		r->ioapic.rte[i] = io->rte[i] & ~SOFT_IOAPIC_RTE_DELIVS;
	/* GSI n is pin n, but GSI 0 is pin 2 and GSI 2 is nowhere (irq_route.c). */
	r->gsi_levels = (lines & ~0x5u) | ((lines >> ROUTE_PIT_IOAPIC_PIN) & 1);
	for (unsigned i = 0; i < 2; i++)
		pic_chip_load(&st->pic[i], &r->pic.chip[i]);
	for (unsigned i = 0; i < 3; i++)
		pit_channel_load(&st->pit[i], &r->pit.ch[i], now_ns);
	r->pit.port61 = st->port61;
	/* INT and the cascade input follow from the registers: the BSP's LINT0
	 * is told the level (a kick deferred to the flush below). */
	soft_pic_resync(&r->pic);
	pthread_mutex_unlock(&r->lock);
	if (r->apic)
		soft_apic_bus_flush(r->apic);
	return 0;
}

/* ---- LAPIC ----------------------------------------------------------------- */

static u32 page_reg(const u8 *page, unsigned reg)
{
	return x86_lapic_reg(page, reg << 4);
}

void soft_lapic_save(struct soft_lapic *l, u8 page[X86_LAPIC_PAGE], u64 now_ns)
{
	u32 v;

	soft_lapic_tick(l, now_ns);
	memset(page, 0, X86_LAPIC_PAGE);
	pthread_mutex_lock(&l->lock);
	/* Every register as the guest reads it in xAPIC mode (SDM Vol. 3A
	 * Table 10-1); write-only and absent ones read 0. */
	for (unsigned reg = 0; reg < X86_LAPIC_PAGE >> 4; reg++) {
		lapic_reg_read_locked(l, reg, now_ns, &v);
		x86_lapic_set_reg(page, reg << 4, v);
	}
	/* The page's ID is in bits 31:24 in either mode (x2APIC reads all 32). */
	x86_lapic_set_reg(page, REG_ID << 4, l->id << 24);
	pthread_mutex_unlock(&l->lock);
}

static const char *const lvt_name[SOFT_LVT_NR] = {"timer", "thermal", "perf",
						  "LINT0", "LINT1",   "error"};

/* Refuses what this LAPIC cannot hold; 0 when it can. */
static int lapic_page_check(const struct soft_lapic *l, const u8 *page, char *why, size_t len)
{
	u32 id = page_reg(page, REG_ID) >> 24, v, status;
	u32 lvt_timer = page_reg(page, REG_LVT + SOFT_LVT_TIMER);
	u32 tmict = page_reg(page, REG_TIMER_INITIAL), tmcct = page_reg(page, REG_TIMER_CURRENT);

	if (id != l->id)
		return snap_fail(why, len, "LAPIC page of APIC id %u, loaded into APIC id %u", id,
				 l->id);
	if ((v = page_reg(page, REG_TPR)) > 0xFF)
		return snap_fail(why, len, "LAPIC TPR 0x%x sets bits above 7", v);
	/* Bit 12 (EOI-broadcast suppression) is not offered by our version. */
	if ((v = page_reg(page, REG_SVR)) & ~0x3FFu)
		return snap_fail(why, len, "LAPIC SVR 0x%x sets bits this APIC does not have", v);
	if ((v = page_reg(page, REG_ESR)) & ~0xFFu)
		return snap_fail(why, len, "LAPIC ESR 0x%x sets reserved bits", v);
	/* Vectors 0-15 are never accepted (SDM 10.5.2). */
	for (unsigned reg = REG_ISR; reg < REG_IRR + 8; reg += 8)
		if (page_reg(page, reg) & 0xFFFF)
			return snap_fail(why, len, "LAPIC %s holds vectors below 16",
					 reg == REG_ISR   ? "ISR"
					 : reg == REG_TMR ? "TMR"
							  : "IRR");
	for (unsigned i = 0; i < SOFT_LVT_NR; i++) {
		v = page_reg(page, REG_LVT + i);
		/* Delivery status and LINT remote IRR are read-only state. */
		status = (1u << 12) | (i == SOFT_LVT_LINT0 || i == SOFT_LVT_LINT1 ? 1u << 14 : 0);
		if (v & ~(lapic_lvt_writable[i] | status))
			return snap_fail(why, len,
					 "LAPIC LVT %s 0x%x sets bits this APIC does not have",
					 lvt_name[i], v);
	}
	v = page_reg(page, REG_LVT_CMCI);
	if (v && !(v & LAPIC_LVT_MASKED))
		return snap_fail(why, len, "LAPIC LVT CMCI 0x%x is in use; this APIC has none", v);
	if ((v = page_reg(page, REG_TIMER_DCR)) & ~0xBu)
		return snap_fail(why, len, "LAPIC TDCR 0x%x sets reserved bits", v);
	if (((lvt_timer >> 17) & 3) == LAPIC_TIMER_TSC_DEADLINE && (tmict || tmcct))
		return snap_fail(why, len, "LAPIC TMICT %u in TSC-deadline mode", tmict);
	if (tmcct > tmict)
		return snap_fail(why, len, "LAPIC TMCCT %u is above TMICT %u", tmcct, tmict);
	return 0;
}

int soft_lapic_load(struct soft_lapic *l, const u8 page[X86_LAPIC_PAGE], u64 now_ns, char *why,
		    size_t why_len)
{
	int err;
	bool x2;

	pthread_mutex_lock(&l->lock);
	err = lapic_page_check(l, page, why, why_len);
	if (err)
		goto out;
	x2 = lapic_x2apic(l);
	l->tpr = page_reg(page, REG_TPR);
	/* x2APIC mode derives LDR from the id and has no DFR (SDM 10.12.10.2). */
	if (!x2)
		l->ldr = page_reg(page, REG_LDR) & 0xFF000000;
	l->dfr = page_reg(page, REG_DFR) | 0x0FFFFFFF;
	l->svr = page_reg(page, REG_SVR);
	/* Errors not yet latched into ESR are not in the page. */
	l->esr = page_reg(page, REG_ESR);
	l->esr_pending = 0;
	for (unsigned i = 0; i < 8; i++) {
		l->isr[i] = page_reg(page, REG_ISR + i);
		l->tmr[i] = page_reg(page, REG_TMR + i);
		l->irr[i] = page_reg(page, REG_IRR + i);
	}
	l->icr_lo = page_reg(page, REG_ICR_LO) & ~(1u << 12); /* delivery status: idle */
	l->icr_hi = page_reg(page, REG_ICR_HI) & (x2 ? ~0u : 0xFF000000);
	for (unsigned i = 0; i < SOFT_LVT_NR; i++)
		l->lvt[i] = page_reg(page, REG_LVT + i) & lapic_lvt_writable[i];
	l->timer_dcr = page_reg(page, REG_TIMER_DCR);
	l->tsc_deadline = 0; /* the caller's IA32_TSC_DEADLINE write re-arms it */
	lapic_timer_resume_locked(l, page_reg(page, REG_TIMER_INITIAL),
				  page_reg(page, REG_TIMER_CURRENT), now_ns);
out:
	pthread_mutex_unlock(&l->lock);
	return err;
}
