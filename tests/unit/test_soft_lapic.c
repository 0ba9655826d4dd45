/* Unit tests for the soft engine's local APIC: priorities, EOI, timer, IPIs, x2APIC. */
#include "cpu/soft/irqchip/lapic.h"

#include <pthread.h>

#include "test.h"

/* xAPIC register offsets used here (SDM Table 10-1). */
#define R_ID         0x20
#define R_VER        0x30
#define R_TPR        0x80
#define R_PPR        0xA0
#define R_EOI        0xB0
#define R_LDR        0xD0
#define R_DFR        0xE0
#define R_SVR        0xF0
#define R_ISR        0x100
#define R_TMR        0x180
#define R_IRR        0x200
#define R_ESR        0x280
#define R_ICR_LO     0x300
#define R_ICR_HI     0x310
#define R_LVT_TIMER  0x320
#define R_LVT_LINT0  0x350
#define R_LVT_ERROR  0x370
#define R_INIT_COUNT 0x380
#define R_CUR_COUNT  0x390
#define R_DCR        0x3E0

struct fake {
	unsigned kicks[4], inits[4], sipis[4];
	u8 sipi_vector;
	int eoi_vector;
	int extint_acks;
};

static void fake_init(void *opaque, unsigned id)
{
	((struct fake *)opaque)->inits[id]++;
}

static void fake_sipi(void *opaque, unsigned id, u8 vector)
{
	struct fake *f = opaque;

	f->sipis[id]++;
	f->sipi_vector = vector;
}

static void fake_kick(void *opaque, unsigned id)
{
	((struct fake *)opaque)->kicks[id]++;
}

static void fake_eoi(void *opaque, u8 vector)
{
	((struct fake *)opaque)->eoi_vector = vector;
}

static int fake_extint_ack(void *opaque)
{
	((struct fake *)opaque)->extint_acks++;
	return 0x30;
}

static const struct soft_apic_cpu_ops fake_cpu_ops = {fake_init, fake_sipi, fake_kick};
static const struct soft_apic_irq_ops fake_irq_ops = {fake_eoi, fake_extint_ack};

struct rig {
	struct fake f;
	struct soft_apic_bus bus;
	struct soft_lapic l[3];
};

static void rig_init(struct rig *r)
{
	memset(&r->f, 0, sizeof(r->f));
	r->f.eoi_vector = -1;
	soft_apic_bus_init(&r->bus, &fake_cpu_ops, &r->f);
	r->bus.irq = &fake_irq_ops;
	r->bus.irq_opaque = &r->f;
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(soft_lapic_init(&r->l[i], &r->bus, i), 0);
		soft_lapic_mmio_write(&r->l[i], R_SVR, 4, 0x1FF, 0); /* software enable */
	}
}

static void rig_destroy(struct rig *r)
{
	for (unsigned i = 0; i < 3; i++)
		soft_lapic_destroy(&r->l[i]);
}

static u32 rd(struct soft_lapic *l, unsigned off)
{
	return (u32)soft_lapic_mmio_read(l, off, 4, 0);
}

static void wr(struct soft_lapic *l, unsigned off, u32 v)
{
	soft_lapic_mmio_write(l, off, 4, v, 0);
}

static void test_reset_state(void)
{
	struct rig r;

	rig_init(&r);
	soft_lapic_reset(&r.l[0]);
	soft_lapic_reset(&r.l[1]);
	CHECK_EQ(rd(&r.l[1], R_ID), 1u << 24);
	CHECK_EQ(rd(&r.l[0], R_VER), 0x50014);
	CHECK_EQ(rd(&r.l[0], R_SVR), 0xFF);
	CHECK_EQ(rd(&r.l[0], R_DFR), 0xFFFFFFFF);
	CHECK_EQ(rd(&r.l[1], R_LVT_TIMER), 0x10000);
	CHECK_EQ(rd(&r.l[0], R_LVT_LINT0), 0x700); /* BSP: virtual wire (ExtINT) */
	CHECK_EQ(rd(&r.l[1], R_LVT_LINT0), 0x10000);
	CHECK_EQ(soft_lapic_get_base(&r.l[0]), 0xFEE00900);
	CHECK_EQ(soft_lapic_get_base(&r.l[1]), 0xFEE00800);
	CHECK(soft_lapic_is_mmio(&r.l[0], 0xFEE00030));
	CHECK(!soft_lapic_is_mmio(&r.l[0], 0xFEE01000));
	/* Sub-dword read of the version register. */
	CHECK_EQ(soft_lapic_mmio_read(&r.l[0], R_VER + 2, 1, 0), 0x05);
	CHECK_EQ(soft_lapic_next_deadline(&r.l[0]), UINT64_MAX);
	rig_destroy(&r);
}

