/* Unit tests for the soft interrupt controllers' snapshot forms: save, encode, decode, load
 * elsewhere and later. */
#include "cpu/soft/irqchip/irqchip.h"

#include <errno.h>
#include <stdlib.h>

#include "core/bus.h"

#include "test.h"

/* xAPIC register offsets (SDM Vol. 3A Table 10-1). */
#define R_ID         0x20
#define R_TPR        0x80
#define R_EOI        0xB0
#define R_LDR        0xD0
#define R_DFR        0xE0
#define R_SVR        0xF0
#define R_ISR        0x100
#define R_TMR        0x180
#define R_IRR        0x200
#define R_ESR        0x280
#define R_CMCI       0x2F0
#define R_ICR_LO     0x300
#define R_ICR_HI     0x310
#define R_LVT_TIMER  0x320
#define R_LVT_LINT0  0x350
#define R_LVT_LINT1  0x360
#define R_LVT_ERROR  0x370
#define R_INIT_COUNT 0x380
#define R_CUR_COUNT  0x390
#define R_DCR        0x3E0

/* Two LAPICs behind the router, its ports and IOAPIC page on buses, a clock. */
struct rig {
	struct soft_apic_bus bus;
	struct soft_lapic l[2];
	struct soft_irq_route r;
	struct bus pio, mmio;
	u64 now;
	unsigned kicks[2];
};

static void rig_kick(void *opaque, unsigned id)
{
	((struct rig *)opaque)->kicks[id]++;
}

static const struct soft_apic_cpu_ops rig_cpu_ops = {.kick = rig_kick};

static u64 rig_clock(void *opaque)
{
	return ((struct rig *)opaque)->now;
}

static void rig_init(struct rig *t, u64 now)
{
	memset(t, 0, sizeof(*t));
	t->now = now;
	soft_apic_bus_init(&t->bus, &rig_cpu_ops, t);
	for (unsigned i = 0; i < 2; i++) {
		CHECK_EQ(soft_lapic_init(&t->l[i], &t->bus, i), 0);
		soft_lapic_mmio_write(&t->l[i], R_SVR, 4, 0x1FF, now); /* software enable */
	}
	CHECK_EQ(soft_irq_route_init(&t->r, &t->bus, 2, rig_clock, t), 0);
	bus_init(&t->pio, "pio", NULL);
	bus_init(&t->mmio, "mmio", NULL);
	CHECK_EQ(soft_irq_route_register(&t->r, &t->pio, &t->mmio), 0);
}

static void rig_destroy(struct rig *t)
{
	soft_irq_route_destroy(&t->r);
	for (unsigned i = 0; i < 2; i++)
		soft_lapic_destroy(&t->l[i]);
}

static void outb(struct rig *t, u16 port, u8 v)
{
	CHECK(bus_write(&t->pio, port, 1, v));
}

static u8 inb(struct rig *t, u16 port)
{
	u64 v = 0;

	CHECK(bus_read(&t->pio, port, 1, &v));
	return (u8)v;
}

static u32 io_read(struct rig *t, u64 off)
{
	u64 v = 0;

	CHECK(bus_read(&t->mmio, LAYOUT_IOAPIC + off, 4, &v));
	return (u32)v;
}

static void io_write(struct rig *t, u64 off, u32 v)
{
	CHECK(bus_write(&t->mmio, LAYOUT_IOAPIC + off, 4, v));
}

static void io_rte(struct rig *t, unsigned pin, u64 rte)
{
	io_write(t, 0, 0x11 + 2 * pin);
	io_write(t, 0x10, (u32)(rte >> 32));
	io_write(t, 0, 0x10 + 2 * pin);
	io_write(t, 0x10, (u32)rte);
}

static u64 io_get_rte(struct rig *t, unsigned pin)
{
	u64 v;

	io_write(t, 0, 0x10 + 2 * pin);
	v = io_read(t, 0x10);
	io_write(t, 0, 0x11 + 2 * pin);
	return v | (u64)io_read(t, 0x10) << 32;
}

static void route_eoi(struct rig *t, u8 vector)
{
	t->bus.irq->eoi(t->bus.irq_opaque, vector);
}

static u32 lrd(struct soft_lapic *l, unsigned off, u64 now)
{
	return (u32)soft_lapic_mmio_read(l, off, 4, now);
}

static void lwr(struct soft_lapic *l, unsigned off, u32 v, u64 now)
{
	soft_lapic_mmio_write(l, off, 4, v, now);
}

/* Saves src's chips at now, encodes and decodes them. */
static void save_decode(struct rig *src, u64 now, struct x86_irqchip_state *st)
{
	struct x86_irqchip_state saved;
	struct snap_out o, o2;
	struct snap_in in;

	soft_irqchip_save(&src->r, &saved, now);
	snap_out_init(&o);
	irqchip_state_encode(&saved, &o);
	CHECK_EQ(o.err, 0);
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(irqchip_state_decode(&in, st), 0);
	CHECK_EQ(snap_in_end(&in), 0);
	if (in.bad)
		printf("  decode: %s\n", in.why);
	/* The decoded state encodes to the same bytes. */
	snap_out_init(&o2);
	irqchip_state_encode(st, &o2);
	CHECK_EQ(o2.len, o.len);
	CHECK(o2.len == o.len && !memcmp(o2.buf, o.buf, o.len));
	snap_out_free(&o);
	snap_out_free(&o2);
}

