/* Unit tests of the legacy devices' snapshot state (X_save, X_load): each
 * device is driven into a busy state through its registers, saved, loaded
 * into a fresh one and read back the same through the registers, with the
 * same interrupt level; damaged payloads are refused with a reason and leave
 * the target as it was. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "dev/acpi_pm.h"
#include "dev/fw_cfg.h"
#include "dev/i8042.h"
#include "dev/rtc.h"
#include "dev/testdev.h"
#include "dev/uart.h"
#include "popek/layout.h"
#include "test.h"

#define NS 1000000000LL

/* One machine's worth of wiring; a test initializes the one device it needs
 * in two rigs (the saved device and the one loaded), as two machines would. */
struct rig {
	pthread_mutex_t lock;
	struct bus pio, mmio;
	struct irq_router irq;
	unsigned irq_calls, irq_gsi;
	bool irq_level;
	unsigned rx_ready_calls;
	s64 now_ns; /* the RTC's host clock */
	struct uart uart;
	struct rtc rtc;
	struct i8042 kbc;
	struct fw_cfg fw_cfg;
	struct acpi_pm pm;
	struct testdev td;
};

static void fake_irq(void *opaque, unsigned gsi, bool level)
{
	struct rig *g = opaque;

	g->irq_calls++;
	g->irq_gsi = gsi;
	g->irq_level = level;
}

static void count_rx_ready(void *opaque)
{
	((struct rig *)opaque)->rx_ready_calls++;
}

static s64 fake_clock(void *opaque)
{
	return ((struct rig *)opaque)->now_ns;
}

static struct rig *rig_new(void)
{
	struct rig *g = calloc(1, sizeof(*g));
	/* 2024-02-29 13:45:07.5 UTC */
	struct tm tm = {
	    .tm_sec = 7, .tm_min = 45, .tm_hour = 13, .tm_mday = 29, .tm_mon = 1, .tm_year = 124};

	if (!g)
		abort();
	pthread_mutex_init(&g->lock, NULL);
	bus_init(&g->pio, "pio", &g->lock);
	bus_init(&g->mmio, "mmio", &g->lock);
	g->irq.set = fake_irq;
	g->irq.opaque = g;
	g->now_ns = (s64)timegm(&tm) * NS + NS / 2;
	return g;
}

static void rig_free(struct rig *g)
{
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static u64 rd(struct rig *g, u16 port, unsigned size)
{
	u64 v = 0;

	CHECK(bus_read(&g->pio, port, size, &v));
	return v;
}

static void wr(struct rig *g, u16 port, unsigned size, u64 v)
{
	CHECK(bus_write(&g->pio, port, size, v));
}

static u64 mrd(struct rig *g, u64 off, unsigned size)
{
	u64 v = 0;

	CHECK(bus_read(&g->mmio, LAYOUT_TESTDEV_MMIO + off, size, &v));
	return v;
}

static void mwr(struct rig *g, u64 off, unsigned size, u64 v)
{
	CHECK(bus_write(&g->mmio, LAYOUT_TESTDEV_MMIO + off, size, v));
}

/* One device type: how a test saves and loads the device of a rig, and
 * which bytes of the rig are its state. */
struct kind {
	void (*init)(struct rig *g);
	int (*save)(struct rig *g, struct snap_out *o);
	int (*load)(struct rig *g, struct snap_in *in);
	size_t state, size; /* offset in struct rig, length */
};

#define KIND(name, member, regs)                                                                   \
	static int name##_save_g(struct rig *g, struct snap_out *o)                                \
	{                                                                                          \
		return name##_save(&g->member, o);                                                 \
	}                                                                                          \
	static int name##_load_g(struct rig *g, struct snap_in *in)                                \
	{                                                                                          \
		return name##_load(&g->member, in);                                                \
	}                                                                                          \
	static const struct kind name##_kind = {name##_rig, name##_save_g, name##_load_g,          \
						offsetof(struct rig, regs),                        \
						sizeof(((struct rig *)0)->regs)}