static void test_priority(void)
{
	struct rig r;
	struct soft_lapic *l;

	rig_init(&r);
	l = &r.l[1];
	CHECK_EQ(soft_lapic_pending_vector(l), -1);
	soft_lapic_set_irq(l, 0x31, false);
	soft_lapic_set_irq(l, 0x45, false);
	CHECK_EQ(r.f.kicks[1], 2);
	CHECK_EQ(rd(l, R_IRR + 0x10), (1u << 0x11)); /* IRR[63:32] */
	CHECK_EQ(soft_lapic_pending_vector(l), 0x45);
	CHECK_EQ(soft_lapic_ack(l), 0x45);
	CHECK_EQ(rd(l, R_ISR + 0x20), 1u << 5);
	CHECK_EQ(rd(l, R_PPR), 0x40);
	/* 0x31's class (3) is not above the in-service class (4). */
	CHECK_EQ(soft_lapic_pending_vector(l), -1);
	/* Same class as in service: still blocked; higher class: delivered. */
	soft_lapic_set_irq(l, 0x4F, false);
	CHECK_EQ(soft_lapic_pending_vector(l), -1);
	soft_lapic_set_irq(l, 0x50, false);
	CHECK_EQ(soft_lapic_pending_vector(l), 0x50);
	/* TPR masks classes up to its own. */
	wr(l, R_TPR, 0x50);
	CHECK_EQ(rd(l, R_PPR), 0x50);
	CHECK_EQ(soft_lapic_pending_vector(l), -1);
	/* Nothing deliverable at INTA: the spurious vector, nothing changes. */
	CHECK_EQ(soft_lapic_ack(l), 0xFF);
	CHECK_EQ(soft_lapic_get_cr8(l), 5);
	soft_lapic_set_cr8(l, 0);
	CHECK_EQ(rd(l, R_TPR), 0);
	CHECK_EQ(soft_lapic_pending_vector(l), 0x50);
	/* EOI clears the highest in-service vector: 0x45 then 0x50's turn. */
	CHECK_EQ(soft_lapic_ack(l), 0x50);
	wr(l, R_EOI, 0);
	CHECK_EQ(rd(l, R_ISR + 0x20), 1u << 5);     /* 0x45 still in service */
	CHECK_EQ(soft_lapic_pending_vector(l), -1); /* 0x4F: same class as 0x45 */
	wr(l, R_EOI, 0);
	CHECK_EQ(rd(l, R_PPR), 0);
	CHECK_EQ(soft_lapic_pending_vector(l), 0x4F);
	CHECK_EQ(soft_lapic_ack(l), 0x4F);
	CHECK_EQ(soft_lapic_ack(l), 0xFF); /* 0x31 is not above 0x4F's class */
	rig_destroy(&r);
}

static void test_eoi_level(void)
{
	struct rig r;
	struct soft_lapic *l;

	rig_init(&r);
	l = &r.l[0];
	soft_lapic_set_irq(l, 0x61, true);
	CHECK_EQ(rd(l, R_TMR + 0x30), 1u << 1);
	CHECK_EQ(soft_lapic_ack(l), 0x61);
	wr(l, R_EOI, 0);
	CHECK_EQ(r.f.eoi_vector, 0x61);
	/* Edge vectors are not broadcast. */
	r.f.eoi_vector = -1;
	soft_lapic_set_irq(l, 0x62, false);
	CHECK_EQ(soft_lapic_ack(l), 0x62);
	wr(l, R_EOI, 0);
	CHECK_EQ(r.f.eoi_vector, -1);
	CHECK_EQ(rd(l, R_ISR + 0x30), 0);
	/* Illegal vectors are refused and reported in ESR. */
	soft_lapic_set_irq(l, 5, false);
	CHECK_EQ(soft_lapic_pending_vector(l), -1);
	wr(l, R_ESR, 0);
	CHECK_EQ(rd(l, R_ESR), 0x40);
	/* A software-disabled APIC takes no fixed interrupts and keeps LVTs masked. */
	wr(l, R_SVR, 0xFF);
	soft_lapic_set_irq(l, 0x70, false);
	CHECK_EQ(soft_lapic_pending_vector(l), -1);
	wr(l, R_LVT_TIMER, 0x40);
	CHECK_EQ(rd(l, R_LVT_TIMER), 0x10040);
	rig_destroy(&r);
}

