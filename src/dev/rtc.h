/* MC146818 CMOS real-time clock and its 128 bytes of CMOS memory. */
#ifndef POPEK_RTC_H
#define POPEK_RTC_H

#include "core/bus.h"
#include "core/snap_codec.h"

/*
 * Ports: PORT_RTC (0x70) index, bit 7 = NMI disable (stored, no effect:
 * there is no NMI source); PORT_RTC + 1 (0x71) data. Reading 0x70 gives 0xFF.
 *
 * Registers (Motorola MC146818A datasheet, "Address Map"):
 * - 0x00/0x02/0x04/0x06-0x09 seconds, minutes, hours, day of week (1 =
 *   Sunday), day, month, year, and 0x32 century: UTC from the host clock
 *   plus an offset the guest sets by writing them. BCD unless register B DM
 *   (bit 2); 12-hour with bit 7 = PM unless B 24/12 (bit 1). While B SET
 *   (bit 7) is 1 the time is frozen and writes edit it; clearing SET starts
 *   the clock from the written time. Writes outside SET take effect at once.
 *   The day of week always follows from the date.
 * - 0x01/0x03/0x05 alarm: stored only.
 * - 0x0A A: UIP (bit 7) is 1 during the last 244 us of every second, as on
 *   the chip, when the divider runs (DV = 010) and SET is 0; rate and
 *   divider bits are stored.
 * - 0x0B B: stored. The interrupt enables (PIE, AIE, UIE) are stored but no
 *   interrupt is ever raised on GSI_RTC (not needed by Linux, which reads
 *   the clock once). Setting SET clears UIE (datasheet, register B).
 * - 0x0C C (read clears): UF if a second boundary passed since the last
 *   read, PF if a periodic interval (register A rate) passed; AF is never
 *   set; IRQF as the datasheet computes it from these and B.
 * - 0x0D D: 0x80 (VRT: the battery is fine).
 * - 0x0E-0x7F CMOS memory, writable. Set from the RAM size at init:
 *   0x15/0x16 base memory (640 KiB), 0x17/0x18 and 0x30/0x31 KiB above
 *   1 MiB (at most 0xFFFF), 0x34/0x35 64 KiB blocks above 16 MiB below the
 *   MMIO hole (at most 0xFFFF), 0x5B-0x5D 64 KiB blocks above 4 GiB (the
 *   QEMU/SeaBIOS convention).
 */

#define RTC_CENTURY_REG 0x32 /* for the FADT CENTURY field */

/* Host UTC time in nanoseconds since the epoch; replaceable for tests. */
typedef s64 rtc_clock_fn(void *opaque);

/* The broken-down guest time while the clock is frozen or being edited. */
struct rtc_time {
	s32 sec, min, hour, mday, mon, year; /* mon 1-12, full year */
};

struct rtc_regs {
	u8 cmos[128];      /* registers A, B and memory; time bytes unused */
	u8 index;          /* selected register (bits 0-6) */
	bool nmi_disabled; /* index bit 7 */
	s64 offset_sec;    /* guest time = host time + offset */
	bool frozen;       /* B.SET: time holds at edit */
	struct rtc_time edit;
	s64 last_c_ns; /* host time of the last register C read */
};

struct rtc {
	struct rtc_regs r;
	rtc_clock_fn *clock;
	void *clock_opaque;
};

/* Resets rt (24-hour BCD mode, guest time = host time, CMOS memory sizes
 * from ram_size as laid out by guest_mem) and claims PORT_RTC..+1. clock
 * may be NULL for the host's CLOCK_REALTIME. Returns 0 or -errno. */
int rtc_init(struct rtc *rt, struct bus *pio, u64 ram_size, rtc_clock_fn *clock,
	     void *clock_opaque);

/* The guest-visible state (field order at rtc_save() in rtc.c) for a
 * snapshot. The guest's time is saved as its offset from the host's UTC
 * clock, so a restored clock has moved on by the time that passed on the
 * host. Returns 0 or o->err. */
int rtc_save(const struct rtc *rt, struct snap_out *o);
/* Loads what rtc_save() wrote into an initialized rt, only if all of it is
 * valid and in[] holds nothing more (the RTC raises no interrupt: no line to
 * drive). Returns 0, or -EINVAL with rt unchanged and the reason in in->why. */
int rtc_load(struct rtc *rt, struct snap_in *in);

#endif
