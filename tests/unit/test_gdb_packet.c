/* Unit tests for the GDB remote protocol framing (src/api/gdb_packet.c):
 * packets, checksums, escapes, interrupts, hostile bytes and hex. */
#include <string.h>

#include "api/gdb_packet.h"
#include "test.h"

/* Feeds s; returns the last event that was not GDB_RX_NONE. */
static enum gdb_rx_event feed(struct gdb_rx *rx, const char *s, size_t n)
{
	enum gdb_rx_event last = GDB_RX_NONE;

	for (size_t i = 0; i < n; i++) {
		enum gdb_rx_event e = gdb_rx_byte(rx, (u8)s[i]);
		if (e != GDB_RX_NONE)
			last = e;
	}
	return last;
}

static void test_packet(void)
{
	struct gdb_rx rx;

	gdb_rx_init(&rx);
	CHECK_EQ(feed(&rx, "$g#67", 5), GDB_RX_PACKET);
	CHECK(!strcmp(rx.buf, "g"));
	CHECK_EQ(rx.len, 1);
	CHECK_EQ(feed(&rx, "$m1000,4#8e", 11), GDB_RX_PACKET);
	CHECK(!strcmp(rx.buf, "m1000,4"));
	/* Upper-case checksum digits are accepted too. */
	CHECK_EQ(feed(&rx, "$qC#B4", 6), GDB_RX_PACKET);
}

static void test_bad(void)
{
	struct gdb_rx rx;

	gdb_rx_init(&rx);
	CHECK_EQ(feed(&rx, "$g#68", 5), GDB_RX_BAD); /* wrong checksum */
	CHECK_EQ(feed(&rx, "$g#6x", 5), GDB_RX_BAD); /* not a digit */
	CHECK_EQ(feed(&rx, "$g#x7", 5), GDB_RX_BAD);
	/* After a bad one, the next good packet still parses. */
	CHECK_EQ(feed(&rx, "$g#67", 5), GDB_RX_PACKET);
	/* A '$' inside a packet starts over. */
	CHECK_EQ(feed(&rx, "$m10$g#67", 9), GDB_RX_PACKET);
	CHECK(!strcmp(rx.buf, "g"));
}

static void test_control(void)
{
	struct gdb_rx rx;

	gdb_rx_init(&rx);
	CHECK_EQ(gdb_rx_byte(&rx, '+'), GDB_RX_ACK);
	CHECK_EQ(gdb_rx_byte(&rx, '-'), GDB_RX_NACK);
	CHECK_EQ(gdb_rx_byte(&rx, 0x03), GDB_RX_INTERRUPT);
	CHECK_EQ(gdb_rx_byte(&rx, 'x'), GDB_RX_NONE); /* noise outside a packet */
	/* Inside a packet, 0x03 is data (binary X packets carry any byte). */
	char p[] = "$X\x03#00";
	u8 sum = (u8)('X' + 3);
	static const char hex[] = "0123456789abcdef";
	p[4] = hex[sum >> 4];
	p[5] = hex[sum & 15];
	CHECK_EQ(feed(&rx, p, 6), GDB_RX_PACKET);
	CHECK_EQ(rx.len, 2);
	CHECK_EQ((u8)rx.buf[1], 3);
}

/* What gdb_frame writes, the receiver reads back: escapes round-trip. */
static void test_frame_roundtrip(void)
{
	const char data[] = {'a', '$', '#', '}', '*', 0, 'z'};
	char out[64];
	struct gdb_rx rx;
	size_t n = gdb_frame(data, sizeof(data), out, sizeof(out));

	CHECK(n > sizeof(data) + 3);
	CHECK_EQ(out[0], '$');
	gdb_rx_init(&rx);
	CHECK_EQ(feed(&rx, out, n), GDB_RX_PACKET);
	CHECK_EQ(rx.len, sizeof(data));
	CHECK(!memcmp(rx.buf, data, sizeof(data)));
	CHECK_EQ(gdb_frame("OK", 2, out, sizeof(out)), 6);
	CHECK(!memcmp(out, "$OK#9a", 6));
	CHECK_EQ(gdb_frame("OK", 2, out, 5), 0); /* no room */
}

static void test_overflow(void)
{
	static char big[GDB_PACKET_MAX + 10];
	struct gdb_rx rx;
	u8 sum = 0;

	memset(big, 'a', sizeof(big));
	for (size_t i = 0; i < sizeof(big); i++)
		sum += 'a';
	gdb_rx_init(&rx);
	CHECK_EQ(gdb_rx_byte(&rx, '$'), GDB_RX_NONE);
	CHECK_EQ(feed(&rx, big, sizeof(big)), GDB_RX_NONE);
	static const char hex[] = "0123456789abcdef";
	char cs[3] = {'#', hex[sum >> 4], hex[sum & 15]};
	/* The checksum is right but the packet did not fit: refused. */
	CHECK_EQ(feed(&rx, cs, 3), GDB_RX_BAD);
	CHECK(rx.len <= GDB_PACKET_MAX);
}

static void test_hex(void)
{
	u8 b[4];
	char s[9] = {0};
	const char *p;
	u64 v;

	CHECK(gdb_hex_decode("00ff7Aa5", 4, b));
	CHECK(b[0] == 0 && b[1] == 0xff && b[2] == 0x7a && b[3] == 0xa5);
	CHECK(!gdb_hex_decode("0g", 1, b));
	CHECK(!gdb_hex_decode("0", 1, b)); /* the NUL is no digit */
	gdb_hex_encode(b, 4, s);
	CHECK(!strcmp(s, "00ff7aa5"));
	p = "1000,4";
	CHECK(gdb_parse_hex(&p, &v));
	CHECK_EQ(v, 0x1000);
	CHECK_EQ(*p, ',');
	p = "ffffffffffffffff:";
	CHECK(gdb_parse_hex(&p, &v));
	CHECK_EQ(v, ~0ULL);
	p = "10000000000000000"; /* 17 digits */
	CHECK(!gdb_parse_hex(&p, &v));
	p = ",4";
	CHECK(!gdb_parse_hex(&p, &v));
}

int main(void)
{
	TEST_RUN(test_packet);
	TEST_RUN(test_bad);
	TEST_RUN(test_control);
	TEST_RUN(test_frame_roundtrip);
	TEST_RUN(test_overflow);
	TEST_RUN(test_hex);
	return test_done();
}
