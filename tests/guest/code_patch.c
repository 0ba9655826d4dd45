/* Self-modifying code and code remapped under the same linear address
 * (INVLPG, CR3 reload), at hot call sites: the soft engine's decoded-block
 * cache and block chaining must see every change (SDM vol. 3, 4.10.4),
 * also for an instruction that straddles two pages. */
#include "guest.h"

static u8 codebuf[5 * 4096] __attribute__((aligned(4096)));
typedef u32 (*fn_t)(void);

static void emit(u8 *p, u32 v)
{
	p[0] = 0xb8;
	memcpy(p + 1, &v, 4);
	p[5] = 0xc3;
	asm volatile("" ::: "memory");
}

static u32 call_n(fn_t f, int n)
{
	u32 r = 0;
	for (int i = 0; i < n; i++)
		r = f();
	return r;
}

/* A hot function whose first instruction straddles pages 2 and 3 of
 * codebuf (mov eax, imm32 3 bytes before the boundary: the immediate's two
 * high bytes and the RET in page 3): a write into page 3 and a remap of
 * page 3 alone are seen. */
static void straddling(void)
{
	u8 *s = codebuf + 3 * 4096 - 3, *alt = codebuf + 4 * 4096;
	fn_t g = (fn_t)(void *)s;

	emit(s, 0x11223344);
	check_eq("straddling: hot", call_n(g, 1000), 0x11223344);
	s[4] = 0xaa; /* in page 3 */
	asm volatile("" ::: "memory");
	check_eq("straddling: a write into its second page", call_n(g, 1000), 0xaa223344);
	alt[0] = 0x55;
	alt[1] = 0x66;
	alt[2] = 0xc3;
	u64 *pte = paging_pte((u64)s + 3);
	u64 old = *pte;
	*pte = ((u64)alt & ~0xfffUL) | (old & 0xfffUL);
	asm volatile("invlpg (%0)" ::"r"(s + 3) : "memory");
	check_eq("straddling: its second page remapped", call_n(g, 1000), 0x66553344);
	*pte = old;
	asm volatile("invlpg (%0)" ::"r"(s + 3) : "memory");
	check_eq("straddling: and back", call_n(g, 1000), 0xaa223344);
}

void test_main(void)
{
	u8 *a = codebuf, *b = codebuf + 4096;
	fn_t f = (fn_t)(void *)a;
	u32 sum = 0, want = 0;

	for (u32 i = 0; i < 5000; i++) {
		emit(a, i);
		sum += f();
		want += i;
	}
	check_eq("SMC: each patched immediate is seen", sum, want);
	emit(a, 7);
	call_n(f, 1000);
	emit(a, 0x1234);
	check_eq("SMC: patch after a hot loop", call_n(f, 10), 0x1234);

	emit(a, 1);
	emit(b, 2);
	check_eq("remap: before", call_n(f, 1000), 1);
	u64 *pte = paging_pte((u64)a);
	u64 old = *pte;
	*pte = ((u64)b & ~0xfffUL) | (old & 0xfffUL);
	asm volatile("invlpg (%0)" ::"r"(a) : "memory");
	check_eq("remap: after INVLPG", call_n(f, 1000), 2);
	*pte = old;
	paging_flush();
	check_eq("remap: back after CR3 reload", call_n(f, 1000), 1);
	/* The physical page changes under a hot chained call site, many times. */
	u32 got = 0, exp = 0;
	for (int i = 0; i < 200; i++) {
		*pte = i & 1 ? (((u64)b & ~0xfffUL) | (old & 0xfffUL)) : old;
		asm volatile("invlpg (%0)" ::"r"(a) : "memory");
		got += call_n(f, 50);
		exp += i & 1 ? 2 : 1;
	}
	check_eq("remap: alternating pages", got, exp);
	*pte = old;
	paging_flush();
	straddling();
}
