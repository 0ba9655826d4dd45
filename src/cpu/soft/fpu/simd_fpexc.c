/* Exact SIMD floating-point exception reporting when an exception is unmasked:
 * the flags a CPU sets before #XM, derived from the masked host run plus
 * per-element and per-stage re-runs (Intel SDM Vol. 1 11.5.1-11.5.3).
 *
 * The host runs every instruction with all exceptions masked. That gives
 * the exact flags whenever nothing unmasked is raised. When something is,
 * the CPU reports differently:
 *  - An unmasked pre-computation exception (IE, DE, ZE) in any element stops
 *    the instruction before rounding: only IE/DE/ZE flags are set, those of
 *    every element (SDM Vol. 1 11.5.3, Vol. 3A 6.15 "#XM").
 *  - For an element with an unmasked overflow or underflow no masked result
 *    (infinity, denormal, zero) is made, so PE only says whether the result
 *    rounded to the destination precision with unbounded exponent range is
 *    inexact (SDM Vol. 1 4.9.1.4-4.9.1.6, 11.5.2.4-11.5.2.6); the masked run's
 *    PE describes the denormalised or overflowed result instead.
 *  - DPPS/DPPD determine exceptions "separately for each add and multiply
 *    operation, in the order of their execution" (SDM Vol. 2A DPPS, DPPD):
 *    the multiplies together, then the two pair sums together, then the
 *    final sum (DPPS). An unmasked exception in one stage ends the
 *    instruction: earlier stages' (masked) flags stay set, later stages set
 *    none. Measured on the host: intermediate results are subject to DAZ
 *    and FTZ like any operand and result, as the scalar re-runs here are. */
#include <string.h>

#include "cpu/soft/fpu/fpu.h"

#define MX_IE  0x01u
#define MX_DE  0x02u
#define MX_ZE  0x04u
#define MX_OE  0x08u
#define MX_UE  0x10u
#define MX_PE  0x20u
#define MX_PRE (MX_IE | MX_DE | MX_ZE)
#define MX_FTZ 0x8000u

enum fpexc_kind { FK_ADD, FK_SUB, FK_MUL, FK_DIV, FK_CVT };

/* One element operation: a op b in single or double precision; FK_CVT
 * rounds the double a to single. */
struct fpexc_lane {
	enum fpexc_kind kind;
	bool dbl;
	u64 a, b;
};

/* The result of one stage: masked results per lane and reported flags. */
struct fpexc_stage {
	u64 res[4];
	u32 flags;
	bool stop; /* an unmasked exception ends the instruction here */
};

/* A finite number as sign * m * 2^e with m odd (or m = 0). */
struct fpexc_num {
	bool neg;
	u64 m;
	int e;
};

static u64 elt(const u8 *x, bool dbl, unsigned i)
{
	u64 v = 0;

	memcpy(&v, x + (dbl ? 8 : 4) * i, dbl ? 8 : 4);
	return v;
}

/* False for infinities and NaNs. DAZ reads denormal operands as zero
 * (SDM Vol. 1 10.2.3.4). */
static bool fpexc_split(u64 v, bool dbl, bool daz, struct fpexc_num *n)
{
	unsigned fbits = dbl ? 52 : 23, ebits = dbl ? 11 : 8;
	unsigned bias = (1u << (ebits - 1)) - 1;
	u64 frac = v & ((1ull << fbits) - 1);
	unsigned exp = (unsigned)(v >> fbits) & ((1u << ebits) - 1);

	n->neg = (v >> (fbits + ebits)) & 1;
	if (exp == (1u << ebits) - 1)
		return false;
	if (exp == 0) {
		n->m = daz ? 0 : frac;
		n->e = 1 - (int)bias - (int)fbits;
	} else {
		n->m = frac | 1ull << fbits;
		n->e = (int)exp - (int)bias - (int)fbits;
	}
	if (n->m) {
		n->e += __builtin_ctzll(n->m);
		n->m >>= __builtin_ctzll(n->m);
	}
	return true;
}

/* Number of significant bits of v (with trailing zeros removed). */
static unsigned fpexc_span(unsigned __int128 v)
{
	u64 hi;

	if (!v)
		return 0;
	while (!(v & 1))
		v >>= 1;
	hi = (u64)(v >> 64);
	return hi ? 128u - (unsigned)__builtin_clzll(hi) : 64u - (unsigned)__builtin_clzll((u64)v);
}

/* Is the exact result of l representable with the destination's precision
 * and an unbounded exponent? Only meaningful for finite operands; the
 * rounding mode does not matter for exactness. */
