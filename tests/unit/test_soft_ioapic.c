/* Unit tests for the soft IOAPIC (redirection, edge/level, Remote IRR, EOI) and the router. */
#include "cpu/soft/irqchip/ioapic.h"
#include <pthread.h>

#include "core/irq.h"
#include "cpu/soft/irqchip/irq_route.h"

#include "test.h"

struct rig {
	struct soft_apic_bus bus;
	struct soft_lapic l[2];
	struct soft_ioapic io;
	int kicks;
};

static void rig_kick(void *opaque, unsigned id)
{
	(void)id;
	((struct rig *)opaque)->kicks++;
}

static const struct soft_apic_cpu_ops rig_cpu_ops = {.kick = rig_kick};

/* EOI broadcasts from the LAPICs go straight to the IOAPIC under test. */
static void rig_eoi(void *opaque, u8 vector)
{
	struct soft_ioapic *io = opaque;

	soft_ioapic_eoi(io, vector);
	soft_apic_bus_flush(io->bus); /* as irq_route.c does after unlocking */
}

static const struct soft_apic_irq_ops rig_irq_ops = {.eoi = rig_eoi};

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	soft_apic_bus_init(&r->bus, &rig_cpu_ops, r);
	r->bus.irq = &rig_irq_ops;
	r->bus.irq_opaque = &r->io;
	for (unsigned i = 0; i < 2; i++) {
		CHECK_EQ(soft_lapic_init(&r->l[i], &r->bus, i), 0);
		soft_lapic_mmio_write(&r->l[i], 0xF0, 4, 0x1FF, 0);
	}
	soft_ioapic_init(&r->io, &r->bus, 2);
}

static void rig_destroy(struct rig *r)
{
	for (unsigned i = 0; i < 2; i++)
		soft_lapic_destroy(&r->l[i]);
}

static u32 io_read(struct soft_ioapic *io, u32 reg)
{
	soft_ioapic_mmio_write(io, 0x00, 4, reg);
	return soft_ioapic_mmio_read(io, 0x10, 4);
}

static void io_write(struct soft_ioapic *io, u32 reg, u32 v)
{
	soft_ioapic_mmio_write(io, 0x00, 4, reg);
	soft_ioapic_mmio_write(io, 0x10, 4, v);
	soft_apic_bus_flush(io->bus);
}

static void set_pin(struct soft_ioapic *io, unsigned pin, bool level)
{
	soft_ioapic_set_pin(io, pin, level);
	soft_apic_bus_flush(io->bus);
}

static void set_rte(struct soft_ioapic *io, unsigned pin, u64 rte)
{
	io_write(io, 0x11 + 2 * pin, (u32)(rte >> 32));
	io_write(io, 0x10 + 2 * pin, (u32)rte);
}

static u64 get_rte(struct soft_ioapic *io, unsigned pin)
{
	return io_read(io, 0x10 + 2 * pin) | (u64)io_read(io, 0x11 + 2 * pin) << 32;
}

static void test_registers(void)
{
	struct rig r;

	rig_init(&r);
	CHECK_EQ(io_read(&r.io, 0x00), 2u << 24);
	CHECK_EQ(io_read(&r.io, 0x01), 0x170011);
	CHECK_EQ(soft_ioapic_mmio_read(&r.io, 0x00, 4), 0x01); /* IOREGSEL reads back */
	io_write(&r.io, 0x01, 0);                              /* read-only */
	CHECK_EQ(io_read(&r.io, 0x01), 0x170011);
	io_write(&r.io, 0x00, 5u << 24);
	CHECK_EQ(io_read(&r.io, 0x00), 5u << 24);
	for (unsigned pin = 0; pin < 24; pin++)
		CHECK_EQ(get_rte(&r.io, pin), 0x10000); /* masked at reset */
	/* Remote IRR and delivery status are read-only. */
	set_rte(&r.io, 3, 0x0A0000000000F030ull | (1u << 14) | (1u << 12));
	CHECK_EQ(get_rte(&r.io, 3), 0x0A0000000000A030ull);
	CHECK_EQ(io_read(&r.io, 0x10 + 48), 0); /* past the last pin */
	rig_destroy(&r);
}

static void test_edge(void)
{
	struct rig r;

	rig_init(&r);
	set_pin(&r.io, 4, true);
	set_pin(&r.io, 4, false);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), -1); /* masked: edge lost */
	set_rte(&r.io, 4, (1ull << 56) | 0x34);           /* fixed, physical, to APIC 1 */
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), -1); /* no new edge yet */
	set_pin(&r.io, 4, true);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), 0x34);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), -1);
	CHECK_EQ(r.kicks, 1);
	set_pin(&r.io, 4, true); /* still high: no edge */
	CHECK_EQ(r.kicks, 1);
	CHECK_EQ(soft_lapic_ack(&r.l[1]), 0x34);
	set_pin(&r.io, 4, false);
	set_pin(&r.io, 4, true);
	CHECK_EQ(r.kicks, 2);
	/* No Remote IRR for edge pins. */
	CHECK_EQ(get_rte(&r.io, 4) & (1u << 14), 0);
	rig_destroy(&r);
}

