/* Host execution of SIMD instructions: the table of one-instruction stubs
 * (see fpu.h) and the runner that loads a guest operand set into host
 * registers, calls a stub under the guest's MXCSR and stores the results. */
#include <stddef.h>

#include "cpu/soft/fpu/fpu.h"

/* Every stub occupies exactly 16 bytes: ".org 0b+16" pads with INT3 and
 * makes the assembler fail if an instruction plus RET were longer. */
#define SIMD_STUB_ASM(name, text) "0:\t" text "\n\tret\n\t.org 0b+16, 0xcc\n"
#define SIMD_STUB_ASM_I(name, n, text)                                                             \
	".set simd_i, 0\n.rept " #n "\n0:\t" text "\n\tret\n\t.org 0b+16, 0xcc\n"                  \
	".set simd_i, simd_i+1\n.endr\n"

/* clang-format off */
asm(".pushsection .text.simd_stubs,\"ax\",@progbits\n"
    ".balign 16\n"
    ".globl simd_stubs\n.hidden simd_stubs\n"
    "simd_stubs:\n"
    SIMD_STUBS(SIMD_STUB_ASM, SIMD_STUB_ASM_I)
    ".globl simd_stubs_end\n.hidden simd_stubs_end\n"
    "simd_stubs_end:\n"
    ".popsection\n");
/* clang-format on */

extern const u8 simd_stubs[], simd_stubs_end[];

#define H(f) [f] "i"(offsetof(struct simd_host, f))

/* The stubs are called from inside the asm: the return address would land
 * in the red zone below RSP, so RSP steps over it first (LEA keeps flags).
 * noinline: the caller must not hold x87 values across the MMX variant. */
#define RUN_CALL                                                                                   \
	"lea -128(%%rsp), %%rsp\n\t"                                                               \
	"call *%[fn]\n\t"                                                                          \
	"pushfq\n\t"                                                                               \
	"popq %c[rflags](%[h])\n\t"                                                                \
	"lea 128(%%rsp), %%rsp\n\t"
#define RUN_XMM_IN                                                                                 \
	"movdqu %c[x0](%[h]), %%xmm0\n\t"                                                          \
	"movdqu %c[x1](%[h]), %%xmm1\n\t"                                                          \
	"movdqu %c[x2](%[h]), %%xmm2\n\t"                                                          \
	"mov %c[rax](%[h]), %%rax\n\t"                                                             \
	"mov %c[rcx](%[h]), %%rcx\n\t"                                                             \
	"mov %c[rdx](%[h]), %%rdx\n\t"
#define RUN_XMM_OUT                                                                                \
	"movdqu %%xmm0, %c[x0](%[h])\n\t"                                                          \
	"movdqu %%xmm1, %c[x1](%[h])\n\t"                                                          \
	"mov %%rax, %c[rax](%[h])\n\t"                                                             \
	"mov %%rcx, %c[rcx](%[h])\n\t"                                                             \
	"mov %%rdx, %c[rdx](%[h])\n\t"
/* Swaps the guest's MXCSR in, and back out with the flags it gathered. */
#define RUN_MXCSR_IN                                                                               \
	"stmxcsr %c[host_mxcsr](%[h])\n\t"                                                         \
	"ldmxcsr %c[mxcsr](%[h])\n\t"
#define RUN_MXCSR_OUT                                                                              \
	"stmxcsr %c[mxcsr](%[h])\n\t"                                                              \
	"ldmxcsr %c[host_mxcsr](%[h])\n\t"
#define RUN_XMM_ARGS                                                                               \
	[h] "D"(h), [fn] "S"(fn), H(host_mxcsr), H(mxcsr), H(x0), H(x1), H(x2), H(rax), H(rcx),    \
	    H(rdx), H(rflags)
#define RUN_XMM_CLOBBERS "rax", "rcx", "rdx", "xmm0", "xmm1", "xmm2", "memory", "cc"

/* Integer stubs: MXCSR neither matters nor changes. */
static __attribute__((noinline)) void host_run_int(struct simd_host *h, const void *fn)
{
	asm volatile(RUN_XMM_IN RUN_CALL RUN_XMM_OUT : : RUN_XMM_ARGS : RUN_XMM_CLOBBERS);
}