static void load(struct rig *dst, const struct x86_irqchip_state *st)
{
	char why[160] = "";

	CHECK_EQ(soft_irqchip_load(&dst->r, st, dst->now, why, sizeof(why)), 0);
	if (why[0])
		printf("  load: %s\n", why);
}

/* ---- PIC and IOAPIC -------------------------------------------------------- */

/* What a guest reads from both 8259As and the ELCR. */
static void pic_view(struct rig *t, u8 v[8])
{
	v[0] = inb(t, 0x20); /* ISR: OCW3 selected it */
	v[1] = inb(t, 0x21);
	v[2] = inb(t, 0xA0); /* IRR */
	v[3] = inb(t, 0xA1);
	v[4] = inb(t, 0x4D0);
	v[5] = inb(t, 0x4D1);
	outb(t, 0x20, 0x0A); /* OCW3: read IRR */
	v[6] = inb(t, 0x20);
	outb(t, 0x20, 0x0B); /* back to ISR */
	v[7] = (u8)soft_pic_intr(&t->r.pic);
}

/* Every IOAPIC register through IOWIN, then IOREGSEL restored. */
static void ioapic_view(struct rig *t, u32 v[0x41])
{
	u32 sel = io_read(t, 0);

	v[0x40] = sel;
	for (u32 reg = 0; reg < 0x40; reg++) {
		io_write(t, 0, reg);
		v[reg] = io_read(t, 0x10);
	}
	io_write(t, 0, sel);
}

static void test_pic_ioapic_round_trip(void)
{
	const u64 T = 7654321, T2 = 3000000123ULL;
	struct x86_irqchip_state st;
	struct rig a, b;
	u8 pa[8], pb[8];
	u32 ia[0x41], ib[0x41];

	rig_init(&a, 1000);
	/* Both 8259As as Linux sets them up (ICW1-4), IRQ9 level through the ELCR. */
	outb(&a, 0x20, 0x11);
	outb(&a, 0x21, 0x20);
	outb(&a, 0x21, 0x04);
	outb(&a, 0x21, 0x01);
	outb(&a, 0xA0, 0x11);
	outb(&a, 0xA1, 0x28);
	outb(&a, 0xA1, 0x02);
	outb(&a, 0xA1, 0x01);
	outb(&a, 0x4D1, 0x02);
	outb(&a, 0x21, 0xB8); /* IRQ0, 1, 2, 6 */
	outb(&a, 0xA1, 0xFD); /* IRQ9 */
	/* IRQ1 in service, then IR5 made the lowest priority (OCW2 set
	 * priority), so IRQ6 now beats it: INT is up when saved. */
	soft_irq_route_set(&a.r, 1, true);
	soft_irq_route_set(&a.r, 1, false);
	CHECK_EQ(soft_lapic_pending_vector(&a.l[0]), SOFT_LAPIC_EXTINT);
	CHECK_EQ(soft_lapic_ack(&a.l[0]), 0x21);
	outb(&a, 0x20, 0xC5);
	soft_irq_route_set(&a.r, 6, true);
	soft_irq_route_set(&a.r, 6, false);
	soft_irq_route_set(&a.r, 9, true);
	outb(&a, 0x20, 0x0B); /* OCW3: reads give ISR */
	CHECK(soft_pic_intr(&a.r.pic));
	/* IOAPIC: id 5, edge and level entries, a masked one; GSI 10 held high
	 * and delivered, so its Remote IRR is set. */
	io_write(&a, 0, 0);
	io_write(&a, 0x10, 5u << 24);
	io_rte(&a, 4, (1ull << 56) | 0x34);
	io_rte(&a, 10, (1ull << 56) | 0x803A);
	io_rte(&a, 20, 0x18044);
	io_rte(&a, 2, (1ull << 56) | 0x32);
	soft_irq_route_set(&a.r, 10, true);
	soft_irq_route_set(&a.r, 20, true);
	CHECK(io_get_rte(&a, 10) & SOFT_IOAPIC_RTE_REMOTE_IRR);
	io_write(&a, 0, 0x25);

	a.now = T;
	save_decode(&a, T, &st);
	rig_init(&b, T2);
	CHECK_EQ(soft_lapic_pending_vector(&b.l[0]), -1);
	load(&b, &st);

	/* INT and LINT0 follow from the loaded registers. */
	CHECK(soft_pic_intr(&b.r.pic));
	CHECK_EQ(b.kicks[0], 1);
	CHECK_EQ(soft_lapic_pending_vector(&b.l[0]), SOFT_LAPIC_EXTINT);
	CHECK_EQ(b.r.gsi_levels, a.r.gsi_levels);
	CHECK_EQ(b.r.gsi_levels, (1u << 9) | (1u << 10) | (1u << 20));
	pic_view(&a, pa);
	pic_view(&b, pb);
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(pb[i], pa[i]);
	CHECK_EQ(pb[0], 0x02); /* ISR: IRQ1 */
	ioapic_view(&a, ia);
	ioapic_view(&b, ib);
	for (unsigned i = 0; i < 0x41; i++)
		CHECK_EQ(ib[i], ia[i]);
	CHECK_EQ(ib[0], 5u << 24);
	CHECK_EQ(ib[0x40], 0x25);

	/* The same interrupts come out in the same order: IRQ6 (rotated above
	 * IRQ1), then after two EOIs the slave's IRQ9 through the cascade. */
	for (struct rig *t = &a; t; t = t == &a ? &b : NULL) {
		CHECK_EQ(soft_lapic_ack(&t->l[0]), 0x26);
		CHECK_EQ(soft_lapic_pending_vector(&t->l[0]), -1);
		outb(t, 0x20, 0x20); /* non-specific EOI: IRQ6, the highest in service */
		CHECK_EQ(soft_lapic_pending_vector(&t->l[0]), -1);
		outb(t, 0x20, 0x20); /* IRQ1 */
		CHECK_EQ(soft_lapic_pending_vector(&t->l[0]), SOFT_LAPIC_EXTINT);
		CHECK_EQ(soft_lapic_ack(&t->l[0]), 0x29);
	}

	/* The level line still up: an EOI of its vector delivers it again. */
	CHECK_EQ(soft_lapic_pending_vector(&b.l[1]), -1);
	route_eoi(&b, 0x3A);
	CHECK_EQ(soft_lapic_pending_vector(&b.l[1]), 0x3A);
	CHECK(io_get_rte(&b, 10) & SOFT_IOAPIC_RTE_REMOTE_IRR);
	for (struct rig *t = &a; t; t = t == &a ? &b : NULL) {
		soft_irq_route_set(&t->r, 10, false);
		route_eoi(t, 0x3A);
		CHECK_EQ(io_get_rte(t, 10) & SOFT_IOAPIC_RTE_REMOTE_IRR, 0);
	}
	/* The masked level pin 20 delivers once unmasked, on both. */
	io_rte(&a, 20, 0x8044);
	io_rte(&b, 20, 0x8044);
	CHECK_EQ(lrd(&a.l[0], R_IRR + 0x20, a.now) & (1u << 4), 1u << 4);
	CHECK_EQ(lrd(&b.l[0], R_IRR + 0x20, b.now) & (1u << 4), 1u << 4);
	rig_destroy(&a);
	rig_destroy(&b);
}

