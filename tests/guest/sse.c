/* Guest program: SSE/SSE2 arithmetic, conversions, shuffles and FXSAVE/FXRSTOR. */
#include "guest.h"

#define CR4_OSFXSR (1UL << 9)
#define CR4_OSXMMEXCPT (1UL << 10)

/* IEEE 754 encodings, so that this file needs no floating point in C. */
static const u32 ps_a[4] __attribute__((aligned(16))) = {
	0x3FC00000, 0x40000000, 0xC0400000, 0x40880000}; /* 1.5 2.0 -3.0 4.25 */
static const u32 ps_b[4] __attribute__((aligned(16))) = {
	0x3F000000, 0x3F800000, 0x3F800000, 0x3F400000}; /* 0.5 1.0 1.0 0.75 */
static const u32 ps_sum[4] = {0x40000000, 0x40400000, 0xC0000000, 0x40A00000}; /* 2 3 -2 5 */
static const u64 pd_a[2] __attribute__((aligned(16))) = {
	0x3FF8000000000000, 0xC000000000000000}; /* 1.5 -2.0 */
static const u64 pd_b[2] __attribute__((aligned(16))) = {
	0x4010000000000000, 0x3FD0000000000000}; /* 4.0 0.25 */
static const u64 pd_prod[2] = {0x4018000000000000, 0xBFE0000000000000}; /* 6.0 -0.5 */
#define D_1 0x3FF0000000000000ULL      /* 1.0 */
#define D_8 0x4020000000000000ULL      /* 8.0 */
#define D_0_125 0x3FC0000000000000ULL  /* 0.125 */
#define D_2_25 0x4002000000000000ULL   /* 2.25 */
#define D_1_5 0x3FF8000000000000ULL    /* 1.5 */
#define D_M7 0xC01C000000000000ULL     /* -7.0 */
#define D_M2_75 0xC006000000000000ULL  /* -2.75 */
#define D_1E20 0x4415AF1D78B58C40ULL   /* 1e20 */

/* No xmm clobbers in the asm below: with -mno-sse, the compiler never
 * uses them. */
static u8 fx[512] __attribute__((aligned(16))), fx2[512] __attribute__((aligned(16)));

void test_main(void)
{
	u32 out4[4] __attribute__((aligned(16)));
	u64 out2[2] __attribute__((aligned(16))), r;
	u8 bytes[17], mask[16];
	static const u8 pat[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	static const u8 pat2[16] = {1, 0, 3, 0, 5, 0, 7, 0, 9, 0, 11, 0, 13, 0, 15, 0};
	static const u32 seq[4] = {0, 1, 2, 3};

	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	asm volatile("mov %%cr0, %0; and $~0xC, %0; or $2, %0; mov %0, %%cr0" : "=&r"(r)); /* MP, !EM !TS */

	asm volatile("movaps %1, %%xmm0; addps %2, %%xmm0; movups %%xmm0, %0"
		     : "=m"(out4) : "m"(ps_a), "m"(ps_b));
	check(!memcmp(out4, ps_sum, 16), "addps: {1.5,2,-3,4.25}+{.5,1,1,.75} = {2,3,-2,5} "
	      "(%x %x %x %x)", out4[0], out4[1], out4[2], out4[3]);
	asm volatile("movapd %1, %%xmm1; mulpd %2, %%xmm1; movupd %%xmm1, %0"
		     : "=m"(out2) : "m"(pd_a), "m"(pd_b));
	check(out2[0] == pd_prod[0] && out2[1] == pd_prod[1],
	      "mulpd: {1.5,-2}*{4,.25} = {6,-0.5} (%lx %lx)", out2[0], out2[1]);

	asm volatile("movq %1, %%xmm2; movq %2, %%xmm3; divsd %%xmm3, %%xmm2; movq %%xmm2, %0"
		     : "=r"(r) : "r"(D_1), "r"(D_8));
	check_eq("divsd: 1/8 = 0.125", r, D_0_125);
	asm volatile("movq %1, %%xmm2; sqrtsd %%xmm2, %%xmm4; movq %%xmm4, %0"
		     : "=r"(r) : "r"(D_2_25));
	check_eq("sqrtsd: sqrt(2.25) = 1.5", r, D_1_5);
	asm volatile("cvtsi2sd %1, %%xmm5; movq %%xmm5, %0" : "=r"(r) : "r"(-7L));
	check_eq("cvtsi2sd: -7 -> -7.0", r, D_M7);
	asm volatile("movq %1, %%xmm6; cvttsd2si %%xmm6, %0" : "=r"(r) : "r"(D_M2_75));
	check_eq("cvttsd2si: -2.75 -> -2 (truncation)", r, -2L);
	asm volatile("movq %1, %%xmm6; cvttsd2si %%xmm6, %0" : "=r"(r) : "r"(D_1E20));
	check_eq("cvttsd2si: 1e20 -> integer indefinite", r, 0x8000000000000000ULL);

	asm volatile("movdqu %1, %%xmm7; pshufd $0x1b, %%xmm7, %%xmm8; movdqu %%xmm8, %0"
		     : "=m"(out4) : "m"(seq));
	check(out4[0] == 3 && out4[1] == 2 && out4[2] == 1 && out4[3] == 0,
	      "pshufd $0x1b reverses the dwords (%u %u %u %u)", out4[0], out4[1], out4[2], out4[3]);
	asm volatile("movdqu %1, %%xmm9; movdqu %2, %%xmm10; pcmpeqb %%xmm10, %%xmm9;"
		     "movdqu %%xmm9, %0" : "=m"(mask) : "m"(pat), "m"(pat2));
	bool ok = true;
	for (int i = 0; i < 16; i++)
		ok &= mask[i] == (i % 2 ? 0 : 0xFF);
	check(ok, "pcmpeqb: 0xFF where bytes are equal, 0 elsewhere");
	asm volatile("movdqu %1, %%xmm11; movdqu %%xmm11, %0" : "=m"(*(u8(*)[16])(bytes + 1))
		     : "m"(pat));
	check(!memcmp(bytes + 1, pat, 16), "movdqu to and from unaligned memory");

	/* FXSAVE layout: MXCSR at 24, XMM0 at 160 (Intel SDM Vol. 1 10.5.1). */
	asm volatile("movdqu %0, %%xmm0" ::"m"(pat));
	asm volatile("movdqu %0, %%xmm15" ::"m"(pat2));
	asm volatile("fxsave %0" : "=m"(fx));
	/* Sticky flags: IE from the 1e20 conversion, PE from -2.75's. */
	check_eq("fxsave: MXCSR has the IE and PE flags", *(u32 *)(fx + 24), 0x1F80 | 0x21);
	check(!memcmp(fx + 160, pat, 16) && !memcmp(fx + 160 + 15 * 16, pat2, 16),
	      "fxsave: XMM0 and XMM15 in the image");
	asm volatile("pxor %xmm0, %xmm0; pxor %xmm15, %xmm15");
	*(u32 *)(fx + 24) = 0x1F80 | (3 << 13); /* round toward zero */
	asm volatile("fxrstor %0" ::"m"(fx));
	asm volatile("stmxcsr %0" : "=m"(r));
	check_eq("fxrstor loads MXCSR", (u32)r, 0x1F80 | (3 << 13));
	asm volatile("fxsave %0" : "=m"(fx2));
	check(!memcmp(fx2 + 160, pat, 16) && !memcmp(fx2 + 160 + 15 * 16, pat2, 16),
	      "fxrstor restores XMM0 and XMM15");
}
