/* GSI routing to the soft IOAPIC and 8259A pair, the PIT's IRQ0, and their port/MMIO handlers. */
#include "cpu/soft/irqchip/irq_route.h"

#include <errno.h>
#include <string.h>

#include "popek/log.h"

#define ROUTE_PIT_IOAPIC_PIN 2 /* the MADT's interrupt source override for IRQ0 */

/* Drops the lock, then wakes the vCPUs that deliveries made under it
 * queued (the vCPUs' own locks are never taken under this one). */
static void route_unlock(struct soft_irq_route *r)
{
	pthread_mutex_unlock(&r->lock);
	if (r->apic)
		soft_apic_bus_flush(r->apic);
}

/* ---- Lines (lock held) --------------------------------------------------- */

static void route_set_locked(struct soft_irq_route *r, unsigned gsi, bool level)
{
	if (gsi >= SOFT_IRQ_ROUTE_GSIS)
		return;
	if (level)
		r->gsi_levels |= 1u << gsi;
	else
		r->gsi_levels &= ~(1u << gsi);
	if (gsi == 0) {
		soft_pic_set_irq(&r->pic, 0, level);
		soft_ioapic_set_pin(&r->ioapic, ROUTE_PIT_IOAPIC_PIN, level);
		return;
	}
	/* Nothing is routed as GSI 2: its pin is IRQ0's, and the 8259's IRQ2 the
	 * cascade (KVM's table in kvm.c is the same). */
	if (gsi == 2)
		return;
	if (gsi < 16)
		soft_pic_set_irq(&r->pic, gsi, level);
	soft_ioapic_set_pin(&r->ioapic, gsi, level);
}

void soft_irq_route_set(struct soft_irq_route *r, unsigned gsi, bool level)
{
	pthread_mutex_lock(&r->lock);
	route_set_locked(r, gsi, level);
	route_unlock(r);
}

void soft_irq_route_irq_set(void *opaque, unsigned gsi, bool level)
{
	soft_irq_route_set(opaque, gsi, level);
}

/* PIT channel 0 OUT edge: ISA IRQs are edge-triggered, so a pulse. */
static void route_pit_irq(void *opaque)
{
	struct soft_irq_route *r = opaque;

	route_set_locked(r, 0, true);
	route_set_locked(r, 0, false);
}

/* The PIC's INT output drives the BSP's LINT0. */
static void route_pic_intr(void *opaque, bool level)
{
	struct soft_irq_route *r = opaque;
	struct soft_lapic *bsp = r->apic ? atomic_load(&r->apic->lapic[0]) : NULL;

	if (bsp && soft_lapic_set_pic_intr(bsp, level))
		soft_apic_bus_defer_kick(r->apic, 0);
}

/* ---- Callbacks from the LAPICs (no LAPIC lock held) ---------------------- */

static void route_eoi(void *opaque, u8 vector)
{
	struct soft_irq_route *r = opaque;

	pthread_mutex_lock(&r->lock);
	soft_ioapic_eoi(&r->ioapic, vector);
	route_unlock(r);
}

static int route_extint_ack(void *opaque)
{
	struct soft_irq_route *r = opaque;
	int vector;

	pthread_mutex_lock(&r->lock);
	vector = soft_pic_ack(&r->pic);
	route_unlock(r);
	return vector;
}

static const struct soft_apic_irq_ops route_apic_irq_ops = {
    .eoi = route_eoi,
    .extint_ack = route_extint_ack,
};

/* ---- PIT timer ----------------------------------------------------------- */

u64 soft_irq_route_next_deadline(struct soft_irq_route *r)
{
	u64 d;

	pthread_mutex_lock(&r->lock);
	d = soft_pit_next_deadline(&r->pit);
	route_unlock(r);
	return d;
}

void soft_irq_route_tick(struct soft_irq_route *r, u64 now_ns)
{
	pthread_mutex_lock(&r->lock);
	soft_pit_tick(&r->pit, now_ns);
	route_unlock(r);
}

/* ---- Port I/O ------------------------------------------------------------ */

static bool route_is_pit_port(u16 port)
{
	return (port >= PORT_PIT && port < PORT_PIT + 4) || port == PORT_SYSTEM_CONTROL_B;
}

/* One byte-wide port access (lock held). */
static u8 route_inb(struct soft_irq_route *r, u16 port, u64 now_ns)
{
	if (route_is_pit_port(port))
		return soft_pit_read(&r->pit, port, now_ns);
	return soft_pic_read(&r->pic, port);
}

static void route_outb(struct soft_irq_route *r, u16 port, u8 v, u64 now_ns)
{
	if (route_is_pit_port(port))
		soft_pit_write(&r->pit, port, v, now_ns);
	else
		soft_pic_write(&r->pic, port, v);
}

/* Wider accesses are split into byte accesses to consecutive ports. */
u64 soft_irq_route_pio_read(struct soft_irq_route *r, u16 port, unsigned size)
{
	u64 now = r->clock ? r->clock(r->clock_opaque) : 0, v = 0;

	pthread_mutex_lock(&r->lock);
	for (unsigned i = 0; i < size && i < 8; i++)
		v |= (u64)route_inb(r, (u16)(port + i), now) << (8 * i);
	route_unlock(r);
	return v;
}