/* A PIC whose INT is low when saved lowers LINT0 on the load. */
static void test_pic_intr_low(void)
{
	struct x86_irqchip_state st;
	struct rig a, b;

	rig_init(&a, 0);
	save_decode(&a, 0, &st);
	rig_init(&b, 0);
	outb(&b, 0x21, 0x00);
	soft_irq_route_set(&b.r, 3, true);
	CHECK_EQ(soft_lapic_pending_vector(&b.l[0]), SOFT_LAPIC_EXTINT);
	load(&b, &st);
	CHECK(!soft_pic_intr(&b.r.pic));
	CHECK_EQ(soft_lapic_pending_vector(&b.l[0]), -1);
	/* LINT0 is told INT's level even where the PIC's own copy did not
	 * change (here the LAPIC was reset under it). */
	outb(&a, 0x21, 0x00);
	soft_irq_route_set(&a.r, 3, true);
	save_decode(&a, 0, &st);
	outb(&b, 0x21, 0x00);
	soft_irq_route_set(&b.r, 3, true);
	CHECK(soft_pic_intr(&b.r.pic));
	soft_lapic_reset(&b.l[0]);
	CHECK_EQ(soft_lapic_pending_vector(&b.l[0]), -1);
	load(&b, &st);
	CHECK_EQ(soft_lapic_pending_vector(&b.l[0]), SOFT_LAPIC_EXTINT);
	rig_destroy(&a);
	rig_destroy(&b);
}

/* ---- PIT ------------------------------------------------------------------- */

/* A rig whose IRQ0 reaches LAPIC 1 as vector 0x32 (IOAPIC pin 2). */
static void rig_init_irq0(struct rig *t, u64 now)
{
	rig_init(t, now);
	io_rte(t, 2, (1ull << 56) | 0x32);
}

/* Channel 0 in mode 2, 4096 clocks a period from t->now: its first edge. */
static u64 pit_start_mode2(struct rig *t)
{
	outb(t, 0x43, 0x34);
	outb(t, 0x40, 0x00);
	outb(t, 0x40, 0x10);
	return soft_irq_route_next_deadline(&t->r);
}

struct pit_view {
	u8 port61;
	u32 count[3];
	bool out[3];
	u64 next; /* ns from the view's time to the next IRQ0 */
};

static void pit_view(struct rig *t, struct pit_view *v)
{
	u64 d = soft_irq_route_next_deadline(&t->r);

	v->port61 = inb(t, 0x61) & ~0x10; /* bit 4 toggles with absolute time */
	for (unsigned ch = 0; ch < 3; ch++) {
		v->count[ch] = soft_pit_count(&t->r.pit, ch, t->now);
		v->out[ch] = soft_pit_out(&t->r.pit, ch, t->now);
	}
	v->next = d == UINT64_MAX ? d : d - t->now;
}

static void check_pit_views(struct rig *a, struct rig *b)
{
	struct pit_view va, vb;

	pit_view(a, &va);
	pit_view(b, &vb);
	CHECK_EQ(vb.port61, va.port61);
	for (unsigned ch = 0; ch < 3; ch++) {
		CHECK_EQ(vb.count[ch], va.count[ch]);
		CHECK_EQ(vb.out[ch], va.out[ch]);
	}
	CHECK_EQ(vb.next, va.next);
}

