/* Unit tests for the soft engine's 8254 PIT and port 0x61, driven as Linux drives them. */
#include "cpu/soft/irqchip/pit.h"

#include "test.h"

struct rig {
	struct soft_pit pit;
	int irqs;
};

static void rig_irq(void *opaque)
{
	((struct rig *)opaque)->irqs++;
}

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	soft_pit_init(&r->pit, rig_irq, r);
}

/* The guest ns at which `ticks` PIT clocks have elapsed since 0. */
static u64 ns_at(u64 ticks)
{
	return (ticks * 1000000000ULL + SOFT_PIT_HZ - 1) / SOFT_PIT_HZ;
}

/* arch/x86/kernel/tsc.c pit_calibrate_tsc(): channel 2, mode 0, poll OUT2. */
static void test_calibrate_out2(void)
{
	struct rig r;
	struct soft_pit *p = &r.pit;
	const u32 latch = 1193182 / (1000 / 10); /* 10 ms */
	u64 t0 = 5000000, polls = 0, t;
	u8 v;

	rig_init(&r);
	v = soft_pit_read(p, 0x61, t0);
	soft_pit_write(p, 0x61, (u8)((v & ~0x02) | 0x01), t0);
	soft_pit_write(p, 0x43, 0xB0, t0);
	soft_pit_write(p, 0x42, latch & 0xFF, t0);
	soft_pit_write(p, 0x42, latch >> 8, t0);
	for (t = t0; !(soft_pit_read(p, 0x61, t) & 0x20); t += 1000)
		polls++;
	/* OUT2 rises after latch clocks: 10 ms, to within one poll step. */
	CHECK(t >= t0 + ns_at(latch));
	CHECK(t < t0 + ns_at(latch) + 1000);
	CHECK(polls > 9000);
	CHECK_EQ(r.irqs, 0); /* channel 2 raises no interrupt */
	/* Speaker/gate bits read back; the refresh bit toggles. */
	CHECK_EQ(soft_pit_read(p, 0x61, 0) & 0x0F, 0x01);
	CHECK((soft_pit_read(p, 0x61, 0) ^ soft_pit_read(p, 0x61, 15085)) & 0x10);
}

/* quick_pit_calibrate(): mode 0 from 0xFFFF, unlatched LSB/MSB reads. */
static void test_quick_calibrate_msb(void)
{
	struct rig r;
	struct soft_pit *p = &r.pit;
	u8 lsb, msb;

	rig_init(&r);
	soft_pit_write(p, 0x61, 0x01, 0);
	soft_pit_write(p, 0x43, 0xB0, 0);
	soft_pit_write(p, 0x42, 0xFF, 0);
	soft_pit_write(p, 0x42, 0xFF, 0);
	for (unsigned i = 0; i < 200; i++) {
		u64 t = ns_at(256ull * i + 128);

		lsb = soft_pit_read(p, 0x42, t);
		msb = soft_pit_read(p, 0x42, t);
		CHECK_EQ(msb, 0xFF - i);
		CHECK_EQ(lsb, 0x7F);
	}
	/* Gate low suspends a mode 0 count. */
	soft_pit_write(p, 0x61, 0x00, ns_at(1000));
	CHECK_EQ(soft_pit_count(p, 2, ns_at(5000)), 0xFFFF - 1000);
	soft_pit_write(p, 0x61, 0x01, ns_at(5000));
	CHECK_EQ(soft_pit_count(p, 2, ns_at(5000) + ns_at(10)), 0xFFFF - 1010);
}

/* Linux's PIT clockevent: channel 0, mode 2 (0x34), LATCH for HZ=250. */
static void test_mode2_irq0(void)
{
	struct rig r;
	struct soft_pit *p = &r.pit;
	const u32 latch = (1193182 + 125) / 250;
	u64 d;

	rig_init(&r);
	CHECK_EQ(soft_pit_next_deadline(p), UINT64_MAX);
	soft_pit_write(p, 0x43, 0x34, 0);
	soft_pit_write(p, 0x40, latch & 0xFF, 0);
	CHECK_EQ(soft_pit_next_deadline(p), UINT64_MAX); /* half a count */
	soft_pit_write(p, 0x40, latch >> 8, 0);
	d = soft_pit_next_deadline(p);
	CHECK_EQ(d, ns_at(latch));
	soft_pit_tick(p, d - 1);
	CHECK_EQ(r.irqs, 0);
	soft_pit_tick(p, d);
	CHECK_EQ(r.irqs, 1);
	CHECK_EQ(soft_pit_next_deadline(p), ns_at(2 * latch));
	/* Late by several periods: one interrupt, back on the grid. */
	soft_pit_tick(p, ns_at(5 * latch + 10));
	CHECK_EQ(r.irqs, 2);
	CHECK_EQ(soft_pit_next_deadline(p), ns_at(6 * latch));
	/* Count and OUT within a period: low for the last clock only. */
	CHECK_EQ(soft_pit_count(p, 0, ns_at(latch + 100)), latch - 100);
	CHECK(soft_pit_out(p, 0, ns_at(latch + 100)));
	CHECK(!soft_pit_out(p, 0, ns_at(2 * latch - 1)));
	/* Linux's pit_shutdown(): mode 0, count 0 -> one edge 65536 clocks later. */
	soft_pit_write(p, 0x43, 0x30, ns_at(10 * latch));
	CHECK_EQ(soft_pit_next_deadline(p), UINT64_MAX);
	soft_pit_write(p, 0x40, 0, ns_at(10 * latch));
	soft_pit_write(p, 0x40, 0, ns_at(10 * latch));
	d = soft_pit_next_deadline(p);
	CHECK_EQ(d, ns_at(10 * latch) + ns_at(65536));
	soft_pit_tick(p, d);
	CHECK_EQ(r.irqs, 3);
	CHECK_EQ(soft_pit_next_deadline(p), UINT64_MAX);
}

