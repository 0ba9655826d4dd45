/* GDB remote serial protocol framing (gdb manual, "Remote Protocol"):
 * "$data#cs" packets with a modulo-256 checksum, '+'/'-' acknowledgements,
 * Ctrl-C (0x03) as an interrupt, '}' escapes; and the hex encodings the
 * commands use. Pure functions: every byte comes from an untrusted peer. */
#ifndef POPEK_GDB_PACKET_H
#define POPEK_GDB_PACKET_H

#include <stdbool.h>
#include <stddef.h>

#include "popek/types.h"

/* The largest packet accepted and announced (qSupported PacketSize). */
#define GDB_PACKET_MAX 16384

enum gdb_rx_state { GDB_RX_IDLE, GDB_RX_DATA, GDB_RX_ESCAPE, GDB_RX_CSUM1, GDB_RX_CSUM2 };

enum gdb_rx_event {
	GDB_RX_NONE,      /* need more bytes */
	GDB_RX_PACKET,    /* rx->buf[0..len) holds a packet (NUL-terminated) */
	GDB_RX_BAD,       /* checksum mismatch, overflow or bad digits: answer '-' */
	GDB_RX_INTERRUPT, /* Ctrl-C outside a packet */
	GDB_RX_ACK,       /* '+' */
	GDB_RX_NACK,      /* '-': send the last reply again */
};

struct gdb_rx {
	enum gdb_rx_state state;
	bool overflow;
	u8 sum, cs;
	size_t len;
	char buf[GDB_PACKET_MAX + 1];
};

void gdb_rx_init(struct gdb_rx *rx);
/* Feeds one byte; returns what it completed. Bytes outside a packet other
 * than '$', '+', '-' and 0x03 are ignored, as gdb's own stubs do. */
enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, u8 c);

/* Frames data[0..len) as "$...#cs" into out (escaping '$', '#', '}', '*');
 * returns the framed length, or 0 when out (size outmax) is too small. */
size_t gdb_frame(const char *data, size_t len, char *out, size_t outmax);

/* Two hex digits per byte into out (2 * n bytes, not terminated). */
void gdb_hex_encode(const u8 *in, size_t n, char *out);
/* n bytes from 2 * n hex digits at s; false on a non-hex digit. */
bool gdb_hex_decode(const char *s, size_t n, u8 *out);
/* A hex number of 1 to 16 digits at *s, which moves past it; false when
 * there is none or it has more digits. */
bool gdb_parse_hex(const char **s, u64 *out);

#endif