static void test_pit_round_trip(void)
{
	const u64 t0 = 1000123, T = t0 + 7777777, T2 = T + 5000004321ULL;
	const u32 n0 = 3000;
	static const u64 steps[] = {0, 1, 700, 838, 839, 123457, 4000000};
	struct x86_irqchip_state st;
	struct rig a, b;
	u8 ra[7], rb[7], lsb;
	u64 d, da, db;
	unsigned ka, kb;

	rig_init_irq0(&a, t0);
	/* Channel 0: Linux's periodic tick, mode 2. */
	outb(&a, 0x43, 0x34);
	outb(&a, 0x40, n0 & 0xFF);
	outb(&a, 0x40, n0 >> 8);
	/* Channel 2: mode 0 with its gate up, as for calibration. */
	outb(&a, 0x61, 0x01);
	outb(&a, 0x43, 0xB0);
	outb(&a, 0x42, 0x00);
	outb(&a, 0x42, 0x80);
	/* Edges fire up to the middle of a period. */
	for (d = soft_irq_route_next_deadline(&a.r); d <= T; d = soft_irq_route_next_deadline(&a.r))
		soft_irq_route_tick(&a.r, d);
	CHECK(a.kicks[1] > 0);
	/* Channel 2's count latched, its LSB read; channel 0's status latched. */
	a.now = t0 + 3333333;
	outb(&a, 0x43, 0x80);
	lsb = inb(&a, 0x42);
	outb(&a, 0x43, 0xE2);

	a.now = T;
	save_decode(&a, T, &st);
	CHECK_EQ(st.pit[2].latch_left, 1);
	CHECK(st.pit[0].status_latched);
	CHECK(st.pit[0].irq_armed);
	rig_init_irq0(&b, T2);
	load(&b, &st);
	/* Counts, OUT pins and the next IRQ0 agree at the same time after the
	 * save and the load, to the ns: no jump by T2 - T. */
	for (unsigned i = 0; i < ARRAY_SIZE(steps); i++) {
		a.now = T + steps[i];
		b.now = T2 + steps[i];
		check_pit_views(&a, &b);
	}
	/* The port reads a guest makes, including the latches. */
	a.now = T + 5000;
	b.now = T2 + 5000;
	for (struct rig *t = &a; t; t = t == &a ? &b : NULL) {
		u8 *r = t == &a ? ra : rb;

		r[0] = inb(t, 0x42); /* the latch's MSB */
		r[1] = inb(t, 0x40); /* status */
		r[2] = inb(t, 0x40);
		r[3] = inb(t, 0x40);
		r[4] = inb(t, 0x42);
		r[5] = inb(t, 0x42);
		r[6] = inb(t, 0x41);
	}
	for (unsigned i = 0; i < 7; i++)
		CHECK_EQ(rb[i], ra[i]);
	/* 3333333 ns: 3977 clocks, so 0x8000 - 3977 = 0x7077 was latched. */
	CHECK_EQ(lsb, 0x77);
	CHECK_EQ(ra[0], 0x70);
	CHECK_EQ(ra[1], 0xB4); /* OUT high, lo/hi, mode 2, binary */
	/* The next interrupt comes the same time after the load as after the
	 * save, not before, and then every n0 clocks on both. */
	for (unsigned round = 0; round < 3; round++) {
		da = soft_irq_route_next_deadline(&a.r);
		db = soft_irq_route_next_deadline(&b.r);
		CHECK_EQ(db - T2, da - T);
		ka = a.kicks[1];
		kb = b.kicks[1];
		soft_irq_route_tick(&a.r, da - 1);
		soft_irq_route_tick(&b.r, db - 1);
		CHECK_EQ(a.kicks[1], ka);
		CHECK_EQ(b.kicks[1], kb);
		soft_irq_route_tick(&a.r, da);
		soft_irq_route_tick(&b.r, db);
		CHECK_EQ(a.kicks[1], ka + 1);
		CHECK_EQ(b.kicks[1], kb + 1);
		CHECK_EQ(soft_lapic_ack(&b.l[1]), 0x32);
		lwr(&b.l[1], R_EOI, 0, db);
	}
	rig_destroy(&a);
	rig_destroy(&b);
}

/* An edge due but not yet fired when saved fires at once after the load. */
static void test_pit_due_edge(void)
{
	struct x86_irqchip_state st;
	struct rig a, b;
	u64 d;

	rig_init_irq0(&a, 0);
	d = pit_start_mode2(&a);
	a.now = d + 500;
	save_decode(&a, a.now, &st);
	rig_init_irq0(&b, 2 * d);
	load(&b, &st);
	CHECK(soft_irq_route_next_deadline(&b.r) <= b.now);
	soft_irq_route_tick(&a.r, a.now);
	soft_irq_route_tick(&b.r, b.now);
	CHECK_EQ(soft_lapic_pending_vector(&b.l[1]), 0x32);
	CHECK_EQ(soft_irq_route_next_deadline(&b.r) - b.now,
		 soft_irq_route_next_deadline(&a.r) - a.now);
	rig_destroy(&a);
	rig_destroy(&b);
}

/* A load whose guest clock is behind the saved run (engine.h promises it is
 * not): the count still goes on from where it was, a due edge still fires. */
static void test_pit_clock_behind(void)
{
	struct x86_irqchip_state st;
	struct rig a, b;
	u64 d;

	rig_init_irq0(&a, 0);
	d = pit_start_mode2(&a);
	a.now = 3 * d + 500; /* three edges due, none fired */
	save_decode(&a, a.now, &st);
	rig_init_irq0(&b, 1000);
	load(&b, &st);
	CHECK(soft_pit_count(&b.r.pit, 0, b.now) + 1 >= soft_pit_count(&a.r.pit, 0, a.now));
	CHECK(soft_pit_count(&b.r.pit, 0, b.now) <= soft_pit_count(&a.r.pit, 0, a.now) + 1);
	CHECK(soft_irq_route_next_deadline(&b.r) <= b.now);
	soft_irq_route_tick(&b.r, b.now);
	CHECK_EQ(soft_lapic_pending_vector(&b.l[1]), 0x32);
	CHECK(soft_irq_route_next_deadline(&b.r) > b.now);
	rig_destroy(&a);
	rig_destroy(&b);
}

