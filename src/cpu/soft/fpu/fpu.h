/* Internal contract of the soft engine's x87/MMX/SSE implementation: host
 * execution stubs, the opcode descriptor tables and the operand helpers
 * shared by fpu_*.c, mmx.c, sse_*.c, simd*.c and fxsave.c.
 *
 * Design: the guest is x86 and so is the host, so every computing SIMD and
 * x87 instruction is executed by the very same host instruction, on copies
 * of the guest's operands, under the guest's MXCSR/FCW (with all exceptions
 * masked for SSE). Results, flags and exception bits are therefore exactly
 * what a CPU produces. The soft engine still owns everything architectural
 * around it: operand fetch through the guest MMU, alignment and #UD/#NM/#MF/
 * #XM checks, MMX aliasing on the x87 registers, and all state-management
 * instructions (FXSAVE, FLDENV, LDMXCSR, ...), which are written in C. */
#ifndef POPEK_SOFT_FPU_H
#define POPEK_SOFT_FPU_H

#include "cpu/soft/cpu.h"
#include "cpu/soft/decode/decode.h"

/* ---- host stubs (simd_host.c) ------------------------------------------
 * Each stub is one host instruction followed by RET, in a 16-byte slot.
 * Register convention: XMM1 destination, XMM2 source, XMM0 implicit
 * (BLENDV, PCMPxSTRM); MM0 destination, MM1 source; RAX general-purpose
 * operand (CVTxx2SI result, CVTSI2xx source); RAX/RDX/RCX for PCMPESTRx
 * and PCMPxSTRI. SIMD_STUBS_I entries expand to n stubs, stub k carrying the
 * immediate k (the assembler symbol simd_i). */
/* clang-format off */
#define SIMD_BOTH(X, name) X(S_##name, #name " %xmm2,%xmm1") X(M_##name, #name " %mm1,%mm0")

