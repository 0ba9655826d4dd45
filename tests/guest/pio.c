/* Guest program: port I/O to the test device (1/2/4-byte and string accesses). */
#include "guest.h"

#define P TESTDEV_PORT
#define UNCLAIMED 0x7F00 /* no device of popek (or QEMU -M pc) lives here */

static void string_io(void)
{
	u32 in[3] = {0, 0, 0};
	u8 out[3] = {0x11, 0x22, 0x33};
	void *pi = in, *po = out;
	u64 n = 3;

	outl(P, 0xA1B2C3D4);
	asm volatile("rep insl" : "+D"(pi), "+c"(n) : "d"(P) : "memory");
	check(in[0] == 0xA1B2C3D4 && in[1] == 0xA1B2C3D4 && in[2] == 0xA1B2C3D4 && n == 0 &&
		      pi == (void *)&in[3],
	      "rep insl: 3 dwords %#x %#x %#x, RCX 0, RDI advanced", in[0], in[1], in[2]);
	n = 3;
	asm volatile("rep outsb" : "+S"(po), "+c"(n) : "d"(P) : "memory");
	check_eq("rep outsb: the last byte written wins", inl(P), 0xA1B2C333);
	check_eq("rep outsb: RSI advanced by 3", (u64)po, (u64)&out[3]);
}

void test_main(void)
{
	if (!testdev_present()) {
		skip("test device ports", "no test device (port 0xE4 does not read 0x5A)");
		return;
	}
	check_eq("port 0xE4 reads the constant 0x5A", inb(P + 4), 0x5A);
	outb(P + 4, 0x11);
	check_eq("port 0xE4 ignores writes", inb(P + 4), 0x5A);
	check_eq("reserved ports 0xE5-0xE7 read 0", inl(P + 4) >> 8, 0);

	outl(P, 0x12345678);
	check_eq("32-bit scratch round trip", inl(P), 0x12345678);
	check_eq("8-bit read of byte 0", inb(P), 0x78);
	check_eq("8-bit read of byte 3", inb(P + 3), 0x12);
	check_eq("16-bit read of bytes 0-1", inw(P), 0x5678);
	check_eq("16-bit read of bytes 2-3", inw(P + 2), 0x1234);
	outb(P + 1, 0xAB);
	check_eq("8-bit write to byte 1 changes only byte 1", inl(P), 0x1234AB78);
	outw(P + 2, 0xCDEF);
	check_eq("16-bit write to bytes 2-3 changes only them", inl(P), 0xCDEFAB78);
	outl(P, 0);
	check_eq("32-bit write of 0", inl(P), 0);
	outl(P, 0xFFFFFFFF);
	check_eq("32-bit write of all-ones", inl(P), 0xFFFFFFFF);

	string_io();

	check_eq("unclaimed port: 8-bit read is all-ones", inb(UNCLAIMED), 0xFF);
	check_eq("unclaimed port: 16-bit read is all-ones", inw(UNCLAIMED), 0xFFFF);
	check_eq("unclaimed port: 32-bit read is all-ones", inl(UNCLAIMED), 0xFFFFFFFF);
	outl(UNCLAIMED, 0x1234); /* must be ignored */
	check_eq("unclaimed port: a write is ignored", inl(UNCLAIMED), 0xFFFFFFFF);
}
