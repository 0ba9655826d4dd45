/* 8254 programmable interval timer and port 0x61, counting in guest time (Intel 8254 datasheet). */
#include "cpu/soft/irqchip/pit.h"

#include <string.h>

#define PIT_PORT_CONTROL (PORT_PIT + 3)
/* Port 0x61's refresh request bit toggles every 15.085 us (PC/AT). */
#define PIT_REFRESH_NS 15085ULL

static u64 pit_ns_to_ticks(u64 ns)
{
	return (u64)((unsigned __int128)ns * SOFT_PIT_HZ / 1000000000ULL);
}

/* The first ns at which ticks clock ticks have elapsed. */
static u64 pit_ticks_to_ns(u64 ticks)
{
	return (u64)(((unsigned __int128)ticks * 1000000000ULL + SOFT_PIT_HZ - 1) / SOFT_PIT_HZ);
}

static u64 pit_elapsed(const struct soft_pit_channel *c, u64 now_ns)
{
	if (!c->running || now_ns < c->base_ns)
		return c->base_ticks;
	return c->base_ticks + pit_ns_to_ticks(now_ns - c->base_ns);
}

/* Modes 2 and 3 repeat every N ticks; N = 1 would never raise OUT. */
static u64 pit_period(const struct soft_pit_channel *c)
{
	return c->count < 2 ? 2 : c->count;
}

static u16 pit_bcd_from_bin(u32 v)
{
	return (u16)((v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000 % 10) << 12);
}

static u32 pit_bin_from_bcd(u16 v)
{
	return (v & 0xF) + ((v >> 4) & 0xF) * 10 + ((v >> 8) & 0xF) * 100 +
	       ((v >> 12) & 0xF) * 1000;
}

/* The counting element's value at now_ns (datasheet "Mode Definitions"). */
static u32 pit_channel_count(const struct soft_pit_channel *c, u64 now_ns)
{
	u64 t = pit_elapsed(c, now_ns), n = c->count, p, half;
	u32 modulus = c->bcd ? 10000 : 65536;

	if (!c->armed)
		return 0;
	switch (c->mode) {
	case 2:
		if (!c->running)
			return (u32)n % modulus;
		p = pit_period(c);
		return (u32)((p - t % p) % modulus);
	case 3:
		if (!c->running)
			return (u32)n % modulus;
		p = pit_period(c);
		half = (p + 1) / 2; /* OUT high for the longer half of an odd count */
		t %= p;
		return (u32)((t < half ? p - 2 * t : p - 2 * (t - half)) % modulus);
	case 1:
	case 5:
		if (!c->running)
			return (u32)n % modulus;
		/* fall through */
	default: /* 0, 4: count down, wrapping after terminal count */
		return (u32)((n + modulus - t % modulus) % modulus);
	}
}

static bool pit_channel_out(const struct soft_pit_channel *c, u64 now_ns)
{
	u64 t = pit_elapsed(c, now_ns), p;

	switch (c->mode) {
	case 0: /* low from the control word until terminal count */
		return c->armed && t >= c->count;
	case 1: /* low from the trigger until terminal count */
		return !c->running || t >= c->count;
	case 2: /* low for one clock at the end of each period */
		if (!c->running)
			return true;
		p = pit_period(c);
		return t % p != p - 1;
	case 3: /* high for the first (longer) half of each period */
		if (!c->running)
			return true;
		p = pit_period(c);
		return t % p < (p + 1) / 2;
	default: /* 4, 5: one low clock at terminal count */
		return !c->running || t != c->count;
	}
}

bool soft_pit_out(const struct soft_pit *pit, unsigned ch, u64 now_ns)
{
	return ch < 3 && pit_channel_out(&pit->ch[ch], now_ns);
}

u32 soft_pit_count(const struct soft_pit *pit, unsigned ch, u64 now_ns)
{
	return ch < 3 ? pit_channel_count(&pit->ch[ch], now_ns) : 0;
}

