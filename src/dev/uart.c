/* 16550A UART: registers, receive FIFO, interrupt priorities and loopback
 * (National PC16550D datasheet, sections 8.1-8.8). */
#include "dev/uart.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "dev/dev.h"
#include "popek/log.h"

enum {
	UART_RBR = 0, /* THR on write, DLL with DLAB */
	UART_IER = 1, /* DLM with DLAB */
	UART_IIR = 2, /* FCR on write */
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define IER_RDI  0x01 /* received data available */
#define IER_THRI 0x02 /* THR empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI  0x08 /* modem status */

#define IIR_NO_INT  0x01
#define IIR_MSI     0x00
#define IIR_THRI    0x02
#define IIR_RDI     0x04
#define IIR_RLSI    0x06
#define IIR_TIMEOUT 0x0C
#define IIR_FIFO_ON 0xC0

#define FCR_ENABLE    0x01
#define FCR_CLEAR_RCV 0x02
#define FCR_TRIGGER   0xC0

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR     0x01
#define LSR_OE     0x02
#define LSR_ERRORS 0x1E /* OE, PE, FE, BI */
#define LSR_THRE   0x20
#define LSR_TEMT   0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80

static bool uart_fifo_on(const struct uart *u)
{
	return u->r.fcr & FCR_ENABLE;
}

static unsigned uart_rx_capacity(const struct uart *u)
{
	return uart_fifo_on(u) ? UART_FIFO_SIZE : 1;
}

/* FCR bits 7:6 (datasheet 8.5): 1, 4, 8 or 14 bytes. */
static unsigned uart_rx_trigger(const struct uart *u)
{
	static const u8 levels[4] = {1, 4, 8, 14};

	return levels[(u->r.fcr & FCR_TRIGGER) >> 6];
}

/* Interrupt identification in priority order (datasheet 8.4, Table IV). */
static u8 uart_iir(const struct uart *u)
{
	const struct uart_regs *r = &u->r;
	u8 id = IIR_NO_INT;

	if ((r->ier & IER_RLSI) && (r->lsr_err & LSR_ERRORS))
		id = IIR_RLSI;
	else if ((r->ier & IER_RDI) && r->rx_count)
		id = (uart_fifo_on(u) && r->rx_count < uart_rx_trigger(u)) ? IIR_TIMEOUT : IIR_RDI;
	else if ((r->ier & IER_THRI) && r->thre_pending)
		id = IIR_THRI;
	else if ((r->ier & IER_MSI) && (r->msr & 0x0F))
		id = IIR_MSI;
	return id | (uart_fifo_on(u) ? IIR_FIFO_ON : 0);
}

static bool uart_irq_wanted(const struct uart *u)
{
	return !(uart_iir(u) & IIR_NO_INT);
}

static void uart_update_irq(struct uart *u)
{
	bool level = uart_irq_wanted(u);

	if (level == u->r.irq_level)
		return;
	u->r.irq_level = level;
	irq_set_level(u->irq, u->gsi, level);
}

/* Modem status inputs (MSR bits 4-7) for the current MCR (datasheet 8.6). */
static u8 uart_modem_inputs(u8 mcr)
{
	u8 in = 0;

	if (!(mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	if (mcr & MCR_RTS)
		in |= MSR_CTS;
	if (mcr & MCR_DTR)
		in |= MSR_DSR;
	if (mcr & MCR_OUT1)
		in |= MSR_RI;
	if (mcr & MCR_OUT2)
		in |= MSR_DCD;
	return in;
}

/* Latches the new inputs and sets the delta bits (MSR bits 0-3). */
static void uart_update_msr(struct uart *u)
{
	u8 old = u->r.msr, in = uart_modem_inputs(u->r.mcr), delta = 0;
	u8 changed = (old ^ in) & 0xF0;

	if (changed & MSR_CTS)
		delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(in & MSR_RI)) /* trailing edge only */
		delta |= MSR_TERI;
	if (changed & MSR_DCD)
		delta |= MSR_DDCD;
	u->r.msr = in | (old & 0x0F) | delta;
}

static void uart_rx_clear(struct uart *u)
{
	u->r.rx_head = 0;
	u->r.rx_count = 0;
}

/* One received character: the FIFO takes it or it overruns (datasheet 8.6
 * LSR bit 1: in FIFO mode the new character is lost, in 16450 mode it
 * overwrites RBR). */
static void uart_rx_push(struct uart *u, u8 c)
{
	struct uart_regs *r = &u->r;

	if (r->rx_count >= uart_rx_capacity(u)) {
		r->lsr_err |= LSR_OE;
		if (!uart_fifo_on(u))
			r->rx_fifo[r->rx_head] = c;
		return;
	}
	r->rx_fifo[(r->rx_head + r->rx_count) % UART_FIFO_SIZE] = c;
	r->rx_count++;
}

static u8 uart_rx_pop(struct uart *u)
{
	struct uart_regs *r = &u->r;

	if (!r->rx_count)
		return r->rbr_last;
	r->rbr_last = r->rx_fifo[r->rx_head];
	r->rx_head = (r->rx_head + 1) % UART_FIFO_SIZE;
	r->rx_count--;
	atomic_fetch_add_explicit(&u->read_count, 1, memory_order_relaxed);
	return r->rbr_last;
}

/* Writes one byte to the host, waiting while out_fd is full: console output
 * is never dropped while out_fd works. */
static void uart_output(struct uart *u, u8 c)
{
	if (u->out_fd < 0 || u->out_failed)
		return;
	for (;;) {
		ssize_t n = write(u->out_fd, &c, 1);
		if (n == 1) {
			atomic_fetch_add_explicit(&u->write_count, 1, memory_order_relaxed);
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = {.fd = u->out_fd, .events = POLLOUT};
			if (poll(&p, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		log_warn("uart: console output failed (%s): dropping further output",
			 n < 0 ? strerror(errno) : "short write");
		u->out_failed = true;
		return;
	}
}

static void uart_write_thr(struct uart *u, u8 c)
{
	if (u->r.mcr & MCR_LOOP)
		uart_rx_push(u, c);
	else
		uart_output(u, c);
	/* The byte left at once: THR is empty again (datasheet 8.4: writing
	 * THR clears the THRE interrupt, THR becoming empty raises it). */
	u->r.thre_pending = true;
}

static void uart_write_ier(struct uart *u, u8 v)
{
	u8 old = u->r.ier;

	u->r.ier = v & 0x0F;
	/* Enabling THRI while THR is empty raises the THRE interrupt at once
	 * (Linux's serial8250 checks this at start-up); disabling drops it. */
	if ((u->r.ier & IER_THRI) && !(old & IER_THRI))
		u->r.thre_pending = true;
	else if (!(u->r.ier & IER_THRI))
		u->r.thre_pending = false;
}

/* FCR (datasheet 8.5): bit 0 must be set for the other bits to take effect;
 * changing bit 0 resets both FIFOs. The transmit FIFO is always empty. */
static void uart_write_fcr(struct uart *u, u8 v)
{
	if ((v ^ u->r.fcr) & FCR_ENABLE)
		uart_rx_clear(u);
	if (!(v & FCR_ENABLE)) {
		u->r.fcr = 0;
		return;
	}
	if (v & FCR_CLEAR_RCV)
		uart_rx_clear(u);
	u->r.fcr = v & (FCR_ENABLE | FCR_TRIGGER); /* clear bits self-reset */
}

static u8 uart_read_reg(struct uart *u, unsigned reg)
{
	struct uart_regs *r = &u->r;
	u8 v;

	switch (reg) {
	case UART_RBR:
		return (r->lcr & LCR_DLAB) ? r->dll : uart_rx_pop(u);
	case UART_IER:
		return (r->lcr & LCR_DLAB) ? r->dlm : r->ier;
	case UART_IIR:
		v = uart_iir(u);
		/* Reading IIR acknowledges a THRE interrupt it reports (8.4). */
		if ((v & 0x0F) == IIR_THRI)
			r->thre_pending = false;
		return v;
	case UART_LCR:
		return r->lcr;
	case UART_MCR:
		return r->mcr;
	case UART_LSR:
		v = r->lsr_err | LSR_THRE | LSR_TEMT | (r->rx_count ? LSR_DR : 0);
		r->lsr_err = 0;
		return v;
	case UART_MSR:
		v = r->msr;
		r->msr &= 0xF0;
		return v;
	default:
		return r->scr;
	}
}

static void uart_write_reg(struct uart *u, unsigned reg, u8 v)
{
	struct uart_regs *r = &u->r;

	switch (reg) {
	case UART_RBR:
		if (r->lcr & LCR_DLAB)
			r->dll = v;
		else
			uart_write_thr(u, v);
		break;
	case UART_IER:
		if (r->lcr & LCR_DLAB)
			r->dlm = v;
		else
			uart_write_ier(u, v);
		break;
	case UART_IIR:
		uart_write_fcr(u, v);
		break;
	case UART_LCR:
		r->lcr = v;
		break;
	case UART_MCR:
		r->mcr = v & 0x1F;
		uart_update_msr(u);
		break;
	case UART_LSR:
	case UART_MSR:
		break; /* factory test registers: writes ignored */
	default:
		r->scr = v;
		break;
	}
}

unsigned uart_rx_room(const struct uart *u)
{
	if (!(u->r.ier & IER_RDI) || (u->r.mcr & MCR_LOOP))
		return 0;
	return uart_rx_capacity(u) - MIN(u->r.rx_count, uart_rx_capacity(u));
}

static void uart_notify_room(struct uart *u, unsigned room_before)
{
	if (!room_before && uart_rx_room(u) && u->rx_ready)
		u->rx_ready(u->rx_opaque);
}

size_t uart_receive(struct uart *u, const u8 *buf, size_t len)
{
	size_t n = MIN(len, (size_t)uart_rx_room(u));

	for (size_t i = 0; i < n; i++)
		uart_rx_push(u, buf[i]);
	uart_update_irq(u);
	return n;
}

/* Wider accesses touch consecutive registers, lowest port first (as on ISA). */
static u64 uart_bus_read(void *opaque, u64 offset, unsigned size)
{
	struct uart *u = opaque;
	unsigned room = uart_rx_room(u);
	u64 v = 0;

	for (unsigned i = 0; i < size && offset + i < UART_NR_PORTS; i++)
		v |= (u64)uart_read_reg(u, (unsigned)offset + i) << (8 * i);
	uart_update_irq(u);
	uart_notify_room(u, room);
	return v;
}

static void uart_bus_write(void *opaque, u64 offset, unsigned size, u64 value)
{
	struct uart *u = opaque;
	unsigned room = uart_rx_room(u);

	for (unsigned i = 0; i < size && offset + i < UART_NR_PORTS; i++)
		uart_write_reg(u, (unsigned)offset + i, (u8)(value >> (8 * i)));
	uart_update_irq(u);
	uart_notify_room(u, room);
}

static const struct bus_ops uart_ops = {
    .name = "uart",
    .read = uart_bus_read,
    .write = uart_bus_write,
};

void uart_reset(struct uart *u)
{
	bool was_high = u->r.irq_level;

	memset(&u->r, 0, sizeof(u->r));
	u->r.dll = 0x01; /* 115200 baud */
	u->r.msr = uart_modem_inputs(0);
	if (was_high)
		irq_set_level(u->irq, u->gsi, false);
}

void uart_set_rx_ready(struct uart *u, uart_rx_ready_fn *fn, void *opaque)
{
	u->rx_ready = fn;
	u->rx_opaque = opaque;
}

int uart_init(struct uart *u, struct bus *pio, u16 base, struct irq_router *irq, unsigned gsi,
	      int out_fd)
{
	memset(u, 0, sizeof(*u));
	u->irq = irq;
	u->gsi = gsi;
	u->out_fd = out_fd;
	uart_reset(u);
	return bus_register(pio, base, UART_NR_PORTS, &uart_ops, u);
}

/*
 * Snapshot form, in this order: IER, LCR, MCR, FCR, SCR, DLL, DLM, the LSR
 * error bits, MSR, the last byte RBR gave (u8 each); the receive FIFO's count
 * (u8) and its bytes, oldest first; THRE pending (bool). The interrupt level
 * follows from these and is not saved.
 */
int uart_save(const struct uart *u, struct snap_out *o)
{
	const struct uart_regs *r = &u->r;

	snap_put_u8(o, r->ier);
	snap_put_u8(o, r->lcr);
	snap_put_u8(o, r->mcr);
	snap_put_u8(o, r->fcr);
	snap_put_u8(o, r->scr);
	snap_put_u8(o, r->dll);
	snap_put_u8(o, r->dlm);
	snap_put_u8(o, r->lsr_err);
	snap_put_u8(o, r->msr);
	snap_put_u8(o, r->rbr_last);
	snap_put_u8(o, r->rx_count);
	for (unsigned i = 0; i < r->rx_count; i++)
		snap_put_u8(o, r->rx_fifo[(r->rx_head + i) % UART_FIFO_SIZE]);
	snap_put_bool(o, r->thre_pending);
	return o->err;
}

/* Values no write through the registers can leave (see uart_write_reg). */
static void uart_check(const struct uart_regs *r, struct snap_in *in)
{
	if (r->ier & ~0x0F)
		snap_reject(in, "uart: IER 0x%02x sets reserved bits 4-7", r->ier);
	if (r->mcr & ~0x1F)
		snap_reject(in, "uart: MCR 0x%02x sets reserved bits 5-7", r->mcr);
	if ((r->fcr & ~(FCR_ENABLE | FCR_TRIGGER)) || (r->fcr && !(r->fcr & FCR_ENABLE)))
		snap_reject(in, "uart: FCR 0x%02x is not a FIFO setting", r->fcr);
	if (r->lsr_err & ~LSR_ERRORS)
		snap_reject(in, "uart: LSR error bits 0x%02x are not errors", r->lsr_err);
	if ((r->msr & 0xF0) != uart_modem_inputs(r->mcr))
		snap_reject(in, "uart: MSR inputs 0x%02x do not follow MCR 0x%02x", r->msr & 0xF0,
			    r->mcr);
}

int uart_load(struct uart *u, struct snap_in *in)
{
	struct uart_regs r = {0};
	unsigned room = uart_rx_room(u), cap;

	r.ier = snap_get_u8(in);
	r.lcr = snap_get_u8(in);
	r.mcr = snap_get_u8(in);
	r.fcr = snap_get_u8(in);
	r.scr = snap_get_u8(in);
	r.dll = snap_get_u8(in);
	r.dlm = snap_get_u8(in);
	r.lsr_err = snap_get_u8(in);
	r.msr = snap_get_u8(in);
	r.rbr_last = snap_get_u8(in);
	r.rx_count = snap_get_u8(in);
	cap = (r.fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;
	if (r.rx_count > cap)
		snap_reject(in, "uart: rx FIFO count %u is more than %u", r.rx_count, cap);
	else
		snap_get_bytes(in, r.rx_fifo, r.rx_count);
	r.thre_pending = dev_get_flag(in, "uart: THRE pending");
	uart_check(&r, in);
	if (snap_in_end(in) < 0)
		return -EINVAL;
	u->r = r;
	/* Whatever the line was, the interrupt controller now hears this. */
	u->r.irq_level = uart_irq_wanted(u);
	irq_set_level(u->irq, u->gsi, u->r.irq_level);
	uart_notify_room(u, room);
	return 0;
}