/* Two rigs with a fresh device each: a to drive and save, b to load. */
static void pair(const struct kind *k, struct rig **a, struct rig **b)
{
	*a = rig_new();
	*b = rig_new();
	k->init(*a);
	k->init(*b);
}

static void unpair(struct rig *a, struct rig *b, struct snap_out *o)
{
	snap_out_free(o);
	rig_free(a);
	rig_free(b);
}

static void save(const struct kind *k, struct rig *a, struct snap_out *o)
{
	snap_out_init(o);
	CHECK_EQ(k->save(a, o), 0);
}

/* Loads o into g's device, which must take it. */
static void load(const struct kind *k, struct rig *g, const struct snap_out *o)
{
	struct snap_in in;
	int err;

	snap_in_init(&in, o->buf, o->len);
	err = k->load(g, &in);
	if (err)
		printf("  load refused: %s\n", in.why);
	CHECK_EQ(err, 0);
}

/* Saves a's device into o and loads it into b's. */
static void save_load(const struct kind *k, struct rig *a, struct rig *b, struct snap_out *o)
{
	save(k, a, o);
	load(k, b, o);
}

/* Loading p into g's device must fail with a reason containing why, leaving
 * the device's state, its interrupt line and rx_ready as they were. */
static void expect_refused(const struct kind *k, struct rig *g, const u8 *p, size_t len,
			   const char *why)
{
	const u8 *state = (const u8 *)g + k->state;
	void *before = malloc(k->size);
	unsigned calls = g->irq_calls, ready = g->rx_ready_calls;
	struct snap_in in;

	if (!before)
		abort();
	memcpy(before, state, k->size);
	snap_in_init(&in, p, len);
	CHECK_EQ(k->load(g, &in), -EINVAL);
	if (!strstr(in.why, why)) {
		printf("  reason \"%s\" does not say \"%s\"\n", in.why, why);
		CHECK(!"the reason names the damage");
	}
	CHECK(memcmp(before, state, k->size) == 0);
	CHECK_EQ(g->irq_calls, calls);
	CHECK_EQ(g->rx_ready_calls, ready);
	free(before);
}

/* A value no device of the kind could hold, written over a good payload. */
struct damage {
	size_t off; /* where in the payload (field order at the X_save) */
	unsigned n; /* bytes of v written there, little endian */
	u64 v;
	const char *why; /* what the reason must say */
};

/* The damage every device refuses: its payload o one byte short, one byte
 * too long, and each of d[0..nd). */
static void expect_damage_refused(const struct kind *k, struct rig *g, const struct snap_out *o,
				  const struct damage *d, size_t nd)
{
	u8 *p = calloc(1, o->len + 1);

	if (!p)
		abort();
	memcpy(p, o->buf, o->len);
	expect_refused(k, g, p, o->len - 1, "truncated");
	expect_refused(k, g, p, o->len + 1, "1 bytes left over");
	for (size_t i = 0; i < nd; i++) {
		memcpy(p, o->buf, o->len);
		for (unsigned j = 0; j < d[i].n; j++)
			p[d[i].off + j] = (u8)(d[i].v >> (8 * j));
		expect_refused(k, g, p, o->len, d[i].why);
	}
	free(p);
}

/* --- UART --- */

enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };

static void uart_rig(struct rig *g)
{
	CHECK_EQ(uart_init(&g->uart, &g->pio, PORT_UART0, &g->irq, GSI_UART0, -1), 0);
	uart_set_rx_ready(&g->uart, count_rx_ready, g);
}

KIND(uart, uart, uart.r);

/* Every register, the divisor latch and the FIFO's bytes, side effects
 * included (the same on both devices). */