#define SIMD_STUBS(X, XI)                                                                          \
	/* SSE/SSE2 floating point (Intel SDM Vol. 1 10.4, 11.4) */                                \
	X(S_addps, "addps %xmm2,%xmm1") X(S_addpd, "addpd %xmm2,%xmm1")                            \
	X(S_addss, "addss %xmm2,%xmm1") X(S_addsd, "addsd %xmm2,%xmm1")                            \
	X(S_subps, "subps %xmm2,%xmm1") X(S_subpd, "subpd %xmm2,%xmm1")                            \
	X(S_subss, "subss %xmm2,%xmm1") X(S_subsd, "subsd %xmm2,%xmm1")                            \
	X(S_mulps, "mulps %xmm2,%xmm1") X(S_mulpd, "mulpd %xmm2,%xmm1")                            \
	X(S_mulss, "mulss %xmm2,%xmm1") X(S_mulsd, "mulsd %xmm2,%xmm1")                            \
	X(S_divps, "divps %xmm2,%xmm1") X(S_divpd, "divpd %xmm2,%xmm1")                            \
	X(S_divss, "divss %xmm2,%xmm1") X(S_divsd, "divsd %xmm2,%xmm1")                            \
	X(S_minps, "minps %xmm2,%xmm1") X(S_minpd, "minpd %xmm2,%xmm1")                            \
	X(S_minss, "minss %xmm2,%xmm1") X(S_minsd, "minsd %xmm2,%xmm1")                            \
	X(S_maxps, "maxps %xmm2,%xmm1") X(S_maxpd, "maxpd %xmm2,%xmm1")                            \
	X(S_maxss, "maxss %xmm2,%xmm1") X(S_maxsd, "maxsd %xmm2,%xmm1")                            \
	X(S_sqrtps, "sqrtps %xmm2,%xmm1") X(S_sqrtpd, "sqrtpd %xmm2,%xmm1")                        \
	X(S_sqrtss, "sqrtss %xmm2,%xmm1") X(S_sqrtsd, "sqrtsd %xmm2,%xmm1")                        \
	X(S_rsqrtps, "rsqrtps %xmm2,%xmm1") X(S_rsqrtss, "rsqrtss %xmm2,%xmm1")                    \
	X(S_rcpps, "rcpps %xmm2,%xmm1") X(S_rcpss, "rcpss %xmm2,%xmm1")                            \
	X(S_andps, "andps %xmm2,%xmm1") X(S_andnps, "andnps %xmm2,%xmm1")                          \
	X(S_orps, "orps %xmm2,%xmm1") X(S_xorps, "xorps %xmm2,%xmm1")                              \
	X(S_unpcklps, "unpcklps %xmm2,%xmm1") X(S_unpcklpd, "unpcklpd %xmm2,%xmm1")                \
	X(S_unpckhps, "unpckhps %xmm2,%xmm1") X(S_unpckhpd, "unpckhpd %xmm2,%xmm1")                \
	X(S_comiss, "comiss %xmm2,%xmm1") X(S_comisd, "comisd %xmm2,%xmm1")                        \
	X(S_ucomiss, "ucomiss %xmm2,%xmm1") X(S_ucomisd, "ucomisd %xmm2,%xmm1")                    \
	XI(S_cmpps, 8, "cmpps $simd_i,%xmm2,%xmm1") XI(S_cmppd, 8, "cmppd $simd_i,%xmm2,%xmm1")    \
	XI(S_cmpss, 8, "cmpss $simd_i,%xmm2,%xmm1") XI(S_cmpsd, 8, "cmpsd $simd_i,%xmm2,%xmm1")    \
	/* conversions (SDM Vol. 1 11.5) */                                                        \
	X(S_cvtps2pd, "cvtps2pd %xmm2,%xmm1") X(S_cvtpd2ps, "cvtpd2ps %xmm2,%xmm1")                \
	X(S_cvtss2sd, "cvtss2sd %xmm2,%xmm1") X(S_cvtsd2ss, "cvtsd2ss %xmm2,%xmm1")                \
	X(S_cvtdq2ps, "cvtdq2ps %xmm2,%xmm1") X(S_cvtps2dq, "cvtps2dq %xmm2,%xmm1")                \
	X(S_cvttps2dq, "cvttps2dq %xmm2,%xmm1") X(S_cvtdq2pd, "cvtdq2pd %xmm2,%xmm1")              \
	X(S_cvtpd2dq, "cvtpd2dq %xmm2,%xmm1") X(S_cvttpd2dq, "cvttpd2dq %xmm2,%xmm1")              \
	X(S_cvtsi2ss, "cvtsi2ssl %eax,%xmm1") X(S_cvtsi2ssq, "cvtsi2ssq %rax,%xmm1")               \
	X(S_cvtsi2sd, "cvtsi2sdl %eax,%xmm1") X(S_cvtsi2sdq, "cvtsi2sdq %rax,%xmm1")               \
	X(S_cvtss2si, "cvtss2si %xmm2,%eax") X(S_cvtss2siq, "cvtss2si %xmm2,%rax")                 \
	X(S_cvttss2si, "cvttss2si %xmm2,%eax") X(S_cvttss2siq, "cvttss2si %xmm2,%rax")             \
	X(S_cvtsd2si, "cvtsd2si %xmm2,%eax") X(S_cvtsd2siq, "cvtsd2si %xmm2,%rax")                 \
	X(S_cvttsd2si, "cvttsd2si %xmm2,%eax") X(S_cvttsd2siq, "cvttsd2si %xmm2,%rax")             \
	X(M_cvtpi2ps, "cvtpi2ps %mm1,%xmm1") X(M_cvtpi2pd, "cvtpi2pd %mm1,%xmm1")                  \
	X(M_cvtps2pi, "cvtps2pi %xmm2,%mm0") X(M_cvttps2pi, "cvttps2pi %xmm2,%mm0")                \
	X(M_cvtpd2pi, "cvtpd2pi %xmm2,%mm0") X(M_cvttpd2pi, "cvttpd2pi %xmm2,%mm0")                \
	/* SSE3 (SDM Vol. 1 12.3) */                                                               \
	X(S_addsubps, "addsubps %xmm2,%xmm1") X(S_addsubpd, "addsubpd %xmm2,%xmm1")                \
	X(S_haddps, "haddps %xmm2,%xmm1") X(S_haddpd, "haddpd %xmm2,%xmm1")                        \
	X(S_hsubps, "hsubps %xmm2,%xmm1") X(S_hsubpd, "hsubpd %xmm2,%xmm1")                        \
	/* MMX / SSE2 integer (SDM Vol. 1 9.4, 11.4.3) */                                          \
	SIMD_BOTH(X, punpcklbw) SIMD_BOTH(X, punpcklwd) SIMD_BOTH(X, punpckldq)                    \
	SIMD_BOTH(X, punpckhbw) SIMD_BOTH(X, punpckhwd) SIMD_BOTH(X, punpckhdq)                    \
	X(S_punpcklqdq, "punpcklqdq %xmm2,%xmm1") X(S_punpckhqdq, "punpckhqdq %xmm2,%xmm1")        \
	SIMD_BOTH(X, packsswb) SIMD_BOTH(X, packuswb) SIMD_BOTH(X, packssdw)                       \
	SIMD_BOTH(X, pcmpgtb) SIMD_BOTH(X, pcmpgtw) SIMD_BOTH(X, pcmpgtd)                          \
	SIMD_BOTH(X, pcmpeqb) SIMD_BOTH(X, pcmpeqw) SIMD_BOTH(X, pcmpeqd)                          \
	SIMD_BOTH(X, psrlw) SIMD_BOTH(X, psrld) SIMD_BOTH(X, psrlq)                                \
	SIMD_BOTH(X, psraw) SIMD_BOTH(X, psrad)                                                    \
	SIMD_BOTH(X, psllw) SIMD_BOTH(X, pslld) SIMD_BOTH(X, psllq)                                \
	SIMD_BOTH(X, paddb) SIMD_BOTH(X, paddw) SIMD_BOTH(X, paddd) SIMD_BOTH(X, paddq)            \
	SIMD_BOTH(X, psubb) SIMD_BOTH(X, psubw) SIMD_BOTH(X, psubd) SIMD_BOTH(X, psubq)            \
	SIMD_BOTH(X, paddsb) SIMD_BOTH(X, paddsw) SIMD_BOTH(X, paddusb) SIMD_BOTH(X, paddusw)      \
	SIMD_BOTH(X, psubsb) SIMD_BOTH(X, psubsw) SIMD_BOTH(X, psubusb) SIMD_BOTH(X, psubusw)      \
	SIMD_BOTH(X, pmullw) SIMD_BOTH(X, pmulhw) SIMD_BOTH(X, pmulhuw) SIMD_BOTH(X, pmuludq)      \
	SIMD_BOTH(X, pmaddwd) SIMD_BOTH(X, psadbw) SIMD_BOTH(X, pavgb) SIMD_BOTH(X, pavgw)         \
	SIMD_BOTH(X, pminub) SIMD_BOTH(X, pmaxub) SIMD_BOTH(X, pminsw) SIMD_BOTH(X, pmaxsw)        \
	SIMD_BOTH(X, pand) SIMD_BOTH(X, pandn) SIMD_BOTH(X, por) SIMD_BOTH(X, pxor)                \
	/* SSSE3 (SDM Vol. 1 12.7) */                                                              \
	SIMD_BOTH(X, pshufb) SIMD_BOTH(X, phaddw) SIMD_BOTH(X, phaddd) SIMD_BOTH(X, phaddsw)       \
	SIMD_BOTH(X, phsubw) SIMD_BOTH(X, phsubd) SIMD_BOTH(X, phsubsw)                            \
	SIMD_BOTH(X, pmaddubsw) SIMD_BOTH(X, pmulhrsw) SIMD_BOTH(X, psignb)                        \
	SIMD_BOTH(X, psignw) SIMD_BOTH(X, psignd) SIMD_BOTH(X, pabsb) SIMD_BOTH(X, pabsw)          \
	SIMD_BOTH(X, pabsd)                                                                        \
	/* SSE4.1 (SDM Vol. 1 12.10) */                                                            \
	X(S_pblendvb, "pblendvb %xmm0,%xmm2,%xmm1") X(S_blendvps, "blendvps %xmm0,%xmm2,%xmm1")    \
	X(S_blendvpd, "blendvpd %xmm0,%xmm2,%xmm1") X(S_ptest, "ptest %xmm2,%xmm1")                \
	X(S_pmovsxbw, "pmovsxbw %xmm2,%xmm1") X(S_pmovsxbd, "pmovsxbd %xmm2,%xmm1")                \
	X(S_pmovsxbq, "pmovsxbq %xmm2,%xmm1") X(S_pmovsxwd, "pmovsxwd %xmm2,%xmm1")                \
	X(S_pmovsxwq, "pmovsxwq %xmm2,%xmm1") X(S_pmovsxdq, "pmovsxdq %xmm2,%xmm1")                \
	X(S_pmovzxbw, "pmovzxbw %xmm2,%xmm1") X(S_pmovzxbd, "pmovzxbd %xmm2,%xmm1")                \
	X(S_pmovzxbq, "pmovzxbq %xmm2,%xmm1") X(S_pmovzxwd, "pmovzxwd %xmm2,%xmm1")                \
	X(S_pmovzxwq, "pmovzxwq %xmm2,%xmm1") X(S_pmovzxdq, "pmovzxdq %xmm2,%xmm1")                \
	X(S_pmuldq, "pmuldq %xmm2,%xmm1") X(S_pcmpeqq, "pcmpeqq %xmm2,%xmm1")                      \
	X(S_packusdw, "packusdw %xmm2,%xmm1") X(S_pminsb, "pminsb %xmm2,%xmm1")                    \
	X(S_pminsd, "pminsd %xmm2,%xmm1") X(S_pminuw, "pminuw %xmm2,%xmm1")                        \
	X(S_pminud, "pminud %xmm2,%xmm1") X(S_pmaxsb, "pmaxsb %xmm2,%xmm1")                        \
	X(S_pmaxsd, "pmaxsd %xmm2,%xmm1") X(S_pmaxuw, "pmaxuw %xmm2,%xmm1")                        \
	X(S_pmaxud, "pmaxud %xmm2,%xmm1") X(S_pmulld, "pmulld %xmm2,%xmm1")                        \
	X(S_phminposuw, "phminposuw %xmm2,%xmm1")                                                  \
	XI(S_roundps, 16, "roundps $simd_i,%xmm2,%xmm1")                                           \
	XI(S_roundpd, 16, "roundpd $simd_i,%xmm2,%xmm1")                                           \
	XI(S_roundss, 16, "roundss $simd_i,%xmm2,%xmm1")                                           \
	XI(S_roundsd, 16, "roundsd $simd_i,%xmm2,%xmm1")                                           \
	XI(S_dpps, 256, "dpps $simd_i,%xmm2,%xmm1") XI(S_dppd, 256, "dppd $simd_i,%xmm2,%xmm1")   \
	XI(S_mpsadbw, 8, "mpsadbw $simd_i,%xmm2,%xmm1")                                            \
	/* SSE4.2 (SDM Vol. 1 12.12) */                                                            \
	X(S_pcmpgtq, "pcmpgtq %xmm2,%xmm1")                                                        \
	XI(S_pcmpestrm, 256, "pcmpestrm $simd_i,%xmm2,%xmm1")                                      \
	XI(S_pcmpestri, 256, "pcmpestri $simd_i,%xmm2,%xmm1")                                      \
	XI(S_pcmpistrm, 256, "pcmpistrm $simd_i,%xmm2,%xmm1")                                      \
	XI(S_pcmpistri, 256, "pcmpistri $simd_i,%xmm2,%xmm1")                                      \
	/* AES-NI and PCLMULQDQ (SDM Vol. 1 12.13) */                                              \
	X(S_aesenc, "aesenc %xmm2,%xmm1") X(S_aesenclast, "aesenclast %xmm2,%xmm1")                \
	X(S_aesdec, "aesdec %xmm2,%xmm1") X(S_aesdeclast, "aesdeclast %xmm2,%xmm1")                \
	X(S_aesimc, "aesimc %xmm2,%xmm1")                                                          \
	XI(S_aeskeygen, 256, "aeskeygenassist $simd_i,%xmm2,%xmm1")                                \
	X(S_pclmul00, "pclmulqdq $0x00,%xmm2,%xmm1") X(S_pclmul01, "pclmulqdq $0x01,%xmm2,%xmm1")  \
	X(S_pclmul10, "pclmulqdq $0x10,%xmm2,%xmm1") X(S_pclmul11, "pclmulqdq $0x11,%xmm2,%xmm1")

