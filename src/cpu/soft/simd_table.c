/* Opcode descriptor tables of the SIMD maps, indexed by mandatory-prefix
 * class and opcode (Intel SDM Vol. 2D Appendix A, Tables ). */
#include "cpu/soft/simd.h"

enum { NP = 0, P66 = 1, PF3 = 2, PF2 = 3 };

/* XMM1 op= XMM2/m (memory operand of sz bytes). */
#define X(st, sz, fl) {simd_xmm, SS_S_##st, sz, 0, fl}
/* Same, with an imm8 range of stubs. */
#define XI(st, sz, mask, fl) {simd_xmm, SS_S_##st, sz, mask, fl}
/* MM0 op= MM1/m. */
#define M(st, sz) {simd_mmx, SS_M_##st, sz, 0, SOP_MMX}
/* A C handler. */
#define C(fn, sz, fl) {fn, 0, sz, 0, fl}
#define FP SOP_FP

/* An integer operation in MMX (no prefix) and SSE2 (66) forms. */
#define BOTH(op, name) [NP][op] = M(name, 8), [P66][op] = X(name, 16, 0)
/* PUNPCKL* with an MMX operand read only 32 bits of memory. */
#define BOTH4(op, name) [NP][op] = M(name, 4), [P66][op] = X(name, 16, 0)
/* A floating-point operation in its PS, PD, SS and SD forms. */
#define FP4(op, name)                                                                              \
	[NP][op] = X(name##ps, 16, FP), [P66][op] = X(name##pd, 16, FP),                           \
	[PF3][op] = X(name##ss, 4, FP), [PF2][op] = X(name##sd, 8, FP)

const struct simd_op simd_tab_0f[4][256] = {
	[NP][0x10] = C(sse_movups, 16, SOP_UNAL), [P66][0x10] = C(sse_movups, 16, SOP_UNAL),
	[PF3][0x10] = C(sse_movss, 4, 0), [PF2][0x10] = C(sse_movsd, 8, 0),
	[NP][0x11] = C(sse_movups_st, 16, SOP_UNAL), [P66][0x11] = C(sse_movups_st, 16, SOP_UNAL),
	[PF3][0x11] = C(sse_movss_st, 4, 0), [PF2][0x11] = C(sse_movsd_st, 8, 0),
	[NP][0x12] = C(sse_movlps, 8, 0), [P66][0x12] = C(sse_movlps, 8, SOP_MEM),
	[PF3][0x12] = C(sse_movsldup, 16, 0), [PF2][0x12] = C(sse_movddup, 8, 0),
	[NP][0x13] = C(sse_movlps_st, 8, SOP_MEM), [P66][0x13] = C(sse_movlps_st, 8, SOP_MEM),
	[NP][0x14] = X(unpcklps, 16, 0), [P66][0x14] = X(unpcklpd, 16, 0),
	[NP][0x15] = X(unpckhps, 16, 0), [P66][0x15] = X(unpckhpd, 16, 0),
	[NP][0x16] = C(sse_movhps, 8, 0), [P66][0x16] = C(sse_movhps, 8, SOP_MEM),
	[PF3][0x16] = C(sse_movshdup, 16, 0),
	[NP][0x17] = C(sse_movhps_st, 8, SOP_MEM), [P66][0x17] = C(sse_movhps_st, 8, SOP_MEM),
	[NP][0x28] = C(sse_movups, 16, 0), [P66][0x28] = C(sse_movups, 16, 0),
	[NP][0x29] = C(sse_movups_st, 16, 0), [P66][0x29] = C(sse_movups_st, 16, 0),
	[NP][0x2a] = {simd_cvt_mmx, SS_M_cvtpi2ps, 8, 0, FP | SOP_MMSRC},
	[P66][0x2a] = {simd_cvt_mmx, SS_M_cvtpi2pd, 8, 0, FP | SOP_MMSRC},
	[PF3][0x2a] = {simd_xmm_gpr, SS_S_cvtsi2ss, 4, 0, FP | SOP_W},
	[PF2][0x2a] = {simd_xmm_gpr, SS_S_cvtsi2sd, 4, 0, FP | SOP_W},
	[NP][0x2b] = C(sse_movups_st, 16, SOP_MEM), [P66][0x2b] = C(sse_movups_st, 16, SOP_MEM),
	[NP][0x2c] = {simd_cvt_mmx, SS_M_cvttps2pi, 8, 0, FP | SOP_MMDST},
	[P66][0x2c] = {simd_cvt_mmx, SS_M_cvttpd2pi, 16, 0, FP | SOP_MMDST},
	[PF3][0x2c] = {simd_gpr_xmm, SS_S_cvttss2si, 4, 0, FP | SOP_W},
	[PF2][0x2c] = {simd_gpr_xmm, SS_S_cvttsd2si, 8, 0, FP | SOP_W},
	[NP][0x2d] = {simd_cvt_mmx, SS_M_cvtps2pi, 8, 0, FP | SOP_MMDST},
	[P66][0x2d] = {simd_cvt_mmx, SS_M_cvtpd2pi, 16, 0, FP | SOP_MMDST},
	[PF3][0x2d] = {simd_gpr_xmm, SS_S_cvtss2si, 4, 0, FP | SOP_W},
	[PF2][0x2d] = {simd_gpr_xmm, SS_S_cvtsd2si, 8, 0, FP | SOP_W},
	[NP][0x2e] = X(ucomiss, 4, FP | SOP_EFL | SOP_NODST),
	[P66][0x2e] = X(ucomisd, 8, FP | SOP_EFL | SOP_NODST),
	[NP][0x2f] = X(comiss, 4, FP | SOP_EFL | SOP_NODST),
	[P66][0x2f] = X(comisd, 8, FP | SOP_EFL | SOP_NODST),
	[NP][0x50] = C(sse_movmskps, 0, SOP_REG), [P66][0x50] = C(sse_movmskpd, 0, SOP_REG),
	FP4(0x51, sqrt),
	[NP][0x52] = X(rsqrtps, 16, FP), [PF3][0x52] = X(rsqrtss, 4, FP),
	[NP][0x53] = X(rcpps, 16, FP), [PF3][0x53] = X(rcpss, 4, FP),
	/* The PD logic forms are bitwise the same operation as the PS ones. */
	[NP][0x54] = X(andps, 16, 0), [P66][0x54] = X(andps, 16, 0),
	[NP][0x55] = X(andnps, 16, 0), [P66][0x55] = X(andnps, 16, 0),
	[NP][0x56] = X(orps, 16, 0), [P66][0x56] = X(orps, 16, 0),
	[NP][0x57] = X(xorps, 16, 0), [P66][0x57] = X(xorps, 16, 0),
	FP4(0x58, add), FP4(0x59, mul),
	[NP][0x5a] = X(cvtps2pd, 8, FP), [P66][0x5a] = X(cvtpd2ps, 16, FP),
	[PF3][0x5a] = X(cvtss2sd, 4, FP), [PF2][0x5a] = X(cvtsd2ss, 8, FP),
	[NP][0x5b] = X(cvtdq2ps, 16, FP), [P66][0x5b] = X(cvtps2dq, 16, FP),
	[PF3][0x5b] = X(cvttps2dq, 16, FP),
	FP4(0x5c, sub), FP4(0x5d, min), FP4(0x5e, div), FP4(0x5f, max),
	BOTH4(0x60, punpcklbw), BOTH4(0x61, punpcklwd), BOTH4(0x62, punpckldq),
	BOTH(0x63, packsswb), BOTH(0x64, pcmpgtb), BOTH(0x65, pcmpgtw), BOTH(0x66, pcmpgtd),
	BOTH(0x67, packuswb), BOTH(0x68, punpckhbw), BOTH(0x69, punpckhwd),
	BOTH(0x6a, punpckhdq), BOTH(0x6b, packssdw),
	[P66][0x6c] = X(punpcklqdq, 16, 0), [P66][0x6d] = X(punpckhqdq, 16, 0),
	[NP][0x6e] = C(mmx_movd_load, 4, SOP_MMX), [P66][0x6e] = C(sse_movd_load, 4, 0),
	[NP][0x6f] = C(mmx_movq_load, 8, SOP_MMX), [P66][0x6f] = C(sse_movups, 16, 0),
	[PF3][0x6f] = C(sse_movups, 16, SOP_UNAL),
	[NP][0x70] = C(mmx_pshufw, 8, SOP_MMX), [P66][0x70] = C(sse_pshufd, 16, 0),
	[PF3][0x70] = C(sse_pshufhw, 16, 0), [PF2][0x70] = C(sse_pshuflw, 16, 0),
	[NP][0x71] = C(sse_shift_imm, 0, SOP_MMX | SOP_REG), [P66][0x71] = C(sse_shift_imm, 0, SOP_REG),
	[NP][0x72] = C(sse_shift_imm, 0, SOP_MMX | SOP_REG), [P66][0x72] = C(sse_shift_imm, 0, SOP_REG),
	[NP][0x73] = C(sse_shift_imm, 0, SOP_MMX | SOP_REG), [P66][0x73] = C(sse_shift_imm, 0, SOP_REG),
	BOTH(0x74, pcmpeqb), BOTH(0x75, pcmpeqw), BOTH(0x76, pcmpeqd),
	[P66][0x7c] = X(haddpd, 16, FP), [PF2][0x7c] = X(haddps, 16, FP),
	[P66][0x7d] = X(hsubpd, 16, FP), [PF2][0x7d] = X(hsubps, 16, FP),
	[NP][0x7e] = C(mmx_movd_store, 4, SOP_MMX), [P66][0x7e] = C(sse_movd_store, 4, 0),
	[PF3][0x7e] = C(sse_movq_load, 8, 0),
	[NP][0x7f] = C(mmx_movq_store, 8, SOP_MMX), [P66][0x7f] = C(sse_movups_st, 16, 0),
	[PF3][0x7f] = C(sse_movups_st, 16, SOP_UNAL),
	[NP][0xc2] = XI(cmpps, 16, 7, FP), [P66][0xc2] = XI(cmppd, 16, 7, FP),
	[PF3][0xc2] = XI(cmpss, 4, 7, FP), [PF2][0xc2] = XI(cmpsd, 8, 7, FP),
	[NP][0xc4] = C(sse_pinsrw, 2, SOP_MMX), [P66][0xc4] = C(sse_pinsrw, 2, 0),
	[NP][0xc5] = C(sse_pextrw, 0, SOP_MMX | SOP_REG), [P66][0xc5] = C(sse_pextrw, 0, SOP_REG),
	[NP][0xc6] = C(sse_shufps, 16, 0), [P66][0xc6] = C(sse_shufpd, 16, 0),
	[P66][0xd0] = X(addsubpd, 16, FP), [PF2][0xd0] = X(addsubps, 16, FP),
	BOTH(0xd1, psrlw), BOTH(0xd2, psrld), BOTH(0xd3, psrlq), BOTH(0xd4, paddq),
	BOTH(0xd5, pmullw),
	[P66][0xd6] = C(sse_movq_store, 8, 0), [PF3][0xd6] = C(sse_movq2dq, 0, SOP_REG),
	[PF2][0xd6] = C(sse_movdq2q, 0, SOP_REG),
	[NP][0xd7] = C(sse_pmovmskb, 0, SOP_MMX | SOP_REG), [P66][0xd7] = C(sse_pmovmskb, 0, SOP_REG),
	BOTH(0xd8, psubusb), BOTH(0xd9, psubusw), BOTH(0xda, pminub), BOTH(0xdb, pand),
	BOTH(0xdc, paddusb), BOTH(0xdd, paddusw), BOTH(0xde, pmaxub), BOTH(0xdf, pandn),
	BOTH(0xe0, pavgb), BOTH(0xe1, psraw), BOTH(0xe2, psrad), BOTH(0xe3, pavgw),
	BOTH(0xe4, pmulhuw), BOTH(0xe5, pmulhw),
	[P66][0xe6] = X(cvttpd2dq, 16, FP), [PF3][0xe6] = X(cvtdq2pd, 8, FP),
	[PF2][0xe6] = X(cvtpd2dq, 16, FP),
	[NP][0xe7] = C(mmx_movq_store, 8, SOP_MMX | SOP_MEM),
	[P66][0xe7] = C(sse_movups_st, 16, SOP_MEM),
	BOTH(0xe8, psubsb), BOTH(0xe9, psubsw), BOTH(0xea, pminsw), BOTH(0xeb, por),
	BOTH(0xec, paddsb), BOTH(0xed, paddsw), BOTH(0xee, pmaxsw), BOTH(0xef, pxor),
	[PF2][0xf0] = C(sse_movups, 16, SOP_UNAL | SOP_MEM),
	BOTH(0xf1, psllw), BOTH(0xf2, pslld), BOTH(0xf3, psllq), BOTH(0xf4, pmuludq),
	BOTH(0xf5, pmaddwd), BOTH(0xf6, psadbw),
	[NP][0xf7] = C(sse_maskmov, 8, SOP_MMX | SOP_REG), [P66][0xf7] = C(sse_maskmov, 16, SOP_REG),
	BOTH(0xf8, psubb), BOTH(0xf9, psubw), BOTH(0xfa, psubd), BOTH(0xfb, psubq),
	BOTH(0xfc, paddb), BOTH(0xfd, paddw), BOTH(0xfe, paddd),
};

const struct simd_op simd_tab_0f38[4][256] = {
	/* SSSE3 */
	BOTH(0x00, pshufb), BOTH(0x01, phaddw), BOTH(0x02, phaddd), BOTH(0x03, phaddsw),
	BOTH(0x04, pmaddubsw), BOTH(0x05, phsubw), BOTH(0x06, phsubd), BOTH(0x07, phsubsw),
	BOTH(0x08, psignb), BOTH(0x09, psignw), BOTH(0x0a, psignd), BOTH(0x0b, pmulhrsw),
	BOTH(0x1c, pabsb), BOTH(0x1d, pabsw), BOTH(0x1e, pabsd),
	/* SSE4.1 */
	[P66][0x10] = X(pblendvb, 16, 0), [P66][0x14] = X(blendvps, 16, 0),
	[P66][0x15] = X(blendvpd, 16, 0), [P66][0x17] = X(ptest, 16, SOP_EFL | SOP_NODST),
	[P66][0x20] = X(pmovsxbw, 8, 0), [P66][0x21] = X(pmovsxbd, 4, 0),
	[P66][0x22] = X(pmovsxbq, 2, 0), [P66][0x23] = X(pmovsxwd, 8, 0),
	[P66][0x24] = X(pmovsxwq, 4, 0), [P66][0x25] = X(pmovsxdq, 8, 0),
	[P66][0x28] = X(pmuldq, 16, 0), [P66][0x29] = X(pcmpeqq, 16, 0),
	[P66][0x2a] = C(sse_movups, 16, SOP_MEM), [P66][0x2b] = X(packusdw, 16, 0),
	[P66][0x30] = X(pmovzxbw, 8, 0), [P66][0x31] = X(pmovzxbd, 4, 0),
	[P66][0x32] = X(pmovzxbq, 2, 0), [P66][0x33] = X(pmovzxwd, 8, 0),
	[P66][0x34] = X(pmovzxwq, 4, 0), [P66][0x35] = X(pmovzxdq, 8, 0),
	[P66][0x37] = X(pcmpgtq, 16, 0),
	[P66][0x38] = X(pminsb, 16, 0), [P66][0x39] = X(pminsd, 16, 0),
	[P66][0x3a] = X(pminuw, 16, 0), [P66][0x3b] = X(pminud, 16, 0),
	[P66][0x3c] = X(pmaxsb, 16, 0), [P66][0x3d] = X(pmaxsd, 16, 0),
	[P66][0x3e] = X(pmaxuw, 16, 0), [P66][0x3f] = X(pmaxud, 16, 0),
	[P66][0x40] = X(pmulld, 16, 0), [P66][0x41] = X(phminposuw, 16, 0),
	/* AES-NI */
	[P66][0xdb] = X(aesimc, 16, 0), [P66][0xdc] = X(aesenc, 16, 0),
	[P66][0xdd] = X(aesenclast, 16, 0), [P66][0xde] = X(aesdec, 16, 0),
	[P66][0xdf] = X(aesdeclast, 16, 0),
};

const struct simd_op simd_tab_0f3a[4][256] = {
	[P66][0x08] = XI(roundps, 16, 15, FP), [P66][0x09] = XI(roundpd, 16, 15, FP),
	[P66][0x0a] = XI(roundss, 4, 15, FP), [P66][0x0b] = XI(roundsd, 8, 15, FP),
	[P66][0x0c] = C(sse_blendps, 16, 0), [P66][0x0d] = C(sse_blendpd, 16, 0),
	[P66][0x0e] = C(sse_pblendw, 16, 0),
	[NP][0x0f] = C(sse_palignr, 8, SOP_MMX), [P66][0x0f] = C(sse_palignr, 16, 0),
	[P66][0x14] = C(sse_pextr, 1, 0), [P66][0x15] = C(sse_pextr, 2, 0),
	[P66][0x16] = C(sse_pextr, 4, 0), [P66][0x17] = C(sse_pextr, 4, 0),
	[P66][0x20] = C(sse_pinsr, 1, 0), [P66][0x21] = C(sse_insertps, 4, 0),
	[P66][0x22] = C(sse_pinsr, 4, 0),
	[P66][0x40] = XI(dpps, 16, 0xff, FP), [P66][0x41] = XI(dppd, 16, 0xff, FP),
	[P66][0x42] = XI(mpsadbw, 16, 7, 0),
	[P66][0x44] = XI(pclmul00, 16, 0x11, 0),
	[P66][0x60] = XI(pcmpestrm, 16, 0xff, SOP_UNAL | SOP_EFL | SOP_NODST | SOP_X0 | SOP_LEN),
	[P66][0x61] = XI(pcmpestri, 16, 0xff, SOP_UNAL | SOP_EFL | SOP_NODST | SOP_ECX | SOP_LEN),
	[P66][0x62] = XI(pcmpistrm, 16, 0xff, SOP_UNAL | SOP_EFL | SOP_NODST | SOP_X0),
	[P66][0x63] = XI(pcmpistri, 16, 0xff, SOP_UNAL | SOP_EFL | SOP_NODST | SOP_ECX),
	[P66][0xdf] = XI(aeskeygen, 16, 0xff, 0),
};
