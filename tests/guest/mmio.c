/* Guest program: MMIO to the test device (sizes 1-8, access counter, MOV and string ops). */
#include "guest.h"

#define S (TESTDEV_MMIO + TESTDEV_SCRATCH)
#define COUNT (TESTDEV_MMIO + TESTDEV_COUNT)

static void sizes(void)
{
	mmio_write64(S, 0x0807060504030201ULL);
	check_eq("64-bit scratch round trip", mmio_read64(S), 0x0807060504030201ULL);
	check_eq("8-bit read at offset 5", mmio_read8(S + 5), 0x06);
	check_eq("16-bit read at offset 2", mmio_read16(S + 2), 0x0403);
	check_eq("32-bit read at offset 4", mmio_read32(S + 4), 0x08070605);
	mmio_write8(S + 1, 0xAA);
	mmio_write16(S + 2, 0xBBCC);
	mmio_write32(S + 4, 0xDDEEFF00);
	check_eq("8/16/32-bit writes land in their bytes", mmio_read64(S), 0xDDEEFF00BBCCAA01ULL);
	mmio_write64(S + 0xF8, 0x1122334455667788ULL);
	check_eq("64-bit access at the last scratch qword", mmio_read64(S + 0xF8),
		 0x1122334455667788ULL);
	mmio_write8(S + 0xFF, 0x99);
	check_eq("8-bit access at the last scratch byte", mmio_read8(S + 0xFF), 0x99);
}

static void counter(void)
{
	u64 c0, c1;

	c0 = mmio_read64(COUNT);
	mmio_write32(S + 0x10, 1);
	(void)mmio_read32(S + 0x10);
	mmio_write8(S + 0x11, 2);
	c1 = mmio_read64(COUNT);
	/* COUNT includes the read of COUNT itself (src/dev/testdev.h). */
	check(c1 - c0 == 4, "access count grows by 3 accesses + 1 read (%lu -> %lu)", c0, c1);
	c0 = mmio_read64(COUNT);
	c1 = mmio_read64(COUNT);
	check(c1 - c0 == 1, "back-to-back count reads differ by 1 (%lu -> %lu)", c0, c1);
	check_eq("32-bit read of the count's low half", mmio_read32(COUNT), c1 + 1);
}

static void instructions(void)
{
	static u8 src[64], dst[64];
	u64 n, v;
	void *d, *s;

	for (int i = 0; i < 64; i++)
		src[i] = (u8)(i * 3 + 1);
	d = (void *)(S + 0x40), s = src, n = 64;
	asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n)::"memory");
	check(n == 0 && d == (void *)(S + 0x80), "rep movsb RAM -> MMIO: RCX 0, RDI advanced");
	d = dst, s = (void *)(S + 0x40), n = 8;
	asm volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n)::"memory");
	check(!memcmp(src, dst, 64), "rep movsq MMIO -> RAM reads back what rep movsb wrote");
	d = (void *)(S + 0x80), n = 4;
	asm volatile("rep stosl" : "+D"(d), "+c"(n) : "a"(0x5EED5EED) : "memory");
	check_eq("rep stosl to MMIO", mmio_read64(S + 0x88), 0x5EED5EED5EED5EEDULL);
	s = (void *)(S + 0x80);
	asm volatile("lodsl" : "+S"(s), "=a"(v)::"memory");
	check_eq("lodsl from MMIO", (u32)v, 0x5EED5EED);

	mmio_write32(S + 0x90, 41);
	asm volatile("incl %0" : "+m"(*(volatile u32 *)(S + 0x90)));
	check_eq("incl (read-modify-write) on MMIO", mmio_read32(S + 0x90), 42);
	v = 0x77;
	asm volatile("xchgq %0, %1" : "+r"(v), "+m"(*(volatile u64 *)(S + 0x90)));
	check(v == 42 && mmio_read64(S + 0x90) == 0x77, "xchg with MMIO");
	mmio_write32(S + 0x98, 0x80000001);
	asm volatile("movzbl %1, %k0" : "=r"(v) : "m"(*(volatile u8 *)(S + 0x9B)));
	check_eq("movzbl from MMIO", v, 0x80);
	asm volatile("movswq %1, %0" : "=r"(v) : "m"(*(volatile u16 *)(S + 0x9A)));
	check_eq("movswq from MMIO", v, 0xFFFFFFFFFFFF8000ULL);
}

void test_main(void)
{
	if (!testdev_present()) {
		skip("test device MMIO", "no test device (port 0xE4 does not read 0x5A)");
		return;
	}
	sizes();
	counter();
	instructions();
}