static __attribute__((noinline)) void host_run_fp(struct simd_host *h, const void *fn)
{
	asm volatile(RUN_MXCSR_IN RUN_XMM_IN RUN_CALL RUN_MXCSR_OUT RUN_XMM_OUT
		     :
		     : RUN_XMM_ARGS
		     : RUN_XMM_CLOBBERS);
}

#define RUN_MMX_IN                                                                                 \
	"movdqu %c[x1](%[h]), %%xmm1\n\t"                                                          \
	"movdqu %c[x2](%[h]), %%xmm2\n\t"                                                          \
	"movq %c[mm0](%[h]), %%mm0\n\t"                                                            \
	"movq %c[mm1](%[h]), %%mm1\n\t"                                                            \
	"mov %c[rax](%[h]), %%rax\n\t"
#define RUN_MMX_OUT                                                                                \
	"movdqu %%xmm1, %c[x1](%[h])\n\t"                                                          \
	"movq %%mm0, %c[mm0](%[h])\n\t"                                                            \
	"mov %%rax, %c[rax](%[h])\n\t"                                                             \
	"emms\n\t"

static __attribute__((noinline)) void host_run_mmx(struct simd_host *h, const void *fn)
{
	asm volatile(RUN_MXCSR_IN RUN_MMX_IN RUN_CALL RUN_MXCSR_OUT RUN_MMX_OUT
		     :
		     : [h] "D"(h), [fn] "S"(fn), H(host_mxcsr), H(mxcsr), H(x1), H(x2), H(mm0),
		       H(mm1), H(rax), H(rflags)
		     : "rax", "xmm1", "xmm2", "mm0", "mm1", "st", "st(1)", "st(2)", "st(3)",
		       "st(4)", "st(5)", "st(6)", "st(7)", "memory", "cc");
}

void simd_host_run(struct simd_host *h, enum simd_stub stub, unsigned how)
{
	const void *fn = simd_stubs + 16 * (unsigned)stub;

	if (how & SIMD_RUN_MMX)
		host_run_mmx(h, fn);
	else if (how & SIMD_RUN_FP)
		host_run_fp(h, fn);
	else
		host_run_int(h, fn);
}

/* The guest's SIMD instructions run on the host's units, so a stub may only
 * run when the host has its extension (a guest ignoring CPUID must get #UD,
 * not crash popek with SIGILL). The stub list is grouped by extension. */
bool simd_host_has(enum simd_stub s)
{
	if (s >= SS_S_addsubps && s <= SS_S_hsubpd)
		return __builtin_cpu_supports("sse3");
	if (s >= SS_S_pshufb && s <= SS_M_pabsd)
		return __builtin_cpu_supports("ssse3");
	if (s >= SS_S_pblendvb && s <= SS_S_mpsadbw_last)
		return __builtin_cpu_supports("sse4.1");
	if (s >= SS_S_pcmpgtq && s <= SS_S_pcmpistri_last)
		return __builtin_cpu_supports("sse4.2");
	if (s >= SS_S_aesenc && s <= SS_S_aeskeygen_last)
		return __builtin_cpu_supports("aes");
	if (s >= SS_S_pclmul00 && s <= SS_S_pclmul11)
		return __builtin_cpu_supports("pclmul");
	return true;
}

void soft_simd_cpuid(u32 *ecx, u32 *edx)
{
	/* CPUID.1:EDX FPU(0) MMX(23) FXSR(24) SSE(25) SSE2(26): every x86-64 host. */
	*edx = 1u << 0 | 1u << 23 | 1u << 24 | 1u << 25 | 1u << 26;
	*ecx = 0;
	if (__builtin_cpu_supports("sse3"))
		*ecx |= 1u << 0;
	if (__builtin_cpu_supports("pclmul"))
		*ecx |= 1u << 1;
	if (__builtin_cpu_supports("ssse3"))
		*ecx |= 1u << 9;
	if (__builtin_cpu_supports("sse4.1"))
		*ecx |= 1u << 19;
	if (__builtin_cpu_supports("sse4.2"))
		*ecx |= 1u << 20;
	if (__builtin_cpu_supports("aes"))
		*ecx |= 1u << 25;
}