/* ---- LAPIC ----------------------------------------------------------------- */

static void lapic_save(struct soft_lapic *l, u8 page[X86_LAPIC_PAGE], u64 now)
{
	soft_lapic_save(l, page, now);
}

static int lapic_load(struct soft_lapic *l, const u8 page[X86_LAPIC_PAGE], u64 now, char *why)
{
	return soft_lapic_load(l, page, now, why, 160);
}

/* Every register of a and b reads the same at offsets d after Ta and Tb. */
static void check_lapic_regs(struct soft_lapic *a, u64 ta, struct soft_lapic *b, u64 tb)
{
	for (unsigned off = 0; off < X86_LAPIC_PAGE; off += 0x10) {
		u32 va = lrd(a, off, ta), vb = lrd(b, off, tb);

		if (va != vb)
			printf("  LAPIC register 0x%03x: 0x%x, was 0x%x\n", off, vb, va);
		CHECK_EQ(vb, va);
	}
}

static void test_lapic_periodic_round_trip(void)
{
	const u64 t0 = 2000000, period = 100000 * 16, T = t0 + period + period / 2 + 777;
	const u64 T2 = T + 987654321;
	static const u64 steps[] = {0, 16, 160000, 799984, 800000};
	u8 page[X86_LAPIC_PAGE];
	struct rig a, b;
	struct soft_lapic *la = &a.l[1], *lb = &b.l[1];
	char why[160] = "";
	u64 da, db;
	int va, vb;

	rig_init(&a, t0);
	lwr(la, R_TPR, 0x20, t0);
	lwr(la, R_LDR, 0x03000000, t0);
	lwr(la, R_DFR, 0x0FFFFFFF, t0);  /* cluster model */
	lwr(la, R_LVT_LINT1, 0x400, t0); /* NMI */
	lwr(la, R_LVT_ERROR, 0xFE, t0);
	lwr(la, R_ICR_HI, 0, t0);
	lwr(la, R_ICR_LO, 0x05, t0); /* illegal vector: a send error */
	lwr(la, R_ESR, 0, t0);
	lwr(la, R_ICR_LO, 0x4F0, t0); /* NMI to APIC 0, stays in ICR */
	lwr(la, R_DCR, 0x3, t0);      /* divide by 16 */
	lwr(la, R_LVT_TIMER, 0x20040, t0);
	lwr(la, R_INIT_COUNT, 100000, t0);
	soft_lapic_tick(la, t0 + period);
	soft_lapic_set_irq(la, 0x62, true);
	CHECK_EQ(soft_lapic_ack(la), 0xFE); /* the error interrupt first */
	lwr(la, R_EOI, 0, t0 + period);
	CHECK_EQ(soft_lapic_ack(la), 0x62);
	soft_lapic_set_irq(la, 0x51, false);
	soft_lapic_set_irq(la, 0x33, true);
	CHECK_EQ(lrd(la, R_ESR, T), 0x20);

	lapic_save(la, page, T);
	CHECK_EQ(x86_lapic_reg(page, R_ID), 1u << 24);
	CHECK_EQ(x86_lapic_reg(page, R_CUR_COUNT), 50000 - 48); /* 777 ns into the half */
	rig_init(&b, T2);
	CHECK_EQ(lapic_load(lb, page, T2, why), 0);
	if (why[0])
		printf("  load: %s\n", why);
	/* What the guest reads, TMCCT and PPR included, at the same times
	 * after the save and the load (whole timer ticks: the page keeps the
	 * count, not the ns within a tick of the divided clock). */
	for (unsigned i = 0; i < ARRAY_SIZE(steps); i++)
		check_lapic_regs(la, T + steps[i], lb, T2 + steps[i]);
	/* The next expiry: as far after the load as after the save, to within
	 * one tick of the divided clock (16 ns). */
	da = soft_lapic_next_deadline(la) - T;
	db = soft_lapic_next_deadline(lb) - T2;
	CHECK(db >= da && db - da < 16);
	CHECK(da < period);
	soft_lapic_tick(lb, T2 + db - 1);
	CHECK_EQ(lrd(lb, R_IRR + 0x20, T2) & 1, 1); /* 0x40: the first expiry's, still pending */
	/* The interrupts come out in the same order on both. */
	for (unsigned i = 0; i < 6; i++) {
		va = soft_lapic_ack(la);
		vb = soft_lapic_ack(lb);
		CHECK_EQ(vb, va);
		CHECK_EQ(va, ((const int[]){0xFF, 0x51, 0x40, 0x33, 0xFF, 0xFF})[i]);
		lwr(la, R_EOI, 0, T);
		lwr(lb, R_EOI, 0, T2);
	}
	/* Then the timer fires on time, every period. */
	soft_lapic_tick(lb, T2 + db - 1);
	CHECK_EQ(soft_lapic_pending_vector(lb), -1);
	soft_lapic_tick(lb, T2 + db);
	CHECK_EQ(soft_lapic_pending_vector(lb), 0x40);
	CHECK_EQ(soft_lapic_next_deadline(lb), T2 + db + period);
	rig_destroy(&a);
	rig_destroy(&b);
}

