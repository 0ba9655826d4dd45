/* libFuzzer harness for the 16550A UART: random register accesses and host
 * input, checking the model's invariants after each step.
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc
 *        -D_GNU_SOURCE tests/fuzz/fuzz_uart.c src/dev/uart.c src/core/bus.c
 *        src/core/irq.c src/core/log.c -o build/fuzz_uart */
#include <stdlib.h>
#include <string.h>

#include "dev/uart.h"
#include "popek/layout.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

struct fuzz_line {
	bool level;
	unsigned changes;
};

static void fuzz_irq(void *opaque, unsigned gsi, bool level)
{
	struct fuzz_line *l = opaque;

	if (gsi != GSI_UART0 || level == l->level)
		abort(); /* only real changes of the UART's own line */
	l->level = level;
	l->changes++;
}

static void fuzz_rx_ready(void *opaque)
{
	(void)opaque;
}

/* Each step is 2 bytes: op (bits 0-2 register, bit 3 write, bit 4 host
 * input of up to 1 + (bits 5-7) bytes, bit 5-6 access size) and a value. */
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_line line = {false, 0};
	struct irq_router irq = {fuzz_irq, &line};
	struct bus pio;
	struct uart u;
	u8 in[8];

	bus_init(&pio, "pio", NULL);
	if (uart_init(&u, &pio, PORT_UART0, &irq, GSI_UART0, -1))
		abort();
	uart_set_rx_ready(&u, fuzz_rx_ready, NULL);
	for (size_t i = 0; i + 1 < size; i += 2) {
		u8 op = data[i], v = data[i + 1];
		unsigned reg = op & 7, width = 1u << ((op >> 5) & 3);
		u64 r;

		if (op & 0x10) {
			unsigned room = uart_rx_room(&u), n = 1 + (op >> 5);
			memset(in, v, sizeof(in));
			if (uart_receive(&u, in, n) != MIN(n, room))
				abort();
		} else if (op & 8) {
			bus_write(&pio, PORT_UART0 + reg, width, (u64)v * 0x0101010101010101ULL);
		} else {
			bus_read(&pio, PORT_UART0 + reg, width, &r);
		}
		if (u.r.rx_count > UART_FIFO_SIZE || u.r.rx_head >= UART_FIFO_SIZE)
			abort();
		if (!(u.r.fcr & 1) && u.r.rx_count > 1)
			abort();
		if (line.level != u.r.irq_level)
			abort();
		if (uart_rx_room(&u) > UART_FIFO_SIZE)
			abort();
	}
	return 0;
}
