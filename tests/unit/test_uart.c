/* Unit tests of the 16550A UART: registers, IIR priorities, THRE interrupt,
 * DLAB, loopback, FIFO and overrun, flow control and the interrupt line. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "dev/uart.h"
#include "popek/layout.h"
#include "test.h"

#define BASE PORT_UART0

enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };
#define FCR IIR
#define THR RBR

struct irq_log {
	unsigned calls;
	unsigned last_gsi;
	bool level;
};

struct fix {
	pthread_mutex_t lock;
	struct bus pio;
	struct irq_router irq;
	struct irq_log log;
	struct uart u;
	int out[2]; /* pipe: out[0] reads what the UART transmitted */
	unsigned rx_ready_calls;
};

static void fake_irq(void *opaque, unsigned gsi, bool level)
{
	struct irq_log *l = opaque;

	l->calls++;
	l->last_gsi = gsi;
	l->level = level;
}

static void count_rx_ready(void *opaque)
{
	struct fix *f = opaque;

	f->rx_ready_calls++;
}

static void fix_init(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	bus_init(&f->pio, "pio", &f->lock);
	f->irq.set = fake_irq;
	f->irq.opaque = &f->log;
	if (pipe2(f->out, O_NONBLOCK) < 0)
		abort();
	CHECK_EQ(uart_init(&f->u, &f->pio, BASE, &f->irq, GSI_UART0, f->out[1]), 0);
	uart_set_rx_ready(&f->u, count_rx_ready, f);
}

static void fix_fini(struct fix *f)
{
	close(f->out[0]);
	close(f->out[1]);
	pthread_mutex_destroy(&f->lock);
}

static u8 in(struct fix *f, unsigned reg)
{
	u64 v = 0;

	CHECK(bus_read(&f->pio, BASE + reg, 1, &v));
	return (u8)v;
}

static void out(struct fix *f, unsigned reg, u8 v)
{
	CHECK(bus_write(&f->pio, BASE + reg, 1, v));
}

/* Bytes the UART sent to its out fd since the last call. */
static ssize_t sent(struct fix *f, char *buf, size_t len)
{
	ssize_t n = read(f->out[0], buf, len);

	return n < 0 && errno == EAGAIN ? 0 : n;
}

static void test_reset_values(void)
{
	struct fix f;

	fix_init(&f);
	CHECK_EQ(in(&f, IER), 0);
	CHECK_EQ(in(&f, IIR), 0x01);
	CHECK_EQ(in(&f, LCR), 0);
	CHECK_EQ(in(&f, MCR), 0);
	CHECK_EQ(in(&f, LSR), 0x60);
	CHECK_EQ(in(&f, MSR), 0xB0);
	CHECK_EQ(f.log.calls, 0);
	/* IER keeps 4 bits; MCR 5 (Linux's XScale and SuperIO probes). */
	out(&f, IER, 0xFF);
	CHECK_EQ(in(&f, IER), 0x0F);
	out(&f, IER, 0);
	out(&f, MCR, 0xFF);
	CHECK_EQ(in(&f, MCR), 0x1F);
	fix_fini(&f);
}

static void test_scratch(void)
{
	struct fix f;

	fix_init(&f);
	out(&f, SCR, 0xA5);
	CHECK_EQ(in(&f, SCR), 0xA5);
	out(&f, SCR, 0x5A);
	CHECK_EQ(in(&f, SCR), 0x5A);
	fix_fini(&f);
}

static void test_dlab(void)
{
	struct fix f;
	char buf[8];

	fix_init(&f);
	out(&f, LCR, 0x83);
	out(&f, RBR, 0x0C); /* DLL */
	out(&f, IER, 0x00); /* DLM */
	CHECK_EQ(in(&f, RBR), 0x0C);
	CHECK_EQ(in(&f, IER), 0x00);
	out(&f, IER, 0x12);
	CHECK_EQ(in(&f, IER), 0x12);
	CHECK_EQ(sent(&f, buf, sizeof(buf)), 0); /* DLL write transmits nothing */
	out(&f, LCR, 0x03);
	CHECK_EQ(in(&f, LCR), 0x03);
	CHECK_EQ(in(&f, IER), 0x00); /* the real IER, not DLM */
	CHECK_EQ(f.log.calls, 0);    /* DLM write did not enable interrupts */
	out(&f, LCR, 0x80);
	CHECK_EQ(in(&f, RBR), 0x0C);
	CHECK_EQ(in(&f, IER), 0x12);
	fix_fini(&f);
}

