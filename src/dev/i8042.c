/* i8042 keyboard controller without devices (IBM PC/AT Technical Reference,
 * "Keyboard Controller"; command set as documented for PS/2 controllers). */
#include "dev/i8042.h"

#include <string.h>

#include "popek/layout.h"
#include "popek/log.h"

#define STS_OBF     0x01
#define STS_SYS     0x04
#define STS_CMD     0x08 /* last write went to the command port */
#define STS_UNLOCK  0x10 /* keyboard not inhibited */
#define STS_TIMEOUT 0x40

#define CTR_KBDINT 0x01
#define CTR_SYS    0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE  0x40

#define OUTPORT_RESET 0x01 /* 0: hold the CPU in reset */
#define OUTPORT_A20   0x02

#define KBD_NO_DEVICE 0xFE

static void i8042_update_irq(struct i8042 *c)
{
	bool level = (c->r.status & STS_OBF) && (c->r.ram[0] & CTR_KBDINT);

	if (level == c->r.irq_level)
		return;
	c->r.irq_level = level;
	irq_set_level(c->irq, I8042_GSI_KBD, level);
}

static void i8042_put(struct i8042 *c, u8 v)
{
	c->r.out = v;
	c->r.status |= STS_OBF;
}

static void i8042_reset_machine(struct i8042 *c, const char *how)
{
	log_debug("i8042: %s: reset", how);
	dev_request_stop(&c->stop, MACHINE_STOP_RESET, 0);
}

static void i8042_command(struct i8042 *c, u8 cmd)
{
	if (cmd >= 0x20 && cmd <= 0x3F) {
		i8042_put(c, c->r.ram[cmd - 0x20]);
		return;
	}
	if ((cmd >= 0x60 && cmd <= 0x7F) || (cmd >= 0xD1 && cmd <= 0xD4)) {
		c->r.pending_cmd = cmd;
		return;
	}
	if (cmd >= 0xF0) {
		/* Pulse the output port lines whose bits are clear; bit 0 is reset. */
		if (!(cmd & 0x01))
			i8042_reset_machine(c, "pulse output port");
		return;
	}
	switch (cmd) {
	case 0xA7:
		c->r.ram[0] |= CTR_AUXDIS;
		break;
	case 0xA8:
		c->r.ram[0] &= ~CTR_AUXDIS;
		break;
	case 0xA9:
		i8042_put(c, 0x02); /* aux clock line stuck high: no aux port */
		break;
	case 0xAA:
		c->r.status |= STS_SYS;
		i8042_put(c, 0x55);
		break;
	case 0xAB:
		i8042_put(c, 0x00);
		break;
	case 0xAD:
		c->r.ram[0] |= CTR_KBDDIS;
		break;
	case 0xAE:
		c->r.ram[0] &= ~CTR_KBDDIS;
		break;
	case 0xC0:
		i8042_put(c, 0x80); /* keyboard not inhibited */
		break;
	case 0xD0:
		i8042_put(c, c->r.outport);
		break;
	case 0xE0:
		i8042_put(c, 0x00);
		break;
	default:
		log_debug("i8042: command 0x%02x ignored", cmd);
		break;
	}
}

static void i8042_data(struct i8042 *c, u8 v)
{
	u8 cmd = c->r.pending_cmd;

	c->r.pending_cmd = 0;
	if (cmd >= 0x60 && cmd <= 0x7F) {
		c->r.ram[cmd - 0x60] = v;
		return;
	}
	switch (cmd) {
	case 0xD1:
		c->r.outport = v;
		if (!(v & OUTPORT_RESET))
			i8042_reset_machine(c, "output port write");
		return;
	case 0xD2:
	case 0xD3:
		i8042_put(c, v);
		return;
	case 0xD4:
		c->r.status |= STS_TIMEOUT; /* no aux device answers */
		return;
	default:
		/* A byte for the keyboard, and there is none. */
		c->r.status |= STS_TIMEOUT;
		i8042_put(c, KBD_NO_DEVICE);
		return;
	}
}

/* Reading data empties the output buffer. */
static u64 i8042_data_read(void *opaque, u64 offset, unsigned size)
{
	struct i8042 *c = opaque;
	u8 v = c->r.out;

	(void)offset;
	(void)size;
	c->r.status &= ~STS_OBF;
	i8042_update_irq(c);
	return v;
}

static void i8042_data_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct i8042 *c = opaque;

	(void)offset;
	(void)size;
	c->r.status &= ~(STS_TIMEOUT | STS_CMD);
	i8042_data(c, (u8)value);
	i8042_update_irq(c);
}

static u64 i8042_status_read(void *opaque, u64 offset, unsigned size)
{
	struct i8042 *c = opaque;

	(void)offset;
	(void)size;
	return c->r.status | STS_SYS | STS_UNLOCK;
}

static void i8042_cmd_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct i8042 *c = opaque;

	(void)offset;
	(void)size;
	c->r.status &= ~STS_TIMEOUT;
	c->r.status |= STS_CMD;
	c->r.pending_cmd = 0;
	i8042_command(c, (u8)value);
	i8042_update_irq(c);
}

static const struct bus_ops i8042_data_ops = {
    .name = "i8042 data",
    .read = i8042_data_read,
    .write = i8042_data_write,
};

static const struct bus_ops i8042_cmd_ops = {
    .name = "i8042 command",
    .read = i8042_status_read,
    .write = i8042_cmd_write,
};

int i8042_init(struct i8042 *c, struct bus *pio, struct irq_router *irq,
	       const struct dev_stop *stop)
{
	int err;

	memset(c, 0, sizeof(*c));
	c->irq = irq;
	c->stop = *stop;
	/* As a BIOS leaves it: translation on, self-test passed, the (absent)
	 * aux port disabled, keyboard interrupt on. */
	c->r.ram[0] = CTR_KBDINT | CTR_SYS | CTR_AUXDIS | CTR_XLATE;
	c->r.status = STS_SYS;
	c->r.outport = OUTPORT_RESET | OUTPORT_A20;
	/* Two one-port ranges: 0x61 between them belongs to the PIT. */
	err = bus_register(pio, PORT_I8042_DATA, 1, &i8042_data_ops, c);
	if (!err)
		err = bus_register(pio, PORT_I8042_CMD, 1, &i8042_cmd_ops, c);
	return err;
}
