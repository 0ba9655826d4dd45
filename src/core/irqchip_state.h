/* The machine-wide interrupt controllers and timer in popek's engine-neutral
 * form (issue 12): IOAPIC, the 8259A pair with its ELCR, the 8254 PIT, and
 * the guest clock they run by. A snapshot stores this (its CLCK section:
 * the clock, then the controllers); each engine converts its own form to
 * and from it.
 * Times are relative to the moment of saving (PIT: how long the current run
 * has lasted, and clock ticks of its 1.193182 MHz clock), so no engine's
 * clock leaks into the form. */
#ifndef POPEK_IRQCHIP_STATE_H
#define POPEK_IRQCHIP_STATE_H

#include "core/snap_codec.h"
#include "popek/layout.h"

/* The guest's clock, VM-wide (engine.h save_vm and load_vm). */
struct x86_clock_state {
	u64 guest_ns; /* ns since the VM was created, paused time excluded */
	u32 tsc_khz;  /* every vCPU's TSC counts this many kHz; never 0 */
};

struct x86_ioapic_state {
	u32 id;       /* ID register bits 27:24 */
	u32 ioregsel;
	u32 lines;    /* asserted input pins */
	u64 rte[LAYOUT_IOAPIC_PINS];
};

/* One 8259A (Intel 8259A datasheet). */
struct x86_pic_chip_state {
	u8 irr, isr, imr;
	u8 lines;     /* input levels */
	u8 elcr, elcr_mask;
	u8 base;      /* ICW2 */
	u8 prio_add;  /* the IR with the highest priority */
	u8 icw_step;  /* 0: operational; 2, 3, 4: expecting that ICW */
	bool icw4_needed, single, ltim, auto_eoi, rotate_aeoi, sfnm, special_mask;
	bool read_isr, poll;
};

#define X86_PIT_HZ 1193182ULL

/* One 8254 counter (Intel 8254 datasheet). It has counted base_ticks +
 * run_ns * X86_PIT_HZ / 10^9 (rounded down) clock ticks since its count was
 * loaded or its gate triggered: kept in ns rather than ticks, so a load
 * goes on at the same phase within a tick. */
struct x86_pit_channel_state {
	u32 count; /* initial count N */
	u8 mode, rw;
	bool bcd, gate, armed, running;
	u64 base_ticks; /* ticks counted before the current run (a gate's pause) */
	u64 run_ns;     /* how long the current run has lasted when saved; 0 when
			   not running */
	bool write_msb;
	u8 write_lsb;
	bool read_msb;
	u16 latch;
	u8 latch_left;
	bool status_latched;
	u8 status;
	bool irq_armed; /* channel 0 only: an OUT rising edge is yet to raise IRQ0 */
	u64 irq_tick;   /* its tick, in the count of ticks above: at most one count
			   (65537) ahead of the ticks counted when saved; not
			   above them when the edge was due but had not yet
			   raised IRQ0 */
};

struct x86_irqchip_state {
	struct x86_ioapic_state ioapic;
	struct x86_pic_chip_state pic[2]; /* master, slave */
	struct x86_pit_channel_state pit[3];
	u8 port61; /* system control port B bits 0-3 */
};

/* The clock ticks c has counted (see struct x86_pit_channel_state). */
u64 x86_pit_ticks(const struct x86_pit_channel_state *c);

/* Writes c in the encoding documented in irqchip_state.c. */
void clock_state_encode(const struct x86_clock_state *c, struct snap_out *o);
/* Reads one encoding into *c: 0, or -EINVAL with the reason in in->why (a
 * TSC rate of 0 is refused). Bytes after it are the caller's. */
int clock_state_decode(struct snap_in *in, struct x86_clock_state *c);

/* Writes st in the encoding documented in irqchip_state.c. */
void irqchip_state_encode(const struct x86_irqchip_state *st, struct snap_out *o);
/* Reads one encoding into *st and checks it (irqchip_state_check): 0, or
 * -EINVAL with the reason in in->why. Bytes after it are the caller's: a
 * payload that holds nothing else ends with snap_in_end(). */
int irqchip_state_decode(struct snap_in *in, struct x86_irqchip_state *st);
/* Whether st is a state real chips on a PC could be in: 0, or -EINVAL with a
 * one-line reason in why (what decoding checks; engines' loaders call it on
 * states that did not come through decoding). */
int irqchip_state_check(const struct x86_irqchip_state *st, char *why, size_t why_len);

#endif