/* Channel 0: the tick of the next OUT rising edge after now (or none). */
static void pit_irq_rearm(struct soft_pit_channel *c, u64 now_ns)
{
	u64 t = pit_elapsed(c, now_ns), p;

	c->irq_armed = false;
	if (!c->armed || !c->running)
		return;
	switch (c->mode) {
	case 0:
		if (t < c->count) {
			c->irq_tick = c->count;
			c->irq_armed = true;
		}
		break;
	case 2:
	case 3:
		p = pit_period(c);
		c->irq_tick = (t / p + 1) * p;
		c->irq_armed = true;
		break;
	case 4:
		if (t <= c->count) {
			c->irq_tick = (u64)c->count + 1;
			c->irq_armed = true;
		}
		break;
	default: /* 1, 5 need a gate edge, which channel 0 never sees */
		break;
	}
}

/* Starts counting from the full count (load, or a gate trigger). */
static void pit_restart(struct soft_pit_channel *c, u64 now_ns)
{
	c->base_ticks = 0;
	c->base_ns = now_ns;
	c->running = true;
}

static void pit_load(struct soft_pit *pit, unsigned ch, u32 raw, u64 now_ns)
{
	struct soft_pit_channel *c = &pit->ch[ch];
	u32 n = c->bcd ? pit_bin_from_bcd((u16)raw) : raw;

	if (!n)
		n = c->bcd ? 10000 : 65536;
	c->count = n;
	c->armed = true;
	c->base_ticks = 0;
	c->base_ns = now_ns;
	/* Modes 1 and 5 wait for a gate trigger; the others count while the
	 * gate is high. */
	c->running = c->mode != 1 && c->mode != 5 && c->gate;
	if (ch == 0)
		pit_irq_rearm(c, now_ns);
}

static void pit_set_gate(struct soft_pit_channel *c, bool gate, u64 now_ns)
{
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!c->armed)
		return;
	switch (c->mode) {
	case 0:
	case 4: /* the gate suspends counting */
		if (!gate) {
			c->base_ticks = pit_elapsed(c, now_ns);
			c->running = false;
		} else {
			c->base_ns = now_ns;
			c->running = true;
		}
		break;
	case 2:
	case 3: /* low stops (OUT high), the rising edge reloads */
		if (gate)
			pit_restart(c, now_ns);
		else
			c->running = false;
		break;
	default: /* 1, 5: the rising edge (re)triggers */
		if (gate)
			pit_restart(c, now_ns);
		break;
	}
}

static void pit_control(struct soft_pit *pit, u8 v, u64 now_ns)
{
	unsigned sc = v >> 6, rw = (v >> 4) & 3;
	struct soft_pit_channel *c;

	if (sc == 3) {
		/* Read-back (datasheet "Read-Back Command"): bit 5 clear
		 * latches counts, bit 4 clear latches status, bits 3:1
		 * select counters 2..0. */
		for (unsigned i = 0; i < 3; i++) {
			c = &pit->ch[i];
			if (!(v & (2u << i)))
				continue;
			if (!(v & 0x20) && !c->latch_left) {
				c->latch = (u16)pit_channel_count(c, now_ns);
				if (c->bcd)
					c->latch = pit_bcd_from_bin(c->latch);
				c->latch_left = c->rw == 3 ? 2 : 1;
				c->read_msb = false;
			}
			if (!(v & 0x10) && !c->status_latched) {
				c->status = (u8)((pit_channel_out(c, now_ns) ? 0x80 : 0) |
						 (c->armed ? 0 : 0x40) | c->rw << 4 | c->mode << 1 |
						 (c->bcd ? 1 : 0));
				c->status_latched = true;
			}
		}
		return;
	}
	c = &pit->ch[sc];
	if (rw == 0) {
		/* Counter latch command: the first one wins until read out. */
		if (!c->latch_left) {
			c->latch = (u16)pit_channel_count(c, now_ns);
			if (c->bcd)
				c->latch = pit_bcd_from_bin(c->latch);
			c->latch_left = c->rw == 3 ? 2 : 1;
			c->read_msb = false;
		}
		return;
	}
	c->rw = (u8)rw;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4; /* 6 and 7 are aliases of 2 and 3 */
	c->bcd = v & 1;
	c->armed = false;
	c->running = false;
	c->base_ticks = 0;
	c->write_msb = false;
	c->read_msb = false;
	c->latch_left = 0;
	c->status_latched = false;
	c->irq_armed = false;
}