static void test_transmit(void)
{
	struct fix f;
	char buf[8];

	fix_init(&f);
	out(&f, THR, 'h');
	out(&f, THR, 'i');
	CHECK_EQ(sent(&f, buf, sizeof(buf)), 2);
	CHECK(!memcmp(buf, "hi", 2));
	CHECK_EQ(in(&f, LSR) & 0x60, 0x60);
	CHECK_EQ(in(&f, IIR), 0x01); /* THRI disabled: nothing pending */
	fix_fini(&f);
}

/* Linux's serial8250 start-up test (UART_BUG_THRE/TXEN): enabling THRI with
 * an empty THR must raise the interrupt at once, and again after IER is
 * cleared and set again. */
static void test_thre_on_ier_enable(void)
{
	struct fix f;

	fix_init(&f);
	out(&f, IER, 0x02);
	CHECK_EQ(f.log.level, true);
	CHECK_EQ(f.log.last_gsi, GSI_UART0);
	CHECK_EQ(in(&f, IIR), 0x02);
	CHECK_EQ(f.log.level, false); /* reading IIR acknowledged it */
	CHECK_EQ(in(&f, IIR), 0x01);
	out(&f, IER, 0x02); /* unchanged: no new interrupt */
	CHECK_EQ(in(&f, IIR), 0x01);
	out(&f, IER, 0x00);
	out(&f, IER, 0x02);
	CHECK_EQ(in(&f, IIR), 0x02);
	/* Writing THR clears it; the byte leaves at once and it comes back. */
	out(&f, IER, 0x00);
	out(&f, IER, 0x02);
	out(&f, THR, 'x');
	CHECK_EQ(f.log.level, true);
	CHECK_EQ(in(&f, IIR), 0x02);
	CHECK_EQ(in(&f, IIR), 0x01);
	/* Disabling THRI drops a pending THRE interrupt. */
	out(&f, THR, 'y');
	out(&f, IER, 0x00);
	CHECK_EQ(f.log.level, false);
	CHECK_EQ(in(&f, IIR), 0x01);
	fix_fini(&f);
}

static void test_fifo_and_trigger(void)
{
	struct fix f;
	const u8 data[3] = {'a', 'b', 'c'};

	fix_init(&f);
	out(&f, FCR, 0x01);
	CHECK_EQ(in(&f, IIR), 0xC1);
	out(&f, IER, 0x01);
	CHECK_EQ(uart_receive(&f.u, data, 3), 3);
	CHECK_EQ(in(&f, LSR) & 0x01, 0x01);
	CHECK_EQ(in(&f, IIR), 0xC4); /* trigger level 1 reached */
	CHECK_EQ(f.log.level, true);
	out(&f, FCR, 0xC1); /* trigger 14: below it, a timeout */
	CHECK_EQ(in(&f, IIR), 0xCC);
	CHECK_EQ(in(&f, RBR), 'a');
	CHECK_EQ(in(&f, RBR), 'b');
	CHECK_EQ(in(&f, RBR), 'c');
	CHECK_EQ(in(&f, LSR) & 0x01, 0);
	CHECK_EQ(in(&f, IIR), 0xC1);
	CHECK_EQ(f.log.level, false);
	CHECK_EQ(in(&f, RBR), 'c'); /* empty FIFO: RBR keeps its last value */
	/* FCR bit 1 clears the receive FIFO. */
	CHECK_EQ(uart_receive(&f.u, data, 3), 3);
	out(&f, FCR, 0xC3);
	CHECK_EQ(in(&f, LSR) & 0x01, 0);
	CHECK_EQ(in(&f, IIR), 0xC1);
	/* Turning the FIFO off clears it and the IIR FIFO bits. */
	CHECK_EQ(uart_receive(&f.u, data, 3), 3);
	out(&f, FCR, 0x00);
	CHECK_EQ(in(&f, IIR), 0x01);
	CHECK_EQ(in(&f, LSR) & 0x01, 0);
	fix_fini(&f);
}