static void test_timer_oneshot(void)
{
	struct rig r;
	struct soft_lapic *l;

	rig_init(&r);
	l = &r.l[0];
	soft_lapic_mmio_write(l, R_DCR, 4, 0x0, 0);        /* divide by 2 */
	soft_lapic_mmio_write(l, R_LVT_TIMER, 4, 0x40, 0); /* one-shot, vector 0x40 */
	soft_lapic_mmio_write(l, R_INIT_COUNT, 4, 1000, 100);
	CHECK_EQ(soft_lapic_next_deadline(l), 2100);
	CHECK_EQ(soft_lapic_mmio_read(l, R_CUR_COUNT, 4, 600), 750);
	CHECK_EQ(soft_lapic_mmio_read(l, R_INIT_COUNT, 4, 600), 1000);
	soft_lapic_tick(l, 2099);
	CHECK_EQ(soft_lapic_pending_vector(l), -1);
	soft_lapic_tick(l, 2100);
	CHECK_EQ(soft_lapic_pending_vector(l), 0x40);
	CHECK_EQ(soft_lapic_next_deadline(l), UINT64_MAX);
	CHECK_EQ(soft_lapic_mmio_read(l, R_CUR_COUNT, 4, 3000), 0);
	/* Masked: counts, but delivers nothing. Writing 0 stops it. */
	CHECK_EQ(soft_lapic_ack(l), 0x40);
	soft_lapic_mmio_write(l, R_LVT_TIMER, 4, 0x10041, 3000);
	soft_lapic_mmio_write(l, R_INIT_COUNT, 4, 10, 3000);
	soft_lapic_tick(l, 4000);
	CHECK_EQ(soft_lapic_pending_vector(l), -1);
	soft_lapic_mmio_write(l, R_INIT_COUNT, 4, 10, 5000);
	soft_lapic_mmio_write(l, R_INIT_COUNT, 4, 0, 5001);
	CHECK_EQ(soft_lapic_next_deadline(l), UINT64_MAX);
	rig_destroy(&r);
}

static void test_timer_periodic(void)
{
	struct rig r;
	struct soft_lapic *l;

	rig_init(&r);
	l = &r.l[0];
	soft_lapic_mmio_write(l, R_DCR, 4, 0xB, 0);           /* divide by 1 */
	soft_lapic_mmio_write(l, R_LVT_TIMER, 4, 0x20050, 0); /* periodic, 0x50 */
	soft_lapic_mmio_write(l, R_INIT_COUNT, 4, 100000, 0);
	CHECK_EQ(soft_lapic_next_deadline(l), 100000);
	soft_lapic_tick(l, 100000);
	CHECK_EQ(soft_lapic_ack(l), 0x50);
	wr(l, R_EOI, 0);
	CHECK_EQ(soft_lapic_next_deadline(l), 200000);
	CHECK_EQ(soft_lapic_mmio_read(l, R_CUR_COUNT, 4, 150000), 50000);
	/* Three periods late: one interrupt, next deadline on the grid. */
	soft_lapic_tick(l, 450000);
	CHECK_EQ(soft_lapic_ack(l), 0x50);
	CHECK_EQ(soft_lapic_ack(l), 0xFF);
	CHECK_EQ(soft_lapic_next_deadline(l), 500000);
	/* Very short periods are stretched to the minimum. */
	soft_lapic_mmio_write(l, R_INIT_COUNT, 4, 10, 1000000);
	CHECK_EQ(soft_lapic_next_deadline(l), 1000000 + SOFT_LAPIC_MIN_PERIOD_NS);
	rig_destroy(&r);
}

static void test_timer_divide(void)
{
	static const struct {
		u32 dcr, div;
	} t[] = {{0x0, 2},  {0x1, 4},  {0x2, 8},   {0x3, 16},
		 {0x8, 32}, {0x9, 64}, {0xA, 128}, {0xB, 1}};
	struct rig r;
	struct soft_lapic *l;

	rig_init(&r);
	l = &r.l[0];
	for (unsigned i = 0; i < ARRAY_SIZE(t); i++) {
		soft_lapic_mmio_write(l, R_DCR, 4, t[i].dcr, 0);
		CHECK_EQ(rd(l, R_DCR), t[i].dcr);
		soft_lapic_mmio_write(l, R_INIT_COUNT, 4, 1000, 0);
		CHECK_EQ(soft_lapic_next_deadline(l), 1000ull * t[i].div);
		CHECK_EQ(soft_lapic_mmio_read(l, R_CUR_COUNT, 4, 10ull * t[i].div), 990);
	}
	rig_destroy(&r);
}

