/* Unit tests for the soft 8259A pair: Linux's init sequence, masks, ack, EOI, cascade, poll. */
#include "cpu/soft/irqchip/pic.h"

#include "test.h"

struct rig {
	struct soft_pic pic;
	int intr_changes;
};

static void rig_intr(void *opaque, bool level)
{
	(void)level;
	((struct rig *)opaque)->intr_changes++;
}

/* arch/x86/kernel/i8259.c: probe_8259A() then init_8259A(0). */
static void linux_init(struct rig *r, bool auto_eoi)
{
	struct soft_pic *p = &r->pic;

	soft_pic_write(p, 0xA1, 0xFF);
	soft_pic_write(p, 0x21, 0xFB);
	CHECK_EQ(soft_pic_read(p, 0x21), 0xFB); /* the probe: "is there a PIC?" */
	soft_pic_write(p, 0x21, 0xFF);
	soft_pic_write(p, 0x20, 0x11);                   /* ICW1: edge, cascade, ICW4 */
	soft_pic_write(p, 0x21, 0x30);                   /* ICW2: vectors 0x30-0x37 */
	soft_pic_write(p, 0x21, 0x04);                   /* ICW3: slave on IR2 */
	soft_pic_write(p, 0x21, auto_eoi ? 0x03 : 0x01); /* ICW4: 8086 (+AEOI) */
	soft_pic_write(p, 0xA0, 0x11);
	soft_pic_write(p, 0xA1, 0x38); /* vectors 0x38-0x3F */
	soft_pic_write(p, 0xA1, 0x02); /* cascade identity */
	soft_pic_write(p, 0xA1, 0x01);
	soft_pic_write(p, 0x21, 0xFF); /* restore the masks */
	soft_pic_write(p, 0xA1, 0xFF);
}

static void rig_init(struct rig *r, bool auto_eoi)
{
	memset(r, 0, sizeof(*r));
	soft_pic_init(&r->pic, rig_intr, r);
	linux_init(r, auto_eoi);
}

static u8 read_isr(struct soft_pic *p, u16 cmd)
{
	u8 v;

	soft_pic_write(p, cmd, 0x0B);
	v = soft_pic_read(p, cmd);
	soft_pic_write(p, cmd, 0x0A);
	return v;
}

static void test_master_irq(void)
{
	struct rig r;
	struct soft_pic *p = &r.pic;

	rig_init(&r, false);
	soft_pic_set_irq(p, 0, true);
	soft_pic_set_irq(p, 0, false);
	CHECK(!soft_pic_intr(p));               /* masked */
	CHECK_EQ(soft_pic_read(p, 0x20), 0x01); /* but in IRR (OCW3 default) */
	soft_pic_write(p, 0x21, 0xFA);          /* unmask IRQ0 (and cascade) */
	CHECK(soft_pic_intr(p));
	CHECK_EQ(r.intr_changes, 1);
	CHECK_EQ(soft_pic_ack(p), 0x30);
	CHECK(!soft_pic_intr(p));
	CHECK_EQ(read_isr(p, 0x20), 0x01);
	CHECK_EQ(soft_pic_read(p, 0x20), 0x00); /* IRR cleared by INTA */
	/* Lower priority IRQ4 waits for the EOI; higher priority nests. */
	soft_pic_write(p, 0x21, 0xE8); /* unmask 0, 1, 2, 4 */
	soft_pic_set_irq(p, 4, true);
	CHECK(!soft_pic_intr(p));
	soft_pic_write(p, 0x20, 0x60); /* specific EOI for IRQ0 */
	CHECK_EQ(read_isr(p, 0x20), 0x00);
	CHECK(soft_pic_intr(p));
	CHECK_EQ(soft_pic_ack(p), 0x34);
	soft_pic_set_irq(p, 1, true);
	CHECK(soft_pic_intr(p));
	CHECK_EQ(soft_pic_ack(p), 0x31);
	CHECK_EQ(read_isr(p, 0x20), 0x12);
	soft_pic_write(p, 0x20, 0x20); /* non-specific EOI: IRQ1 first */
	CHECK_EQ(read_isr(p, 0x20), 0x10);
	soft_pic_write(p, 0x20, 0x20);
	CHECK_EQ(read_isr(p, 0x20), 0x00);
}

static void test_cascade(void)
{
	struct rig r;
	struct soft_pic *p = &r.pic;

	rig_init(&r, false);
	soft_pic_write(p, 0x21, 0xFB);
	soft_pic_write(p, 0xA1, 0xEF); /* unmask IRQ12 */
	soft_pic_set_irq(p, 12, true);
	CHECK(soft_pic_intr(p));
	CHECK_EQ(soft_pic_ack(p), 0x3C);
	CHECK_EQ(read_isr(p, 0x20), 0x04);
	CHECK_EQ(read_isr(p, 0xA0), 0x10);
	soft_pic_set_irq(p, 12, false);
	soft_pic_write(p, 0xA0, 0x64); /* EOI slave IRQ4, then master IR2 */
	soft_pic_write(p, 0x20, 0x62);
	CHECK_EQ(read_isr(p, 0x20), 0);
	CHECK_EQ(read_isr(p, 0xA0), 0);
	CHECK(!soft_pic_intr(p));
	/* IRQ2 itself is the cascade: raising it does nothing. */
	soft_pic_set_irq(p, 2, true);
	CHECK(!soft_pic_intr(p));
}