static void uart_read_all(struct rig *g, u8 *v, unsigned n)
{
	static const u8 regs[] = {IIR, LSR, MSR, MSR, IER, LCR, MCR, SCR};
	unsigned i = 0;

	for (unsigned r = 0; r < sizeof(regs) && i < n; r++)
		v[i++] = (u8)rd(g, PORT_UART0 + regs[r], 1);
	wr(g, PORT_UART0 + LCR, 1, 0x83);
	v[i++] = (u8)rd(g, PORT_UART0 + RBR, 1); /* DLL */
	v[i++] = (u8)rd(g, PORT_UART0 + IER, 1); /* DLM */
	wr(g, PORT_UART0 + LCR, 1, 0x03);
	while (i + 2 <= n) {
		v[i++] = (u8)rd(g, PORT_UART0 + RBR, 1);
		v[i++] = (u8)rd(g, PORT_UART0 + IIR, 1);
	}
}

static void test_uart_round_trip(void)
{
	struct rig *a, *b;
	struct snap_out o;
	u8 va[24], vb[24];

	pair(&uart_kind, &a, &b);
	wr(a, PORT_UART0 + LCR, 1, 0x83); /* divisor latch: 9600 baud */
	wr(a, PORT_UART0 + RBR, 1, 0x0C);
	wr(a, PORT_UART0 + IER, 1, 0x00);
	wr(a, PORT_UART0 + LCR, 1, 0x1B); /* 8E1 */
	wr(a, PORT_UART0 + IIR, 1, 0x81); /* FIFO on, trigger 8 */
	wr(a, PORT_UART0 + IER, 1, 0x05); /* RDI, RLSI */
	wr(a, PORT_UART0 + MCR, 1, 0x0B);
	wr(a, PORT_UART0 + SCR, 1, 0x5A);
	CHECK_EQ(uart_receive(&a->uart, (const u8 *)"hello", 5), 5);
	CHECK(a->irq_level); /* character timeout: 5 bytes below the trigger */

	save_load(&uart_kind, a, b, &o);
	CHECK(b->irq_level);
	CHECK_EQ(b->irq_calls, 1);
	CHECK_EQ(b->irq_gsi, GSI_UART0);
	CHECK_EQ(b->rx_ready_calls, 1); /* RDI on: the host may send again */

	uart_read_all(a, va, sizeof(va));
	uart_read_all(b, vb, sizeof(vb));
	CHECK(memcmp(va, vb, sizeof(va)) == 0);
	CHECK_EQ(va[0], 0xCC); /* IIR: FIFO on, character timeout */
	CHECK_EQ(va[5], 0x1B); /* LCR */
	CHECK_EQ(va[8], 0x0C); /* DLL */
	CHECK_EQ(va[10], 'h'); /* the FIFO's oldest byte */
	CHECK_EQ(va[18], 'o');
	CHECK_EQ(va[19], 0xC1); /* FIFO empty: no interrupt */
	CHECK_EQ(a->irq_level, b->irq_level);
	CHECK(!b->irq_level);
	unpair(a, b, &o);
}

static void test_uart_damage(void)
{
	static const struct damage damage[] = {
	    /* Offset 10 is the FIFO's count (field order at uart_save). */
	    {10, 1, 40, "uart: rx FIFO count 40 is more than 16"},
	    /* FCR 0x03: no write leaves a self-clearing bit set. */
	    {3, 1, 0x03, "uart: FCR 0x03 is not a FIFO setting"},
	};
	struct rig *a, *b;
	struct snap_out o;

	pair(&uart_kind, &a, &b);
	wr(a, PORT_UART0 + IIR, 1, 0x01);
	wr(a, PORT_UART0 + IER, 1, 0x01);
	CHECK_EQ(uart_receive(&a->uart, (const u8 *)"ab", 2), 2);
	save(&uart_kind, a, &o);
	expect_damage_refused(&uart_kind, b, &o, damage, ARRAY_SIZE(damage));
	unpair(a, b, &o);
}

/* --- RTC --- */

