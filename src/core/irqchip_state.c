/* The clock's and the interrupt controllers' engine-neutral forms (irqchip_state.h): their
 * encodings and their checks. */
#include <errno.h>

#include "core/irqchip_state.h"

/*
 * The clock's encoding: u64 guest_ns, u32 tsc_khz (not 0).
 *
 * The interrupt controllers', in this order, integers little-endian, flags
 * one byte 0 or 1:
 *
 *   IOAPIC  u32 pins (24), u32 id, u32 ioregsel, u32 lines, u64 rte[pins]
 *   PIC     master then slave, each: u8 irr, isr, imr, lines, elcr, elcr_mask,
 *           base, prio_add, icw_step; flags icw4_needed, single, ltim,
 *           auto_eoi, rotate_aeoi, sfnm, special_mask, read_isr, poll
 *   PIT     channels 0, 1, 2, each: u32 count, u8 mode, u8 rw, flags bcd,
 *           gate, armed, running, u64 base_ticks, u64 run_ns, flag
 *           write_msb, u8 write_lsb,
 *           flag read_msb, u16 latch, u8 latch_left, flag status_latched,
 *           u8 status, flag irq_armed, u64 irq_tick
 *   port 0x61  u8 (bits 0-3)
 */

static const char *const pic_name[2] = {"master", "slave"};

void clock_state_encode(const struct x86_clock_state *c, struct snap_out *o)
{
	snap_put_u64(o, c->guest_ns);
	snap_put_u32(o, c->tsc_khz);
}

int clock_state_decode(struct snap_in *in, struct x86_clock_state *c)
{
	c->guest_ns = snap_get_u64(in);
	c->tsc_khz = snap_get_u32(in);
	if (!in->bad && !c->tsc_khz)
		snap_reject(in, "the guest TSC runs at 0 kHz");
	return in->bad ? -EINVAL : 0;
}

static void ioapic_encode(const struct x86_ioapic_state *io, struct snap_out *o)
{
	snap_put_u32(o, LAYOUT_IOAPIC_PINS);
	snap_put_u32(o, io->id);
	snap_put_u32(o, io->ioregsel);
	snap_put_u32(o, io->lines);
	for (unsigned i = 0; i < LAYOUT_IOAPIC_PINS; i++)
		snap_put_u64(o, io->rte[i]);
}

static void pic_encode(const struct x86_pic_chip_state *c, struct snap_out *o)
{
	snap_put_u8(o, c->irr);
	snap_put_u8(o, c->isr);
	snap_put_u8(o, c->imr);
	snap_put_u8(o, c->lines);
	snap_put_u8(o, c->elcr);
	snap_put_u8(o, c->elcr_mask);
	snap_put_u8(o, c->base);
	snap_put_u8(o, c->prio_add);
	snap_put_u8(o, c->icw_step);
	snap_put_bool(o, c->icw4_needed);
	snap_put_bool(o, c->single);
	snap_put_bool(o, c->ltim);
	snap_put_bool(o, c->auto_eoi);
	snap_put_bool(o, c->rotate_aeoi);
	snap_put_bool(o, c->sfnm);
	snap_put_bool(o, c->special_mask);
	snap_put_bool(o, c->read_isr);
	snap_put_bool(o, c->poll);
}

static void pit_encode(const struct x86_pit_channel_state *c, struct snap_out *o)
{
	snap_put_u32(o, c->count);
	snap_put_u8(o, c->mode);
	snap_put_u8(o, c->rw);
	snap_put_bool(o, c->bcd);
	snap_put_bool(o, c->gate);
	snap_put_bool(o, c->armed);
	snap_put_bool(o, c->running);
	snap_put_u64(o, c->base_ticks);
	snap_put_u64(o, c->run_ns);
	snap_put_bool(o, c->write_msb);
	snap_put_u8(o, c->write_lsb);
	snap_put_bool(o, c->read_msb);
	snap_put_u16(o, c->latch);
	snap_put_u8(o, c->latch_left);
	snap_put_bool(o, c->status_latched);
	snap_put_u8(o, c->status);
	snap_put_bool(o, c->irq_armed);
	snap_put_u64(o, c->irq_tick);
}

void irqchip_state_encode(const struct x86_irqchip_state *st, struct snap_out *o)
{
	ioapic_encode(&st->ioapic, o);
	for (unsigned i = 0; i < 2; i++)
		pic_encode(&st->pic[i], o);
	for (unsigned i = 0; i < 3; i++)
		pit_encode(&st->pit[i], o);
	snap_put_u8(o, st->port61);
}

