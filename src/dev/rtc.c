/* MC146818A CMOS clock: time from the host clock plus a guest-set offset,
 * BCD/binary and 12/24-hour formats, UIP, flag register C, CMOS memory
 * (Motorola MC146818A datasheet). */
#include "dev/rtc.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "dev/dev.h"
#include "popek/layout.h"
#include "popek/log.h"

#define NS_PER_SEC 1000000000LL

enum {
	REG_SEC = 0x00,
	REG_MIN = 0x02,
	REG_HOUR = 0x04,
	REG_WDAY = 0x06,
	REG_MDAY = 0x07,
	REG_MON = 0x08,
	REG_YEAR = 0x09,
	REG_A = 0x0A,
	REG_B = 0x0B,
	REG_C = 0x0C,
	REG_D = 0x0D,
};

#define A_UIP     0x80
#define A_DV_MASK 0x70
#define A_DV_RUN  0x20 /* 32.768 kHz time base, divider running */
#define A_RATE    0x0F
#define B_SET     0x80
#define B_PIE     0x40
#define B_AIE     0x20
#define B_UIE     0x10
#define B_DM_BIN  0x04
#define B_24H     0x02
#define C_IRQF    0x80
#define C_PF      0x40
#define C_AF      0x20
#define C_UF      0x10
#define D_VRT     0x80

#define UIP_NS 244000 /* UIP rises 244 us before each update (datasheet) */

static s64 rtc_host_clock(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (s64)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static s64 floor_div(s64 a, s64 b)
{
	return a / b - (a % b < 0);
}

static s64 rtc_now_ns(const struct rtc *rt)
{
	return rt->clock(rt->clock_opaque);
}

/* The guest's current time, normalized, and its day of week (0 = Sunday). */
static void rtc_current(const struct rtc *rt, struct rtc_time *t, int *wday)
{
	struct tm tm;
	time_t secs;

	if (rt->r.frozen) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_sec = rt->r.edit.sec;
		tm.tm_min = rt->r.edit.min;
		tm.tm_hour = rt->r.edit.hour;
		tm.tm_mday = rt->r.edit.mday;
		tm.tm_mon = rt->r.edit.mon - 1;
		tm.tm_year = rt->r.edit.year - 1900;
		secs = timegm(&tm); /* normalizes tm */
	} else {
		secs = (time_t)(floor_div(rtc_now_ns(rt), NS_PER_SEC) + rt->r.offset_sec);
		if (!gmtime_r(&secs, &tm))
			memset(&tm, 0, sizeof(tm));
	}
	t->sec = tm.tm_sec;
	t->min = tm.tm_min;
	t->hour = tm.tm_hour;
	t->mday = tm.tm_mday;
	t->mon = tm.tm_mon + 1;
	t->year = tm.tm_year + 1900;
	if (wday)
		*wday = tm.tm_wday;
}

/* Starts the clock at t: sets the offset from the host clock. */
static void rtc_commit(struct rtc *rt, const struct rtc_time *t)
{
	struct tm tm;
	time_t secs;

	memset(&tm, 0, sizeof(tm));
	tm.tm_sec = t->sec;
	tm.tm_min = t->min;
	tm.tm_hour = t->hour;
	tm.tm_mday = t->mday;
	tm.tm_mon = t->mon - 1;
	tm.tm_year = t->year - 1900;
	errno = 0;
	secs = timegm(&tm);
	if (secs == (time_t)-1 && errno) {
		log_debug("rtc: guest wrote an unrepresentable time: ignored");
		return;
	}
	rt->r.offset_sec = (s64)secs - floor_div(rtc_now_ns(rt), NS_PER_SEC);
}

static bool rtc_binary(const struct rtc *rt)
{
	return rt->r.cmos[REG_B] & B_DM_BIN;
}

static u8 rtc_encode(const struct rtc *rt, int v)
{
	v = ((v % 100) + 100) % 100;
	return rtc_binary(rt) ? (u8)v : (u8)((v / 10) << 4 | (v % 10));
}

static int rtc_decode(const struct rtc *rt, u8 v)
{
	return rtc_binary(rt) ? v : (v >> 4) * 10 + (v & 0x0F);
}