#define SIMD_STUB_ENUM(name, text) SS_##name,
#define SIMD_STUB_ENUM_I(name, n, text) SS_##name, SS_##name##_last = SS_##name + (n)-1,
enum simd_stub {
	SS_none = -1,
	SIMD_STUBS(SIMD_STUB_ENUM, SIMD_STUB_ENUM_I) SS_COUNT
};
/* clang-format on */

/* Operands and results of one host stub call. */
struct simd_host {
	u8 x0[16], x1[16], x2[16]; /* XMM0 (implicit), XMM1 (dst), XMM2 (src) */
	u64 mm0, mm1;              /* MM0 (dst), MM1 (src) */
	u64 rax, rcx, rdx;
	u64 rflags;     /* out: host RFLAGS after the stub */
	u32 mxcsr;      /* in: control to run with; out: MXCSR after */
	u32 host_mxcsr; /* scratch: the host's own MXCSR */
};

/* Runs stub on h's registers. SIMD_RUN_FP: under MXCSR h->mxcsr, which then
 * holds the MXCSR after the stub; SIMD_RUN_MMX: with MM0/MM1 (then EMMS),
 * always under h->mxcsr. The host's MXCSR and x87/MMX state are kept. */
enum { SIMD_RUN_INT = 0, SIMD_RUN_FP = 1, SIMD_RUN_MMX = 2 };
void simd_host_run(struct simd_host *h, enum simd_stub stub, unsigned how);
/* True when the host CPU has the extension stub belongs to. */
bool simd_host_has(enum simd_stub stub);

