/* 8259A programmable interrupt controller pair (Intel 8259A datasheet: ICW1-4, OCW1-3). */
#include "cpu/soft/irqchip/pic.h"

#include <string.h>

#define PIC_CASCADE_IRQ 2

static bool chip_is_level(const struct soft_pic_chip *c, unsigned irq)
{
	return c->ltim || (c->elcr & (1u << irq));
}

/* 0 is the highest priority; rotation moves IR prio_add to the top. */
static unsigned chip_priority(const struct soft_pic_chip *c, unsigned irq)
{
	return (irq - c->prio_add) & 7;
}

/* The highest-priority IR set in bits, or -1. */
static int chip_highest(const struct soft_pic_chip *c, u8 bits)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned irq = (c->prio_add + i) & 7;

		if (bits & (1u << irq))
			return (int)irq;
	}
	return -1;
}

/* The IR this chip would interrupt for now, or -1 (datasheet "Priority
 * Resolver"): unmasked IRR above everything in service. In special fully
 * nested mode the master lets the cascade input nest (ICW4.SFNM). */
static int chip_pending(const struct soft_pic_chip *c, bool master)
{
	int irq = chip_highest(c, c->irr & ~c->imr);
	u8 in_service = c->isr;
	int cur;

	if (irq < 0)
		return -1;
	if (c->special_mask)
		in_service &= ~c->imr;
	if (master && c->sfnm)
		in_service &= ~(1u << PIC_CASCADE_IRQ);
	cur = chip_highest(c, in_service);
	if (cur >= 0 && chip_priority(c, (unsigned)cur) <= chip_priority(c, (unsigned)irq))
		return -1;
	return irq;
}

/* Device inputs latch IRR on the rising edge and keep it after the line
 * drops (devices pulse: irq_pulse), unless level-triggered. follow makes
 * IRR track the line, as it does for the cascade input: the slave's INT
 * falling before the INTA withdraws the request (no spurious IRQ7). */
static void chip_set_line(struct soft_pic_chip *c, unsigned irq, bool level, bool follow)
{
	u8 bit = 1u << irq;

	if (follow || chip_is_level(c, irq)) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->lines & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->lines |= bit;
	else
		c->lines &= ~bit;
}

/* INTA on one chip for irq: ISR set (or auto-EOI), edge IRR cleared. */
static void chip_ack(struct soft_pic_chip *c, unsigned irq)
{
	u8 bit = 1u << irq;

	if (c->auto_eoi) {
		if (c->rotate_aeoi)
			c->prio_add = (irq + 1) & 7;
	} else {
		c->isr |= bit;
	}
	if (!chip_is_level(c, irq))
		c->irr &= ~bit;
}

/* Recomputes the cascade (slave INT -> master IR2) and the master's INT;
 * tells intr_fn when INT changed, or always when force. */
static void pic_update_to(struct soft_pic *pic, bool force)
{
	struct soft_pic_chip *m = &pic->chip[0];
	bool intr;

	chip_set_line(m, PIC_CASCADE_IRQ, chip_pending(&pic->chip[1], false) >= 0, true);
	intr = chip_pending(m, true) >= 0;
	if (intr != pic->intr || force) {
		pic->intr = intr;
		if (pic->intr_fn)
			pic->intr_fn(pic->opaque, intr);
	}
}

static void pic_update(struct soft_pic *pic)
{
	pic_update_to(pic, false);
}

void soft_pic_resync(struct soft_pic *pic)
{
	pic_update_to(pic, true);
}

static void chip_reset(struct soft_pic_chip *c, u8 base, u8 elcr_mask)
{
	u8 lines = c->lines, elcr = c->elcr;

	memset(c, 0, sizeof(*c));
	c->lines = lines;
	c->elcr = elcr & elcr_mask;
	c->elcr_mask = elcr_mask;
	c->imr = 0xFF;
	c->base = base;
	c->irr = c->lines & c->elcr;
}

void soft_pic_reset(struct soft_pic *pic)
{
	/* IRQ0-2 (timer, keyboard, cascade) and IRQ8, IRQ13 are always edge. */
	chip_reset(&pic->chip[0], 0x08, 0xF8);
	chip_reset(&pic->chip[1], 0x70, 0xDE);
	pic_update(pic);
}

void soft_pic_init(struct soft_pic *pic, soft_pic_intr_fn *intr, void *opaque)
{
	memset(pic, 0, sizeof(*pic));
	pic->intr_fn = intr;
	pic->opaque = opaque;
	soft_pic_reset(pic);
}

void soft_pic_set_irq(struct soft_pic *pic, unsigned irq, bool level)
{
	if (irq >= 16 || irq == PIC_CASCADE_IRQ)
		return;
	chip_set_line(&pic->chip[irq >> 3], irq & 7, level, false);
	pic_update(pic);
}

bool soft_pic_intr(const struct soft_pic *pic)
{
	return pic->intr;
}

