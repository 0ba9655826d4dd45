/* Immediate-controlled data rearrangement done in C: PSHUFD/HW/LW/W, SHUFPS/
 * PD, shifts by immediate (0F 71-73), PALIGNR, BLENDPS/PD, PBLENDW, PINSRx/
 * PEXTRx and INSERTPS/EXTRACTPS (Intel SDM Vol. 2 instruction pages). */
#include <string.h>

#include "cpu/soft/fpu/fpu.h"

static u16 ld16(const u8 *p)
{
	u16 v;

	memcpy(&v, p, 2);
	return v;
}

/* PSHUFD xmm, xmm/m128, imm8. */
void sse_pshufd(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 s[16], d[16];

	(void)op;
	simd_src_xmm(cpu, in, 16, false, s);
	for (unsigned i = 0; i < 4; i++)
		memcpy(d + 4 * i, s + 4 * ((in->imm >> (2 * i)) & 3), 4);
	memcpy(simd_xmm_reg(cpu, in->reg), d, 16);
}

/* Shuffles the four words at s + base by imm8 into d + base. */
static void shuf4w(u8 *d, const u8 *s, unsigned base, u64 imm)
{
	for (unsigned i = 0; i < 4; i++)
		memcpy(d + base + 2 * i, s + base + 2 * ((imm >> (2 * i)) & 3), 2);
}

void sse_pshufhw(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 s[16], d[16];

	(void)op;
	simd_src_xmm(cpu, in, 16, false, s);
	memcpy(d, s, 8);
	shuf4w(d, s, 8, in->imm);
	memcpy(simd_xmm_reg(cpu, in->reg), d, 16);
}

void sse_pshuflw(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 s[16], d[16];

	(void)op;
	simd_src_xmm(cpu, in, 16, false, s);
	memcpy(d + 8, s + 8, 8);
	shuf4w(d, s, 0, in->imm);
	memcpy(simd_xmm_reg(cpu, in->reg), d, 16);
}

/* PSHUFW mm, mm/m64, imm8. */
void mmx_pshufw(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u64 sv, dv;
	u8 s[8], d[8];

	(void)op;
	if (in->mem)
		sv = soft_read(cpu, in->seg, simd_ea(cpu, in, 0), 8);
	else
		sv = mmx_get(cpu, in->rm);
	memcpy(s, &sv, 8);
	shuf4w(d, s, 0, in->imm);
	memcpy(&dv, d, 8);
	mmx_enter(cpu);
	mmx_set(cpu, in->reg, dv);
}

void sse_shufps(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 s[16], d[16], *dst = simd_xmm_reg(cpu, in->reg);

	(void)op;
	simd_src_xmm(cpu, in, 16, false, s);
	memcpy(d, dst + 4 * (in->imm & 3), 4);
	memcpy(d + 4, dst + 4 * ((in->imm >> 2) & 3), 4);
	memcpy(d + 8, s + 4 * ((in->imm >> 4) & 3), 4);
	memcpy(d + 12, s + 4 * ((in->imm >> 6) & 3), 4);
	memcpy(dst, d, 16);
}

void sse_shufpd(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 s[16], d[16], *dst = simd_xmm_reg(cpu, in->reg);

	(void)op;
	simd_src_xmm(cpu, in, 16, false, s);
	memcpy(d, dst + 8 * (in->imm & 1), 8);
	memcpy(d + 8, s + 8 * ((in->imm >> 1) & 1), 8);
	memcpy(dst, d, 16);
}

/* 0F 71/72/73 /r ib: PSRLW/PSRAW/PSLLW, PSRLD/PSRAD/PSLLD, PSRLQ/PSLLQ and
 * (XMM only) PSRLDQ/PSLLDQ. The element shifts run the host's shift-by-
 * register form with the immediate as count: the same semantics, counts
 * above the element width included (SDM Vol. 2B PSLLW). */