/* ---- opcode descriptors (simd_table.c) ---- */
struct simd_op;
typedef void simd_fn(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op);

enum {
	SOP_FP = 1 << 0,     /* uses MXCSR: merge flags, #XM on unmasked exceptions */
	SOP_UNAL = 1 << 1,   /* 16-byte memory operand need not be aligned */
	SOP_MMX = 1 << 2,    /* MMX-state instruction: #UD on EM, #MF, x87 tag/TOP effects */
	SOP_EFL = 1 << 3,    /* result is ZF/PF/CF/OF/SF/AF of the host */
	SOP_NODST = 1 << 4,  /* the destination register is not written */
	SOP_REG = 1 << 5,    /* ModRM must name a register */
	SOP_MEM = 1 << 6,    /* ModRM must name memory */
	SOP_W = 1 << 7,      /* REX.W selects stub + 1 (64-bit GPR operand) */
	SOP_X0 = 1 << 8,     /* XMM0 is written (PCMPxSTRM) */
	SOP_ECX = 1 << 9,    /* ECX is written (PCMPxSTRI) */
	SOP_LEN = 1 << 10,   /* EAX/EDX are string lengths (PCMPESTRx) */
	SOP_MMSRC = 1 << 11, /* the ModRM source is an MMX register (CVTPI2Px) */
	SOP_MMDST = 1 << 12, /* the destination is an MMX register (CVTPx2PI) */
};