static void test_level_remote_irr(void)
{
	struct rig r;
	struct soft_lapic *l;

	rig_init(&r);
	l = &r.l[0];
	set_rte(&r.io, 11, 0x8041); /* level, fixed, physical, APIC 0 */
	set_pin(&r.io, 11, true);
	CHECK_EQ(get_rte(&r.io, 11) & (1u << 14), 1u << 14);
	CHECK_EQ(soft_lapic_ack(l), 0x41);
	/* Still asserted but in service: no second message. */
	set_pin(&r.io, 11, true);
	CHECK_EQ(r.kicks, 1);
	/* EOI with the line still up: Remote IRR cleared, delivered again. */
	soft_lapic_mmio_write(l, 0xB0, 4, 0, 0);
	CHECK_EQ(r.kicks, 2);
	CHECK_EQ(soft_lapic_ack(l), 0x41);
	/* The device deasserts, then the EOI: nothing more. */
	set_pin(&r.io, 11, false);
	soft_lapic_mmio_write(l, 0xB0, 4, 0, 0);
	CHECK_EQ(get_rte(&r.io, 11) & (1u << 14), 0);
	CHECK_EQ(r.kicks, 2);
	CHECK_EQ(soft_lapic_pending_vector(l), -1);
	/* Masked while asserted: delivered on unmask. */
	set_rte(&r.io, 11, 0x18041);
	set_pin(&r.io, 11, true);
	CHECK_EQ(soft_lapic_pending_vector(l), -1);
	set_rte(&r.io, 11, 0x8041);
	CHECK_EQ(soft_lapic_pending_vector(l), 0x41);
	/* Linux's way to clear a stuck Remote IRR: switch to edge and back. */
	CHECK_EQ(get_rte(&r.io, 11) & (1u << 14), 1u << 14);
	set_rte(&r.io, 11, 0x10041);
	CHECK_EQ(get_rte(&r.io, 11) & (1u << 14), 0);
	rig_destroy(&r);
}

static void test_destinations(void)
{
	struct rig r;

	rig_init(&r);
	/* Logical flat: LDR bits 1 and 2. */
	soft_lapic_mmio_write(&r.l[0], 0xD0, 4, 1u << 24, 0);
	soft_lapic_mmio_write(&r.l[1], 0xD0, 4, 2u << 24, 0);
	set_rte(&r.io, 5, (3ull << 56) | (1u << 11) | 0x50);
	set_pin(&r.io, 5, true);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), 0x50);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), 0x50);
	/* Lowest priority: one CPU only. */
	set_rte(&r.io, 6, (3ull << 56) | (1u << 11) | 0x100 | 0x60);
	set_pin(&r.io, 6, true);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), 0x60);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), 0x50);
	/* NMI delivery mode. */
	set_rte(&r.io, 7, (1ull << 56) | 0x400);
	set_pin(&r.io, 7, true);
	CHECK(soft_lapic_take_nmis(&r.l[1]));
	/* Physical broadcast 0xFF. */
	set_rte(&r.io, 8, (0xFFull << 56) | 0x70);
	set_pin(&r.io, 8, true);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[0]), 0x70);
	CHECK_EQ(soft_lapic_pending_vector(&r.l[1]), 0x70);
	/* Out-of-range pins are ignored. */
	set_pin(&r.io, 24, true);
	set_pin(&r.io, 1000, true);
	rig_destroy(&r);
}

/* ---- The router: GSIs to IOAPIC and PIC, PIT IRQ0, ports and ExtINT ---- */

struct route_rig {
	struct soft_apic_bus bus;
	struct soft_lapic l[2];
	struct soft_irq_route r;
	struct bus pio, mmio;
	u64 now;
	_Atomic unsigned kicks[2];
};

static void route_rig_kick(void *opaque, unsigned id)
{
	((struct route_rig *)opaque)->kicks[id]++;
}

static const struct soft_apic_cpu_ops route_rig_cpu_ops = {.kick = route_rig_kick};

static u64 route_rig_clock(void *opaque)
{
	return ((struct route_rig *)opaque)->now;
}