static void test_lapic_oneshot(void)
{
	u8 page[X86_LAPIC_PAGE];
	struct rig a, b;
	char why[160];

	rig_init(&a, 0);
	lwr(&a.l[0], R_DCR, 0xB, 0); /* divide by 1 */
	lwr(&a.l[0], R_LVT_TIMER, 0x45, 0);
	lwr(&a.l[0], R_INIT_COUNT, 50000, 100);
	lapic_save(&a.l[0], page, 20100);
	CHECK_EQ(x86_lapic_reg(page, R_CUR_COUNT), 30000);
	rig_init(&b, 0);
	CHECK_EQ(lapic_load(&b.l[0], page, 9000000, why), 0);
	CHECK_EQ(lrd(&b.l[0], R_CUR_COUNT, 9000000), 30000);
	CHECK_EQ(lrd(&b.l[0], R_INIT_COUNT, 9000000), 50000);
	CHECK_EQ(soft_lapic_next_deadline(&b.l[0]), 9030000);
	soft_lapic_tick(&b.l[0], 9029999);
	CHECK_EQ(soft_lapic_pending_vector(&b.l[0]), -1);
	soft_lapic_tick(&b.l[0], 9030000);
	CHECK_EQ(soft_lapic_pending_vector(&b.l[0]), 0x45);
	CHECK_EQ(soft_lapic_next_deadline(&b.l[0]), UINT64_MAX);
	/* Loaded at a guest time before the count's start would be: it still
	 * runs out when the saved count would have. */
	CHECK_EQ(lapic_load(&b.l[0], page, 5000, why), 0);
	CHECK_EQ(soft_lapic_next_deadline(&b.l[0]), 35000);
	/* Saved after the expiry, before the vCPU's tick: the interrupt is in
	 * the page's IRR, and the loaded timer is done. */
	lapic_save(&a.l[0], page, 60000);
	CHECK_EQ(x86_lapic_reg(page, R_CUR_COUNT), 0);
	CHECK_EQ(x86_lapic_reg(page, R_IRR + 0x20), 1u << 5);
	rig_destroy(&b);
	rig_init(&b, 0);
	CHECK_EQ(lapic_load(&b.l[0], page, 70000, why), 0);
	CHECK_EQ(soft_lapic_next_deadline(&b.l[0]), UINT64_MAX);
	CHECK_EQ(lrd(&b.l[0], R_CUR_COUNT, 70000), 0);
	CHECK_EQ(soft_lapic_pending_vector(&b.l[0]), 0x45);
	rig_destroy(&a);
	rig_destroy(&b);
}

/* x2APIC mode: the page's ID stays in bits 31:24; LDR is derived. */
static void test_lapic_x2apic(void)
{
	u8 page[X86_LAPIC_PAGE];
	struct rig a, b;
	char why[160];
	u64 v;

	rig_init(&a, 0);
	CHECK_EQ(soft_lapic_set_base(&a.l[1], 0xFEE00C00), 0);
	CHECK_EQ(soft_lapic_msr_write(&a.l[1], 0x808, 0x30, 0), 0);                 /* TPR */
	CHECK_EQ(soft_lapic_msr_write(&a.l[1], 0x830, (7ull << 32) | 0x4F0, 0), 0); /* ICR */
	lapic_save(&a.l[1], page, 0);
	CHECK_EQ(x86_lapic_reg(page, R_ID), 1u << 24);
	CHECK_EQ(x86_lapic_reg(page, R_LDR), 2);
	CHECK_EQ(x86_lapic_reg(page, R_ICR_HI), 7);
	rig_init(&b, 0);
	CHECK_EQ(soft_lapic_set_base(&b.l[1], 0xFEE00C00), 0);
	CHECK_EQ(lapic_load(&b.l[1], page, 0, why), 0);
	CHECK_EQ(soft_lapic_msr_read(&b.l[1], 0x808, 0, &v), 0);
	CHECK_EQ(v, 0x30);
	CHECK_EQ(soft_lapic_msr_read(&b.l[1], 0x830, 0, &v), 0);
	CHECK_EQ(v, (7ull << 32) | 0x4F0);
	CHECK_EQ(soft_lapic_msr_read(&b.l[1], 0x802, 0, &v), 0);
	CHECK_EQ(v, 1);
	rig_destroy(&a);
	rig_destroy(&b);
}