struct simd_op {
	simd_fn *fn; /* NULL: #UD */
	s16 stub;    /* enum simd_stub, or the first of an immediate range */
	u8 size;     /* bytes read from a memory source operand */
	u8 imm_mask; /* stub + (imm8 & imm_mask) for immediate ranges */
	u16 flags;   /* SOP_* */
};

/* [prefix class][opcode]: 0 none, 1 66, 2 F3, 3 F2 (F2/F3 win over 66). */
extern const struct simd_op simd_tab_0f[4][256];
extern const struct simd_op simd_tab_0f38[4][256];
extern const struct simd_op simd_tab_0f3a[4][256];

/* ---- generic handlers (simd.c) ---- */
simd_fn simd_xmm;     /* XMM1 op= XMM2/mem */
simd_fn simd_mmx;     /* MM0 op= MM1/mem */
simd_fn simd_gpr_xmm; /* GPR = op(XMM/mem)  (CVTxx2SI) */
simd_fn simd_xmm_gpr; /* XMM op= GPR/mem    (CVTSI2xx) */
simd_fn simd_cvt_mmx; /* CVTPI2Px / CVTPx2PI */
/* ---- moves (sse_move.c) ---- */
simd_fn sse_movups, sse_movups_st, sse_movss, sse_movss_st, sse_movsd, sse_movsd_st;
simd_fn sse_movlps, sse_movhps, sse_movlps_st, sse_movhps_st;
simd_fn sse_movsldup, sse_movshdup, sse_movddup, sse_movmskps, sse_movmskpd, sse_pmovmskb;
simd_fn sse_movd_load, sse_movd_store, sse_movq_load, sse_movq_store, sse_movq2dq, sse_movdq2q;
simd_fn sse_maskmov;
/* ---- MMX moves (mmx.c) ---- */
simd_fn mmx_movd_load, mmx_movd_store, mmx_movq_load, mmx_movq_store;
/* ---- shuffles, blends, inserts, extracts (sse_shuffle.c) ---- */
simd_fn sse_pshufd, sse_pshufhw, sse_pshuflw, mmx_pshufw, sse_shufps, sse_shufpd;
simd_fn sse_shift_imm, sse_palignr, sse_blendps, sse_blendpd, sse_pblendw;
simd_fn sse_pinsrw, sse_pextrw, sse_pextr, sse_pinsr, sse_insertps;