static void rtc_rig(struct rig *g)
{
	CHECK_EQ(rtc_init(&g->rtc, &g->pio, 512 * MiB, fake_clock, g), 0);
}

KIND(rtc, rtc, rtc.r);

static u8 cmos(struct rig *g, u8 reg)
{
	wr(g, PORT_RTC, 1, reg);
	return (u8)rd(g, PORT_RTC + 1, 1);
}

static void cmos_wr(struct rig *g, u8 reg, u8 v)
{
	wr(g, PORT_RTC, 1, reg);
	wr(g, PORT_RTC + 1, 1, v);
}

/* The selected register (read without selecting), then all 128, then A and
 * C again 0.75 s later (a periodic interval passed). */
static void rtc_read_all(struct rig *g, u8 *v)
{
	v[0] = (u8)rd(g, PORT_RTC + 1, 1);
	for (unsigned r = 0; r < 128; r++)
		v[1 + r] = cmos(g, (u8)r);
	g->now_ns += 3 * NS / 4;
	v[129] = cmos(g, 0x0A);
	v[130] = cmos(g, 0x0C);
	v[131] = cmos(g, 0x00);
}

static void test_rtc_round_trip(void)
{
	struct rig *a, *b;
	struct snap_out o;
	u8 va[132], vb[132];

	pair(&rtc_kind, &a, &b);
	cmos_wr(a, 0x0A, 0x2F); /* periodic rate 15: 2 Hz */
	cmos_wr(a, 0x0B, 0x62); /* PIE, AIE, 24-hour, BCD */
	cmos_wr(a, 0x01, 0x30); /* alarm 06:15:30 */
	cmos_wr(a, 0x03, 0x15);
	cmos_wr(a, 0x05, 0x06);
	cmos_wr(a, 0x04, 0x08);          /* the guest sets the hour: an offset */
	cmos_wr(a, 0x40, 0xA5);          /* CMOS memory */
	wr(a, PORT_RTC, 1, 0x80 | 0x0D); /* index D, NMI disabled */

	save_load(&rtc_kind, a, b, &o);
	CHECK_EQ(b->rtc.r.nmi_disabled, true);
	rtc_read_all(a, va);
	rtc_read_all(b, vb);
	CHECK(memcmp(va, vb, sizeof(va)) == 0);
	CHECK_EQ(va[0], 0x80);        /* D, the selected register */
	CHECK_EQ(va[1 + 0x04], 0x08); /* the guest's hour */
	CHECK_EQ(va[1 + 0x01], 0x30);
	CHECK_EQ(va[1 + 0x0A], 0x2F);
	CHECK_EQ(va[1 + 0x40], 0xA5);
	CHECK_EQ(va[130] & 0xC0, 0xC0); /* PF and IRQF (PIE) */
	unpair(a, b, &o);
}

/* A clock held by B.SET mid-edit comes back held, with the edit. */
static void test_rtc_frozen(void)
{
	struct rig *a, *b;
	struct snap_out o;
	u8 va[132], vb[132];

	pair(&rtc_kind, &a, &b);
	cmos_wr(a, 0x0B, 0x82); /* SET */
	cmos_wr(a, 0x02, 0x59);
	cmos_wr(a, 0x09, 0x31);
	save_load(&rtc_kind, a, b, &o);
	rtc_read_all(a, va);
	rtc_read_all(b, vb);
	CHECK(memcmp(va, vb, sizeof(va)) == 0);
	CHECK_EQ(vb[131], vb[1]); /* held: the seconds stay over a boundary */
	CHECK_EQ(va[1 + 0x02], 0x59);
	CHECK_EQ(va[1 + 0x09], 0x31);
	cmos_wr(a, 0x0B, 0x02); /* both start from the edit */
	cmos_wr(b, 0x0B, 0x02);
	CHECK_EQ(cmos(a, 0x09), 0x31);
	CHECK_EQ(cmos(b, 0x02), cmos(a, 0x02));
	unpair(a, b, &o);
}