void soft_irq_route_pio_write(struct soft_irq_route *r, u16 port, unsigned size, u64 value)
{
	u64 now = r->clock ? r->clock(r->clock_opaque) : 0;

	pthread_mutex_lock(&r->lock);
	for (unsigned i = 0; i < size && i < 8; i++)
		route_outb(r, (u16)(port + i), (u8)(value >> (8 * i)), now);
	route_unlock(r);
}

/* Bus handlers: one ops table per range, since the bus passes offsets. */
#define ROUTE_PIO_OPS(name, base)                                                                  \
	static u64 route_##name##_read(void *opaque, u64 off, unsigned size)                       \
	{                                                                                          \
		return soft_irq_route_pio_read(opaque, (u16)((base) + off), size);                 \
	}                                                                                          \
	static void route_##name##_write(void *opaque, u64 off, unsigned size, u64 v)              \
	{                                                                                          \
		soft_irq_route_pio_write(opaque, (u16)((base) + off), size, v);                    \
	}                                                                                          \
	static const struct bus_ops route_##name##_ops = {#name, route_##name##_read,              \
							  route_##name##_write}

ROUTE_PIO_OPS(pic_master, PORT_PIC_MASTER);
ROUTE_PIO_OPS(pic_slave, PORT_PIC_SLAVE);
ROUTE_PIO_OPS(elcr, SOFT_PIC_PORT_ELCR);
ROUTE_PIO_OPS(pit, PORT_PIT);
ROUTE_PIO_OPS(port61, PORT_SYSTEM_CONTROL_B);

static u64 route_ioapic_read(void *opaque, u64 off, unsigned size)
{
	struct soft_irq_route *r = opaque;
	u32 v;

	pthread_mutex_lock(&r->lock);
	v = soft_ioapic_mmio_read(&r->ioapic, off, size);
	route_unlock(r);
	return v;
}

static void route_ioapic_write(void *opaque, u64 off, unsigned size, u64 v)
{
	struct soft_irq_route *r = opaque;

	pthread_mutex_lock(&r->lock);
	soft_ioapic_mmio_write(&r->ioapic, off, size, (u32)v);
	route_unlock(r);
}

static const struct bus_ops route_ioapic_ops = {"ioapic", route_ioapic_read, route_ioapic_write};

int soft_irq_route_register(struct soft_irq_route *r, struct bus *pio, struct bus *mmio)
{
	static const struct {
		u16 port, len;
		const struct bus_ops *ops;
	} ranges[] = {
	    {PORT_PIC_MASTER, 2, &route_pic_master_ops},
	    {PORT_PIC_SLAVE, 2, &route_pic_slave_ops},
	    {SOFT_PIC_PORT_ELCR, 2, &route_elcr_ops},
	    {PORT_PIT, 4, &route_pit_ops},
	    {PORT_SYSTEM_CONTROL_B, 1, &route_port61_ops},
	};
	int err;

	for (unsigned i = 0; i < ARRAY_SIZE(ranges); i++) {
		err = bus_register(pio, ranges[i].port, ranges[i].len, ranges[i].ops, r);
		if (err) {
			log_error("soft irqchip: cannot claim ports 0x%x-0x%x: %s", ranges[i].port,
				  ranges[i].port + ranges[i].len - 1, strerror(-err));
			return err;
		}
	}
	err = bus_register(mmio, LAYOUT_IOAPIC, SOFT_IOAPIC_MMIO_SIZE, &route_ioapic_ops, r);
	if (err)
		log_error("soft irqchip: cannot claim the IOAPIC page at 0x%llx: %s",
			  (unsigned long long)LAYOUT_IOAPIC, strerror(-err));
	return err;
}

/* ---- Life cycle ---------------------------------------------------------- */

int soft_irq_route_init(struct soft_irq_route *r, struct soft_apic_bus *apic, unsigned ioapic_id,
			soft_clock_fn *clock, void *clock_opaque)
{
	int err;

	memset(r, 0, sizeof(*r));
	err = pthread_mutex_init(&r->lock, NULL);
	if (err)
		return -err;
	r->apic = apic;
	r->clock = clock;
	r->clock_opaque = clock_opaque;
	soft_ioapic_init(&r->ioapic, apic, ioapic_id);
	soft_pic_init(&r->pic, route_pic_intr, r);
	soft_pit_init(&r->pit, route_pit_irq, r);
	if (apic) {
		apic->irq = &route_apic_irq_ops;
		apic->irq_opaque = r;
	}
	return 0;
}

void soft_irq_route_destroy(struct soft_irq_route *r)
{
	if (r->apic && r->apic->irq_opaque == r) {
		r->apic->irq = NULL;
		r->apic->irq_opaque = NULL;
	}
	pthread_mutex_destroy(&r->lock);
}
