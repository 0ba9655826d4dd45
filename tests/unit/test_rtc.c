/* Unit tests of the MC146818 RTC: time formats, setting the time, UIP,
 * register C flags, CMOS memory and its memory-size bytes. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "dev/rtc.h"
#include "popek/layout.h"
#include "test.h"

#define NS 1000000000LL

struct fix {
	pthread_mutex_t lock;
	struct bus pio;
	struct rtc rt;
	s64 now_ns;
};

static s64 fake_clock(void *opaque)
{
	return ((struct fix *)opaque)->now_ns;
}

/* 2024-02-29 13:45:07 UTC, a Thursday. */
static s64 leap_day_ns(void)
{
	struct tm tm = {
	    .tm_sec = 7, .tm_min = 45, .tm_hour = 13, .tm_mday = 29, .tm_mon = 1, .tm_year = 124};

	return (s64)timegm(&tm) * NS;
}

static void fix_init(struct fix *f, u64 ram)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	bus_init(&f->pio, "pio", &f->lock);
	f->now_ns = leap_day_ns() + NS / 2;
	CHECK_EQ(rtc_init(&f->rt, &f->pio, ram, fake_clock, f), 0);
}

static u8 rd(struct fix *f, u8 reg)
{
	u64 v = 0;

	CHECK(bus_write(&f->pio, PORT_RTC, 1, reg));
	CHECK(bus_read(&f->pio, PORT_RTC + 1, 1, &v));
	return (u8)v;
}

static void wr(struct fix *f, u8 reg, u8 v)
{
	CHECK(bus_write(&f->pio, PORT_RTC, 1, reg));
	CHECK(bus_write(&f->pio, PORT_RTC + 1, 1, v));
}

static void test_bcd_24h(void)
{
	struct fix f;

	fix_init(&f, 256 * MiB);
	CHECK_EQ(rd(&f, 0x0B), 0x02);
	CHECK_EQ(rd(&f, 0x00), 0x07);
	CHECK_EQ(rd(&f, 0x02), 0x45);
	CHECK_EQ(rd(&f, 0x04), 0x13);
	CHECK_EQ(rd(&f, 0x06), 0x05); /* Thursday, Sunday = 1 */
	CHECK_EQ(rd(&f, 0x07), 0x29);
	CHECK_EQ(rd(&f, 0x08), 0x02);
	CHECK_EQ(rd(&f, 0x09), 0x24);
	CHECK_EQ(rd(&f, RTC_CENTURY_REG), 0x20);
	CHECK_EQ(rd(&f, 0x0D), 0x80);
	f.now_ns += 60 * NS; /* the clock follows the host */
	CHECK_EQ(rd(&f, 0x02), 0x46);
	CHECK_EQ(rd(&f, 0x00), 0x07);
}

static void test_binary_and_12h(void)
{
	struct fix f;

	fix_init(&f, 256 * MiB);
	wr(&f, 0x0B, 0x06); /* binary, 24 h */
	CHECK_EQ(rd(&f, 0x00), 7);
	CHECK_EQ(rd(&f, 0x04), 13);
	CHECK_EQ(rd(&f, 0x09), 24);
	CHECK_EQ(rd(&f, RTC_CENTURY_REG), 20);
	wr(&f, 0x0B, 0x00); /* BCD, 12 h: 1 PM */
	CHECK_EQ(rd(&f, 0x04), 0x81);
	f.now_ns -= 13 * 3600 * NS; /* 00:45: 12 AM */
	CHECK_EQ(rd(&f, 0x04), 0x12);
	f.now_ns += 12 * 3600 * NS; /* 12:45: 12 PM */
	CHECK_EQ(rd(&f, 0x04), 0x92);
	/* Writing 12-hour values: 0x83 is 3 PM. */
	wr(&f, 0x04, 0x83);
	wr(&f, 0x0B, 0x02);
	CHECK_EQ(rd(&f, 0x04), 0x15);
}

static void test_set_time(void)
{
	struct fix f;

	fix_init(&f, 256 * MiB);
	wr(&f, 0x0B, 0x82); /* SET */
	wr(&f, 0x00, 0x58);
	wr(&f, 0x02, 0x59);
	wr(&f, 0x04, 0x23);
	wr(&f, 0x07, 0x31);
	wr(&f, 0x08, 0x12);
	wr(&f, 0x09, 0x99);
	wr(&f, RTC_CENTURY_REG, 0x19);
	f.now_ns += 10 * NS; /* frozen while SET */
	CHECK_EQ(rd(&f, 0x00), 0x58);
	CHECK_EQ(rd(&f, 0x09), 0x99);
	CHECK_EQ(rd(&f, 0x06), 0x06); /* 1999-12-31 was a Friday */
	wr(&f, 0x0B, 0x02);           /* runs again from the written time */
	f.now_ns += 3 * NS;
	CHECK_EQ(rd(&f, 0x00), 0x01);
	CHECK_EQ(rd(&f, 0x02), 0x00);
	CHECK_EQ(rd(&f, 0x04), 0x00);
	CHECK_EQ(rd(&f, 0x07), 0x01);
	CHECK_EQ(rd(&f, 0x08), 0x01);
	CHECK_EQ(rd(&f, 0x09), 0x00);
	CHECK_EQ(rd(&f, RTC_CENTURY_REG), 0x20);
	/* Without SET a write takes effect at once. */
	wr(&f, 0x02, 0x30);
	CHECK_EQ(rd(&f, 0x02), 0x30);
	CHECK_EQ(rd(&f, 0x00), 0x01);
	/* Garbage BCD is normalized, not trusted. */
	wr(&f, 0x00, 0xFF);
	CHECK(rd(&f, 0x00) <= 0x59);
}

