/* Oracle forms: SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2 (and AES/PCLMULQDQ
 * when advertised) on XMM registers and memory, compared through FXSAVE
 * images (Intel SDM Vol. 2; MXCSR per Vol. 1 10.2.3). */
#include <stdio.h>
#include <string.h>

#include "oracle/oracle.h"

#define FX_MXCSR 24
#define FX_XMM   160

struct sse_def {
	const char *name;
	u8 pfx, map, op; /* map: 1 = 0F, 2 = 0F38, 3 = 0F3A */
	s8 digit;
	u8 rm, msize, imm, size, kind;
	enum oracle_feature feat;
};

static u32 f32_value(struct oracle_rng *r)
{
	static const u32 special[] = {
	    0,          0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0x3fc00000, 0x40200000,
	    0xc0200000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000,
	    0x00000001, 0x007fffff, 0x80000001, 0x7f7fffff, 0x00800000, 0x4f000000, 0xcf000000,
	    0x4effffff, 0xcf000001, 0x5f000000, 0xdf000000, 0x3effffff, 0x4b000001,
	};
	u32 v = (u32)rng_next(r);

	switch (rng_below(r, 4)) {
	case 0:
		return special[rng_below(r, ARRAY_SIZE(special))];
	case 1: /* a normal number of moderate exponent */
		return (v & 0x807fffff) | (u32)(127 - 40 + rng_below(r, 80)) << 23;
	case 2: { /* a small integer or half-integer (rounding ties) */
		float x = (float)((int)rng_below(r, 129) - 64) / 2.0f;
		memcpy(&v, &x, 4);
		return v;
	}
	default:
		return v;
	}
}

static u64 f64_value(struct oracle_rng *r)
{
	static const u64 special[] = {
	    0,
	    0x8000000000000000ULL,
	    0x3ff0000000000000ULL,
	    0xbff0000000000000ULL,
	    0x3fe0000000000000ULL,
	    0x3ff8000000000000ULL,
	    0x4004000000000000ULL,
	    0x7ff0000000000000ULL,
	    0xfff0000000000000ULL,
	    0x7ff8000000000000ULL,
	    0x7ff0000000000001ULL,
	    0xfff4000000000000ULL,
	    1,
	    0x000fffffffffffffULL,
	    0x7fefffffffffffffULL,
	    0x0010000000000000ULL,
	    0x41e0000000000000ULL,
	    0xc1e0000000000000ULL,
	    0x41dfffffffc00000ULL,
	    0xc1e0000000200000ULL,
	    0x43e0000000000000ULL,
	    0xc3e0000000000000ULL,
	    0x47efffffe0000000ULL,
	    0x36a0000000000000ULL,
	};
	u64 v = rng_next(r);

	switch (rng_below(r, 3)) {
	case 0:
		return special[rng_below(r, ARRAY_SIZE(special))];
	case 1:
		return (v & 0x800fffffffffffffULL) | (u64)(1023 - 60 + rng_below(r, 120)) << 52;
	default:
		return v;
	}
}

static void fill_xmm(struct oracle_rng *r, u8 *x)
{
	u64 w[2];

	switch (rng_below(r, 5)) {
	case 0:
		for (unsigned i = 0; i < 4; i++) {
			u32 f = f32_value(r);
			memcpy(x + 4 * i, &f, 4);
		}
		return;
	case 1:
		w[0] = f64_value(r);
		w[1] = f64_value(r);
		break;
	case 2: /* small or edge integers in every element size */
		for (unsigned i = 0; i < 16; i++)
			x[i] = (u8)(rng_chance(r, 50) ? rng_below(r, 5) - 2 : rng_value(r));
		return;
	case 3:
		w[0] = rng_value(r);
		w[1] = rng_value(r);
		break;
	default:
		w[0] = rng_next(r);
		w[1] = rng_next(r);
		break;
	}
	memcpy(x, w, 16);
}

/* FXSAVE image: default x87 state, random XMM0-15 and MXCSR (rounding,
 * DAZ/FTZ, sticky flags; exceptions sometimes unmasked). */
