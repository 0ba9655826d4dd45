/* GDB remote protocol framing and hex encodings (see gdb_packet.h). */
#include "api/gdb_packet.h"

#include <string.h>

void gdb_rx_init(struct gdb_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
}

static int hex_value(u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void rx_put(struct gdb_rx *rx, u8 c)
{
	if (rx->len < GDB_PACKET_MAX)
		rx->buf[rx->len++] = (char)c;
	else
		rx->overflow = true;
}

enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, u8 c)
{
	int v;

	switch (rx->state) {
	case GDB_RX_IDLE:
		if (c == '$') {
			rx->state = GDB_RX_DATA;
			rx->len = 0;
			rx->sum = 0;
			rx->overflow = false;
		} else if (c == 0x03) {
			return GDB_RX_INTERRUPT;
		} else if (c == '+') {
			return GDB_RX_ACK;
		} else if (c == '-') {
			return GDB_RX_NACK;
		}
		return GDB_RX_NONE;
	case GDB_RX_DATA:
		if (c == '#') {
			rx->state = GDB_RX_CSUM1;
			return GDB_RX_NONE;
		}
		if (c == '$') { /* a new packet: the old one was cut short */
			rx->len = 0;
			rx->sum = 0;
			rx->overflow = false;
			return GDB_RX_NONE;
		}
		rx->sum += c;
		if (c == '}')
			rx->state = GDB_RX_ESCAPE;
		else
			rx_put(rx, c);
		return GDB_RX_NONE;
	case GDB_RX_ESCAPE:
		rx->sum += c;
		rx_put(rx, c ^ 0x20);
		rx->state = GDB_RX_DATA;
		return GDB_RX_NONE;
	case GDB_RX_CSUM1:
		v = hex_value(c);
		rx->cs = (u8)((v < 0 ? 0 : v) << 4);
		rx->state = v < 0 ? GDB_RX_IDLE : GDB_RX_CSUM2;
		return v < 0 ? GDB_RX_BAD : GDB_RX_NONE;
	case GDB_RX_CSUM2:
		rx->state = GDB_RX_IDLE;
		v = hex_value(c);
		if (v < 0 || (u8)(rx->cs | v) != rx->sum || rx->overflow)
			return GDB_RX_BAD;
		rx->buf[rx->len] = 0;
		return GDB_RX_PACKET;
	}
	return GDB_RX_NONE;
}

size_t gdb_frame(const char *data, size_t len, char *out, size_t outmax)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	u8 sum = 0;

	if (outmax < 4)
		return 0;
	out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		u8 c = (u8)data[i];
		bool esc = c == '$' || c == '#' || c == '}' || c == '*';
		if (o + (esc ? 2 : 1) + 3 > outmax)
			return 0;
		if (esc) {
			out[o++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		out[o++] = (char)c;
		sum += c;
	}
	out[o++] = '#';
	out[o++] = hex[sum >> 4];
	out[o++] = hex[sum & 15];
	return o;
}

void gdb_hex_encode(const u8 *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
}

bool gdb_hex_decode(const char *s, size_t n, u8 *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value((u8)s[2 * i]), lo = hi < 0 ? -1 : hex_value((u8)s[2 * i + 1]);
		if (lo < 0)
			return false;
		out[i] = (u8)(hi << 4 | lo);
	}
	return true;
}

bool gdb_parse_hex(const char **s, u64 *out)
{
	const char *p = *s;
	u64 v = 0;
	unsigned n = 0;
	int d;

	while ((d = hex_value((u8)*p)) >= 0) {
		if (++n > 16)
			return false;
		v = v << 4 | (u64)d;
		p++;
	}
	if (!n)
		return false;
	*s = p;
	*out = v;
	return true;
}
