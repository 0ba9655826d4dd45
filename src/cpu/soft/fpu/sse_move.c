/* SSE/SSE2/SSE3 data movement: MOVAPS/UPS/DQA/DQU/NT*, MOVSS/SD, MOVLPS/
 * HPS/LPD/HPD/HLPS/LHPS, MOVSLDUP/SHDUP/DDUP, MOVMSKPS/PD, PMOVMSKB, MOVD/
 * MOVQ between XMM and GPR/memory, MOVQ2DQ/MOVDQ2Q, MASKMOVQ/MASKMOVDQU
 * (Intel SDM Vol. 2 instruction pages; Vol. 1 10.4.1, 11.4.1). */
#include <string.h>

#include "cpu/soft/fpu/fpu.h"
#include "cpu/soft/mmu/mmu.h"

/* Memory offset of a store of size bytes, alignment-checked for aligned
 * 16-byte forms. */
static u64 store_ea(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op,
		    unsigned size)
{
	return simd_ea(cpu, in, size == 16 && !(op->flags & SOP_UNAL) ? 16 : 0);
}

/* MOVAPS/MOVUPS/MOVAPD/MOVUPD/MOVDQA/MOVDQU/LDDQU/MOVNTDQA xmm, xmm/m128. */
void sse_movups(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 v[16];

	simd_src_xmm_move(cpu, in, op->flags & SOP_UNAL, v);
	memcpy(simd_xmm_reg(cpu, in->reg), v, 16);
}

/* The stores: MOVAPS/MOVUPS/... xmm/m128, xmm; MOVNTPS/MOVNTDQ m128, xmm. */
void sse_movups_st(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	const u8 *src = simd_xmm_reg(cpu, in->reg);

	if (!in->mem) {
		memmove(simd_xmm_reg(cpu, in->rm), src, 16);
		return;
	}
	soft_write_buf(cpu, in->seg, store_ea(cpu, in, op, 16), src, 16);
}

/* MOVSS/MOVSD loads: from memory the rest of the register is zeroed, from a
 * register only the low element moves. */
static void movs_load(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size)
{
	u8 *dst = simd_xmm_reg(cpu, in->reg);
	u8 v[16];

	if (in->mem) {
		simd_src_xmm(cpu, in, size, false, v);
		memcpy(dst, v, 16);
	} else {
		memmove(dst, simd_xmm_reg(cpu, in->rm), size);
	}
}

static void movs_store(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size)
{
	const u8 *src = simd_xmm_reg(cpu, in->reg);

	if (!in->mem) {
		memmove(simd_xmm_reg(cpu, in->rm), src, size);
		return;
	}
	soft_write(cpu, in->seg, simd_ea(cpu, in, 0), size, soft_host_load(src, size));
}

void sse_movss(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	movs_load(cpu, in, 4);
}

void sse_movsd(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	movs_load(cpu, in, 8);
}

void sse_movss_st(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	movs_store(cpu, in, 4);
}

void sse_movsd_st(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	movs_store(cpu, in, 8);
}

/* 0F 12: MOVLPS/MOVLPD xmm, m64 (low half), or MOVHLPS xmm, xmm (the
 * source's high half into the low half). */
void sse_movlps(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 *dst = simd_xmm_reg(cpu, in->reg);
	u64 v;

	(void)op;
	if (in->mem)
		v = soft_read(cpu, in->seg, simd_ea(cpu, in, 0), 8);
	else
		v = soft_host_load(simd_xmm_reg(cpu, in->rm) + 8, 8);
	soft_host_store(dst, 8, v);
}

/* 0F 16: MOVHPS/MOVHPD xmm, m64 (high half), or MOVLHPS xmm, xmm. */
void sse_movhps(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 *dst = simd_xmm_reg(cpu, in->reg);
	u64 v;

	(void)op;
	if (in->mem)
		v = soft_read(cpu, in->seg, simd_ea(cpu, in, 0), 8);
	else
		v = soft_host_load(simd_xmm_reg(cpu, in->rm), 8);
	soft_host_store(dst + 8, 8, v);
}

void sse_movlps_st(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	soft_write(cpu, in->seg, simd_ea(cpu, in, 0), 8,
		   soft_host_load(simd_xmm_reg(cpu, in->reg), 8));
}

void sse_movhps_st(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	soft_write(cpu, in->seg, simd_ea(cpu, in, 0), 8,
		   soft_host_load(simd_xmm_reg(cpu, in->reg) + 8, 8));
}

/* MOVSLDUP (odd = 0) and MOVSHDUP (odd = 1): duplicate even/odd dwords. */
static void movdup32(struct soft_cpu *cpu, const struct soft_insn *in, unsigned odd)
{
	u8 s[16], d[16];

	simd_src_xmm(cpu, in, 16, false, s);
	for (unsigned i = 0; i < 4; i++)
		memcpy(d + 4 * i, s + 4 * ((i & ~1u) + odd), 4);
	memcpy(simd_xmm_reg(cpu, in->reg), d, 16);
}

void sse_movsldup(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	movdup32(cpu, in, 0);
}

void sse_movshdup(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	movdup32(cpu, in, 1);
}

void sse_movddup(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 s[16];

	(void)op;
	simd_src_xmm(cpu, in, 8, false, s);
	memcpy(s + 8, s, 8);
	memcpy(simd_xmm_reg(cpu, in->reg), s, 16);
}