/* Line status > received data > THR empty > modem status (datasheet Table IV). */
static void test_iir_priorities(void)
{
	struct fix f;

	fix_init(&f);
	out(&f, FCR, 0x01);
	out(&f, MCR, 0x10); /* loopback: inputs go low, delta bits set */
	for (int i = 0; i < UART_FIFO_SIZE + 1; i++)
		out(&f, THR, (u8)i); /* the 17th byte overruns */
	out(&f, IER, 0x0F);
	CHECK_EQ(in(&f, IIR), 0xC6);
	CHECK_EQ(in(&f, IIR), 0xC6);        /* IIR read does not clear line status */
	CHECK_EQ(in(&f, LSR) & 0x03, 0x03); /* OE + DR; read clears OE */
	CHECK_EQ(in(&f, LSR) & 0x02, 0);
	CHECK_EQ(in(&f, IIR), 0xC4);
	for (int i = 0; i < UART_FIFO_SIZE; i++)
		CHECK_EQ(in(&f, RBR), i);
	CHECK_EQ(in(&f, IIR), 0xC2);
	CHECK_EQ(in(&f, IIR), 0xC0); /* THRE acknowledged: modem status left */
	CHECK_EQ(f.log.level, true);
	CHECK_EQ(in(&f, MSR) & 0x0F, 0x0B); /* DCTS, DDSR, DDCD (RI never rose) */
	CHECK_EQ(in(&f, IIR), 0xC1);
	CHECK_EQ(f.log.level, false);
	fix_fini(&f);
}

static void test_loopback(void)
{
	struct fix f;
	char buf[8];

	fix_init(&f);
	CHECK_EQ(in(&f, MSR), 0xB0);
	/* Linux's autoconfig: LOOP | RTS | OUT2 must read CTS | DCD. */
	out(&f, MCR, 0x10 | 0x0A);
	CHECK_EQ(in(&f, MSR) & 0xF0, 0x90);
	out(&f, MCR, 0x10 | 0x05); /* DTR -> DSR, OUT1 -> RI */
	CHECK_EQ(in(&f, MSR) & 0xF0, 0x60);
	out(&f, MCR, 0x10); /* RI falls: TERI */
	CHECK_EQ(in(&f, MSR), 0x06);
	CHECK_EQ(in(&f, MSR), 0x00);
	out(&f, THR, 'L');
	CHECK_EQ(sent(&f, buf, sizeof(buf)), 0); /* nothing leaves in loopback */
	CHECK_EQ(in(&f, LSR) & 0x01, 0x01);
	CHECK_EQ(in(&f, RBR), 'L');
	out(&f, MCR, 0x00);
	CHECK_EQ(in(&f, MSR), 0xBB); /* CTS, DSR, DCD back, with deltas */
	out(&f, THR, 'O');
	CHECK_EQ(sent(&f, buf, sizeof(buf)), 1);
	CHECK_EQ(buf[0], 'O');
	fix_fini(&f);
}

static void test_overrun_16450_mode(void)
{
	struct fix f;

	fix_init(&f);
	out(&f, MCR, 0x10);
	out(&f, THR, 'a');
	out(&f, THR, 'b'); /* no FIFO: overwrites RBR */
	CHECK_EQ(in(&f, LSR) & 0x03, 0x03);
	CHECK_EQ(in(&f, RBR), 'b');
	CHECK_EQ(in(&f, LSR) & 0x03, 0x00);
	fix_fini(&f);
}