/* Pages this LAPIC cannot hold: refused with a reason, nothing changed. */
static void test_lapic_damage(void)
{
	static const struct {
		unsigned off;
		u32 value;
		const char *want;
	} bad[] = {
	    {R_ID, 0, "APIC id 0, loaded into APIC id 1"},
	    {R_TPR, 0x100, "TPR"},
	    {R_SVR, 0x11FF, "SVR"},
	    {R_ESR, 0x100, "ESR"},
	    {R_IRR, 0x20, "IRR holds vectors below 16"},
	    {R_ISR, 0x8000, "ISR holds"},
	    {R_TMR + 0x70, 0, NULL}, /* (a good one) */
	    {R_LVT_TIMER, 0x80040, "LVT timer"},
	    {R_LVT_ERROR, 0x4000, "LVT error"},
	    {R_CMCI, 0xF4, "CMCI"},
	    {R_DCR, 0x4, "TDCR"},
	    {R_LVT_TIMER, 0x40040, "TSC-deadline"},
	    {R_CUR_COUNT, 100001, "TMCCT 100001 is above TMICT 100000"},
	};
	u8 good[X86_LAPIC_PAGE], page[X86_LAPIC_PAGE], after[X86_LAPIC_PAGE];
	struct rig a;
	char why[160];

	rig_init(&a, 0);
	lwr(&a.l[1], R_LVT_TIMER, 0x20040, 0);
	lwr(&a.l[1], R_INIT_COUNT, 100000, 0);
	lwr(&a.l[1], R_TPR, 0x10, 0);
	lapic_save(&a.l[1], good, 1000);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(page, good, sizeof(page));
		x86_lapic_set_reg(page, bad[i].off, bad[i].value);
		why[0] = 0;
		if (!bad[i].want) {
			CHECK_EQ(lapic_load(&a.l[1], page, 1000, why), 0);
			continue;
		}
		CHECK_EQ(lapic_load(&a.l[1], page, 1000, why), -EINVAL);
		if (!strstr(why, bad[i].want))
			printf("  case %u: \"%s\", not \"%s\"\n", i, why, bad[i].want);
		CHECK(strstr(why, bad[i].want));
		lapic_save(&a.l[1], after, 1000);
		CHECK(!memcmp(after, good, sizeof(after)));
	}
	/* Errors not yet latched into ESR are not in the page: a load drops
	 * them. */
	lwr(&a.l[1], R_ICR_LO, 0x07, 1000);
	CHECK_EQ(lapic_load(&a.l[1], good, 1000, why), 0);
	lwr(&a.l[1], R_ESR, 0, 1000);
	CHECK_EQ(lrd(&a.l[1], R_ESR, 1000), 0);
	/* LINT0's remote IRR and a delivery status are read-only state: taken. */
	memcpy(page, good, sizeof(page));
	x86_lapic_set_reg(page, R_LVT_LINT0, 0x15700);
	x86_lapic_set_reg(page, R_ICR_LO, 0x10F0);
	CHECK_EQ(lapic_load(&a.l[1], page, 1000, why), 0);
	CHECK_EQ(lrd(&a.l[1], R_LVT_LINT0, 1000), 0x10700);
	CHECK_EQ(lrd(&a.l[1], R_ICR_LO, 1000), 0xF0);
	rig_destroy(&a);
}

/* ---- Damaged states ---------------------------------------------------------- */

/* Damage number i done to s; the reason it must be refused with, or NULL
 * past the last. */
static const char *damage(struct x86_irqchip_state *s, unsigned i)
{
	struct x86_pic_chip_state *m = &s->pic[0], *sl = &s->pic[1];
	struct x86_pit_channel_state *c0 = &s->pit[0], *c1 = &s->pit[1], *c2 = &s->pit[2];

	switch (i) {
	case 0:
		s->ioapic.id = 16;
		return "IOAPIC id 16 is above 15";
	case 1:
		s->ioapic.ioregsel = 0x100;
		return "IOREGSEL 0x100";
	case 2:
		s->ioapic.lines = 1u << 24;
		return "lines 0x1000000 include pins above 23";
	case 3:
		s->ioapic.rte[7] |= 1ull << 40;
		return "pin 7 entry 0x10000010000 sets reserved bits";
	case 4:
		s->ioapic.rte[4] |= 1ull << 14;
		return "pin 4 is edge-triggered with Remote IRR";
	case 5:
		m->icw_step = 1;
		return "PIC master expects ICW1";
	case 6:
		sl->icw_step = 5;
		return "PIC slave expects ICW5";
	case 7:
		m->icw_step = 3;
		m->single = true;
		return "ICW3 in single mode";
	case 8:
		m->icw_step = 4;
		m->icw4_needed = false;
		return "an ICW4 that ICW1 did not ask for";
	case 9:
		sl->prio_add = 8;
		return "IR8 is not an input";
	case 10:
		m->base = 0x21;
		return "0x21 is not a multiple of 8";
	case 11:
		m->elcr = 0x01;
		return "ELCR 0x01 sets bits outside its mask 0xf8";
	case 12:
		c0->mode = 6;
		return "channel 0 mode 6";
	case 13:
		c2->rw = 4;
		return "channel 2 access mode 4";
	case 14:
		c1->armed = true;
		c1->count = 5;
		return "channel 1 holds a count but no access mode";
	case 15:
		c0->count = 65537;
		return "count 65537 is above 65536";
	case 16:
		c2->bcd = true;
		c2->count = 10001;
		c2->status = (u8)(c2->status | 1);
		return "count 10001 is above 10000";
	case 17:
		c2->count = 0;
		return "armed with a count of 0";
	case 18:
		c0->armed = false;
		return "channel 0 counts with no count written";
	case 19:
		c2->running = false;
		return "stopped in a run of";
	case 20:
		c0->rw = 1;
		c0->write_msb = true;
		c0->status = (u8)((c0->status & ~0x30) | 0x10);
		return "waits for an MSB in access mode 1";
	case 21:
		c2->latch_left = 3;
		return "3 latched bytes";
	case 22:
		c2->rw = 2;
		c2->latch_left = 2;
		return "2 latched bytes in access mode 2";
	case 23:
		c2->bcd = true;
		c2->count = 8000;
		c2->latch = 0x1A00;
		return "latched 0x1a00, not BCD";
	case 24:
		c0->status = 0x36;
		return "latched status 0x36 disagrees";
	case 25:
		c2->irq_armed = true;
		return "channel 2 has an interrupt armed";
	case 26:
		c0->running = false;
		c0->run_ns = 0;
		return "interrupt armed but is stopped";
	case 27:
		c0->irq_tick = x86_pit_ticks(c0) + 65538;
		return "interrupt 65538 clocks ahead";
	case 28:
		s->port61 = 0x11;
		return "port 0x61 0x11 sets bits above 3";
	case 29:
		s->port61 = 0x02;
		return "channel 2 gate 1 disagrees with port 0x61 0x02";
	}
	return NULL;
}