int soft_pic_ack(struct soft_pic *pic)
{
	struct soft_pic_chip *m = &pic->chip[0], *s = &pic->chip[1];
	int irq = chip_pending(m, true), sirq, vector;

	if (irq < 0) {
		/* INT went away before INTA: the default IR7 (datasheet, "Interrupt Sequence"). */
		vector = m->base + 7;
	} else if (irq == PIC_CASCADE_IRQ && !m->single) {
		chip_ack(m, (unsigned)irq);
		sirq = chip_pending(s, false);
		if (sirq < 0) {
			vector = s->base + 7;
		} else {
			chip_ack(s, (unsigned)sirq);
			vector = s->base + sirq;
		}
	} else {
		chip_ack(m, (unsigned)irq);
		vector = m->base + irq;
	}
	pic_update(pic);
	return vector & 0xFF;
}

/* ICW1: start of the initialization sequence (datasheet "Initialization
 * Command Words"): IMR and ISR cleared, IR7 lowest priority, special mask
 * off, IRR selected for reads, edge detection restarted. */
static void chip_icw1(struct soft_pic_chip *c, u8 v)
{
	c->icw4_needed = v & 0x01;
	c->single = v & 0x02;
	c->ltim = v & 0x08;
	c->imr = 0;
	c->isr = 0;
	c->irr = 0;
	for (unsigned irq = 0; irq < 8; irq++)
		if (chip_is_level(c, irq) && (c->lines & (1u << irq)))
			c->irr |= 1u << irq;
	/* A line already high must go low and high again to be seen. */
	c->prio_add = 0;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->auto_eoi = false;
	c->rotate_aeoi = false;
	c->sfnm = false;
	c->icw_step = 2;
}

static void chip_icw(struct soft_pic_chip *c, u8 v)
{
	switch (c->icw_step) {
	case 2:
		c->base = v & 0xF8;
		c->icw_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
		break;
	case 3: /* cascade wiring: fixed on a PC (slave on IR2) */
		c->icw_step = c->icw4_needed ? 4 : 0;
		break;
	default:
		c->auto_eoi = v & 0x02;
		c->sfnm = v & 0x10;
		c->icw_step = 0;
		break;
	}
}

/* OCW2: EOI and rotation commands (bits 7:5 R, SL, EOI). */
static void chip_ocw2(struct soft_pic_chip *c, u8 v)
{
	unsigned cmd = v >> 5, irq = v & 7;
	int top;

	switch (cmd) {
	case 0: /* rotate in auto-EOI mode: clear */
	case 4: /* rotate in auto-EOI mode: set */
		c->rotate_aeoi = cmd == 4;
		break;
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		top = chip_highest(c, c->isr);
		if (top < 0)
			break;
		c->isr &= ~(1u << top);
		if (cmd == 5)
			c->prio_add = (top + 1) & 7;
		break;
	case 3: /* specific EOI */
	case 7: /* rotate on specific EOI */
		c->isr &= ~(1u << irq);
		if (cmd == 7)
			c->prio_add = (irq + 1) & 7;
		break;
	case 6: /* set priority: irq becomes the lowest */
		c->prio_add = (irq + 1) & 7;
		break;
	default: /* 2: no operation */
		break;
	}
}

/* OCW3: special mask mode, poll, register select. */
static void chip_ocw3(struct soft_pic_chip *c, u8 v)
{
	if (v & 0x04)
		c->poll = true;
	if (v & 0x02)
		c->read_isr = v & 0x01;
	if (v & 0x40)
		c->special_mask = v & 0x20;
}

/* Poll: the highest pending IR as 0x80 | irq, acknowledged; 0 if none. */
static u8 pic_poll(struct soft_pic *pic, unsigned chip)
{
	struct soft_pic_chip *c = &pic->chip[chip];
	int irq = chip_pending(c, chip == 0);

	c->poll = false;
	if (irq < 0)
		return 0;
	chip_ack(c, (unsigned)irq);
	pic_update(pic);
	return 0x80 | (u8)irq;
}

u8 soft_pic_read(struct soft_pic *pic, u16 port)
{
	unsigned chip;
	struct soft_pic_chip *c;

	if (port == SOFT_PIC_PORT_ELCR || port == SOFT_PIC_PORT_ELCR + 1)
		return pic->chip[port & 1].elcr;
	if ((port & ~1u) == PORT_PIC_MASTER)
		chip = 0;
	else if ((port & ~1u) == PORT_PIC_SLAVE)
		chip = 1;
	else
		return 0xFF;
	c = &pic->chip[chip];
	if (c->poll)
		return pic_poll(pic, chip);
	if (port & 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

void soft_pic_write(struct soft_pic *pic, u16 port, u8 value)
{
	struct soft_pic_chip *c;

	if (port == SOFT_PIC_PORT_ELCR || port == SOFT_PIC_PORT_ELCR + 1) {
		c = &pic->chip[port & 1];
		c->elcr = value & c->elcr_mask;
		pic_update(pic);
		return;
	}
	if ((port & ~1u) == PORT_PIC_MASTER)
		c = &pic->chip[0];
	else if ((port & ~1u) == PORT_PIC_SLAVE)
		c = &pic->chip[1];
	else
		return;
	if (!(port & 1)) {
		if (value & 0x10)
			chip_icw1(c, value);
		else if (value & 0x08)
			chip_ocw3(c, value);
		else
			chip_ocw2(c, value);
	} else if (c->icw_step) {
		chip_icw(c, value);
	} else {
		c->imr = value; /* OCW1 */
	}
	pic_update(pic);
}