static void test_uip(void)
{
	struct fix f;

	fix_init(&f, 256 * MiB);
	CHECK_EQ(rd(&f, 0x0A), 0x26);
	f.now_ns = leap_day_ns() + NS - 100000; /* 100 us before the update */
	CHECK_EQ(rd(&f, 0x0A), 0xA6);
	f.now_ns = leap_day_ns() + NS - 300000; /* 300 us before: not yet */
	CHECK_EQ(rd(&f, 0x0A), 0x26);
	f.now_ns = leap_day_ns() + NS - 100000;
	wr(&f, 0x0B, 0x82); /* no updates while SET */
	CHECK_EQ(rd(&f, 0x0A), 0x26);
	wr(&f, 0x0B, 0x02);
	wr(&f, 0x0A, 0xF6); /* UIP is read-only; DV 111 stops the divider */
	CHECK_EQ(rd(&f, 0x0A), 0x76);
}

static void test_register_c(void)
{
	struct fix f;

	fix_init(&f, 256 * MiB);
	CHECK_EQ(rd(&f, 0x0C), 0x00);
	f.now_ns += NS;               /* a second boundary and many 1024 Hz periods */
	CHECK_EQ(rd(&f, 0x0C), 0x50); /* PF, UF; no enable: no IRQF */
	CHECK_EQ(rd(&f, 0x0C), 0x00); /* read clears */
	wr(&f, 0x0B, 0x12);           /* UIE */
	f.now_ns += NS;
	CHECK_EQ(rd(&f, 0x0C), 0xD0);
	wr(&f, 0x0B, 0x92); /* SET clears UIE */
	CHECK_EQ(rd(&f, 0x0B), 0x82);
	wr(&f, 0x0C, 0xFF); /* read-only */
	wr(&f, 0x0D, 0x00);
	CHECK_EQ(rd(&f, 0x0D), 0x80);
}

static void test_cmos_memory(void)
{
	struct fix f;
	u64 v = 0;

	fix_init(&f, 256 * MiB);
	CHECK_EQ(rd(&f, 0x15), 0x80); /* 640 KiB */
	CHECK_EQ(rd(&f, 0x16), 0x02);
	CHECK_EQ(rd(&f, 0x17), 0xFF); /* 255 MiB in KiB: capped */
	CHECK_EQ(rd(&f, 0x18), 0xFF);
	CHECK_EQ(rd(&f, 0x30), 0xFF);
	CHECK_EQ(rd(&f, 0x31), 0xFF);
	CHECK_EQ(rd(&f, 0x34), 0x00); /* 240 MiB / 64 KiB = 0x0F00 */
	CHECK_EQ(rd(&f, 0x35), 0x0F);
	CHECK_EQ(rd(&f, 0x5B), 0);
	wr(&f, 0x40, 0xA5);
	CHECK_EQ(rd(&f, 0x40), 0xA5);
	wr(&f, 0x7F, 0x11);
	CHECK_EQ(rd(&f, 0x7F), 0x11);
	/* NMI bit: index 0x8D still selects register D. */
	wr(&f, 0x8D, 0x00);
	CHECK_EQ(rd(&f, 0x8D), 0x80);
	CHECK(f.rt.r.nmi_disabled);
	CHECK(bus_read(&f.pio, PORT_RTC, 1, &v));
	CHECK_EQ(v, 0xFF);
	/* outw 0x70: index in the low byte, data in the high byte. */
	CHECK(bus_write(&f.pio, PORT_RTC, 2, 0x5A41));
	CHECK_EQ(rd(&f, 0x41), 0x5A);

	fix_init(&f, 5 * GiB);
	CHECK_EQ(rd(&f, 0x34), 0x00); /* (3 GiB - 16 MiB) / 64 KiB = 0xBF00 */
	CHECK_EQ(rd(&f, 0x35), 0xBF);
	CHECK_EQ(rd(&f, 0x5B), 0x00); /* 2 GiB / 64 KiB = 0x8000 */
	CHECK_EQ(rd(&f, 0x5C), 0x80);
	CHECK_EQ(rd(&f, 0x5D), 0x00);
}

static void test_host_clock(void)
{
	struct rtc rt;
	struct bus pio;
	u64 year = 0;

	bus_init(&pio, "pio", NULL);
	CHECK_EQ(rtc_init(&rt, &pio, 64 * MiB, NULL, NULL), 0);
	CHECK(bus_write(&pio, PORT_RTC, 1, RTC_CENTURY_REG));
	CHECK(bus_read(&pio, PORT_RTC + 1, 1, &year));
	CHECK_EQ(year, 0x20); /* this host runs in the 21st century */
	CHECK_EQ(bus_register(&pio, PORT_RTC + 1, 1, NULL, NULL), -EEXIST);
}

int main(void)
{
	TEST_RUN(test_bcd_24h);
	TEST_RUN(test_binary_and_12h);
	TEST_RUN(test_set_time);
	TEST_RUN(test_uip);
	TEST_RUN(test_register_c);
	TEST_RUN(test_cmos_memory);
	TEST_RUN(test_host_clock);
	return test_done();
}