static struct rig *damage_rig(struct x86_irqchip_state *st)
{
	static struct rig a;

	rig_init(&a, 100);
	outb(&a, 0x20, 0x11);
	outb(&a, 0x21, 0x20);
	outb(&a, 0x21, 0x04);
	outb(&a, 0x21, 0x01);
	io_rte(&a, 4, 0x34);
	outb(&a, 0x43, 0x34);
	outb(&a, 0x40, 0x00);
	outb(&a, 0x40, 0x10);
	outb(&a, 0x43, 0xE2); /* channel 0's status latched */
	outb(&a, 0x61, 0x01);
	outb(&a, 0x43, 0xB0);
	outb(&a, 0x42, 0x00);
	outb(&a, 0x42, 0x20);
	outb(&a, 0x43, 0x80); /* channel 2's count latched */
	soft_irqchip_save(&a.r, st, 5000);
	return &a;
}

static int decode_bytes(const void *p, size_t len, char *why)
{
	struct x86_irqchip_state st;
	struct snap_in in;
	int err;

	snap_in_init(&in, p, len);
	err = irqchip_state_decode(&in, &st);
	if (!err)
		err = snap_in_end(&in);
	snprintf(why, 160, "%s", in.why);
	return err;
}

static void test_decode_damage(void)
{
	struct x86_irqchip_state good, st;
	struct rig *a = damage_rig(&good);
	struct snap_out o;
	const char *want;
	char why[160];
	u8 *buf;

	snap_out_init(&o);
	irqchip_state_encode(&good, &o);
	CHECK_EQ(decode_bytes(o.buf, o.len, why), 0);
	/* Truncated anywhere, and one byte too many. */
	for (size_t n = 0; n < o.len; n += n < 16 ? 1 : 37) {
		CHECK_EQ(decode_bytes(o.buf, n, why), -EINVAL);
		CHECK(strstr(why, "truncated"));
	}
	CHECK_EQ(decode_bytes(o.buf, o.len - 1, why), -EINVAL);
	buf = calloc(1, o.len + 1);
	memcpy(buf, o.buf, o.len);
	CHECK_EQ(decode_bytes(buf, o.len + 1, why), -EINVAL);
	CHECK(strstr(why, "1 bytes left over"));
	/* Another IOAPIC size; a flag that is not 0 or 1 (master's icw4_needed,
	 * after 208 bytes of IOAPIC and 9 of the master's registers). */
	buf[0] = 23;
	CHECK_EQ(decode_bytes(buf, o.len, why), -EINVAL);
	CHECK(strstr(why, "an IOAPIC with 23 pins; this machine's has 24"));
	buf[0] = 24;
	buf[208 + 9] = 2;
	CHECK_EQ(decode_bytes(buf, o.len, why), -EINVAL);
	CHECK(strstr(why, "a flag holds 2"));
	free(buf);
	snap_out_free(&o);
	/* Each value no chip could hold, refused by decoding and by the load. */
	for (unsigned i = 0; (st = good, want = damage(&st, i)); i++) {
		struct x86_irqchip_state after;
		struct snap_out o2;

		snap_out_init(&o2);
		irqchip_state_encode(&st, &o2);
		why[0] = 0;
		CHECK_EQ(decode_bytes(o2.buf, o2.len, why), -EINVAL);
		if (!strstr(why, want))
			printf("  damage %u: \"%s\", not \"%s\"\n", i, why, want);
		CHECK(strstr(why, want));
		snap_out_free(&o2);
		why[0] = 0;
		CHECK_EQ(soft_irqchip_load(&a->r, &st, 5000, why, sizeof(why)), -EINVAL);
		CHECK(strstr(why, want));
		soft_irqchip_save(&a->r, &after, 5000);
		CHECK(!memcmp(&after, &good, sizeof(after)));
	}
	rig_destroy(a);
}

/* What this machine's wiring fixes: refused by the soft load only. */
static void test_load_wiring(void)
{
	struct x86_irqchip_state good, st;
	struct rig *a = damage_rig(&good);
	char why[160];

	st = good;
	st.pic[1].elcr_mask = 0xFF;
	CHECK_EQ(soft_irqchip_load(&a->r, &st, 5000, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "PIC slave ELCR mask 0xff; this machine's is 0xde"));
	st = good;
	st.pit[1].gate = false;
	CHECK_EQ(soft_irqchip_load(&a->r, &st, 5000, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "PIT channel 1 gate is low"));
	CHECK_EQ(soft_irqchip_load(&a->r, &good, 5000, why, sizeof(why)), 0);
	/* A delivery status (another engine's) reads idle here. */
	st = good;
	st.ioapic.rte[4] |= SOFT_IOAPIC_RTE_DELIVS;
	CHECK_EQ(soft_irqchip_load(&a->r, &st, 5000, why, sizeof(why)), 0);
	CHECK_EQ(io_get_rte(a, 4), 0x34);
	rig_destroy(a);
}

int main(void)
{
	TEST_RUN(test_pic_ioapic_round_trip);
	TEST_RUN(test_pic_intr_low);
	TEST_RUN(test_pit_round_trip);
	TEST_RUN(test_pit_due_edge);
	TEST_RUN(test_pit_clock_behind);
	TEST_RUN(test_lapic_periodic_round_trip);
	TEST_RUN(test_lapic_oneshot);
	TEST_RUN(test_lapic_x2apic);
	TEST_RUN(test_lapic_damage);
	TEST_RUN(test_decode_damage);
	TEST_RUN(test_load_wiring);
	return test_done();
}