static u8 rtc_read_time(struct rtc *rt, u8 reg)
{
	struct rtc_time t;
	int wday, h12;

	rtc_current(rt, &t, &wday);
	switch (reg) {
	case REG_SEC:
		return rtc_encode(rt, t.sec);
	case REG_MIN:
		return rtc_encode(rt, t.min);
	case REG_HOUR:
		if (rt->r.cmos[REG_B] & B_24H)
			return rtc_encode(rt, t.hour);
		h12 = t.hour % 12 ? t.hour % 12 : 12;
		return rtc_encode(rt, h12) | (t.hour >= 12 ? 0x80 : 0);
	case REG_WDAY:
		return rtc_encode(rt, wday + 1);
	case REG_MDAY:
		return rtc_encode(rt, t.mday);
	case REG_MON:
		return rtc_encode(rt, t.mon);
	case REG_YEAR:
		return rtc_encode(rt, t.year % 100);
	default: /* RTC_CENTURY_REG */
		return rtc_encode(rt, t.year / 100);
	}
}

static void rtc_write_time(struct rtc *rt, u8 reg, u8 v)
{
	struct rtc_time t;

	if (rt->r.frozen)
		t = rt->r.edit;
	else
		rtc_current(rt, &t, NULL);
	switch (reg) {
	case REG_SEC:
		t.sec = rtc_decode(rt, v);
		break;
	case REG_MIN:
		t.min = rtc_decode(rt, v);
		break;
	case REG_HOUR:
		if (rt->r.cmos[REG_B] & B_24H)
			t.hour = rtc_decode(rt, v);
		else
			t.hour = rtc_decode(rt, v & 0x7F) % 12 + ((v & 0x80) ? 12 : 0);
		break;
	case REG_WDAY:
		return; /* follows from the date */
	case REG_MDAY:
		t.mday = rtc_decode(rt, v);
		break;
	case REG_MON:
		t.mon = rtc_decode(rt, v);
		break;
	case REG_YEAR:
		t.year = t.year / 100 * 100 + rtc_decode(rt, v);
		break;
	default: /* RTC_CENTURY_REG */
		t.year = rtc_decode(rt, v) * 100 + t.year % 100;
		break;
	}
	if (rt->r.frozen)
		rt->r.edit = t;
	else
		rtc_commit(rt, &t);
}

static bool rtc_running(const struct rtc *rt)
{
	return (rt->r.cmos[REG_A] & A_DV_MASK) == A_DV_RUN && !rt->r.frozen;
}

static u8 rtc_read_a(const struct rtc *rt)
{
	u8 v = rt->r.cmos[REG_A] & ~A_UIP;
	s64 now = rtc_now_ns(rt);
	s64 frac = now - floor_div(now, NS_PER_SEC) * NS_PER_SEC;

	if (rtc_running(rt) && frac >= NS_PER_SEC - UIP_NS)
		v |= A_UIP;
	return v;
}

/* Time base ticks (1/32768 s) at host time ns. */
static s64 rtc_ticks(s64 ns)
{
	s64 sec = floor_div(ns, NS_PER_SEC);

	return sec * 32768 + (ns - sec * NS_PER_SEC) * 32768 / NS_PER_SEC;
}

/* Register C: which events happened since it was last read. */
static u8 rtc_read_c(struct rtc *rt)
{
	s64 now = rtc_now_ns(rt), last = rt->r.last_c_ns;
	u8 b = rt->r.cmos[REG_B], rate = rt->r.cmos[REG_A] & A_RATE, c = 0;

	if (rtc_running(rt) && floor_div(now, NS_PER_SEC) != floor_div(last, NS_PER_SEC))
		c |= C_UF;
	if (rate && (rt->r.cmos[REG_A] & A_DV_MASK) == A_DV_RUN) {
		/* Period 2^(rate-1) ticks; rates 1 and 2 act as 8 and 9. */
		unsigned shift = (rate < 3 ? rate + 7 : rate) - 1;
		if ((rtc_ticks(now) >> shift) != (rtc_ticks(last) >> shift))
			c |= C_PF;
	}
	if (((c & C_PF) && (b & B_PIE)) || ((c & C_AF) && (b & B_AIE)) ||
	    ((c & C_UF) && (b & B_UIE)))
		c |= C_IRQF;
	rt->r.last_c_ns = now;
	return c;
}

static void rtc_write_b(struct rtc *rt, u8 v)
{
	if (v & B_SET) {
		v &= ~B_UIE;
		if (!rt->r.frozen) {
			rtc_current(rt, &rt->r.edit, NULL);
			rt->r.frozen = true;
		}
	} else if (rt->r.frozen) {
		rt->r.frozen = false;
		rtc_commit(rt, &rt->r.edit);
	}
	rt->r.cmos[REG_B] = v;
}