static u8 pit_read_counter(struct soft_pit_channel *c, u64 now_ns)
{
	u16 v;
	u8 b;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latch_left) {
		v = c->latch;
	} else {
		v = (u16)pit_channel_count(c, now_ns);
		if (c->bcd)
			v = pit_bcd_from_bin(v);
	}
	switch (c->rw) {
	case 1:
		b = (u8)v;
		c->latch_left = 0;
		break;
	case 2:
		b = (u8)(v >> 8);
		c->latch_left = 0;
		break;
	default:
		b = c->read_msb ? (u8)(v >> 8) : (u8)v;
		c->read_msb = !c->read_msb;
		if (c->latch_left)
			c->latch_left--;
		break;
	}
	return b;
}

static void pit_write_counter(struct soft_pit *pit, unsigned ch, u8 v, u64 now_ns)
{
	struct soft_pit_channel *c = &pit->ch[ch];

	switch (c->rw) {
	case 1:
		pit_load(pit, ch, v, now_ns);
		break;
	case 2:
		pit_load(pit, ch, (u32)v << 8, now_ns);
		break;
	case 3:
		if (!c->write_msb) {
			c->write_lsb = v;
			c->write_msb = true;
		} else {
			c->write_msb = false;
			pit_load(pit, ch, c->write_lsb | (u32)v << 8, now_ns);
		}
		break;
	default: /* no control word yet */
		break;
	}
}

u8 soft_pit_read(struct soft_pit *pit, u16 port, u64 now_ns)
{
	if (port == PORT_SYSTEM_CONTROL_B) {
		/* Bit 4: refresh toggle; bit 5: OUT2 (Linux's PIT calibration polls it). */
		return (u8)((pit->port61 & 0x0F) | (((now_ns / PIT_REFRESH_NS) & 1) << 4) |
			    (pit_channel_out(&pit->ch[2], now_ns) ? 0x20 : 0));
	}
	if (port >= PORT_PIT && port < PIT_PORT_CONTROL)
		return pit_read_counter(&pit->ch[port - PORT_PIT], now_ns);
	return 0xFF; /* the control word register cannot be read */
}

void soft_pit_write(struct soft_pit *pit, u16 port, u8 value, u64 now_ns)
{
	if (port == PORT_SYSTEM_CONTROL_B) {
		/* Bit 0: gate of counter 2; bit 1: speaker data; bits 2-3: parity/IOCHK enables. */
		pit->port61 = value & 0x0F;
		pit_set_gate(&pit->ch[2], value & 1, now_ns);
	} else if (port == PIT_PORT_CONTROL) {
		pit_control(pit, value, now_ns);
	} else if (port >= PORT_PIT && port < PIT_PORT_CONTROL) {
		pit_write_counter(pit, port - PORT_PIT, value, now_ns);
	}
}

u64 soft_pit_next_deadline(const struct soft_pit *pit)
{
	const struct soft_pit_channel *c = &pit->ch[0];

	if (!c->irq_armed || !c->running)
		return UINT64_MAX;
	/* An edge already due (a snapshot taken before it raised IRQ0) is due
	 * from the start of the run. */
	if (c->irq_tick <= c->base_ticks)
		return c->base_ns;
	return c->base_ns + pit_ticks_to_ns(c->irq_tick - c->base_ticks);
}

void soft_pit_tick(struct soft_pit *pit, u64 now_ns)
{
	struct soft_pit_channel *c = &pit->ch[0];

	if (!c->irq_armed || !c->running || pit_elapsed(c, now_ns) < c->irq_tick)
		return;
	pit_irq_rearm(c, now_ns);
	if (pit->irq_fn)
		pit->irq_fn(pit->opaque);
}

void soft_pit_init(struct soft_pit *pit, soft_pit_irq_fn *irq, void *opaque)
{
	memset(pit, 0, sizeof(*pit));
	/* Gates of counters 0 and 1 are tied high; counter 2's is port 0x61 bit 0. */
	pit->ch[0].gate = pit->ch[1].gate = true;
	pit->irq_fn = irq;
	pit->opaque = opaque;
}
