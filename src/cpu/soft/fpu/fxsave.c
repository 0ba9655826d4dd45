/* x87/SSE state management: FXSAVE/FXRSTOR (with and without REX.W),
 * LDMXCSR/STMXCSR and the reset FPU state
 * (Intel SDM Vol. 2A FXSAVE/FXRSTOR, Vol. 1 10.5.1, 11.6.6; AMD APM Vol. 4
 * FXSAVE/FXRSTOR). Vendor differences: SQ_FXSAVE_PTRS_IF_ES, SQ_MXCSR_MM. */
#include <string.h>

#include "cpu/soft/fpu/fpu.h"
#include "cpu/soft/vendor.h"

/* Byte offsets in the FXSAVE area (SDM Vol. 2A Tables 3-53 and 3-56). */
enum {
	FX_FCW = 0,
	FX_FSW = 2,
	FX_FTW = 4,
	FX_FOP = 6,
	FX_FIP = 8,
	FX_FCS = 12,
	FX_FDP = 16,
	FX_FDS = 20,
	FX_MXCSR = 24,
	FX_MXCSR_MASK = 28,
	FX_ST = 32,
	FX_XMM = 160,
	FX_SIZE = 512,
};

/* MXCSR bits software may set: DAZ on both vendors; AMD also has MM (bit
 * 17, misaligned SSE mode: simd.c). */
static u32 mxcsr_mask(const struct soft_cpu *cpu)
{
	return SIMD_MXCSR_MASK | (soft_quirk(cpu, SQ_MXCSR_MM) ? SIMD_MXCSR_MM : 0);
}

void soft_fpu_reset(struct soft_cpu *cpu)
{
	memset(&cpu->fx, 0, sizeof(cpu->fx));
	fpu_init(&cpu->fx);
	cpu->fx.mxcsr = 0x1f80; /* SDM Vol. 1 11.6.4: all masked, round to nearest */
	cpu->fx.mxcsr_mask = mxcsr_mask(cpu);
}

static void put16(u8 *p, unsigned off, u16 v)
{
	memcpy(p + off, &v, 2);
}

static void put32(u8 *p, unsigned off, u32 v)
{
	memcpy(p + off, &v, 4);
}

static u16 get16(const u8 *p, unsigned off)
{
	u16 v;

	memcpy(&v, p + off, 2);
	return v;
}

static u32 get32(const u8 *p, unsigned off)
{
	u32 v;

	memcpy(&v, p + off, 4);
	return v;
}

/* XMM registers FXSAVE/FXRSTOR cover: XMM8-15 exist only in 64-bit mode. */
static unsigned fx_nxmm(const struct soft_cpu *cpu)
{
	return cpu->mode == SOFT_MODE_LONG64 ? 16 : 8;
}

/* FPU CS/DS are stored as 0 (the CPUID.(7,0):EBX[13] behaviour); in the
 * 32-bit format only the offsets' low halves are kept. */
static void fx_save(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const struct soft_fxstate *fx = &cpu->fx;
	unsigned n = fx_nxmm(cpu), len = FX_XMM + 16 * n;
	u8 img[FX_SIZE];
	u64 ea = simd_ea(cpu, in, 16);

	memset(img, 0, sizeof(img));
	put16(img, FX_FCW, fx->fcw);
	put16(img, FX_FSW, fx->fsw);
	img[FX_FTW] = fx->ftw_abridged;
	/* AMD stores the last x87 instruction's pointers only while an
	 * unmasked exception is pending (FSW.ES); zeros otherwise. */
	if (!soft_quirk(cpu, SQ_FXSAVE_PTRS_IF_ES) || (fx->fsw & FSW_ES)) {
		put16(img, FX_FOP, fx->fop);
		if (in->rex & 8) {
			memcpy(img + FX_FIP, &fx->fip, 8);
			memcpy(img + FX_FDP, &fx->fdp, 8);
		} else {
			put32(img, FX_FIP, (u32)fx->fip);
			put32(img, FX_FDP, (u32)fx->fdp);
		}
	}
	put32(img, FX_MXCSR, fx->mxcsr);
	put32(img, FX_MXCSR_MASK, mxcsr_mask(cpu));
	for (unsigned i = 0; i < 8; i++)
		memcpy(img + FX_ST + 16 * i, fx->st[i], 10);
	memcpy(img + FX_XMM, fx->xmm, 16 * n);
	/* The whole 512-byte operand must be writable (probe its last byte:
	 * the area spans at most two pages), yet bytes 464-511 and, outside
	 * 64-bit mode, the XMM8-15 area are left untouched. */
	soft_read_for_write(cpu, in->seg, ea + FX_SIZE - 1, 1);
	soft_write_buf(cpu, in->seg, ea, img, len);
}

static void fx_restore(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct soft_fxstate *fx = &cpu->fx;
	unsigned n = fx_nxmm(cpu);
	u8 img[FX_SIZE];
	u32 mxcsr;

	soft_read_buf(cpu, in->seg, simd_ea(cpu, in, 16), img, FX_SIZE);
	mxcsr = get32(img, FX_MXCSR);
	if (mxcsr & ~mxcsr_mask(cpu))
		soft_raise(cpu, EXC_GP, 0);
	fx->fcw = get16(img, FX_FCW);
	fx->fsw = get16(img, FX_FSW);
	fx->ftw_abridged = img[FX_FTW];
	fx->fop = get16(img, FX_FOP) & 0x7ff;
	if (in->rex & 8) {
		memcpy(&fx->fip, img + FX_FIP, 8);
		memcpy(&fx->fdp, img + FX_FDP, 8);
	} else {
		fx->fip = get32(img, FX_FIP);
		fx->fdp = get32(img, FX_FDP);
	}
	fx->mxcsr = mxcsr;
	for (unsigned i = 0; i < 8; i++) {
		memset(fx->st[i], 0, 16);
		memcpy(fx->st[i], img + FX_ST + 16 * i, 10);
	}
	memcpy(fx->xmm, img + FX_XMM, 16 * n);
	fpu_update_es(fx);
}

/* 0F AE memory forms /0 FXSAVE, /1 FXRSTOR, /2 LDMXCSR, /3 STMXCSR. The
 * interpreter keeps the fences, CLFLUSH and FSGSBASE forms; XSAVE and its
 * relatives are not offered (no CPUID.XSAVE): #UD. */
void simd_exec_0fae(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned sub = in->reg & 7;

	if (!in->mem || in->rep)
		soft_raise_noerr(cpu, EXC_UD);
	switch (sub) {
	case 0:
	case 1:
		if (cpu->cr0 & (X86_CR0_TS | X86_CR0_EM))
			soft_raise_noerr(cpu, EXC_NM);
		if (sub == 0)
			fx_save(cpu, in);
		else
			fx_restore(cpu, in);
		return;
	case 2: {
		u32 v;
		simd_check_sse(cpu);
		v = (u32)soft_read(cpu, in->seg, simd_ea(cpu, in, 0), 4);
		if (v & ~mxcsr_mask(cpu))
			soft_raise(cpu, EXC_GP, 0);
		cpu->fx.mxcsr = v;
		return;
	}
	case 3:
		simd_check_sse(cpu);
		soft_write(cpu, in->seg, simd_ea(cpu, in, 0), 4, cpu->fx.mxcsr);
		return;
	default:
		soft_raise_noerr(cpu, EXC_UD);
	}
}