static bool rtc_is_time_reg(u8 reg)
{
	return (reg <= REG_YEAR && reg != 0x01 && reg != 0x03 && reg != 0x05) ||
	       reg == RTC_CENTURY_REG;
}

static u8 rtc_read_reg(struct rtc *rt, u8 reg)
{
	if (rtc_is_time_reg(reg))
		return rtc_read_time(rt, reg);
	switch (reg) {
	case REG_A:
		return rtc_read_a(rt);
	case REG_C:
		return rtc_read_c(rt);
	case REG_D:
		return D_VRT;
	default:
		return rt->r.cmos[reg];
	}
}

static void rtc_write_reg(struct rtc *rt, u8 reg, u8 v)
{
	if (rtc_is_time_reg(reg)) {
		rtc_write_time(rt, reg, v);
		return;
	}
	switch (reg) {
	case REG_A:
		rt->r.cmos[REG_A] = v & ~A_UIP;
		break;
	case REG_B:
		rtc_write_b(rt, v);
		break;
	case REG_C:
	case REG_D:
		break; /* read-only */
	default:
		rt->r.cmos[reg] = v;
		break;
	}
}

/* Wider accesses touch consecutive ports (outw 0x70 sets index then data). */
static u64 rtc_bus_read(void *opaque, u64 offset, unsigned size)
{
	struct rtc *rt = opaque;
	u64 v = 0;

	for (unsigned i = 0; i < size && offset + i < 2; i++) {
		u8 b = offset + i == 0 ? 0xFF : rtc_read_reg(rt, rt->r.index);
		v |= (u64)b << (8 * i);
	}
	return v;
}

static void rtc_bus_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct rtc *rt = opaque;

	for (unsigned i = 0; i < size && offset + i < 2; i++) {
		u8 b = (u8)(value >> (8 * i));
		if (offset + i == 0) {
			rt->r.index = b & 0x7F;
			rt->r.nmi_disabled = b & 0x80;
		} else {
			rtc_write_reg(rt, rt->r.index, b);
		}
	}
}

static const struct bus_ops rtc_ops = {
    .name = "rtc",
    .read = rtc_bus_read,
    .write = rtc_bus_write,
};

