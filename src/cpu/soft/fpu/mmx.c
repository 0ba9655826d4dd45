/* MMX state: MM0-MM7 aliased on the mantissas of the physical x87 registers
 * with the tag/TOP effects of the x87->MMX transition, EMMS, and the MMX
 * register moves MOVD/MOVQ (Intel SDM Vol. 1 ch. 9, esp. 9.5 and 9.6). */
#include <string.h>

#include "cpu/soft/fpu/fpu.h"

/* cpu->fx.st[] is in FXSAVE order: st[k] holds ST(k), which is physical
 * register (TOP + k) mod 8; MMi is physical register i. */
u64 mmx_get(const struct soft_cpu *cpu, unsigned i)
{
	u64 v;

	memcpy(&v, cpu->fx.st[((i & 7) - FPU_TOP(&cpu->fx)) & 7], 8);
	return v;
}

/* SDM Vol. 1 9.5.1: every MMX instruction sets TOP to 0 and all tags to
 * valid. Physical registers stay put, so the stack-ordered image rotates
 * when TOP was not already 0. */
void mmx_enter(struct soft_cpu *cpu)
{
	struct soft_fxstate *fx = &cpu->fx;
	unsigned top = FPU_TOP(fx);

	if (top) {
		u8 st[8][16];
		for (unsigned i = 0; i < 8; i++)
			memcpy(st[i], fx->st[(i - top) & 7], 16);
		memcpy(fx->st, st, sizeof(st));
		fx->fsw &= ~FSW_TOP;
	}
	fx->ftw_abridged = 0xff;
}

/* SDM Vol. 1 9.5.2: a write to MMi sets bits 64-79 of the register to ones. */
void mmx_set(struct soft_cpu *cpu, unsigned i, u64 v)
{
	u8 *r = cpu->fx.st[i & 7];

	memcpy(r, &v, 8);
	r[8] = 0xff;
	r[9] = 0xff;
}

/* EMMS (0F 77): all tags empty (SDM Vol. 2A EMMS). Like every MMX
 * instruction it also sets TOP to 0 (measured on hardware). */
void simd_emms(struct soft_cpu *cpu)
{
	simd_check_mmx(cpu);
	mmx_enter(cpu);
	cpu->fx.ftw_abridged = 0;
}

/* 0F 6E: MOVD mm, r/m32 / MOVQ mm, r/m64 (REX.W). */
void mmx_movd_load(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	unsigned size = (in->rex & 8) ? 8 : 4;
	u64 v;

	(void)op;
	if (in->mem)
		v = soft_read(cpu, in->seg, simd_ea(cpu, in, 0), size);
	else
		v = size == 8 ? cpu->gpr[in->rm] : (u32)cpu->gpr[in->rm];
	mmx_enter(cpu);
	mmx_set(cpu, in->reg, v);
}

/* 0F 7E: MOVD r/m32, mm / MOVQ r/m64, mm. */
void mmx_movd_store(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	unsigned size = (in->rex & 8) ? 8 : 4;
	u64 v = mmx_get(cpu, in->reg);

	(void)op;
	if (in->mem)
		soft_write(cpu, in->seg, simd_ea(cpu, in, 0), size, v);
	else
		simd_gpr_write(cpu, in->rm, size, v);
	mmx_enter(cpu);
}

/* 0F 6F: MOVQ mm, mm/m64. */
void mmx_movq_load(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u64 v;

	(void)op;
	if (in->mem)
		v = soft_read(cpu, in->seg, simd_ea(cpu, in, 0), 8);
	else
		v = mmx_get(cpu, in->rm);
	mmx_enter(cpu);
	mmx_set(cpu, in->reg, v);
}

/* 0F 7F: MOVQ mm/m64, mm; 0F E7: MOVNTQ m64, mm. */
void mmx_movq_store(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	u64 v = mmx_get(cpu, in->reg);

	(void)op;
	if (in->mem)
		soft_write(cpu, in->seg, simd_ea(cpu, in, 0), 8, v);
	mmx_enter(cpu);
	if (!in->mem)
		mmx_set(cpu, in->rm, v);
}
