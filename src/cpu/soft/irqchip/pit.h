/* The soft engine's 8254 PIT (ports 0x40-0x43) and system control port B (0x61). */
#ifndef POPEK_SOFT_PIT_H
#define POPEK_SOFT_PIT_H

#include "popek/layout.h"
#include "popek/types.h"

#define SOFT_PIT_HZ 1193182ULL

/* One counter (Intel 8254 datasheet). Counting is derived from guest time:
 * elapsed clock ticks = base_ticks + ticks since base_ns while running. */
struct soft_pit_channel {
	u32 count; /* initial count N (1..65536, or 10000 in BCD) */
	u8 mode;   /* 0-5 */
	u8 rw;     /* access: 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;
	bool gate;
	bool armed;     /* a count was written since the control word */
	bool running;   /* counting (armed, and gate allows it) */
	u64 base_ns;    /* start of the current run */
	u64 base_ticks; /* ticks counted before base_ns */
	bool write_msb; /* rw 3: next write is the MSB */
	u8 write_lsb;
	bool read_msb; /* rw 3: next read is the MSB */
	u16 latch;     /* latched count (counter latch / read-back) */
	u8 latch_left; /* bytes of latch still to be read (0: reads are live) */
	bool status_latched;
	u8 status;
	u64 irq_tick; /* channel 0: tick of the next OUT rising edge */
	bool irq_armed;
};

typedef void soft_pit_irq_fn(void *opaque);

/*
 * Not thread-safe by itself: irq_route.c serializes every call. Channel 0's
 * OUT rising edges pulse IRQ0 through irq(opaque), called from
 * soft_pit_tick() (late edges are coalesced into one pulse).
 */
struct soft_pit {
	struct soft_pit_channel ch[3];
	u8 port61; /* bits 0-3 of port 0x61 as written */
	soft_pit_irq_fn *irq_fn;
	void *opaque;
};

void soft_pit_init(struct soft_pit *pit, soft_pit_irq_fn *irq, void *opaque);
/* Ports 0x40-0x43 and 0x61 (PORT_SYSTEM_CONTROL_B). */
u8 soft_pit_read(struct soft_pit *pit, u16 port, u64 now_ns);
void soft_pit_write(struct soft_pit *pit, u16 port, u8 value, u64 now_ns);
/* Guest ns of channel 0's next OUT rising edge, UINT64_MAX if none. */
u64 soft_pit_next_deadline(const struct soft_pit *pit);
/* Pulses IRQ0 if channel 0's edge is due at now_ns, and finds the next one. */
void soft_pit_tick(struct soft_pit *pit, u64 now_ns);
/* Channel ch's OUT pin and current count at now_ns (for tests and port 0x61). */
bool soft_pit_out(const struct soft_pit *pit, unsigned ch, u64 now_ns);
u32 soft_pit_count(const struct soft_pit *pit, unsigned ch, u64 now_ns);

#endif