static void route_rig_init(struct route_rig *t)
{
	memset(t, 0, sizeof(*t));
	soft_apic_bus_init(&t->bus, &route_rig_cpu_ops, t);
	for (unsigned i = 0; i < 2; i++)
		CHECK_EQ(soft_lapic_init(&t->l[i], &t->bus, i), 0);
	CHECK_EQ(soft_irq_route_init(&t->r, &t->bus, 2, route_rig_clock, t), 0);
	bus_init(&t->pio, "pio", NULL);
	bus_init(&t->mmio, "mmio", NULL);
	CHECK_EQ(soft_irq_route_register(&t->r, &t->pio, &t->mmio), 0);
}

static void route_rig_destroy(struct route_rig *t)
{
	soft_irq_route_destroy(&t->r);
	for (unsigned i = 0; i < 2; i++)
		soft_lapic_destroy(&t->l[i]);
}

static void outb(struct route_rig *t, u16 port, u8 v)
{
	CHECK(bus_write(&t->pio, port, 1, v));
}

static u8 inb(struct route_rig *t, u16 port)
{
	u64 v = 0;

	CHECK(bus_read(&t->pio, port, 1, &v));
	return (u8)v;
}

static void mmio_rte(struct route_rig *t, unsigned pin, u64 rte)
{
	bus_write(&t->mmio, LAYOUT_IOAPIC, 4, 0x11 + 2 * pin);
	bus_write(&t->mmio, LAYOUT_IOAPIC + 0x10, 4, rte >> 32);
	bus_write(&t->mmio, LAYOUT_IOAPIC, 4, 0x10 + 2 * pin);
	bus_write(&t->mmio, LAYOUT_IOAPIC + 0x10, 4, (u32)rte);
}

static void test_route_gsi(void)
{
	struct route_rig t;
	u64 v;

	route_rig_init(&t);
	for (unsigned i = 0; i < 2; i++)
		soft_lapic_mmio_write(&t.l[i], 0xF0, 4, 0x1FF, 0);
	CHECK(bus_read(&t.mmio, LAYOUT_IOAPIC + 0x10, 4, &v)); /* IOREGSEL 0: ID */
	CHECK_EQ(v, 2u << 24);
	/* GSI 0 lands on IOAPIC pin 2 (the MADT override), not pin 0. */
	mmio_rte(&t, 0, 0x20);
	mmio_rte(&t, 2, 0x22);
	irq_pulse(&(struct irq_router){soft_irq_route_irq_set, &t.r}, 0);
	CHECK_EQ(soft_lapic_ack(&t.l[0]), 0x22);
	CHECK_EQ(soft_lapic_ack(&t.l[0]), 0xFF);
	soft_lapic_mmio_write(&t.l[0], 0xB0, 4, 0, 0); /* EOI */
	/* GSI 2 is routed nowhere, as on KVM (pin 2 is IRQ0's). */
	irq_pulse(&(struct irq_router){soft_irq_route_irq_set, &t.r}, 2);
	CHECK_EQ(soft_lapic_ack(&t.l[0]), 0xFF);
	/* GSI 20: IOAPIC only, level. */
	mmio_rte(&t, 20, (1ull << 56) | 0x8044);
	soft_irq_route_set(&t.r, 20, true);
	CHECK_EQ(t.kicks[1], 1);
	CHECK_EQ(soft_lapic_ack(&t.l[1]), 0x44);
	soft_irq_route_set(&t.r, 20, false);
	soft_lapic_mmio_write(&t.l[1], 0xB0, 4, 0, 0); /* EOI -> Remote IRR clear */
	bus_write(&t.mmio, LAYOUT_IOAPIC, 4, 0x10 + 40);
	bus_read(&t.mmio, LAYOUT_IOAPIC + 0x10, 4, &v);
	CHECK_EQ(v & (1u << 14), 0);
	soft_irq_route_set(&t.r, 99, true); /* ignored */
	route_rig_destroy(&t);
}