/* ---- shared helpers (simd.c) ---- */
/* Guest register access. */
static inline u8 *simd_xmm_reg(struct soft_cpu *cpu, unsigned n)
{
	return cpu->fx.xmm[n & 15];
}

/* Reads the ModRM source operand: size bytes of memory (zero-padded to 16;
 * 16-byte reads are alignment-checked unless unal) or the whole XMM rm. */
void simd_src_xmm(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size, bool unal,
		  u8 out[16]);
/* The same for the moves MOVAPS/MOVUPS/MOVDQA/... and MOVNTDQA: AMD's
 * misaligned SSE mode does not relax their alignment. */
void simd_src_xmm_move(struct soft_cpu *cpu, const struct soft_insn *in, bool unal, u8 out[16]);
/* Offset of the memory operand, after the #GP(0) alignment check for
 * 16-byte operands of aligned forms (Intel SDM Vol. 1 11.6.8). */
u64 simd_ea(struct soft_cpu *cpu, const struct soft_insn *in, unsigned align);
/* Guest MXCSR to run the host with: the guest's rounding, FTZ and DAZ,
 * every exception masked and no flag set. */
static inline u32 simd_host_mxcsr(const struct soft_cpu *cpu)
{
	return (cpu->fx.mxcsr & 0xffc0) | 0x1f80;
}
/* Merges the exception flags of a simd_run into the guest MXCSR; for an
 * unmasked one raises #XM (CR4.OSXMMEXCPT) or #UD, destination untouched
 * (Intel SDM Vol. 1 11.5.1). */