static void test_timer_tsc_deadline(void)
{
	struct rig r;
	struct soft_lapic *l;
	u64 v;

	rig_init(&r);
	l = &r.l[0];
	/* Ignored outside TSC-deadline mode. */
	CHECK_EQ(soft_lapic_msr_write(l, SOFT_MSR_TSC_DEADLINE, 5000, 0), 0);
	CHECK_EQ(soft_lapic_next_deadline(l), UINT64_MAX);
	soft_lapic_mmio_write(l, R_LVT_TIMER, 4, 0x40060, 0); /* TSC deadline, 0x60 */
	soft_lapic_set_tsc_offset(l, 1000);
	CHECK_EQ(soft_lapic_msr_write(l, SOFT_MSR_TSC_DEADLINE, 5000, 0), 0);
	CHECK_EQ(soft_lapic_next_deadline(l), 4000);
	CHECK_EQ(soft_lapic_msr_read(l, SOFT_MSR_TSC_DEADLINE, 0, &v), 0);
	CHECK_EQ(v, 5000);
	/* Initial count writes are ignored in this mode. */
	soft_lapic_mmio_write(l, R_INIT_COUNT, 4, 10, 0);
	CHECK_EQ(rd(l, R_INIT_COUNT), 0);
	soft_lapic_tick(l, 3999);
	CHECK_EQ(soft_lapic_pending_vector(l), -1);
	soft_lapic_tick(l, 4000);
	CHECK_EQ(soft_lapic_pending_vector(l), 0x60);
	CHECK_EQ(soft_lapic_msr_read(l, SOFT_MSR_TSC_DEADLINE, 0, &v), 0);
	CHECK_EQ(v, 0);
	/* A deadline in the past fires at the next tick; 0 disarms. */
	soft_lapic_msr_write(l, SOFT_MSR_TSC_DEADLINE, 10, 8000);
	CHECK_EQ(soft_lapic_next_deadline(l), 0);
	soft_lapic_msr_write(l, SOFT_MSR_TSC_DEADLINE, 0, 8000);
	CHECK_EQ(soft_lapic_next_deadline(l), UINT64_MAX);
	/* Leaving TSC-deadline mode disarms. */
	soft_lapic_msr_write(l, SOFT_MSR_TSC_DEADLINE, 100000, 8000);
	soft_lapic_mmio_write(l, R_LVT_TIMER, 4, 0x00060, 8000);
	CHECK_EQ(soft_lapic_next_deadline(l), UINT64_MAX);
	rig_destroy(&r);
}

static void send(struct soft_lapic *from, u32 dest, u32 lo)
{
	wr(from, R_ICR_HI, dest << 24);
	wr(from, R_ICR_LO, lo);
}

static void test_ipi_physical_and_shorthands(void)
{
	struct rig r;

	rig_init(&r);
	send(&r.l[0], 2, 0x4041); /* fixed, physical, assert, vector 0x41 */
	CHECK_EQ(soft_lapic_pending_vector(&r.l[2]), 0x41);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), -1);
	CHECK_EQ(r.f.kicks[2], 1);
	CHECK_EQ(rd(&r.l[0], R_ICR_LO), 0x4041); /* delivery status idle */
	send(&r.l[0], 0xFF, 0x4042);             /* physical broadcast */
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(soft_lapic_pending_vector(&r.l[i]), 0x42);
	send(&r.l[1], 0, 0x44043); /* self */
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), 0x43);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), 0x42);
	send(&r.l[1], 0, 0xC4044); /* all but self */
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), 0x44);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[2]), 0x44);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), 0x43);
	send(&r.l[0], 0, 0x84045); /* all including self */
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(soft_lapic_pending_vector(&r.l[i]), 0x45);
	/* Illegal vector: not sent, ESR "send illegal vector". */
	send(&r.l[0], 1, 0x4005);
	wr(&r.l[0], R_ESR, 0);
	CHECK_EQ(rd(&r.l[0], R_ESR), 0x20);
	/* NMI. */
	send(&r.l[2], 1, 0x4400);
	CHECK(soft_lapic_nmi_pending(&r.l[1]));
	CHECK_EQ(soft_lapic_take_nmis(&r.l[1]), 1);
	CHECK_EQ(soft_lapic_take_nmis(&r.l[1]), 0);
	/* Two NMIs before the vCPU looks are two, not one. */
	send(&r.l[2], 1, 0x4400);
	send(&r.l[0], 1, 0x4400);
	CHECK_EQ(soft_lapic_take_nmis(&r.l[1]), 2);
	rig_destroy(&r);
}