/* The saved clock is an offset from host time: restored 5 s later on the
 * host, the guest's clock is 5 s on, not back where it was. */
static void test_rtc_clock_continues(void)
{
	struct rig *a, *b;
	struct snap_out o;

	pair(&rtc_kind, &a, &b);
	cmos_wr(a, 0x00, 0x20); /* 13:45:20 */
	save(&rtc_kind, a, &o);
	b->now_ns = a->now_ns + 5 * NS;
	load(&rtc_kind, b, &o);
	CHECK_EQ(cmos(a, 0x00), 0x20);
	CHECK_EQ(cmos(b, 0x00), 0x25);
	CHECK_EQ(cmos(b, 0x02), 0x45);
	unpair(a, b, &o);
}

static void test_rtc_damage(void)
{
	static const struct damage damage[] = {
	    /* Offset 128 is the index, after the 128 CMOS bytes. */
	    {128, 1, 0x80, "rtc: index 0x80 is more than 0x7f"},
	    /* Register A with UIP, which is computed on each read. */
	    {0x0A, 1, 0xA3, "rtc: register A 0xa3 has UIP set"},
	    /* The offset (at 130) a million years out. */
	    {130, 8, 31557600000000ULL, "rtc: offset from host time"},
	    /* The edited month (at 154) 256. */
	    {154, 4, 256, "rtc: edited month 256"},
	};
	struct rig *a, *b;
	struct snap_out o;

	pair(&rtc_kind, &a, &b);
	cmos_wr(a, 0x0A, 0x23);
	save(&rtc_kind, a, &o);
	expect_damage_refused(&rtc_kind, b, &o, damage, ARRAY_SIZE(damage));
	unpair(a, b, &o);
}

/* --- i8042 --- */

static void i8042_rig(struct rig *g)
{
	struct dev_stop stop = {NULL, NULL};

	CHECK_EQ(i8042_init(&g->kbc, &g->pio, &g->irq, &stop), 0);
}

KIND(i8042, kbc, kbc.r);

/* Status and data until the output buffer runs dry, then the pending
 * controller command and keyboard parameter finished. */
static void i8042_read_all(struct rig *g, u8 *v, unsigned n)
{
	unsigned i = 0;

	while (i + 2 <= n - 6) {
		v[i++] = (u8)rd(g, PORT_I8042_CMD, 1);
		v[i++] = (u8)rd(g, PORT_I8042_DATA, 1);
	}
	wr(g, PORT_I8042_DATA, 1, 0x42); /* 0xD2's byte: back as keyboard data */
	v[i++] = (u8)rd(g, PORT_I8042_CMD, 1);
	v[i++] = (u8)rd(g, PORT_I8042_DATA, 1);
	wr(g, PORT_I8042_DATA, 1, 0x07); /* the LEDs for 0xED */
	v[i++] = (u8)rd(g, PORT_I8042_CMD, 1);
	v[i++] = (u8)rd(g, PORT_I8042_DATA, 1);
	v[i++] = g->irq_level;
	v[i++] = (u8)g->kbc.r.kbd.leds;
}