void sse_shift_imm(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	static const s16 xmm_stub[3][8] = {
	    {[2] = SS_S_psrlw, [4] = SS_S_psraw, [6] = SS_S_psllw},
	    {[2] = SS_S_psrld, [4] = SS_S_psrad, [6] = SS_S_pslld},
	    {[2] = SS_S_psrlq, [6] = SS_S_psllq},
	};
	static const s16 mmx_stub[3][8] = {
	    {[2] = SS_M_psrlw, [4] = SS_M_psraw, [6] = SS_M_psllw},
	    {[2] = SS_M_psrld, [4] = SS_M_psrad, [6] = SS_M_pslld},
	    {[2] = SS_M_psrlq, [6] = SS_M_psllq},
	};
	bool mmx = (op->flags & SOP_MMX) != 0;
	unsigned row = in->opcode - 0x71, sub = in->reg & 7;
	struct simd_host h;
	s16 stub;

	if (!mmx && row == 2 && (sub == 3 || sub == 7)) {
		u8 *r = simd_xmm_reg(cpu, in->rm), v[16];
		unsigned n = in->imm > 15 ? 16 : (unsigned)in->imm;
		memset(v, 0, 16);
		if (sub == 3)
			memcpy(v, r + n, 16 - n); /* PSRLDQ */
		else
			memcpy(v + n, r, 16 - n); /* PSLLDQ */
		memcpy(r, v, 16);
		return;
	}
	stub = mmx ? mmx_stub[row][sub] : xmm_stub[row][sub];
	if (!stub) /* SS_none-free: index 0 (S_addps) is never a shift */
		soft_raise_noerr(cpu, EXC_UD);
	memset(&h, 0, sizeof(h));
	h.mxcsr = simd_host_mxcsr(cpu);
	if (mmx) {
		h.mm0 = mmx_get(cpu, in->rm);
		h.mm1 = (u8)in->imm;
	} else {
		memcpy(h.x1, simd_xmm_reg(cpu, in->rm), 16);
		h.x2[0] = (u8)in->imm;
	}
	simd_host_run(&h, (enum simd_stub)stub, mmx ? SIMD_RUN_MMX : SIMD_RUN_INT);
	if (mmx) {
		mmx_enter(cpu);
		mmx_set(cpu, in->rm, h.mm0);
	} else {
		memcpy(simd_xmm_reg(cpu, in->rm), h.x1, 16);
	}
}

/* PALIGNR: (dest:src) shifted right by imm8 bytes, low half kept. */
void sse_palignr(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	unsigned n = (op->flags & SOP_MMX) ? 8 : 16, sh = (unsigned)(in->imm & 0xff);
	u8 cat[64], s[16], out[16];

	memset(cat, 0, sizeof(cat));
	if (n == 8) {
		u64 sv = in->mem ? soft_read(cpu, in->seg, simd_ea(cpu, in, 0), 8)
				 : mmx_get(cpu, in->rm);
		u64 dv = mmx_get(cpu, in->reg);
		memcpy(cat, &sv, 8);
		memcpy(cat + 8, &dv, 8);
	} else {
		simd_src_xmm(cpu, in, 16, false, s);
		memcpy(cat, s, 16);
		memcpy(cat + 16, simd_xmm_reg(cpu, in->reg), 16);
	}
	if (sh > 2 * n)
		sh = 2 * n;
	memcpy(out, cat + sh, n);
	if (n == 8) {
		u64 v;
		memcpy(&v, out, 8);
		mmx_enter(cpu);
		mmx_set(cpu, in->reg, v);
	} else {
		memcpy(simd_xmm_reg(cpu, in->reg), out, 16);
	}
}

/* BLENDPS/BLENDPD/PBLENDW: element i from the source when imm8 bit i is set. */
static void blend(struct soft_cpu *cpu, const struct soft_insn *in, unsigned esize)
{
	u8 s[16], *d = simd_xmm_reg(cpu, in->reg);

	simd_src_xmm(cpu, in, 16, false, s);
	for (unsigned i = 0; i < 16 / esize; i++) {
		if ((in->imm >> i) & 1)
			memcpy(d + esize * i, s + esize * i, esize);
	}
}

void sse_blendps(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	blend(cpu, in, 4);
}