static void test_ipi_logical(void)
{
	struct rig r;

	rig_init(&r);
	/* Flat model, as Linux's apic_flat sets it up: LDR bit = 1 << cpu. */
	for (unsigned i = 0; i < 3; i++) {
		wr(&r.l[i], R_DFR, 0xFFFFFFFF);
		wr(&r.l[i], R_LDR, (1u << i) << 24);
		CHECK_EQ(rd(&r.l[i], R_LDR), (1u << i) << 24);
	}
	send(&r.l[0], 0x6, 0x4851); /* logical, CPUs 1 and 2 */
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), -1);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), 0x51);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[2]), 0x51);
	/* Lowest priority goes to the first target only. */
	send(&r.l[0], 0x6, 0x4952);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), 0x52);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[2]), 0x51);
	/* Cluster model: cluster 1, members 0x1 and 0x2. */
	for (unsigned i = 0; i < 3; i++) {
		wr(&r.l[i], R_DFR, 0x0FFFFFFF);
		wr(&r.l[i], R_LDR, (0x10u | (1u << i)) << 24);
	}
	send(&r.l[0], 0x13, 0x4853);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), 0x53);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), 0x53);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[2]), 0x51);
	send(&r.l[0], 0x24, 0x4854); /* cluster 2: nobody */
	CHECK_EQ(soft_lapic_pending_vector(&r.l[2]), 0x51);
	rig_destroy(&r);
}

static void test_init_sipi(void)
{
	struct rig r;

	rig_init(&r);
	soft_lapic_set_irq(&r.l[1], 0x70, false);
	send(&r.l[0], 1, 0xC500); /* INIT, level, assert */
	CHECK_EQ(r.f.inits[1], 1);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), -1); /* INIT cleared IRR */
	CHECK_EQ(rd(&r.l[1], R_SVR), 0xFF);
	send(&r.l[0], 1, 0x8500); /* INIT level de-assert: nothing */
	CHECK_EQ(r.f.inits[1], 1);
	send(&r.l[0], 1, 0x4698); /* SIPI, vector 0x98 */
	CHECK_EQ(r.f.sipis[1], 1);
	CHECK_EQ(r.f.sipi_vector, 0x98);
	/* The old broadcast form: all-but-self, never the sender. */
	send(&r.l[0], 0, 0xCC500);
	CHECK_EQ(r.f.inits[0], 0);
	CHECK_EQ(r.f.inits[1], 2);
	CHECK_EQ(r.f.inits[2], 1);
	send(&r.l[0], 0, 0x84610);
	CHECK_EQ(r.f.sipis[0], 0);
	CHECK_EQ(r.f.sipis[2], 1);
	rig_destroy(&r);
}

