/* The guest-program test device (register map in testdev.h). */
#include "dev/testdev.h"

#include <errno.h>
#include <string.h>

#include "dev/dev.h"
#include "popek/layout.h"

static u8 testdev_port_byte(const struct testdev *td, unsigned off)
{
	if (off < 4)
		return (u8)(td->r.port_scratch >> (8 * off));
	return off == 4 ? TESTDEV_MAGIC : 0;
}

static u64 testdev_port_read(void *opaque, u64 offset, unsigned size)
{
	struct testdev *td = opaque;
	u64 v = 0;

	for (unsigned i = 0; i < size && offset + i < TESTDEV_NR_PORTS; i++)
		v |= (u64)testdev_port_byte(td, (unsigned)offset + i) << (8 * i);
	return v;
}

static void testdev_port_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct testdev *td = opaque;

	for (unsigned i = 0; i < size && offset + i < 4; i++) {
		unsigned shift = 8 * ((unsigned)offset + i);
		td->r.port_scratch &= ~(0xFFu << shift);
		td->r.port_scratch |= (u32)(u8)(value >> (8 * i)) << shift;
	}
}

/* Does [offset, offset + size) lie inside [base, base + len)? */
static bool testdev_inside(u64 offset, unsigned size, u64 base, u64 len)
{
	return offset >= base && offset - base <= len && size <= len - (offset - base);
}

static u64 testdev_mmio_read(void *opaque, u64 offset, unsigned size)
{
	struct testdev *td = opaque;
	u64 v = 0;

	td->r.count++;
	if (size > 8)
		return 0;
	if (testdev_inside(offset, size, TESTDEV_SCRATCH, TESTDEV_SCRATCH_SIZE)) {
		for (unsigned i = 0; i < size; i++)
			v |= (u64)td->r.mem[offset + i] << (8 * i);
		return v;
	}
	if (testdev_inside(offset, size, TESTDEV_COUNT, 8))
		return td->r.count >> (8 * (offset - TESTDEV_COUNT)); /* the bus masks to size */
	if (offset == TESTDEV_LEVEL)
		return td->r.level;
	return 0;
}

static void testdev_mmio_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct testdev *td = opaque;

	td->r.count++;
	if (size > 8)
		return;
	if (testdev_inside(offset, size, TESTDEV_SCRATCH, TESTDEV_SCRATCH_SIZE)) {
		for (unsigned i = 0; i < size; i++)
			td->r.mem[offset + i] = (u8)(value >> (8 * i));
	} else if (offset == TESTDEV_LEVEL) {
		td->r.level = value & 1;
		irq_set_level(td->irq, td->gsi, td->r.level);
	} else if (offset == TESTDEV_PULSE && !td->r.level) {
		irq_pulse(td->irq, td->gsi);
	} else if (offset == TESTDEV_PULSE_GSI && value < LAYOUT_IOAPIC_PINS &&
		   !(value == td->gsi && td->r.level)) {
		irq_pulse(td->irq, (unsigned)value);
	}
}

static const struct bus_ops testdev_port_ops = {
    .name = "testdev",
    .read = testdev_port_read,
    .write = testdev_port_write,
};

static const struct bus_ops testdev_mmio_ops = {
    .name = "testdev",
    .read = testdev_mmio_read,
    .write = testdev_mmio_write,
};

int testdev_init(struct testdev *td, struct bus *pio, struct bus *mmio, struct irq_router *irq,
		 unsigned gsi)
{
	int err;

	memset(td, 0, sizeof(*td));
	td->irq = irq;
	td->gsi = gsi;
	err = bus_register(pio, PORT_TESTDEV, TESTDEV_NR_PORTS, &testdev_port_ops, td);
	if (!err)
		err = bus_register(mmio, LAYOUT_TESTDEV_MMIO, LAYOUT_TESTDEV_SIZE,
				   &testdev_mmio_ops, td);
	return err;
}

/* Snapshot form, in this order: the port scratch register (u32), the 256
 * MMIO scratch bytes, the MMIO access count (u64), LEVEL (bool). */
int testdev_save(const struct testdev *td, struct snap_out *o)
{
	snap_put_u32(o, td->r.port_scratch);
	snap_put_bytes(o, td->r.mem, sizeof(td->r.mem));
	snap_put_u64(o, td->r.count);
	snap_put_bool(o, td->r.level);
	return o->err;
}

int testdev_load(struct testdev *td, struct snap_in *in)
{
	struct testdev_regs r;

	r.port_scratch = snap_get_u32(in);
	snap_get_bytes(in, r.mem, sizeof(r.mem));
	r.count = snap_get_u64(in);
	r.level = dev_get_flag(in, "testdev: LEVEL");
	if (snap_in_end(in) < 0)
		return -EINVAL;
	td->r = r;
	irq_set_level(td->irq, td->gsi, td->r.level);
	return 0;
}