static void rtc_put16(u8 *p, u64 v, u64 max)
{
	v = MIN(v, max);
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

/* Memory size bytes, as PC BIOSes leave them (IBM AT Technical Reference
 * CMOS map; 0x5B-0x5D as QEMU and SeaBIOS use them). */
static void rtc_set_mem_size(struct rtc *rt, u64 ram_size)
{
	u64 low = MIN(ram_size, LAYOUT_MMIO_HOLE_START), high = ram_size - low;
	u64 ext_kib = low > MiB ? (low - MiB) / KiB : 0;
	u64 above16 = low > 16 * MiB ? (low - 16 * MiB) / (64 * KiB) : 0;
	u64 high64k = MIN(high / (64 * KiB), 0xFFFFFFULL);
	u8 *c = rt->r.cmos;

	rtc_put16(&c[0x15], 640, 0xFFFF);
	rtc_put16(&c[0x17], ext_kib, 0xFFFF);
	rtc_put16(&c[0x30], ext_kib, 0xFFFF);
	rtc_put16(&c[0x34], above16, 0xFFFF);
	c[0x5B] = (u8)high64k;
	c[0x5C] = (u8)(high64k >> 8);
	c[0x5D] = (u8)(high64k >> 16);
}

int rtc_init(struct rtc *rt, struct bus *pio, u64 ram_size, rtc_clock_fn *clock, void *clock_opaque)
{
	memset(rt, 0, sizeof(*rt));
	rt->clock = clock ? clock : rtc_host_clock;
	rt->clock_opaque = clock_opaque;
	rt->r.cmos[REG_A] = A_DV_RUN | 0x06; /* 1024 Hz periodic rate */
	rt->r.cmos[REG_B] = B_24H;
	rt->r.last_c_ns = rtc_now_ns(rt);
	rtc_set_mem_size(rt, ram_size);
	return bus_register(pio, PORT_RTC, 2, &rtc_ops, rt);
}

/* Limits of a saved clock, far beyond what a guest writing the clock's bytes
 * reaches, that keep host time + offset and timegm() clear of overflow. */
#define RTC_OFFSET_MAX (1LL << 43) /* seconds: about 278,000 years */
#define RTC_YEAR_MAX   200000

/*
 * Snapshot form, in this order: the 128 CMOS bytes (registers A and B, the
 * alarm, memory; the time bytes and C and D are unused and 0); the index
 * (u8); NMI disabled (bool); the guest time's offset from host UTC in seconds
 * (s64 as u64); the time being edited while B.SET holds the clock: seconds,
 * minutes, hour, day, month (1-12), full year (s32 as u32 each); the host
 * time of the last register C read in ns since the epoch (s64 as u64).
 * Whether the clock is frozen follows from B.SET.
 */
int rtc_save(const struct rtc *rt, struct snap_out *o)
{
	const struct rtc_regs *r = &rt->r;

	snap_put_bytes(o, r->cmos, sizeof(r->cmos));
	snap_put_u8(o, r->index);
	snap_put_bool(o, r->nmi_disabled);
	snap_put_u64(o, (u64)r->offset_sec);
	snap_put_u32(o, (u32)r->edit.sec);
	snap_put_u32(o, (u32)r->edit.min);
	snap_put_u32(o, (u32)r->edit.hour);
	snap_put_u32(o, (u32)r->edit.mday);
	snap_put_u32(o, (u32)r->edit.mon);
	snap_put_u32(o, (u32)r->edit.year);
	snap_put_u64(o, (u64)r->last_c_ns);
	return o->err;
}

/* An edited time field holds a decoded register byte (0-255) or a value
 * gmtime() gave. */
static s32 rtc_get_field(struct snap_in *in, const char *name)
{
	s32 v = (s32)snap_get_u32(in);

	if (v < 0 || v > 255)
		snap_reject(in, "rtc: edited %s %d is not a register's value (0-255)", name, v);
	return v;
}

/* Values no write through the registers can leave (see rtc_write_reg). */
static void rtc_check(const struct rtc_regs *r, struct snap_in *in)
{
	static const u8 unused[] = {REG_SEC, REG_MIN,  REG_HOUR, REG_WDAY, REG_MDAY,
				    REG_MON, REG_YEAR, REG_C,    REG_D,    RTC_CENTURY_REG};

	if (r->index & 0x80)
		snap_reject(in, "rtc: index 0x%02x is more than 0x7f", r->index);
	if (r->cmos[REG_A] & A_UIP)
		snap_reject(in, "rtc: register A 0x%02x has UIP set (it is not stored)",
			    r->cmos[REG_A]);
	if ((r->cmos[REG_B] & B_SET) && (r->cmos[REG_B] & B_UIE))
		snap_reject(in, "rtc: register B 0x%02x has both SET and UIE", r->cmos[REG_B]);
	for (unsigned i = 0; i < sizeof(unused); i++)
		if (r->cmos[unused[i]])
			snap_reject(in,
				    "rtc: CMOS byte 0x%02x is 0x%02x, not 0 (the model keeps it 0)",
				    unused[i], r->cmos[unused[i]]);
	if (r->offset_sec < -RTC_OFFSET_MAX || r->offset_sec > RTC_OFFSET_MAX)
		snap_reject(in, "rtc: offset from host time %lld s is beyond %lld s",
			    (long long)r->offset_sec, RTC_OFFSET_MAX);
	if (r->edit.year < -RTC_YEAR_MAX || r->edit.year > RTC_YEAR_MAX)
		snap_reject(in, "rtc: edited year %d is beyond %d", r->edit.year, RTC_YEAR_MAX);
	if (r->last_c_ns < 0)
		snap_reject(in, "rtc: last register C read at %lld ns is before 1970",
			    (long long)r->last_c_ns);
}

int rtc_load(struct rtc *rt, struct snap_in *in)
{
	struct rtc_regs r = {0};

	snap_get_bytes(in, r.cmos, sizeof(r.cmos));
	r.index = snap_get_u8(in);
	r.nmi_disabled = dev_get_flag(in, "rtc: NMI disabled");
	r.offset_sec = (s64)snap_get_u64(in);
	r.edit.sec = rtc_get_field(in, "seconds");
	r.edit.min = rtc_get_field(in, "minutes");
	r.edit.hour = rtc_get_field(in, "hour");
	r.edit.mday = rtc_get_field(in, "day");
	r.edit.mon = rtc_get_field(in, "month");
	r.edit.year = (s32)snap_get_u32(in);
	r.last_c_ns = (s64)snap_get_u64(in);
	r.frozen = r.cmos[REG_B] & B_SET;
	rtc_check(&r, in);
	if (snap_in_end(in) < 0)
		return -EINVAL;
	rt->r = r;
	return 0;
}