static void fill_fx(struct oracle_rng *r, struct oracle_case *c)
{
	u32 mxcsr = 0x1f80;
	u16 fcw = 0x37f;

	memset(c->in.fx, 0, sizeof(c->in.fx));
	memcpy(c->in.fx, &fcw, 2);
	mxcsr |= rng_below(r, 4) << 13;
	if (rng_chance(r, 10))
		mxcsr |= 1U << 6; /* DAZ */
	if (rng_chance(r, 10))
		mxcsr |= 1U << 15; /* FTZ */
	if (rng_chance(r, 20))
		mxcsr |= rng_below(r, 64);
	if (rng_chance(r, 5))
		mxcsr &= ~(1U << (7 + rng_below(r, 6)));
	memcpy(c->in.fx + FX_MXCSR, &mxcsr, 4);
	for (unsigned i = 0; i < 16; i++)
		fill_xmm(r, c->in.fx + FX_XMM + 16 * i);
}

/* MMX state: random MM0-7 (some with the x87 exponent MMX writes), tags
 * and TOS as x87 code might leave them. */
static void fill_mmx(struct oracle_rng *r, struct oracle_case *c)
{
	u16 fsw = (u16)(rng_chance(r, 70) ? 0 : rng_below(r, 8) << 11);
	u16 exp = 0xffff;

	memcpy(c->in.fx + 2, &fsw, 2);
	c->in.fx[4] = (u8)(rng_chance(r, 50) ? 0 : rng_next(r));
	for (unsigned i = 0; i < 8; i++) {
		u8 *st = c->in.fx + 32 + 16 * i;
		fill_xmm(r, st);
		memset(st + 8, 0, 8);
		if (rng_chance(r, 80))
			memcpy(st + 8, &exp, 2);
	}
}

void gen_sse(const struct oracle_form *f, struct oracle_rng *r, u64 base, struct oracle_case *c)
{
	unsigned reg = f->digit >= 0 ? (unsigned)f->digit : rng_below(r, 16);
	struct gen_info gi;
	struct enc e;

	gen_base_state(r, base, c);
	fill_fx(r, c);
	c->sse = true;
	c->mmx = f->arg == 1;
	if (c->mmx)
		fill_mmx(r, c);
	memset(&e, 0, sizeof(e));
	if (f->kind == K_PLAIN) { /* EMMS */
		memcpy(e.opc, f->opc, f->nopc);
		e.nopc = f->nopc;
		gen_finish(c, &e, base, NULL);
		return;
	}
	if (rng_chance(r, 4))
		e.pfx[e.npfx++] = 0x3e;
	gen_modrm(r, base, c, &e, f->size, f->rm, reg,
		  f->kind == K_STR ? 1U << R_AX | 1U << R_DX : 0, f->mem_size, &gi);
	if (f->pfx)
		e.pfx[e.npfx++] = f->pfx;
	/* Memory operands see the same kinds of values as registers. */
	if (gi.mem && gen_mem_ok(base, gi.ea, 16) && rng_chance(r, 75))
		fill_xmm(r, c->mem + (gi.ea - base - OR_MEM));
	memcpy(e.opc, f->opc, f->nopc);
	e.nopc = f->nopc;
	if (f->imm) {
		e.imm_size = 1;
		e.imm = rng_next(r) & 0xff;
		if (f->kind == K_CMP)
			e.imm &= 7;
		else if (f->kind == K_ROUND)
			e.imm &= 0xf;
		else if (f->kind == K_STR || f->kind == K_IMM7)
			e.imm &= 0x7f;
	}
	if (f->kind == K_STR && rng_chance(r, 70)) {
		/* PCMPESTR*: explicit lengths in EAX/EDX, mostly within 16. */
		c->in.gpr[R_AX] = (u64)(s64)((int)rng_below(r, 40) - 20);
		c->in.gpr[R_DX] = (u64)(s64)((int)rng_below(r, 40) - 20);
	}
	if (f->kind == K_TOL)
		c->xmm_tolerance = 1U << reg;
	c->flags_strict = FL_ARITH;
	gen_finish(c, &e, base, &gi);
}

#define PS(n, op)                                                                                  \
	{                                                                                          \
		n "ps", 0, 1, op, -1, RM_ANY, 16, 0, 4, K_NONE, FEAT_SSE                           \
	}
#define SS(n, op)                                                                                  \
	{                                                                                          \
		n "ss", 0xf3, 1, op, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_SSE                         \
	}
#define PD(n, op)                                                                                  \
	{                                                                                          \
		n "pd", 0x66, 1, op, -1, RM_ANY, 16, 0, 4, K_NONE, FEAT_SSE2                       \
	}
#define SD(n, op)                                                                                  \
	{                                                                                          \
		n "sd", 0xf2, 1, op, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_SSE2                        \
	}