static bool fpexc_exact(const struct fpexc_lane *l, bool daz)
{
	bool src_dbl = l->dbl || l->kind == FK_CVT;
	unsigned p = l->dbl ? 53 : 24;
	struct fpexc_num a, b;
	__int128 s;
	unsigned d;

	if (!fpexc_split(l->a, src_dbl, daz, &a) || a.m == 0)
		return true;
	if (l->kind == FK_CVT)
		return fpexc_span(a.m) <= p;
	if (!fpexc_split(l->b, src_dbl, daz, &b) || b.m == 0)
		return true;
	switch (l->kind) {
	case FK_MUL:
		return fpexc_span((unsigned __int128)a.m * b.m) <= p;
	case FK_DIV:
		/* a.m / b.m with both odd ends in binary only if b.m divides a.m. */
		return a.m % b.m == 0 && fpexc_span(a.m / b.m) <= p;
	default:
		break;
	}
	if (l->kind == FK_SUB)
		b.neg = !b.neg;
	if (a.e < b.e) {
		struct fpexc_num t = a;
		a = b;
		b = t;
	}
	/* a + b = 2^b.e * (a.m * 2^d +- b.m): for d > p that integer is odd
	 * (b.m is, a.m * 2^d is even) and above 2^(d-1), so it needs d > p
	 * significant bits; otherwise it fits 128 bits and is counted. */
	d = (unsigned)(a.e - b.e);
	if (d > p)
		return false;
	s = (__int128)((unsigned __int128)a.m << d) * (a.neg ? -1 : 1) +
	    (__int128)b.m * (b.neg ? -1 : 1);
	return fpexc_span((unsigned __int128)(s < 0 ? -s : s)) <= p;
}

/* The scalar stub computing one lane. */
static enum simd_stub fpexc_lane_stub(const struct fpexc_lane *l)
{
	static const enum simd_stub stubs[4][2] = {
	    {SS_S_addss, SS_S_addsd},
	    {SS_S_subss, SS_S_subsd},
	    {SS_S_mulss, SS_S_mulsd},
	    {SS_S_divss, SS_S_divsd},
	};

	return l->kind == FK_CVT ? SS_S_cvtsd2ss : stubs[l->kind][l->dbl];
}

/* Runs one lane under the guest's MXCSR with everything masked and returns
 * the flags the CPU sets for it: with UM clear tininess alone is underflow
 * (found by an FTZ run, as in simd.c), and PE follows the rounding at
 * unbounded exponent range when an unmasked OE/UE stops the lane. */
static u32 fpexc_lane_run(const struct soft_cpu *cpu, const struct fpexc_lane *l, u64 *res)
{
	u32 masks = (cpu->fx.mxcsr >> 7) & 0x3f;
	unsigned w = l->dbl ? 8 : 4;
	struct simd_host h, again;
	u32 flags;

	memset(&h, 0, sizeof(h));
	if (l->kind == FK_CVT) {
		memcpy(h.x2, &l->a, 8);
	} else {
		memcpy(h.x1, &l->a, w);
		memcpy(h.x2, &l->b, w);
	}
	h.mxcsr = simd_host_mxcsr(cpu);
	again = h;
	simd_host_run(&h, fpexc_lane_stub(l), SIMD_RUN_FP);
	flags = h.mxcsr & 0x3f;
	*res = 0;
	memcpy(res, h.x1, w);
	if (!(masks & MX_UE)) {
		again.mxcsr |= MX_FTZ;
		simd_host_run(&again, fpexc_lane_stub(l), SIMD_RUN_FP);
		flags |= again.mxcsr & MX_UE;
	}
	if (flags & (MX_OE | MX_UE) & ~masks) {
		flags &= ~MX_PE;
		if (!fpexc_exact(l, cpu->fx.mxcsr & 0x40))
			flags |= MX_PE;
	}
	return flags;
}

/* Runs lanes that execute in parallel: flags of every lane are merged, and
 * an unmasked pre-computation exception hides all post-computation flags. */
static void fpexc_stage_run(const struct soft_cpu *cpu, const struct fpexc_lane *l, unsigned n,
			    struct fpexc_stage *st)
{
	u32 masks = (cpu->fx.mxcsr >> 7) & 0x3f;
	u32 all = 0;

	for (unsigned i = 0; i < n; i++)
		all |= fpexc_lane_run(cpu, &l[i], &st->res[i]);
	st->stop = (all & ~masks) != 0;
	st->flags = (all & ~masks & MX_PRE) ? all & MX_PRE : all;
}

/* DPPS/DPPD (SDM Vol. 2A): products of the lanes imm8[7:4] selects (others
 * are +0.0 without a multiply), then pairwise sums. */
static u32 fpexc_dp(const struct soft_cpu *cpu, const struct simd_host *in, bool dbl, unsigned imm)
{
	unsigned n = dbl ? 2 : 4, k = 0;
	struct fpexc_lane l[4];
	struct fpexc_stage st;
	u64 prod[4] = {0, 0, 0, 0};
	u32 flags;

	for (unsigned i = 0; i < n; i++) {
		if (imm & (0x10u << i))
			l[k++] = (struct fpexc_lane){FK_MUL, dbl, elt(in->x1, dbl, i),
						     elt(in->x2, dbl, i)};
	}
	fpexc_stage_run(cpu, l, k, &st);
	if (st.stop)
		return st.flags;
	flags = st.flags;
	k = 0;
	for (unsigned i = 0; i < n; i++) {
		if (imm & (0x10u << i))
			prod[i] = st.res[k++];
	}
	l[0] = (struct fpexc_lane){FK_ADD, dbl, prod[0], prod[1]};
	l[1] = (struct fpexc_lane){FK_ADD, dbl, prod[2], prod[3]};
	fpexc_stage_run(cpu, l, dbl ? 1 : 2, &st);
	flags |= st.flags;
	if (st.stop || dbl)
		return flags;
	l[0] = (struct fpexc_lane){FK_ADD, false, st.res[0], st.res[1]};
	fpexc_stage_run(cpu, l, 1, &st);
	return flags | st.flags;
}