static void test_flow_control(void)
{
	struct fix f;
	u8 data[20];

	fix_init(&f);
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (u8)('A' + i);
	CHECK_EQ(uart_rx_room(&f.u), 0); /* no driver listening yet */
	CHECK_EQ(uart_receive(&f.u, data, 20), 0);
	out(&f, IER, 0x01);
	CHECK_EQ(f.rx_ready_calls, 1);
	CHECK_EQ(uart_rx_room(&f.u), 1); /* 16450 mode: one byte */
	out(&f, FCR, 0x01);
	CHECK_EQ(uart_rx_room(&f.u), UART_FIFO_SIZE);
	CHECK_EQ(uart_receive(&f.u, data, 20), UART_FIFO_SIZE);
	CHECK_EQ(uart_rx_room(&f.u), 0);
	CHECK_EQ(in(&f, LSR) & 0x02, 0); /* host input never overruns */
	f.rx_ready_calls = 0;
	CHECK_EQ(in(&f, RBR), 'A');
	CHECK_EQ(f.rx_ready_calls, 1);
	CHECK_EQ(uart_rx_room(&f.u), 1);
	CHECK_EQ(in(&f, RBR), 'B');
	CHECK_EQ(f.rx_ready_calls, 1); /* only on 0 -> non-zero */
	CHECK_EQ(uart_receive(&f.u, data + 16, 4), 2);
	for (int i = 2; i < 18; i++)
		CHECK_EQ(in(&f, RBR), 'A' + i);
	/* Loopback disconnects the host side. */
	out(&f, MCR, 0x10);
	CHECK_EQ(uart_rx_room(&f.u), 0);
	fix_fini(&f);
}

/* The line follows "IIR says pending" and is only driven on changes. */
static void test_irq_line(void)
{
	struct fix f;
	const u8 c = 'z';

	fix_init(&f);
	out(&f, IER, 0x01);
	CHECK_EQ(f.log.calls, 0);
	CHECK_EQ(uart_receive(&f.u, &c, 1), 1);
	CHECK_EQ(f.log.calls, 1);
	CHECK_EQ(f.log.level, true);
	out(&f, IER, 0x03); /* THRE also pending: still high, no new call */
	CHECK_EQ(f.log.calls, 1);
	CHECK_EQ(in(&f, RBR), 'z');
	CHECK_EQ(f.log.calls, 1); /* THRE keeps it high */
	CHECK_EQ(in(&f, IIR), 0x02);
	CHECK_EQ(f.log.calls, 2);
	CHECK_EQ(f.log.level, false);
	uart_reset(&f.u);
	CHECK_EQ(f.log.calls, 2);
	fix_fini(&f);
}

/* A 16-bit access covers two consecutive registers, low port first. */
static void test_wide_access(void)
{
	struct fix f;
	u64 v = 0;

	fix_init(&f);
	CHECK(bus_write(&f.pio, BASE + LCR, 2, 0x0B03)); /* LCR 0x03, MCR 0x0B */
	CHECK_EQ(in(&f, LCR), 0x03);
	CHECK_EQ(in(&f, MCR), 0x0B);
	CHECK(bus_read(&f.pio, BASE + LCR, 2, &v));
	CHECK_EQ(v, 0x0B03);
	fix_fini(&f);
}

static void test_closed_output(void)
{
	struct fix f;

	fix_init(&f);
	close(f.out[0]);
	f.out[0] = open("/dev/null", O_RDONLY);
	signal(SIGPIPE, SIG_IGN);
	setenv("POPEK_LOG", "error", 1); /* the expected warning */
	out(&f, THR, 'x');               /* EPIPE: logged once, dropped, no crash */
	CHECK(f.u.out_failed);
	out(&f, THR, 'y');
	CHECK_EQ(in(&f, LSR) & 0x60, 0x60);
	unsetenv("POPEK_LOG");
	fix_fini(&f);
}

int main(void)
{
	TEST_RUN(test_reset_values);
	TEST_RUN(test_scratch);
	TEST_RUN(test_dlab);
	TEST_RUN(test_transmit);
	TEST_RUN(test_thre_on_ier_enable);
	TEST_RUN(test_fifo_and_trigger);
	TEST_RUN(test_iir_priorities);
	TEST_RUN(test_loopback);
	TEST_RUN(test_overrun_16450_mode);
	TEST_RUN(test_flow_control);
	TEST_RUN(test_irq_line);
	TEST_RUN(test_wide_access);
	TEST_RUN(test_closed_output);
	return test_done();
}
