/* libFuzzer harness for the GDB stub's packet framing (src/api/gdb_packet.c):
 * the input is a debugger's byte stream; every packet it completes must fit
 * the buffer and be NUL-terminated, and framing it again must read back the
 * same bytes; hex fields are parsed from each packet.
 * Build: make build/fuzz/fuzz_gdb_packet */
#include <stdlib.h>
#include <string.h>

#include "api/gdb_packet.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

static void fuzz_packet(const struct gdb_rx *rx)
{
	static char framed[2 * GDB_PACKET_MAX + 8];
	static struct gdb_rx back;
	static u8 bytes[GDB_PACKET_MAX / 2];
	const char *p = rx->buf;
	size_t n;
	u64 v;

	if (rx->len > GDB_PACKET_MAX || rx->buf[rx->len] != 0)
		abort();
	n = gdb_frame(rx->buf, rx->len, framed, sizeof(framed));
	if (!n)
		abort(); /* twice the size always fits */
	gdb_rx_init(&back);
	for (size_t i = 0; i < n; i++) {
		enum gdb_rx_event e = gdb_rx_byte(&back, (u8)framed[i]);
		if (i + 1 < n ? e != GDB_RX_NONE : e != GDB_RX_PACKET)
			abort();
	}
	if (back.len != rx->len || memcmp(back.buf, rx->buf, rx->len))
		abort();
	while (*p && !gdb_parse_hex(&p, &v))
		p++;
	gdb_hex_decode(rx->buf, rx->len / 2, bytes);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct gdb_rx rx;

	gdb_rx_init(&rx);
	for (size_t i = 0; i < size; i++)
		if (gdb_rx_byte(&rx, data[i]) == GDB_RX_PACKET)
			fuzz_packet(&rx);
	return 0;
}