/* Element operations of the instructions that can overflow or underflow
 * (the list of SDM Vol. 1 11.5.2.4/11.5.2.5); 0 for any other stub. */
static unsigned fpexc_lanes(enum simd_stub stub, const struct simd_host *in, struct fpexc_lane *l)
{
	static const struct {
		s16 stub;
		u8 kind, dbl, n, shape; /* shape: 0 vertical, 1 horizontal, 2 add/sub */
	} ops[] = {
	    {SS_S_addps, FK_ADD, 0, 4, 0},    {SS_S_addpd, FK_ADD, 1, 2, 0},
	    {SS_S_addss, FK_ADD, 0, 1, 0},    {SS_S_addsd, FK_ADD, 1, 1, 0},
	    {SS_S_subps, FK_SUB, 0, 4, 0},    {SS_S_subpd, FK_SUB, 1, 2, 0},
	    {SS_S_subss, FK_SUB, 0, 1, 0},    {SS_S_subsd, FK_SUB, 1, 1, 0},
	    {SS_S_mulps, FK_MUL, 0, 4, 0},    {SS_S_mulpd, FK_MUL, 1, 2, 0},
	    {SS_S_mulss, FK_MUL, 0, 1, 0},    {SS_S_mulsd, FK_MUL, 1, 1, 0},
	    {SS_S_divps, FK_DIV, 0, 4, 0},    {SS_S_divpd, FK_DIV, 1, 2, 0},
	    {SS_S_divss, FK_DIV, 0, 1, 0},    {SS_S_divsd, FK_DIV, 1, 1, 0},
	    {SS_S_cvtsd2ss, FK_CVT, 0, 1, 0}, {SS_S_cvtpd2ps, FK_CVT, 0, 2, 0},
	    {SS_S_haddps, FK_ADD, 0, 4, 1},   {SS_S_haddpd, FK_ADD, 1, 2, 1},
	    {SS_S_hsubps, FK_SUB, 0, 4, 1},   {SS_S_hsubpd, FK_SUB, 1, 2, 1},
	    {SS_S_addsubps, FK_ADD, 0, 4, 2}, {SS_S_addsubpd, FK_ADD, 1, 2, 2},
	};

	for (unsigned k = 0; k < ARRAY_SIZE(ops); k++) {
		bool dbl = ops[k].dbl;
		unsigned n = ops[k].n, half = n / 2;

		if (ops[k].stub != (s16)stub)
			continue;
		for (unsigned i = 0; i < n; i++) {
			l[i].kind = (enum fpexc_kind)ops[k].kind;
			l[i].dbl = dbl;
			if (ops[k].kind == FK_CVT) {
				l[i].a = elt(in->x2, true, i);
				l[i].b = 0;
			} else if (ops[k].shape == 1) {
				/* HADDPS: x1[0]+x1[1], x1[2]+x1[3], x2[0]+x2[1], ... */
				const u8 *x = i < half ? in->x1 : in->x2;
				l[i].a = elt(x, dbl, 2 * (i % half));
				l[i].b = elt(x, dbl, 2 * (i % half) + 1);
			} else {
				l[i].a = elt(in->x1, dbl, i);
				l[i].b = elt(in->x2, dbl, i);
				if (ops[k].shape == 2 && !(i & 1))
					l[i].kind = FK_SUB; /* ADDSUBPx: even lanes subtract */
			}
		}
		return n;
	}
	return 0;
}

u32 simd_fpexc_flags(const struct soft_cpu *cpu, enum simd_stub stub, const struct simd_host *in,
		     u32 flags)
{
	u32 masks = (cpu->fx.mxcsr >> 7) & 0x3f;
	struct fpexc_lane l[4];
	struct fpexc_stage st;
	unsigned n;

	flags &= 0x3f;
	if (stub >= SS_S_dpps && stub <= SS_S_dpps_last)
		return fpexc_dp(cpu, in, false, (unsigned)(stub - SS_S_dpps));
	if (stub >= SS_S_dppd && stub <= SS_S_dppd_last)
		return fpexc_dp(cpu, in, true, (unsigned)(stub - SS_S_dppd));
	if (flags & ~masks & MX_PRE)
		return flags & MX_PRE;
	n = fpexc_lanes(stub, in, l);
	if (!n || !(flags & (MX_OE | MX_UE) & ~masks))
		return flags;
	fpexc_stage_run(cpu, l, n, &st);
	return st.flags;
}