void simd_mxcsr_merge(struct soft_cpu *cpu, u32 host_after);
/* The MXCSR flags the CPU reports for FP stub on the operands in (as they
 * were before the run), given flags, those of the all-masked run, when some
 * of them are unmasked in the guest's MXCSR: pre-computation exceptions
 * stop before rounding, an unmasked overflow/underflow reports PE for the
 * unbounded-exponent result, DPPS/DPPD stop after the stage that faulted
 * (simd_fpexc.c; Intel SDM Vol. 1 11.5.2, 11.5.3). */
u32 simd_fpexc_flags(const struct soft_cpu *cpu, enum simd_stub stub, const struct simd_host *in,
		     u32 flags);
/* Writes a GPR with 32-bit zero extension for size 4. */
void simd_gpr_write(struct soft_cpu *cpu, unsigned reg, unsigned size, u64 v);

/* ---- MMX state (mmx.c) ---- */
/* Value of MMi (the mantissa of physical x87 register i). */
u64 mmx_get(const struct soft_cpu *cpu, unsigned i);
/* The x87->MMX transition every MMX instruction makes: TOP = 0 and all
 * tags valid (Intel SDM Vol. 1 9.5.1; EMMS then empties the tags). Call
 * after all steps that can fault. */
void mmx_enter(struct soft_cpu *cpu);
/* Writes MMi (after mmx_enter): mantissa = v, sign/exponent = all ones. */
void mmx_set(struct soft_cpu *cpu, unsigned i, u64 v);
/* Checks for SSE-state instructions: #UD (CR0.EM, CR4.OSFXSR), #NM (CR0.TS). */
void simd_check_sse(struct soft_cpu *cpu);
/* Checks for MMX-state instructions: #UD (EM), #NM (TS), #MF (pending x87). */
void simd_check_mmx(struct soft_cpu *cpu);
void simd_emms(struct soft_cpu *cpu);

/* ---- x87 helpers (fpu_env.c) ---- */
#define FSW_IE      0x0001
#define FSW_SF      0x0040
#define FSW_ES      0x0080
#define FSW_C0      0x0100
#define FSW_C1      0x0200
#define FSW_C2      0x0400
#define FSW_TOP     0x3800
#define FSW_C3      0x4000
#define FSW_B       0x8000
#define FPU_TOP(fx) (((fx)->fsw >> 11) & 7)
/* Raises #MF for a pending unmasked x87 exception when CR0.NE = 1 (the
 * check of every waiting x87 and MMX instruction, SDM Vol. 1 8.6). */
void fpu_check_pending(struct soft_cpu *cpu);
/* Recomputes FSW.ES and FSW.B from the flags and FCW masks. */
void fpu_update_es(struct soft_fxstate *fx);
/* The full 16-bit tag word from the abridged one (SDM Vol. 1 10.5.1.1). */
u16 fpu_full_tag(const struct soft_fxstate *fx);
u8 fpu_abridged_tag(u16 full);
/* FNINIT's state changes (SDM Vol. 2A FINIT/FNINIT): the data registers stay. */
void fpu_init(struct soft_fxstate *fx);
/* x87 environment/control instructions done in C; returns false when
 * (op, modrm) is not one of them. */
bool fpu_exec_control(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op);

/* FXSAVE/FXRSTOR/LDMXCSR/STMXCSR and the other 0F AE forms (fxsave.c). */
void simd_exec_0fae(struct soft_cpu *cpu, const struct soft_insn *in);

/* MXCSR bits this CPU lets software set (FXSAVE's MXCSR_MASK): DAZ too. */
#define SIMD_MXCSR_MASK 0xffffu
/* AMD's MXCSR.MM (bit 17): misaligned SSE mode, writable on the AMD model. */
#define SIMD_MXCSR_MM (1u << 17)

#endif