static void ioapic_decode(struct snap_in *in, struct x86_ioapic_state *io)
{
	u32 pins = snap_get_u32(in);

	if (!in->bad && pins != LAYOUT_IOAPIC_PINS) {
		snap_reject(in, "an IOAPIC with %u pins; this machine's has %u", pins,
			    LAYOUT_IOAPIC_PINS);
		return;
	}
	io->id = snap_get_u32(in);
	io->ioregsel = snap_get_u32(in);
	io->lines = snap_get_u32(in);
	for (unsigned i = 0; i < LAYOUT_IOAPIC_PINS; i++)
		io->rte[i] = snap_get_u64(in);
}

static void pic_decode(struct snap_in *in, struct x86_pic_chip_state *c)
{
	c->irr = snap_get_u8(in);
	c->isr = snap_get_u8(in);
	c->imr = snap_get_u8(in);
	c->lines = snap_get_u8(in);
	c->elcr = snap_get_u8(in);
	c->elcr_mask = snap_get_u8(in);
	c->base = snap_get_u8(in);
	c->prio_add = snap_get_u8(in);
	c->icw_step = snap_get_u8(in);
	c->icw4_needed = snap_get_bool(in);
	c->single = snap_get_bool(in);
	c->ltim = snap_get_bool(in);
	c->auto_eoi = snap_get_bool(in);
	c->rotate_aeoi = snap_get_bool(in);
	c->sfnm = snap_get_bool(in);
	c->special_mask = snap_get_bool(in);
	c->read_isr = snap_get_bool(in);
	c->poll = snap_get_bool(in);
}

static void pit_decode(struct snap_in *in, struct x86_pit_channel_state *c)
{
	c->count = snap_get_u32(in);
	c->mode = snap_get_u8(in);
	c->rw = snap_get_u8(in);
	c->bcd = snap_get_bool(in);
	c->gate = snap_get_bool(in);
	c->armed = snap_get_bool(in);
	c->running = snap_get_bool(in);
	c->base_ticks = snap_get_u64(in);
	c->run_ns = snap_get_u64(in);
	c->write_msb = snap_get_bool(in);
	c->write_lsb = snap_get_u8(in);
	c->read_msb = snap_get_bool(in);
	c->latch = snap_get_u16(in);
	c->latch_left = snap_get_u8(in);
	c->status_latched = snap_get_bool(in);
	c->status = snap_get_u8(in);
	c->irq_armed = snap_get_bool(in);
	c->irq_tick = snap_get_u64(in);
}

int irqchip_state_decode(struct snap_in *in, struct x86_irqchip_state *st)
{
	char why[sizeof(in->why)];

	*st = (struct x86_irqchip_state){0};
	ioapic_decode(in, &st->ioapic);
	for (unsigned i = 0; i < 2; i++)
		pic_decode(in, &st->pic[i]);
	for (unsigned i = 0; i < 3; i++)
		pit_decode(in, &st->pit[i]);
	st->port61 = snap_get_u8(in);
	if (in->bad)
		return -EINVAL;
	if (irqchip_state_check(st, why, sizeof(why)))
		return snap_reject(in, "%s", why);
	return 0;
}

u64 x86_pit_ticks(const struct x86_pit_channel_state *c)
{
	return c->base_ticks + (u64)((unsigned __int128)c->run_ns * X86_PIT_HZ / 1000000000ULL);
}

/* ---- Checks ---------------------------------------------------------------- */

/* Redirection entry bits 17-55 are reserved (82093AA datasheet 3.2.4). */
#define RTE_RESERVED   0x00FFFFFFFFFE0000ull
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL      (1ull << 15)

static int ioapic_check(const struct x86_ioapic_state *io, char *why, size_t len)
{
	if (io->id > 0xF)
		return snap_fail(why, len, "IOAPIC id %u is above 15", io->id);
	if (io->ioregsel > 0xFF)
		return snap_fail(why, len, "IOAPIC IOREGSEL 0x%x is above 0xff", io->ioregsel);
	if (io->lines >> LAYOUT_IOAPIC_PINS)
		return snap_fail(why, len, "IOAPIC input lines 0x%x include pins above %u",
				 io->lines, LAYOUT_IOAPIC_PINS - 1);
	for (unsigned i = 0; i < LAYOUT_IOAPIC_PINS; i++) {
		u64 rte = io->rte[i];

		if (rte & RTE_RESERVED)
			return snap_fail(why, len, "IOAPIC pin %u entry 0x%llx sets reserved bits",
					 i, (unsigned long long)rte);
		/* Remote IRR is undefined for edge pins, which clear it. */
		if ((rte & RTE_REMOTE_IRR) && !(rte & RTE_LEVEL))
			return snap_fail(why, len,
					 "IOAPIC pin %u is edge-triggered with Remote IRR set", i);
	}
	return 0;
}

