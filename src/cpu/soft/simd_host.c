/* Host execution of SIMD instructions: the table of one-instruction stubs
 * (see simd.h) and the runner that loads a guest operand set into host
 * registers, calls a stub under the guest's MXCSR and stores the results. */
#include <stddef.h>

#include "cpu/soft/simd.h"

/* Every stub occupies exactly 16 bytes: ".org 0b+16" pads with INT3 and
 * makes the assembler fail if an instruction plus RET were longer. */
#define SIMD_STUB_ASM(name, text) "0:\t" text "\n\tret\n\t.org 0b+16, 0xcc\n"
#define SIMD_STUB_ASM_I(name, n, text)                                                             \
	".set simd_i, 0\n.rept " #n "\n0:\t" text "\n\tret\n\t.org 0b+16, 0xcc\n"                  \
	".set simd_i, simd_i+1\n.endr\n"

asm(".pushsection .text.simd_stubs,\"ax\",@progbits\n"
    ".balign 16\n"
    ".globl simd_stubs\n.hidden simd_stubs\n"
    "simd_stubs:\n" SIMD_STUBS(SIMD_STUB_ASM, SIMD_STUB_ASM_I)
    ".globl simd_stubs_end\n.hidden simd_stubs_end\n"
    "simd_stubs_end:\n"
    ".popsection\n");

extern const u8 simd_stubs[], simd_stubs_end[];

#define H(f) [f] "i"(offsetof(struct simd_host, f))

/* The stubs are called from inside the asm: the return address would land
 * in the red zone below RSP, so RSP steps over it first (LEA keeps flags).
 * noinline: the caller must not hold x87 values across the MMX variant. */
static __attribute__((noinline)) void host_run_xmm(struct simd_host *h, const void *fn)
{
	asm volatile("stmxcsr %c[host_mxcsr](%[h])\n\t"
		     "ldmxcsr %c[mxcsr](%[h])\n\t"
		     "movdqu %c[x0](%[h]), %%xmm0\n\t"
		     "movdqu %c[x1](%[h]), %%xmm1\n\t"
		     "movdqu %c[x2](%[h]), %%xmm2\n\t"
		     "mov %c[rax](%[h]), %%rax\n\t"
		     "mov %c[rcx](%[h]), %%rcx\n\t"
		     "mov %c[rdx](%[h]), %%rdx\n\t"
		     "lea -128(%%rsp), %%rsp\n\t"
		     "call *%[fn]\n\t"
		     "pushfq\n\t"
		     "popq %c[rflags](%[h])\n\t"
		     "lea 128(%%rsp), %%rsp\n\t"
		     "stmxcsr %c[mxcsr](%[h])\n\t"
		     "ldmxcsr %c[host_mxcsr](%[h])\n\t"
		     "movdqu %%xmm0, %c[x0](%[h])\n\t"
		     "movdqu %%xmm1, %c[x1](%[h])\n\t"
		     "mov %%rax, %c[rax](%[h])\n\t"
		     "mov %%rcx, %c[rcx](%[h])\n\t"
		     "mov %%rdx, %c[rdx](%[h])\n\t"
		     :
		     : [h] "D"(h), [fn] "S"(fn), H(host_mxcsr), H(mxcsr), H(x0), H(x1), H(x2), H(rax),
		       H(rcx), H(rdx), H(rflags)
		     : "rax", "rcx", "rdx", "xmm0", "xmm1", "xmm2", "memory", "cc");
}

static __attribute__((noinline)) void host_run_mmx(struct simd_host *h, const void *fn)
{
	asm volatile("stmxcsr %c[host_mxcsr](%[h])\n\t"
		     "ldmxcsr %c[mxcsr](%[h])\n\t"
		     "movdqu %c[x1](%[h]), %%xmm1\n\t"
		     "movdqu %c[x2](%[h]), %%xmm2\n\t"
		     "movq %c[mm0](%[h]), %%mm0\n\t"
		     "movq %c[mm1](%[h]), %%mm1\n\t"
		     "mov %c[rax](%[h]), %%rax\n\t"
		     "lea -128(%%rsp), %%rsp\n\t"
		     "call *%[fn]\n\t"
		     "pushfq\n\t"
		     "popq %c[rflags](%[h])\n\t"
		     "lea 128(%%rsp), %%rsp\n\t"
		     "stmxcsr %c[mxcsr](%[h])\n\t"
		     "ldmxcsr %c[host_mxcsr](%[h])\n\t"
		     "movdqu %%xmm1, %c[x1](%[h])\n\t"
		     "movq %%mm0, %c[mm0](%[h])\n\t"
		     "mov %%rax, %c[rax](%[h])\n\t"
		     "emms\n\t"
		     :
		     : [h] "D"(h), [fn] "S"(fn), H(host_mxcsr), H(mxcsr), H(x1), H(x2), H(mm0),
		       H(mm1), H(rax), H(rflags)
		     : "rax", "xmm1", "xmm2", "mm0", "mm1", "st", "st(1)", "st(2)", "st(3)", "st(4)",
		       "st(5)", "st(6)", "st(7)", "memory", "cc");
}

void simd_host_run(struct simd_host *h, enum simd_stub stub, bool mmx)
{
	const void *fn = simd_stubs + 16 * (unsigned)stub;

	if (mmx)
		host_run_mmx(h, fn);
	else
		host_run_xmm(h, fn);
}