#define X4(n, op) PS(n, op), SS(n, op), PD(n, op), SD(n, op)
/* 66 0F xx integer SSE2 on xmm, xmm/m128. */
#define I2(n, op)                                                                                  \
	{                                                                                          \
		n, 0x66, 1, op, -1, RM_ANY, 16, 0, 4, K_NONE, FEAT_SSE2                            \
	}
#define I38(n, op, f)                                                                              \
	{                                                                                          \
		n, 0x66, 2, op, -1, RM_ANY, 16, 0, 4, K_NONE, f                                    \
	}
#define I3A(n, op, f)                                                                              \
	{                                                                                          \
		n, 0x66, 3, op, -1, RM_ANY, 16, 1, 4, K_NONE, f                                    \
	}
#define M(n, p, op, ms, f)                                                                         \
	{                                                                                          \
		n, p, 1, op, -1, RM_ANY, ms, 0, 4, K_NONE, f                                       \
	}

static const struct sse_def sse_defs[] = {
    X4("add", 0x58),
    X4("mul", 0x59),
    X4("sub", 0x5c),
    X4("min", 0x5d),
    X4("div", 0x5e),
    X4("max", 0x5f),
    X4("sqrt", 0x51),
    {"rsqrtps", 0, 1, 0x52, -1, RM_ANY, 16, 0, 4, K_TOL, FEAT_SSE},
    {"rsqrtss", 0xf3, 1, 0x52, -1, RM_ANY, 4, 0, 4, K_TOL, FEAT_SSE},
    {"rcpps", 0, 1, 0x53, -1, RM_ANY, 16, 0, 4, K_TOL, FEAT_SSE},
    {"rcpss", 0xf3, 1, 0x53, -1, RM_ANY, 4, 0, 4, K_TOL, FEAT_SSE},
    PS("and", 0x54),
    PD("and", 0x54),
    PS("andn", 0x55),
    PD("andn", 0x55),
    PS("or", 0x56),
    PD("or", 0x56),
    PS("xor", 0x57),
    PD("xor", 0x57),
    PS("unpckl", 0x14),
    PD("unpckl", 0x14),
    PS("unpckh", 0x15),
    PD("unpckh", 0x15),
    {"cmpps", 0, 1, 0xc2, -1, RM_ANY, 16, 1, 4, K_CMP, FEAT_SSE},
    {"cmpss", 0xf3, 1, 0xc2, -1, RM_ANY, 4, 1, 4, K_CMP, FEAT_SSE},
    {"cmppd", 0x66, 1, 0xc2, -1, RM_ANY, 16, 1, 4, K_CMP, FEAT_SSE2},
    {"cmpsd", 0xf2, 1, 0xc2, -1, RM_ANY, 8, 1, 4, K_CMP, FEAT_SSE2},
    {"shufps", 0, 1, 0xc6, -1, RM_ANY, 16, 1, 4, K_NONE, FEAT_SSE},
    {"shufpd", 0x66, 1, 0xc6, -1, RM_ANY, 16, 1, 4, K_NONE, FEAT_SSE2},
    M("ucomiss", 0, 0x2e, 4, FEAT_SSE),
    M("comiss", 0, 0x2f, 4, FEAT_SSE),
    M("ucomisd", 0x66, 0x2e, 8, FEAT_SSE2),
    M("comisd", 0x66, 0x2f, 8, FEAT_SSE2),
    M("movups load", 0, 0x10, 16, FEAT_SSE),
    M("movups store", 0, 0x11, 16, FEAT_SSE),
    M("movaps load", 0, 0x28, 16, FEAT_SSE),
    M("movaps store", 0, 0x29, 16, FEAT_SSE),
    M("movupd load", 0x66, 0x10, 16, FEAT_SSE2),
    M("movapd store", 0x66, 0x29, 16, FEAT_SSE2),
    M("movss load", 0xf3, 0x10, 4, FEAT_SSE),
    M("movss store", 0xf3, 0x11, 4, FEAT_SSE),
    M("movsd load", 0xf2, 0x10, 8, FEAT_SSE2),
    M("movsd store", 0xf2, 0x11, 8, FEAT_SSE2),
    M("movlps/movhlps", 0, 0x12, 8, FEAT_SSE),
    M("movhps/movlhps", 0, 0x16, 8, FEAT_SSE),
    {"movlps store", 0, 1, 0x13, -1, RM_MEM, 8, 0, 4, K_NONE, FEAT_SSE},
    {"movhps store", 0, 1, 0x17, -1, RM_MEM, 8, 0, 4, K_NONE, FEAT_SSE},
    {"movlpd load", 0x66, 1, 0x12, -1, RM_MEM, 8, 0, 4, K_NONE, FEAT_SSE2},
    {"movhpd load", 0x66, 1, 0x16, -1, RM_MEM, 8, 0, 4, K_NONE, FEAT_SSE2},
    {"movmskps", 0, 1, 0x50, -1, RM_REG, 16, 0, 4, K_NONE, FEAT_SSE},
    {"movmskpd", 0x66, 1, 0x50, -1, RM_REG, 16, 0, 4, K_NONE, FEAT_SSE2},
    {"cvtsi2ss r32", 0xf3, 1, 0x2a, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_SSE},
    {"cvtsi2ss r64", 0xf3, 1, 0x2a, -1, RM_ANY, 8, 0, 8, K_NONE, FEAT_SSE},
    {"cvtsi2sd r32", 0xf2, 1, 0x2a, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_SSE2},
    {"cvtsi2sd r64", 0xf2, 1, 0x2a, -1, RM_ANY, 8, 0, 8, K_NONE, FEAT_SSE2},
    {"cvttss2si r32", 0xf3, 1, 0x2c, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_SSE},
    {"cvttss2si r64", 0xf3, 1, 0x2c, -1, RM_ANY, 4, 0, 8, K_NONE, FEAT_SSE},
    {"cvtss2si r32", 0xf3, 1, 0x2d, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_SSE},
    {"cvtss2si r64", 0xf3, 1, 0x2d, -1, RM_ANY, 4, 0, 8, K_NONE, FEAT_SSE},
    {"cvttsd2si r32", 0xf2, 1, 0x2c, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_SSE2},
    {"cvttsd2si r64", 0xf2, 1, 0x2c, -1, RM_ANY, 8, 0, 8, K_NONE, FEAT_SSE2},
    {"cvtsd2si r32", 0xf2, 1, 0x2d, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_SSE2},
    {"cvtsd2si r64", 0xf2, 1, 0x2d, -1, RM_ANY, 8, 0, 8, K_NONE, FEAT_SSE2},
    M("cvtps2pd", 0, 0x5a, 8, FEAT_SSE2),
    M("cvtpd2ps", 0x66, 0x5a, 16, FEAT_SSE2),
    M("cvtss2sd", 0xf3, 0x5a, 4, FEAT_SSE2),
    M("cvtsd2ss", 0xf2, 0x5a, 8, FEAT_SSE2),
    M("cvtdq2ps", 0, 0x5b, 16, FEAT_SSE2),
    M("cvtps2dq", 0x66, 0x5b, 16, FEAT_SSE2),
    M("cvttps2dq", 0xf3, 0x5b, 16, FEAT_SSE2),
    M("cvtdq2pd", 0xf3, 0xe6, 8, FEAT_SSE2),
    M("cvtpd2dq", 0xf2, 0xe6, 16, FEAT_SSE2),
    M("cvttpd2dq", 0x66, 0xe6, 16, FEAT_SSE2),
    I2("punpcklbw", 0x60),
    I2("punpcklwd", 0x61),
    I2("punpckldq", 0x62),
    I2("packsswb", 0x63),
    I2("pcmpgtb", 0x64),
    I2("pcmpgtw", 0x65),
    I2("pcmpgtd", 0x66),
    I2("packuswb", 0x67),
    I2("punpckhbw", 0x68),
    I2("punpckhwd", 0x69),
    I2("punpckhdq", 0x6a),
    I2("packssdw", 0x6b),
    I2("punpcklqdq", 0x6c),
    I2("punpckhqdq", 0x6d),
    I2("movdqa load", 0x6f),
    I2("pcmpeqb", 0x74),
    I2("pcmpeqw", 0x75),
    I2("pcmpeqd", 0x76),
    I2("psrlw", 0xd1),
    I2("psrld", 0xd2),
    I2("psrlq", 0xd3),
    I2("paddq", 0xd4),
    I2("pmullw", 0xd5),
    I2("psubusb", 0xd8),
    I2("psubusw", 0xd9),
    I2("pminub", 0xda),
    I2("pand", 0xdb),
    I2("paddusb", 0xdc),
    I2("paddusw", 0xdd),
    I2("pmaxub", 0xde),
    I2("pandn", 0xdf),
    I2("pavgb", 0xe0),
    I2("psraw", 0xe1),
    I2("psrad", 0xe2),
    I2("pavgw", 0xe3),
    I2("pmulhuw", 0xe4),
    I2("pmulhw", 0xe5),
    I2("psubsb", 0xe8),
    I2("psubsw", 0xe9),
    I2("pminsw", 0xea),
    I2("por", 0xeb),
    I2("paddsb", 0xec),
    I2("paddsw", 0xed),
    I2("pmaxsw", 0xee),
    I2("pxor", 0xef),
    I2("psllw", 0xf1),
    I2("pslld", 0xf2),
    I2("psllq", 0xf3),
    I2("pmuludq", 0xf4),
    I2("pmaddwd", 0xf5),
    I2("psadbw", 0xf6),
    I2("psubb", 0xf8),
    I2("psubw", 0xf9),
    I2("psubd", 0xfa),
    I2("psubq", 0xfb),
    I2("paddb", 0xfc),
    I2("paddw", 0xfd),
    I2("paddd", 0xfe),
    I2("movdqa store", 0x7f),
    M("movdqu load", 0xf3, 0x6f, 16, FEAT_SSE2),
    M("movdqu store", 0xf3, 0x7f, 16, FEAT_SSE2),
    M("movq xmm,xmm/m64", 0xf3, 0x7e, 8, FEAT_SSE2),
    M("movq xmm/m64,xmm", 0x66, 0xd6, 8, FEAT_SSE2),
    {"movd xmm,rm32", 0x66, 1, 0x6e, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_SSE2},
    {"movq xmm,rm64", 0x66, 1, 0x6e, -1, RM_ANY, 8, 0, 8, K_NONE, FEAT_SSE2},
    {"movd rm32,xmm", 0x66, 1, 0x7e, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_SSE2},
    {"movq rm64,xmm", 0x66, 1, 0x7e, -1, RM_ANY, 8, 0, 8, K_NONE, FEAT_SSE2},
    {"pshufd", 0x66, 1, 0x70, -1, RM_ANY, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"pshufhw", 0xf3, 1, 0x70, -1, RM_ANY, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"pshuflw", 0xf2, 1, 0x70, -1, RM_ANY, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"psrlw imm", 0x66, 1, 0x71, 2, RM_REG, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"psraw imm", 0x66, 1, 0x71, 4, RM_REG, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"psllw imm", 0x66, 1, 0x71, 6, RM_REG, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"psrld imm", 0x66, 1, 0x72, 2, RM_REG, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"psrad imm", 0x66, 1, 0x72, 4, RM_REG, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"pslld imm", 0x66, 1, 0x72, 6, RM_REG, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"psrlq imm", 0x66, 1, 0x73, 2, RM_REG, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"psrldq imm", 0x66, 1, 0x73, 3, RM_REG, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"psllq imm", 0x66, 1, 0x73, 6, RM_REG, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"pslldq imm", 0x66, 1, 0x73, 7, RM_REG, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"pinsrw", 0x66, 1, 0xc4, -1, RM_ANY, 2, 1, 4, K_NONE, FEAT_SSE2},
    {"pextrw r32,xmm", 0x66, 1, 0xc5, -1, RM_REG, 16, 1, 4, K_NONE, FEAT_SSE2},
    {"pmovmskb", 0x66, 1, 0xd7, -1, RM_REG, 16, 0, 4, K_NONE, FEAT_SSE2},
    M("addsubps", 0xf2, 0xd0, 16, FEAT_SSE3),
    M("addsubpd", 0x66, 0xd0, 16, FEAT_SSE3),
    M("haddps", 0xf2, 0x7c, 16, FEAT_SSE3),
    M("haddpd", 0x66, 0x7c, 16, FEAT_SSE3),
    M("hsubps", 0xf2, 0x7d, 16, FEAT_SSE3),
    M("hsubpd", 0x66, 0x7d, 16, FEAT_SSE3),
    M("movsldup", 0xf3, 0x12, 16, FEAT_SSE3),
    M("movshdup", 0xf3, 0x16, 16, FEAT_SSE3),
    M("movddup", 0xf2, 0x12, 8, FEAT_SSE3),
    {"lddqu", 0xf2, 1, 0xf0, -1, RM_MEM, 16, 0, 4, K_NONE, FEAT_SSE3},
    I38("pshufb", 0x00, FEAT_SSSE3),
    I38("phaddw", 0x01, FEAT_SSSE3),
    I38("phaddd", 0x02, FEAT_SSSE3),
    I38("phaddsw", 0x03, FEAT_SSSE3),
    I38("pmaddubsw", 0x04, FEAT_SSSE3),
    I38("phsubw", 0x05, FEAT_SSSE3),
    I38("phsubd", 0x06, FEAT_SSSE3),
    I38("phsubsw", 0x07, FEAT_SSSE3),
    I38("psignb", 0x08, FEAT_SSSE3),
    I38("psignw", 0x09, FEAT_SSSE3),
    I38("psignd", 0x0a, FEAT_SSSE3),
    I38("pmulhrsw", 0x0b, FEAT_SSSE3),
    I38("pabsb", 0x1c, FEAT_SSSE3),
    I38("pabsw", 0x1d, FEAT_SSSE3),
    I38("pabsd", 0x1e, FEAT_SSSE3),
    I3A("palignr", 0x0f, FEAT_SSSE3),
    I38("pblendvb", 0x10, FEAT_SSE41),
    I38("blendvps", 0x14, FEAT_SSE41),
    I38("blendvpd", 0x15, FEAT_SSE41),
    I38("ptest", 0x17, FEAT_SSE41),
    {"pmovsxbw", 0x66, 2, 0x20, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_SSE41},
    {"pmovsxbd", 0x66, 2, 0x21, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_SSE41},
    {"pmovsxbq", 0x66, 2, 0x22, -1, RM_ANY, 2, 0, 4, K_NONE, FEAT_SSE41},
    {"pmovsxwd", 0x66, 2, 0x23, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_SSE41},
    {"pmovsxwq", 0x66, 2, 0x24, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_SSE41},
    {"pmovsxdq", 0x66, 2, 0x25, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_SSE41},
    {"pmovzxbw", 0x66, 2, 0x30, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_SSE41},
    {"pmovzxbd", 0x66, 2, 0x31, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_SSE41},
    {"pmovzxbq", 0x66, 2, 0x32, -1, RM_ANY, 2, 0, 4, K_NONE, FEAT_SSE41},
    {"pmovzxwd", 0x66, 2, 0x33, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_SSE41},
    {"pmovzxwq", 0x66, 2, 0x34, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_SSE41},
    {"pmovzxdq", 0x66, 2, 0x35, -1, RM_ANY, 8, 0, 4, K_NONE, FEAT_SSE41},
    I38("pmuldq", 0x28, FEAT_SSE41),
    I38("pcmpeqq", 0x29, FEAT_SSE41),
    {"movntdqa", 0x66, 2, 0x2a, -1, RM_MEM, 16, 0, 4, K_NONE, FEAT_SSE41},
    I38("packusdw", 0x2b, FEAT_SSE41),
    I38("pminsb", 0x38, FEAT_SSE41),
    I38("pminsd", 0x39, FEAT_SSE41),
    I38("pminuw", 0x3a, FEAT_SSE41),
    I38("pminud", 0x3b, FEAT_SSE41),
    I38("pmaxsb", 0x3c, FEAT_SSE41),
    I38("pmaxsd", 0x3d, FEAT_SSE41),
    I38("pmaxuw", 0x3e, FEAT_SSE41),
    I38("pmaxud", 0x3f, FEAT_SSE41),
    I38("pmulld", 0x40, FEAT_SSE41),
    I38("phminposuw", 0x41, FEAT_SSE41),
    I38("pcmpgtq", 0x37, FEAT_SSE42),
    {"roundps", 0x66, 3, 0x08, -1, RM_ANY, 16, 1, 4, K_ROUND, FEAT_SSE41},
    {"roundpd", 0x66, 3, 0x09, -1, RM_ANY, 16, 1, 4, K_ROUND, FEAT_SSE41},
    {"roundss", 0x66, 3, 0x0a, -1, RM_ANY, 4, 1, 4, K_ROUND, FEAT_SSE41},
    {"roundsd", 0x66, 3, 0x0b, -1, RM_ANY, 8, 1, 4, K_ROUND, FEAT_SSE41},
    I3A("blendps", 0x0c, FEAT_SSE41),
    I3A("blendpd", 0x0d, FEAT_SSE41),
    I3A("pblendw", 0x0e, FEAT_SSE41),
    {"pextrb", 0x66, 3, 0x14, -1, RM_ANY, 1, 1, 4, K_NONE, FEAT_SSE41},
    {"pextrw rm16", 0x66, 3, 0x15, -1, RM_ANY, 2, 1, 4, K_NONE, FEAT_SSE41},
    {"pextrd", 0x66, 3, 0x16, -1, RM_ANY, 4, 1, 4, K_NONE, FEAT_SSE41},
    {"pextrq", 0x66, 3, 0x16, -1, RM_ANY, 8, 1, 8, K_NONE, FEAT_SSE41},
    {"extractps", 0x66, 3, 0x17, -1, RM_ANY, 4, 1, 4, K_NONE, FEAT_SSE41},
    {"pinsrb", 0x66, 3, 0x20, -1, RM_ANY, 1, 1, 4, K_NONE, FEAT_SSE41},
    {"insertps", 0x66, 3, 0x21, -1, RM_ANY, 4, 1, 4, K_NONE, FEAT_SSE41},
    {"pinsrd", 0x66, 3, 0x22, -1, RM_ANY, 4, 1, 4, K_NONE, FEAT_SSE41},
    {"pinsrq", 0x66, 3, 0x22, -1, RM_ANY, 8, 1, 8, K_NONE, FEAT_SSE41},
    I3A("dpps", 0x40, FEAT_SSE41),
    I3A("dppd", 0x41, FEAT_SSE41),
    I3A("mpsadbw", 0x42, FEAT_SSE41),
    {"pcmpestrm", 0x66, 3, 0x60, -1, RM_ANY, 16, 1, 4, K_STR, FEAT_SSE42},
    {"pcmpestri", 0x66, 3, 0x61, -1, RM_ANY, 16, 1, 4, K_STR, FEAT_SSE42},
    {"pcmpistrm", 0x66, 3, 0x62, -1, RM_ANY, 16, 1, 4, K_IMM7, FEAT_SSE42},
    {"pcmpistri", 0x66, 3, 0x63, -1, RM_ANY, 16, 1, 4, K_IMM7, FEAT_SSE42},
    {"crc32 r32,rm8", 0xf2, 2, 0xf0, -1, RM_ANY, 1, 0, 4, K_NONE, FEAT_SSE42},
    {"crc32 r32,rm16", 0xf2, 2, 0xf1, -1, RM_ANY, 2, 0, 2, K_NONE, FEAT_SSE42},
    {"crc32 r32,rm32", 0xf2, 2, 0xf1, -1, RM_ANY, 4, 0, 4, K_NONE, FEAT_SSE42},
    {"crc32 r64,rm64", 0xf2, 2, 0xf1, -1, RM_ANY, 8, 0, 8, K_NONE, FEAT_SSE42},
    I3A("pclmulqdq", 0x44, FEAT_PCLMUL),
    I38("aesimc", 0xdb, FEAT_AES),
    I38("aesenc", 0xdc, FEAT_AES),
    I38("aesenclast", 0xdd, FEAT_AES),
    I38("aesdec", 0xde, FEAT_AES),
    I38("aesdeclast", 0xdf, FEAT_AES),
    I3A("aeskeygenassist", 0xdf, FEAT_AES),
};

void forms_sse_register(struct form_list *l)
{
	static const char *const maps[4] = {"", "0f", "0f 38", "0f 3a"};

	for (unsigned i = 0; i < ARRAY_SIZE(sse_defs); i++) {
		const struct sse_def *d = &sse_defs[i];
		struct oracle_form *f;
		char pfx[8] = "";

		if (d->pfx)
			snprintf(pfx, sizeof(pfx), "%02x ", d->pfx);
		f = form_add(l, gen_sse, "%s (%s%s%s %02x%s)", d->name, pfx,
			     d->size == 8 ? "rex.w " : "", maps[d->map], d->op,
			     d->digit >= 0 ? " /d" : "");
		f->pfx = d->pfx;
		f->opc[0] = 0x0f;
		f->nopc = 2;
		if (d->map == 1) {
			f->opc[1] = d->op;
		} else {
			f->opc[1] = d->map == 2 ? 0x38 : 0x3a;
			f->opc[2] = d->op;
			f->nopc = 3;
		}
		f->digit = d->digit, f->rm = d->rm, f->mem_size = d->msize, f->imm = d->imm;
		f->size = d->size, f->kind = d->kind, f->feature = d->feat;
		f->flags_def = FL_ARITH;
	}
}