/* 8259A datasheet, "Initialization Command Words". */
static int pic_check(const struct x86_pic_chip_state *c, const char *name, char *why, size_t len)
{
	if (c->icw_step != 0 && (c->icw_step < 2 || c->icw_step > 4))
		return snap_fail(why, len, "PIC %s expects ICW%u, which does not exist", name,
				 c->icw_step);
	if (c->icw_step == 3 && c->single)
		return snap_fail(why, len, "PIC %s expects ICW3 in single mode", name);
	if (c->icw_step == 4 && !c->icw4_needed)
		return snap_fail(why, len, "PIC %s expects an ICW4 that ICW1 did not ask for",
				 name);
	if (c->prio_add > 7)
		return snap_fail(why, len, "PIC %s highest priority IR%u is not an input", name,
				 c->prio_add);
	if (c->base & 7)
		return snap_fail(why, len, "PIC %s vector base 0x%02x is not a multiple of 8", name,
				 c->base);
	if (c->elcr & ~c->elcr_mask)
		return snap_fail(why, len, "PIC %s ELCR 0x%02x sets bits outside its mask 0x%02x",
				 name, c->elcr, c->elcr_mask);
	return 0;
}

static bool bcd_ok(u16 v)
{
	for (unsigned i = 0; i < 16; i += 4)
		if (((v >> i) & 0xF) > 9)
			return false;
	return true;
}

/* 8254 datasheet, "Control Word Format" and "Read-Back Command". */
static int pit_check(const struct x86_pit_channel_state *c, unsigned ch, char *why, size_t len)
{
	if (c->mode > 5)
		return snap_fail(why, len, "PIT channel %u mode %u does not exist", ch, c->mode);
	if (c->rw > 3)
		return snap_fail(why, len, "PIT channel %u access mode %u does not exist", ch,
				 c->rw);
	/* rw 0: no control word since reset; then no count was written. */
	if (!c->rw && (c->armed || c->write_msb))
		return snap_fail(why, len, "PIT channel %u holds a count but no access mode", ch);
	if (c->count > 65536 || (c->bcd && c->count > 10000))
		return snap_fail(why, len, "PIT channel %u count %u is above %u", ch, c->count,
				 c->bcd ? 10000 : 65536);
	if (c->armed && !c->count)
		return snap_fail(why, len, "PIT channel %u is armed with a count of 0", ch);
	if (c->running && !c->armed)
		return snap_fail(why, len, "PIT channel %u counts with no count written", ch);
	if (!c->running && c->run_ns)
		return snap_fail(why, len, "PIT channel %u is stopped in a run of %llu ns", ch,
				 (unsigned long long)c->run_ns);
	if (c->write_msb && c->rw != 3)
		return snap_fail(why, len, "PIT channel %u waits for an MSB in access mode %u", ch,
				 c->rw);
	if (c->latch_left > 2 || (c->latch_left == 2 && c->rw != 3))
		return snap_fail(why, len, "PIT channel %u has %u latched bytes in access mode %u",
				 ch, c->latch_left, c->rw);
	if (c->latch_left && c->bcd && !bcd_ok(c->latch))
		return snap_fail(why, len, "PIT channel %u latched 0x%04x, not BCD", ch, c->latch);
	/* A control word clears a latched status, so a latched one was taken
	 * under the current control word. */
	if (c->status_latched && (((c->status >> 4) & 3) != c->rw ||
				  ((c->status >> 1) & 7) != c->mode || (c->status & 1) != c->bcd))
		return snap_fail(
		    why, len,
		    "PIT channel %u latched status 0x%02x disagrees with its control word", ch,
		    c->status);
	if (c->irq_armed && ch != 0)
		return snap_fail(why, len, "PIT channel %u has an interrupt armed", ch);
	if (c->irq_armed && !c->running)
		return snap_fail(why, len, "PIT channel %u has an interrupt armed but is stopped",
				 ch);
	/* The next edge is at most one count (mode 4: count + 1) ahead. */
	if (c->irq_armed && c->irq_tick > x86_pit_ticks(c) &&
	    c->irq_tick - x86_pit_ticks(c) > 65537)
		return snap_fail(why, len, "PIT channel %u interrupt %llu clocks ahead", ch,
				 (unsigned long long)(c->irq_tick - x86_pit_ticks(c)));
	return 0;
}

int irqchip_state_check(const struct x86_irqchip_state *st, char *why, size_t why_len)
{
	int err = ioapic_check(&st->ioapic, why, why_len);

	for (unsigned i = 0; !err && i < 2; i++)
		err = pic_check(&st->pic[i], pic_name[i], why, why_len);
	for (unsigned i = 0; !err && i < 3; i++)
		err = pit_check(&st->pit[i], i, why, why_len);
	if (err)
		return err;
	if (st->port61 > 0x0F)
		return snap_fail(why, why_len, "port 0x61 0x%02x sets bits above 3", st->port61);
	/* Port 0x61 bit 0 is channel 2's gate (PC/AT). */
	if (st->pit[2].gate != (st->port61 & 1))
		return snap_fail(why, why_len,
				 "PIT channel 2 gate %u disagrees with port 0x61 0x%02x",
				 st->pit[2].gate, st->port61);
	return 0;
}
