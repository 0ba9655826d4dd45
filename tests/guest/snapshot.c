/* Guest program: a computation with timers running that a snapshot may cut
 * in two (tests/e2e/test_snapshot.sh takes one when "snapshot window" is
 * printed and finishes it in a new popek). Whether or not it was cut, the
 * result line must be the same, time must never go back, the timer must
 * keep interrupting, and what the program wrote to devices before the
 * window must read back after it. Runs on its own too (a guest program like
 * any other), where it checks the same things without a cut. */
#include "guest.h"

#define VEC        0x41
#define ROUNDS     cmdline_u64("rounds", 24)
#define WINDOW     (ROUNDS / 3)
#define BUF_WORDS  (256 * 1024) /* 2 MiB */
#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define UART_SCR   (0x3F8 + 7)
#define PIC1_DATA  0x21

static u64 buf[BUF_WORDS];
static volatile u64 ticks;

static void on_timer(struct trap_frame *f)
{
	(void)f;
	ticks++;
	lapic_eoi();
}

static u64 mix(u64 x)
{
	x ^= x >> 31;
	x *= 0x9E3779B97F4A7C15ULL;
	return x ^ (x >> 29);
}

/* What the program leaves in devices before the window (read back after). */
static void mark_devices(void)
{
	outb(UART_SCR, 0xA7);
	outb(CMOS_INDEX, 0x41);
	outb(CMOS_DATA, 0x5C);
	outb(PIC1_DATA, 0xFB); /* all masked but the cascade */
	ioapic_write(IOREDTBL(9), 0x10000 | 0x8000 | 0x39); /* masked, level, vector 0x39 */
	if (testdev_present())
		outb(TESTDEV_PORT + 1, 0x6E);
}

static void check_devices(void)
{
	check_eq("the UART's scratch register kept its value", inb(UART_SCR), 0xA7);
	outb(CMOS_INDEX, 0x41);
	check_eq("the CMOS RAM byte 0x41 kept its value", inb(CMOS_DATA), 0x5C);
	check_eq("the master PIC's mask kept its value", inb(PIC1_DATA), 0xFB);
	check_eq("IOAPIC pin 9's entry kept its value", ioapic_read(IOREDTBL(9)) & 0x1FFFF,
		 0x18039);
	if (testdev_present())
		check_eq("the test device's scratch port kept its value", inb(TESTDEV_PORT + 1),
			 0x6E);
}

void test_main(void)
{
	u64 sum = 0, last_tsc = rdtsc(), backwards = 0, ticks_window = 0, rounds = ROUNDS;

	trap_set_handler(VEC, on_timer);
	lapic_enable();
	lapic_write(LAPIC_TIMER_DIV, 0xB);               /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, VEC | (1u << 17)); /* periodic */
	lapic_write(LAPIC_TIMER_INIT, 2000000);
	for (u64 i = 0; i < BUF_WORDS; i++)
		buf[i] = mix(i + 1);
	sti();
	for (u64 r = 0; r < rounds; r++) {
		if (r == WINDOW) {
			mark_devices();
			ticks_window = ticks;
			printf("snapshot window (round %lu of %lu)\n", r, rounds);
		}
		for (u64 i = 0; i < BUF_WORDS; i++) {
			buf[i] = mix(buf[i] ^ buf[(i * 7 + r) % BUF_WORDS] ^ r);
			sum += buf[i];
		}
		u64 t = rdtsc();
		backwards += t < last_tsc;
		last_tsc = t;
	}
	cli();
	printf("result %lx\n", sum);
	check_eq("the TSC never went back between rounds", backwards, 0);
	check(ticks > ticks_window, "the LAPIC timer kept interrupting after the window (%lu "
	      "ticks before it, %lu at the end)", ticks_window, ticks);
	check_devices();
}