static void test_x2apic(void)
{
	struct rig r;
	struct soft_lapic *l;
	u64 v;

	rig_init(&r);
	l = &r.l[2];
	/* x2APIC MSRs #GP in xAPIC mode. */
	CHECK_EQ(soft_lapic_msr_read(l, 0x802, 0, &v), -1);
	/* Invalid transitions. */
	CHECK_EQ(soft_lapic_msr_write(l, SOFT_MSR_APIC_BASE, 0xFEE00400, 0), -1);
	CHECK_EQ(soft_lapic_msr_write(l, SOFT_MSR_APIC_BASE, 0xFEE00801, 0), -1);
	CHECK_EQ(soft_lapic_msr_write(l, SOFT_MSR_APIC_BASE, 0xFEE00C00, 0), 0);
	CHECK(!soft_lapic_is_mmio(l, 0xFEE00000));
	CHECK_EQ(soft_lapic_msr_write(l, SOFT_MSR_APIC_BASE, 0xFEE00800, 0), -1);
	CHECK_EQ(soft_lapic_msr_read(l, 0x802, 0, &v), 0);
	CHECK_EQ(v, 2);
	CHECK_EQ(soft_lapic_msr_read(l, 0x803, 0, &v), 0);
	CHECK_EQ(v, 0x50014);
	CHECK_EQ(soft_lapic_msr_read(l, 0x80D, 0, &v), 0);
	CHECK_EQ(v, 0x4);                                   /* cluster 0, bit 2 */
	CHECK_EQ(soft_lapic_msr_write(l, 0x80D, 1, 0), -1); /* LDR read-only */
	CHECK_EQ(soft_lapic_msr_read(l, 0x80E, 0, &v), -1); /* no DFR */
	CHECK_EQ(soft_lapic_msr_read(l, 0x80B, 0, &v), -1); /* EOI write-only */
	CHECK_EQ(soft_lapic_msr_write(l, 0x80B, 1, 0), -1); /* EOI must be 0 */
	CHECK_EQ(soft_lapic_msr_read(l, 0x831, 0, &v), -1); /* no ICR high */
	CHECK_EQ(soft_lapic_msr_write(l, 0x808, 1ull << 32, 0), -1);
	/* 64-bit ICR: physical to APIC 0. */
	CHECK_EQ(soft_lapic_msr_write(l, 0x830, (0ull << 32) | 0x4061, 0), 0);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), 0x61);
	CHECK_EQ(soft_lapic_msr_read(l, 0x830, 0, &v), 0);
	CHECK_EQ(v, 0x4061);
	/* x2APIC broadcast is 0xFFFFFFFF; an 8-bit 0xFF is APIC id 255. */
	CHECK_EQ(soft_lapic_msr_write(l, 0x830, (0xFFull << 32) | 0x4062, 0), 0);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), -1);
	CHECK_EQ(soft_lapic_msr_write(l, 0x830, (0xFFFFFFFFull << 32) | 0x4063, 0), 0);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), 0x63);
	/* SELF_IPI. */
	CHECK_EQ(soft_lapic_msr_write(l, 0x83F, 0x77, 0), 0);
	CHECK_EQ(soft_lapic_pending_vector(l), 0x77);
	CHECK_EQ(soft_lapic_ack(l), 0x77);
	CHECK_EQ(soft_lapic_msr_read(l, 0x813, 0, &v), 0); /* ISR[127:96] */
	CHECK_EQ(v, 1u << (0x77 - 96));
	CHECK_EQ(soft_lapic_msr_write(l, 0x80B, 0, 0), 0);
	CHECK_EQ(soft_lapic_msr_read(l, 0x813, 0, &v), 0);
	CHECK_EQ(v, 0);
	/* Timer through MSRs. */
	CHECK_EQ(soft_lapic_msr_write(l, 0x83E, 0xB, 0), 0);
	CHECK_EQ(soft_lapic_msr_write(l, 0x832, 0x45, 0), 0);
	CHECK_EQ(soft_lapic_msr_write(l, 0x838, 500, 1000), 0);
	CHECK_EQ(soft_lapic_msr_read(l, 0x839, 1100, &v), 0);
	CHECK_EQ(v, 400);
	/* Disabling resets the APIC; then xAPIC again. */
	CHECK_EQ(soft_lapic_msr_write(l, SOFT_MSR_APIC_BASE, 0xFEE00000, 0), 0);
	CHECK_EQ(soft_lapic_msr_write(l, SOFT_MSR_APIC_BASE, 0xFEE00800, 0), 0);
	CHECK(soft_lapic_is_mmio(l, 0xFEE00300));
	CHECK_EQ(rd(l, R_SVR), 0xFF);
	rig_destroy(&r);
}

static void test_extint(void)
{
	struct rig r;

	rig_init(&r);
	CHECK(soft_lapic_set_pic_intr(&r.l[0], true)); /* wake it */
	CHECK(!soft_lapic_set_pic_intr(&r.l[0], true));
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), SOFT_LAPIC_EXTINT);
	CHECK_EQ(soft_lapic_ack(&r.l[0]), 0x30);
	CHECK_EQ(r.f.extint_acks, 1);
	/* Masking LINT0 (as Linux does with an IOAPIC) hides the PIC. */
	wr(&r.l[0], R_LVT_LINT0, 0x10700);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), -1);
	/* With the APIC globally disabled, INTR goes straight to the CPU. */
	CHECK_EQ(soft_lapic_set_base(&r.l[0], 0xFEE00100), 0);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), SOFT_LAPIC_EXTINT);
	soft_lapic_set_pic_intr(&r.l[0], false);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), -1);
	rig_destroy(&r);
}