/* No IOAPIC setup: the PIT ticks through the PIC and the BSP's LINT0. */
static void test_route_pit_extint(void)
{
	struct route_rig t;
	u64 d;

	route_rig_init(&t);
	outb(&t, 0x20, 0x11);
	outb(&t, 0x21, 0x30);
	outb(&t, 0x21, 0x04);
	outb(&t, 0x21, 0x01);
	outb(&t, 0x21, 0xFE); /* IRQ0 only */
	CHECK_EQ(inb(&t, 0x21), 0xFE);
	outb(&t, 0x43, 0x34);
	outb(&t, 0x40, 0xA9);
	outb(&t, 0x40, 0x04); /* 1193 clocks: ~1 ms */
	d = soft_irq_route_next_deadline(&t.r);
	CHECK_EQ(d, (1193ull * 1000000000ULL + SOFT_PIT_HZ - 1) / SOFT_PIT_HZ);
	CHECK_EQ(soft_lapic_pending_vector(&t.l[0]), -1);
	soft_irq_route_tick(&t.r, d);
	CHECK_EQ(t.kicks[0], 1);
	CHECK_EQ(t.kicks[1], 0);
	CHECK_EQ(soft_lapic_pending_vector(&t.l[0]), SOFT_LAPIC_EXTINT);
	CHECK_EQ(soft_lapic_pending_vector(&t.l[1]), -1);
	CHECK_EQ(soft_lapic_ack(&t.l[0]), 0x30);
	CHECK_EQ(soft_lapic_pending_vector(&t.l[0]), -1);
	outb(&t, 0x20, 0x20);
	/* Port 0x61 and the channel 2 gate through the bus, on the clock. */
	t.now = 1000;
	outb(&t, 0x61, 0x01);
	outb(&t, 0x43, 0xB0);
	outb(&t, 0x42, 0x10);
	outb(&t, 0x42, 0x00);
	CHECK_EQ(inb(&t, 0x61) & 0x21, 0x01);
	t.now += 20000;
	CHECK_EQ(inb(&t, 0x61) & 0x20, 0x20);
	/* Linux masks the PIC and LINT0 once the IOAPIC runs. */
	outb(&t, 0x21, 0xFF);
	soft_irq_route_tick(&t.r, soft_irq_route_next_deadline(&t.r));
	CHECK_EQ(soft_lapic_pending_vector(&t.l[0]), -1);
	/* ELCR through its port. */
	outb(&t, 0x4D1, 0x02);
	CHECK_EQ(inb(&t, 0x4D1), 0x02);
	route_rig_destroy(&t);
}

/* A device thread toggling lines while two vCPU threads tick the PIT, take
 * interrupts and EOI them: no deadlock between the route and LAPIC locks. */
struct route_threads {
	struct route_rig *t;
	unsigned id;
	_Atomic bool *stop;
};

static void *route_device_thread(void *opaque)
{
	struct route_threads *a = opaque;

	for (unsigned i = 0; i < 20000; i++) {
		soft_irq_route_set(&a->t->r, 11, true);
		irq_pulse(&(struct irq_router){soft_irq_route_irq_set, &a->t->r}, 4);
		soft_irq_route_set(&a->t->r, 11, false);
	}
	atomic_store(a->stop, true);
	return NULL;
}

static void *route_vcpu_thread(void *opaque)
{
	struct route_threads *a = opaque;
	struct soft_lapic *l = &a->t->l[a->id];
	u64 now = 0;

	while (!atomic_load(a->stop)) {
		now += 100000;
		soft_irq_route_tick(&a->t->r, now);
		while (soft_lapic_pending_vector(l) >= 0) {
			soft_lapic_ack(l);
			soft_lapic_mmio_write(l, 0xB0, 4, 0, now);
		}
	}
	return NULL;
}

static void test_route_threads(void)
{
	static struct route_rig t;
	_Atomic bool stop = false;
	struct route_threads a[3] = {{&t, 0, &stop}, {&t, 1, &stop}, {&t, 0, &stop}};
	pthread_t th[3];

	route_rig_init(&t);
	for (unsigned i = 0; i < 2; i++)
		soft_lapic_mmio_write(&t.l[i], 0xF0, 4, 0x1FF, 0);
	mmio_rte(&t, 11, (3ull << 56) | (1u << 11) | 0x8051); /* level, logical */
	mmio_rte(&t, 4, (1ull << 56) | 0x52);
	mmio_rte(&t, 2, 0x53);
	soft_lapic_mmio_write(&t.l[0], 0xD0, 4, 1u << 24, 0);
	soft_lapic_mmio_write(&t.l[1], 0xD0, 4, 2u << 24, 0);
	/* PIT periodic on channel 0 and the PIC in use too. */
	outb(&t, 0x20, 0x11);
	outb(&t, 0x21, 0x30);
	outb(&t, 0x21, 0x04);
	outb(&t, 0x21, 0x01);
	outb(&t, 0x21, 0xEE);
	outb(&t, 0x43, 0x34);
	outb(&t, 0x40, 0x00);
	outb(&t, 0x40, 0x01);
	CHECK_EQ(pthread_create(&th[0], NULL, route_vcpu_thread, &a[0]), 0);
	CHECK_EQ(pthread_create(&th[1], NULL, route_vcpu_thread, &a[1]), 0);
	CHECK_EQ(pthread_create(&th[2], NULL, route_device_thread, &a[2]), 0);
	for (unsigned i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	CHECK(t.r.ioapic.stat_delivered > 100);
	route_rig_destroy(&t);
}

int main(void)
{
	TEST_RUN(test_registers);
	TEST_RUN(test_edge);
	TEST_RUN(test_level_remote_irr);
	TEST_RUN(test_destinations);
	TEST_RUN(test_route_gsi);
	TEST_RUN(test_route_pit_extint);
	TEST_RUN(test_route_threads);
	return test_done();
}