static void test_i8042_round_trip(void)
{
	struct rig *a, *b;
	struct snap_out o;
	u8 va[16], vb[16];

	pair(&i8042_kind, &a, &b);
	wr(a, PORT_I8042_DATA, 1, 0xF2); /* identify: 0xFA 0xAB 0x83 */
	wr(a, PORT_I8042_DATA, 1, 0xED); /* LEDs: 0xFA, then waits for them */
	wr(a, PORT_I8042_CMD, 1, 0xD2);  /* controller waits for its byte */
	CHECK(a->irq_level);

	save_load(&i8042_kind, a, b, &o);
	CHECK(b->irq_level);
	CHECK_EQ(b->irq_calls, 1);
	CHECK_EQ(b->irq_gsi, GSI_I8042_KBD);

	i8042_read_all(a, va, sizeof(va));
	i8042_read_all(b, vb, sizeof(vb));
	CHECK(memcmp(va, vb, sizeof(va)) == 0);
	CHECK_EQ(va[0] & 0x09, 0x09); /* OBF, last write a command */
	CHECK_EQ(va[1], 0xFA);
	CHECK_EQ(va[3], 0xAB);
	CHECK_EQ(va[5], 0x41); /* 0x83 translated to set 1 */
	CHECK_EQ(va[7], 0xFA);
	CHECK_EQ(va[11], 0x42);
	CHECK_EQ(va[13], 0xFA);
	CHECK_EQ(va[15], 7);
	unpair(a, b, &o);
}

static void test_i8042_damage(void)
{
	static const struct damage damage[] = {
	    /* Offset 35 is the pending controller command (after RAM, output
	     * buffer, status and output port). */
	    {35, 1, 0x55, "i8042: pending command 0x55 takes no data byte"},
	    /* The keyboard queue's length (at 39). */
	    {39, 1, 33, "i8042: keyboard queue length 33 is more than 32"},
	    /* The scan code set (at 42 + 2 queued bytes). */
	    {44, 1, 4, "i8042: keyboard scan code set 4 is not 1-3"},
	};
	struct rig *a, *b;
	struct snap_out o;

	pair(&i8042_kind, &a, &b);
	wr(a, PORT_I8042_DATA, 1, 0xF2);
	save(&i8042_kind, a, &o);
	expect_damage_refused(&i8042_kind, b, &o, damage, ARRAY_SIZE(damage));
	unpair(a, b, &o);
}

/* --- ACPI PM --- */

static void acpi_pm_rig(struct rig *g)
{
	struct dev_stop stop = {NULL, NULL};

	CHECK_EQ(acpi_pm_init(&g->pm, &g->pio, &stop), 0);
}

KIND(acpi_pm, pm, pm);

static void test_acpi_pm(void)
{
	static const struct damage damage[] = {
	    {0, 1, 0x01, "acpi_pm: sleep status 0x01 sets bits other than WAK_STS"},
	};
	struct rig *a, *b;
	struct snap_out o;
	const u8 wak[1] = {0x80};
	struct snap_in in;

	pair(&acpi_pm_kind, &a, &b);
	wr(a, PORT_ACPI_SLEEP_STS, 1, 0x80); /* write-1-to-clear: stays 0 */
	save(&acpi_pm_kind, a, &o);
	CHECK_EQ(o.len, 1);
	load(&acpi_pm_kind, b, &o);
	for (u16 port = PORT_ACPI_SLEEP_CTL; port < PORT_ACPI_SLEEP_CTL + 3; port++)
		CHECK_EQ(rd(b, port, 1), rd(a, port, 1));
	/* A saved WAK_STS reads back and clears as the register does. */
	snap_in_init(&in, wak, sizeof(wak));
	CHECK_EQ(acpi_pm_load(&b->pm, &in), 0);
	CHECK_EQ(rd(b, PORT_ACPI_SLEEP_STS, 1), 0x80);
	wr(b, PORT_ACPI_SLEEP_STS, 1, 0x80);
	CHECK_EQ(rd(b, PORT_ACPI_SLEEP_STS, 1), 0);
	expect_damage_refused(&acpi_pm_kind, b, &o, damage, ARRAY_SIZE(damage));
	unpair(a, b, &o);
}

/* --- fw_cfg --- */

static void fw_cfg_rig(struct rig *g)
{
	CHECK_EQ(fw_cfg_init(&g->fw_cfg, &g->pio, 768 * MiB, 2), 0);
}

KIND(fw_cfg, fw_cfg, fw_cfg);