/* Two vCPU-like threads IPI each other (and themselves) while taking and
 * EOI-ing what arrives: no deadlock, nothing lost. */
struct stress {
	struct soft_apic_bus bus;
	struct soft_lapic l[2];
	_Atomic unsigned kicks, eois, taken[2];
};

static void stress_kick(void *opaque, unsigned id)
{
	(void)id;
	atomic_fetch_add(&((struct stress *)opaque)->kicks, 1);
}

static void stress_eoi(void *opaque, u8 vector)
{
	(void)vector;
	atomic_fetch_add(&((struct stress *)opaque)->eois, 1);
}

static const struct soft_apic_cpu_ops stress_cpu_ops = {.kick = stress_kick};
static const struct soft_apic_irq_ops stress_irq_ops = {.eoi = stress_eoi};

struct stress_arg {
	struct stress *s;
	unsigned id;
};

static void *stress_thread(void *opaque)
{
	struct stress_arg *a = opaque;
	struct soft_lapic *me = &a->s->l[a->id];
	unsigned other = a->id ^ 1;

	for (unsigned i = 0; i < 20000; i++) {
		int v;

		soft_lapic_mmio_write(me, R_ICR_HI, 4, other << 24, i);
		/* alternate edge and level vectors, and a self IPI now and then */
		soft_lapic_mmio_write(me, R_ICR_LO, 4, (i & 1) ? 0xC050 : 0x4060, i);
		if (!(i & 7))
			soft_lapic_mmio_write(me, R_ICR_LO, 4, 0x44070, i);
		/* A higher vector may arrive between the two calls: ack
		 * returns it then, which is what the CPU would take. */
		while ((v = soft_lapic_pending_vector(me)) >= 0) {
			CHECK(soft_lapic_ack(me) >= v);
			soft_lapic_mmio_write(me, R_EOI, 4, 0, i);
			atomic_fetch_add(&a->s->taken[a->id], 1);
		}
	}
	return NULL;
}

static void test_threads(void)
{
	static struct stress s;
	struct stress_arg args[2] = {{&s, 0}, {&s, 1}};
	pthread_t th[2];
	int v;

	memset(&s, 0, sizeof(s));
	soft_apic_bus_init(&s.bus, &stress_cpu_ops, &s);
	s.bus.irq = &stress_irq_ops;
	s.bus.irq_opaque = &s;
	for (unsigned i = 0; i < 2; i++) {
		CHECK_EQ(soft_lapic_init(&s.l[i], &s.bus, i), 0);
		soft_lapic_mmio_write(&s.l[i], R_SVR, 4, 0x1FF, 0);
	}
	for (unsigned i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, stress_thread, &args[i]), 0);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	/* Drain what arrived after each thread's last look. */
	for (unsigned i = 0; i < 2; i++) {
		while ((v = soft_lapic_pending_vector(&s.l[i])) >= 0) {
			soft_lapic_ack(&s.l[i]);
			soft_lapic_mmio_write(&s.l[i], R_EOI, 4, 0, 0);
			s.taken[i]++;
		}
	}
	/* IRR coalesces repeats of a vector, so at most what was sent arrives,
	 * and at least one of each kind. */
	CHECK(s.taken[0] >= 3 && s.taken[0] <= 22500);
	CHECK(s.taken[1] >= 3 && s.taken[1] <= 22500);
	CHECK(s.eois >= 2);
	CHECK(s.kicks >= s.taken[0] + s.taken[1]);
	for (unsigned i = 0; i < 2; i++)
		soft_lapic_destroy(&s.l[i]);
}

int main(void)
{
	TEST_RUN(test_reset_state);
	TEST_RUN(test_priority);
	TEST_RUN(test_eoi_level);
	TEST_RUN(test_timer_oneshot);
	TEST_RUN(test_timer_periodic);
	TEST_RUN(test_timer_divide);
	TEST_RUN(test_timer_tsc_deadline);
	TEST_RUN(test_ipi_physical_and_shorthands);
	TEST_RUN(test_ipi_logical);
	TEST_RUN(test_init_sipi);
	TEST_RUN(test_x2apic);
	TEST_RUN(test_extint);
	TEST_RUN(test_threads);
	return test_done();
}