static void test_spurious_and_mask_all(void)
{
	struct rig r;
	struct soft_pic *p = &r.pic;

	rig_init(&r, false);
	soft_pic_write(p, 0x21, 0xFE);
	soft_pic_set_irq(p, 0, true);
	CHECK(soft_pic_intr(p));
	soft_pic_write(p, 0x21, 0xFF); /* masked before the INTA */
	CHECK(!soft_pic_intr(p));
	CHECK_EQ(soft_pic_ack(p), 0x37); /* spurious IRQ7 */
	CHECK_EQ(read_isr(p, 0x20), 0);
	soft_pic_write(p, 0x21, 0xFB);
	soft_pic_write(p, 0xA1, 0xFE);
	soft_pic_set_irq(p, 8, true);
	CHECK(soft_pic_intr(p));
	soft_pic_write(p, 0xA1, 0xFF);
	/* The slave's INT fell, so the master withdraws IR2 too. */
	CHECK(!soft_pic_intr(p));
	CHECK_EQ(soft_pic_ack(p), 0x37);
	/* Slave spurious: the slave lost its request between the master's
	 * resolution and the slave's INTA (IRQ15's vector). */
	soft_pic_write(p, 0xA1, 0xFE);
	CHECK(soft_pic_intr(p));
	p->chip[1].irr = 0; /* the request vanishes as the INTA starts */
	CHECK_EQ(soft_pic_ack(p), 0x3F);
	soft_pic_write(p, 0x20, 0x20);
	/* Linux with an IOAPIC: everything masked, lines toggling, no INT. */
	soft_pic_write(p, 0x21, 0xFF);
	soft_pic_write(p, 0xA1, 0xFF);
	for (unsigned irq = 0; irq < 16; irq++) {
		soft_pic_set_irq(p, irq, true);
		soft_pic_set_irq(p, irq, false);
	}
	CHECK(!soft_pic_intr(p));
	CHECK_EQ(soft_pic_read(p, 0x21), 0xFF);
	CHECK_EQ(soft_pic_read(p, 0xA1), 0xFF);
}

static void test_level_elcr(void)
{
	struct rig r;
	struct soft_pic *p = &r.pic;

	rig_init(&r, false);
	soft_pic_write(p, 0x4D0, 0xFF);
	CHECK_EQ(soft_pic_read(p, 0x4D0), 0xF8); /* IRQ0-2 are always edge */
	soft_pic_write(p, 0x4D0, 0x00);
	soft_pic_write(p, 0x4D1, 0x02); /* IRQ9 level */
	CHECK_EQ(soft_pic_read(p, 0x4D1), 0x02);
	soft_pic_write(p, 0x21, 0xFB);
	soft_pic_write(p, 0xA1, 0xFD);
	soft_pic_set_irq(p, 9, true);
	CHECK_EQ(soft_pic_ack(p), 0x39);
	CHECK_EQ(soft_pic_read(p, 0xA0), 0x02); /* level: IRR follows the line */
	soft_pic_write(p, 0xA0, 0x20);
	soft_pic_write(p, 0x20, 0x20);
	CHECK(soft_pic_intr(p)); /* still high: again */
	soft_pic_set_irq(p, 9, false);
	CHECK(!soft_pic_intr(p));
	CHECK_EQ(soft_pic_read(p, 0xA0), 0x00);
}

static void test_auto_eoi_and_poll(void)
{
	struct rig r;
	struct soft_pic *p = &r.pic;

	rig_init(&r, true);
	soft_pic_write(p, 0x21, 0xF8);
	soft_pic_set_irq(p, 1, true);
	CHECK_EQ(soft_pic_ack(p), 0x31);
	CHECK_EQ(read_isr(p, 0x20), 0); /* auto-EOI */
	/* Poll command: 0x80 | IR, acknowledged; then 0 when nothing is left. */
	soft_pic_set_irq(p, 1, false);
	soft_pic_set_irq(p, 0, true);
	soft_pic_write(p, 0x20, 0x0C);
	CHECK_EQ(soft_pic_read(p, 0x20), 0x80);
	soft_pic_write(p, 0x20, 0x0C);
	CHECK_EQ(soft_pic_read(p, 0x20), 0x00);
	/* Rotation: after "rotate on non-specific EOI" for IR0, IR1 beats IR0. */
	rig_init(&r, false);
	soft_pic_write(p, 0x21, 0xF8);
	soft_pic_set_irq(p, 0, true);
	CHECK_EQ(soft_pic_ack(p), 0x30);
	soft_pic_write(p, 0x20, 0xA0);
	soft_pic_set_irq(p, 0, false);
	soft_pic_set_irq(p, 0, true);
	soft_pic_set_irq(p, 1, true);
	CHECK_EQ(soft_pic_ack(p), 0x31);
	/* Unknown ports. */
	CHECK_EQ(soft_pic_read(p, 0x22), 0xFF);
	soft_pic_write(p, 0x22, 0x00);
}

int main(void)
{
	TEST_RUN(test_master_irq);
	TEST_RUN(test_cascade);
	TEST_RUN(test_spurious_and_mask_all);
	TEST_RUN(test_level_elcr);
	TEST_RUN(test_auto_eoi_and_poll);
	return test_done();
}