static void test_fw_cfg(void)
{
	static const struct damage damage[] = {
	    /* Offset 2 is the offset: 9 is past the 8-byte item. */
	    {2, 4, 9, "fw_cfg: offset 9 is past the end (8) of item 0x0003"},
	    /* An unknown item (0x1234) has no bytes to be inside. */
	    {0, 2, 0x1234, "fw_cfg: offset 3 is past the end (0) of item 0x1234"},
	};
	struct rig *a, *b;
	struct snap_out o;

	pair(&fw_cfg_kind, &a, &b);
	wr(a, PORT_FW_CFG, 2, FW_CFG_RAM_SIZE);
	for (unsigned i = 0; i < 3; i++)
		rd(a, PORT_FW_CFG + 1, 1);
	save_load(&fw_cfg_kind, a, b, &o);
	/* The rest of the RAM size, then zeros past its end. */
	for (unsigned i = 3; i < 10; i++) {
		u64 va = rd(a, PORT_FW_CFG + 1, 1);

		CHECK_EQ(rd(b, PORT_FW_CFG + 1, 1), va);
		CHECK_EQ(va, i < 8 ? (u8)((768 * MiB) >> (8 * i)) : 0);
	}
	expect_damage_refused(&fw_cfg_kind, b, &o, damage, ARRAY_SIZE(damage));
	unpair(a, b, &o);
}

/* --- test device --- */

static void testdev_rig(struct rig *g)
{
	CHECK_EQ(testdev_init(&g->td, &g->pio, &g->mmio, &g->irq, GSI_TESTDEV), 0);
}

KIND(testdev, td, td.r);

static void test_testdev(void)
{
	static const struct damage damage[] = {
	    /* Offset 268 is LEVEL, after scratch (4), memory (256), count (8). */
	    {268, 1, 2, "testdev: LEVEL is 2, not 0 or 1"},
	};
	struct rig *a, *b;
	struct snap_out o;

	pair(&testdev_kind, &a, &b);
	wr(a, PORT_TESTDEV, 4, 0xDEADBEEF);
	mwr(a, 0x10, 8, 0x0123456789ABCDEFULL);
	mwr(a, 0xFF, 1, 0x77);
	mwr(a, TESTDEV_LEVEL, 4, 1);
	CHECK(a->irq_level);
	save_load(&testdev_kind, a, b, &o);
	CHECK(b->irq_level);
	CHECK_EQ(b->irq_calls, 1);
	CHECK_EQ(b->irq_gsi, GSI_TESTDEV);
	CHECK_EQ(rd(b, PORT_TESTDEV, 4), rd(a, PORT_TESTDEV, 4));
	CHECK_EQ(rd(b, PORT_TESTDEV + 4, 1), rd(a, PORT_TESTDEV + 4, 1));
	for (unsigned off = 0; off < TESTDEV_SCRATCH_SIZE; off += 8)
		CHECK_EQ(mrd(b, off, 8), mrd(a, off, 8));
	CHECK_EQ(mrd(b, TESTDEV_COUNT, 8), mrd(a, TESTDEV_COUNT, 8));
	CHECK_EQ(mrd(a, TESTDEV_COUNT, 8), 3 + 32 + 2);
	CHECK_EQ(mrd(b, TESTDEV_LEVEL, 4), 1);
	expect_damage_refused(&testdev_kind, b, &o, damage, ARRAY_SIZE(damage));
	unpair(a, b, &o);
}

int main(void)
{
	TEST_RUN(test_uart_round_trip);
	TEST_RUN(test_uart_damage);
	TEST_RUN(test_rtc_round_trip);
	TEST_RUN(test_rtc_frozen);
	TEST_RUN(test_rtc_clock_continues);
	TEST_RUN(test_rtc_damage);
	TEST_RUN(test_i8042_round_trip);
	TEST_RUN(test_i8042_damage);
	TEST_RUN(test_acpi_pm);
	TEST_RUN(test_fw_cfg);
	TEST_RUN(test_testdev);
	return test_done();
}