void sse_blendpd(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	blend(cpu, in, 8);
}

void sse_pblendw(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	blend(cpu, in, 2);
}

/* Reads a general-purpose r/m source of size bytes. Byte registers 4-7
 * without REX are AH, CH, DH, BH (SDM Vol. 2A 3.1.1.1). */
static u64 gpr_rm_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size)
{
	u64 v;

	if (in->mem)
		return soft_read(cpu, in->seg, simd_ea(cpu, in, 0), size);
	if (size == 1 && !in->rex && in->rm >= 4 && in->rm < 8)
		return (cpu->gpr[in->rm - 4] >> 8) & 0xff;
	v = cpu->gpr[in->rm];
	return size == 8 ? v : v & ((1ULL << (8 * size)) - 1);
}

/* 0F C4: PINSRW mm/xmm, r32/m16, imm8. */
void sse_pinsrw(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u16 v = (u16)gpr_rm_read(cpu, in, 2);

	if (op->flags & SOP_MMX) {
		u64 m = mmx_get(cpu, in->reg);
		unsigned sh = 16 * (in->imm & 3);
		m = (m & ~(0xffffULL << sh)) | ((u64)v << sh);
		mmx_enter(cpu);
		mmx_set(cpu, in->reg, m);
		return;
	}
	memcpy(simd_xmm_reg(cpu, in->reg) + 2 * (in->imm & 7), &v, 2);
}

/* 0F C5: PEXTRW r32/r64, mm/xmm, imm8 (zero-extended). */
void sse_pextrw(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u16 v;

	if (op->flags & SOP_MMX) {
		v = (u16)(mmx_get(cpu, in->rm) >> (16 * (in->imm & 3)));
		mmx_enter(cpu);
	} else {
		v = ld16(simd_xmm_reg(cpu, in->rm) + 2 * (in->imm & 7));
	}
	simd_gpr_write(cpu, in->reg, 8, v);
}

/* 66 0F 3A 14-17: PEXTRB/PEXTRW/PEXTRD/PEXTRQ/EXTRACTPS r/m, xmm, imm8.
 * A register destination is zero-extended. */
void sse_pextr(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	unsigned size = op->size;
	const u8 *s = simd_xmm_reg(cpu, in->reg);
	u64 v = 0;

	if (in->opcode == 0x16 && (in->rex & 8))
		size = 8;
	memcpy(&v, s + size * (in->imm & (16 / size - 1)), size);
	if (in->mem)
		soft_write(cpu, in->seg, simd_ea(cpu, in, 0), size, v);
	else
		simd_gpr_write(cpu, in->rm, (in->rex & 8) ? 8 : 4, v);
}

/* 66 0F 3A 20/22: PINSRB/PINSRD/PINSRQ xmm, r/m, imm8. */
void sse_pinsr(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	unsigned size = op->size;
	u64 v;

	if (in->opcode == 0x22 && (in->rex & 8))
		size = 8;
	/* PINSRB takes r32 from a register (never AH..BH): its low byte. */
	if (in->mem)
		v = gpr_rm_read(cpu, in, size);
	else
		v = cpu->gpr[in->rm];
	memcpy(simd_xmm_reg(cpu, in->reg) + size * (in->imm & (16 / size - 1)), &v, size);
}

/* 66 0F 3A 21: INSERTPS xmm, xmm/m32, imm8 (SDM Vol. 2A INSERTPS). */
void sse_insertps(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 *d = simd_xmm_reg(cpu, in->reg);
	u32 v;

	(void)op;
	if (in->mem)
		v = (u32)soft_read(cpu, in->seg, simd_ea(cpu, in, 0), 4);
	else
		memcpy(&v, simd_xmm_reg(cpu, in->rm) + 4 * ((in->imm >> 6) & 3), 4);
	memcpy(d + 4 * ((in->imm >> 4) & 3), &v, 4);
	for (unsigned i = 0; i < 4; i++) {
		if ((in->imm >> i) & 1)
			memset(d + 4 * i, 0, 4);
	}
}