static void test_mode3_square(void)
{
	struct rig r;
	struct soft_pit *p = &r.pit;

	rig_init(&r);
	soft_pit_write(p, 0x43, 0x36, 0); /* channel 0, lo/hi, mode 3 */
	soft_pit_write(p, 0x40, 1000 & 0xFF, 0);
	soft_pit_write(p, 0x40, 1000 >> 8, 0);
	CHECK(soft_pit_out(p, 0, ns_at(100)));
	CHECK_EQ(soft_pit_count(p, 0, ns_at(100)), 800);
	CHECK(!soft_pit_out(p, 0, ns_at(600)));
	CHECK_EQ(soft_pit_count(p, 0, ns_at(600)), 800);
	CHECK(soft_pit_out(p, 0, ns_at(1000)));
	CHECK_EQ(soft_pit_next_deadline(p), ns_at(1000));
	/* Mode 4: OUT low for exactly one clock at terminal count, edge after. */
	soft_pit_write(p, 0x43, 0x38, 0);
	soft_pit_write(p, 0x40, 50, 0);
	soft_pit_write(p, 0x40, 0, 0);
	CHECK(soft_pit_out(p, 0, ns_at(49)));
	CHECK(!soft_pit_out(p, 0, ns_at(50)));
	CHECK(soft_pit_out(p, 0, ns_at(51)));
	CHECK_EQ(soft_pit_next_deadline(p), ns_at(51));
}

static void test_latch_and_readback(void)
{
	struct rig r;
	struct soft_pit *p = &r.pit;
	u8 lo, hi;

	rig_init(&r);
	soft_pit_write(p, 0x43, 0x34, 0);
	soft_pit_write(p, 0x40, 0x00, 0);
	soft_pit_write(p, 0x40, 0x10, 0);            /* 0x1000 */
	soft_pit_write(p, 0x43, 0x00, ns_at(0x100)); /* latch channel 0 */
	soft_pit_write(p, 0x43, 0x00, ns_at(0x200)); /* ignored: already latched */
	lo = soft_pit_read(p, 0x40, ns_at(0x300));
	hi = soft_pit_read(p, 0x40, ns_at(0x400));
	CHECK_EQ(lo | hi << 8, 0x0F00);
	/* Unlatched reads are live again. */
	lo = soft_pit_read(p, 0x40, ns_at(0x500));
	hi = soft_pit_read(p, 0x40, ns_at(0x500));
	CHECK_EQ(lo | hi << 8, 0x0B00);
	/* Read-back: status then count of channel 0. */
	soft_pit_write(p, 0x43, 0xC2, ns_at(0x800));
	CHECK_EQ(soft_pit_read(p, 0x40, ns_at(0x900)), 0x80 | 0x30 | 0x04);
	lo = soft_pit_read(p, 0x40, ns_at(0x900));
	hi = soft_pit_read(p, 0x40, ns_at(0x900));
	CHECK_EQ(lo | hi << 8, 0x0800);
	/* Status right after a control word: null count, OUT low in mode 0. */
	soft_pit_write(p, 0x43, 0x70, 0); /* channel 1, lo/hi, mode 0 */
	soft_pit_write(p, 0x43, 0xE4, 0); /* read-back status of channel 1 */
	CHECK_EQ(soft_pit_read(p, 0x41, 0), 0x40 | 0x30);
	/* LSB-only and MSB-only access modes. */
	soft_pit_write(p, 0x43, 0x54, 0); /* channel 1, LSB only, mode 2 */
	soft_pit_write(p, 0x41, 200, 0);
	CHECK_EQ(soft_pit_read(p, 0x41, ns_at(50)), 150);
	soft_pit_write(p, 0x43, 0x64, 0); /* channel 1, MSB only, mode 2 */
	soft_pit_write(p, 0x41, 0x02, 0);
	CHECK_EQ(soft_pit_read(p, 0x41, ns_at(0x100)), 0x01);
	/* BCD: 1000 decimal. */
	soft_pit_write(p, 0x43, 0x75, 0);
	soft_pit_write(p, 0x41, 0x00, 0);
	soft_pit_write(p, 0x41, 0x10, 0);
	lo = soft_pit_read(p, 0x41, ns_at(1));
	hi = soft_pit_read(p, 0x41, ns_at(1));
	CHECK_EQ(lo | hi << 8, 0x0999);
	/* The control port reads as nothing. */
	CHECK_EQ(soft_pit_read(p, 0x43, 0), 0xFF);
}

int main(void)
{
	TEST_RUN(test_calibrate_out2);
	TEST_RUN(test_quick_calibrate_msb);
	TEST_RUN(test_mode2_irq0);
	TEST_RUN(test_mode3_square);
	TEST_RUN(test_latch_and_readback);
	return test_done();
}