/* MOVMSKPS/MOVMSKPD r32/r64, xmm: the sign bits. */
static void movmsk(struct soft_cpu *cpu, const struct soft_insn *in, unsigned esize)
{
	const u8 *s = simd_xmm_reg(cpu, in->rm);
	u32 m = 0;

	for (unsigned i = 0; i < 16 / esize; i++)
		m |= (u32)(s[esize * i + esize - 1] >> 7) << i;
	simd_gpr_write(cpu, in->reg, 8, m);
}

void sse_movmskps(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	movmsk(cpu, in, 4);
}

void sse_movmskpd(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	(void)op;
	movmsk(cpu, in, 8);
}

/* PMOVMSKB r32/r64, mm or xmm. */
void sse_pmovmskb(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 s[16];
	unsigned n = 16;
	u32 m = 0;

	if (op->flags & SOP_MMX) {
		u64 v = mmx_get(cpu, in->rm);
		memcpy(s, &v, 8);
		n = 8;
	} else {
		memcpy(s, simd_xmm_reg(cpu, in->rm), 16);
	}
	for (unsigned i = 0; i < n; i++)
		m |= (u32)(s[i] >> 7) << i;
	if (op->flags & SOP_MMX)
		mmx_enter(cpu);
	simd_gpr_write(cpu, in->reg, 8, m);
}

/* 66 0F 6E: MOVD xmm, r/m32 and MOVQ xmm, r/m64 (REX.W), zero-extended. */
void sse_movd_load(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	unsigned size = (in->rex & 8) ? 8 : 4;
	u8 *dst = simd_xmm_reg(cpu, in->reg);
	u64 v;

	(void)op;
	if (in->mem)
		v = soft_read(cpu, in->seg, simd_ea(cpu, in, 0), size);
	else
		v = size == 8 ? cpu->gpr[in->rm] : (u32)cpu->gpr[in->rm];
	memset(dst, 0, 16);
	soft_host_store(dst, 8, v);
}

/* 66 0F 7E: MOVD r/m32, xmm and MOVQ r/m64, xmm. */
void sse_movd_store(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	unsigned size = (in->rex & 8) ? 8 : 4;
	u64 v = soft_host_load(simd_xmm_reg(cpu, in->reg), 8);

	(void)op;
	if (in->mem)
		soft_write(cpu, in->seg, simd_ea(cpu, in, 0), size, v);
	else
		simd_gpr_write(cpu, in->rm, size, v);
}

/* F3 0F 7E: MOVQ xmm, xmm/m64 (upper half zeroed). */
void sse_movq_load(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 v[16];

	(void)op;
	simd_src_xmm(cpu, in, 8, false, v);
	memset(v + 8, 0, 8);
	memcpy(simd_xmm_reg(cpu, in->reg), v, 16);
}

/* 66 0F D6: MOVQ xmm/m64, xmm (a register destination's upper half is zeroed). */
void sse_movq_store(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u64 v = soft_host_load(simd_xmm_reg(cpu, in->reg), 8);
	u8 *dst;

	(void)op;
	if (in->mem) {
		soft_write(cpu, in->seg, simd_ea(cpu, in, 0), 8, v);
		return;
	}
	dst = simd_xmm_reg(cpu, in->rm);
	memset(dst, 0, 16);
	soft_host_store(dst, 8, v);
}

/* F3 0F D6: MOVQ2DQ xmm, mm. */
void sse_movq2dq(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u8 *dst = simd_xmm_reg(cpu, in->reg);
	u64 v;

	(void)op;
	fpu_check_pending(cpu);
	v = mmx_get(cpu, in->rm);
	mmx_enter(cpu);
	memset(dst, 0, 16);
	soft_host_store(dst, 8, v);
}

/* F2 0F D6: MOVDQ2Q mm, xmm. */
void sse_movdq2q(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u64 v = soft_host_load(simd_xmm_reg(cpu, in->rm), 8);

	(void)op;
	fpu_check_pending(cpu);
	mmx_enter(cpu);
	mmx_set(cpu, in->reg, v);
}

/* MASKMOVQ mm1, mm2 / MASKMOVDQU xmm1, xmm2: the bytes of the first operand
 * whose mask byte has its top bit set go to DS:rDI (segment overridable).
 * Writability of the whole range is checked before any byte is stored so a
 * fault leaves memory untouched. */
void sse_maskmov(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	unsigned n = op->size;
	u8 data[16], mask[16];
	u64 ea = cpu->gpr[X86_RDI];

	if (in->addrsize == 4)
		ea = (u32)ea;
	else if (in->addrsize == 2)
		ea = (u16)ea;
	if (n == 8) {
		u64 d = mmx_get(cpu, in->reg), m = mmx_get(cpu, in->rm);
		memcpy(data, &d, 8);
		memcpy(mask, &m, 8);
	} else {
		memcpy(data, simd_xmm_reg(cpu, in->reg), 16);
		memcpy(mask, simd_xmm_reg(cpu, in->rm), 16);
	}
	soft_read_for_write(cpu, in->seg, ea, 1);
	soft_read_for_write(cpu, in->seg, ea + n - 1, 1);
	if (n == 8)
		mmx_enter(cpu);
	for (unsigned i = 0; i < n; i++) {
		if (mask[i] & 0x80)
			soft_write(cpu, in->seg, ea + i, 1, data[i]);
	}
}
