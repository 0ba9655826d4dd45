/* x87 control and environment instructions, done in C: FNINIT, FNCLEX,
 * FLDCW/FNSTCW, FNSTSW (m16 and AX), FLDENV/FNSTENV, FRSTOR/FNSAVE in their
 * 16/32-bit and real/protected-mode formats, FWAIT, and the tag word and
 * pending-exception (#MF) bookkeeping (Intel SDM Vol. 1 8.1, 8.6, 8.7). */
#include <string.h>

#include "cpu/soft/fpu/fpu.h"

void fpu_update_es(struct soft_fxstate *fx)
{
	if (fx->fsw & ~fx->fcw & 0x3f)
		fx->fsw |= FSW_ES | FSW_B;
	else
		fx->fsw &= ~(FSW_ES | FSW_B);
}

/* Changes TOP. st[] is kept in stack order (FXSAVE's), so the physical
 * registers, which do not move, rotate in it. */
static void fpu_set_top(struct soft_fxstate *fx, unsigned top)
{
	unsigned delta = (top - FPU_TOP(fx)) & 7;
	u8 st[8][16];

	if (delta) {
		for (unsigned k = 0; k < 8; k++)
			memcpy(st[k], fx->st[(k + delta) & 7], 16);
		memcpy(fx->st, st, sizeof(st));
	}
	fx->fsw = (u16)((fx->fsw & ~FSW_TOP) | (top & 7) << 11);
}

void fpu_init(struct soft_fxstate *fx)
{
	fpu_set_top(fx, 0);
	fx->fcw = 0x37f;
	fx->fsw = 0;
	fx->ftw_abridged = 0;
	fx->fop = 0;
	fx->fip = 0;
	fx->fdp = 0;
}

/* SDM Vol. 1 8.7: with CR0.NE = 1 a pending unmasked exception is reported
 * as #MF by the next waiting x87 (or MMX) instruction. With NE = 0 the
 * PC-style FERR#/IRQ 13 path would be used; popek offers no FERR#, so the
 * exception stays pending and the instruction proceeds. */
void fpu_check_pending(struct soft_cpu *cpu)
{
	if ((cpu->fx.fsw & FSW_ES) && (cpu->cr0 & X86_CR0_NE))
		soft_raise_noerr(cpu, EXC_MF);
}

void soft_fwait(struct soft_cpu *cpu)
{
	/* SDM Vol. 3A Table 2-2: WAIT faults #NM only when MP and TS are both set. */
	if ((cpu->cr0 & X86_CR0_MP) && (cpu->cr0 & X86_CR0_TS))
		soft_raise_noerr(cpu, EXC_NM);
	fpu_check_pending(cpu);
}

/* Tag of one 80-bit register by its contents (SDM Vol. 1 8.1.7):
 * 0 valid, 1 zero, 2 special (NaN, infinity, denormal, unsupported). */
static unsigned fpu_classify(const u8 *r)
{
	u16 exp = (u16)((r[8] | r[9] << 8) & 0x7fff);
	u64 mant;

	memcpy(&mant, r, 8);
	if (exp == 0x7fff)
		return 2;
	if (exp == 0)
		return mant ? 2 : 1;
	return (mant >> 63) ? 0 : 2;
}

u16 fpu_full_tag(const struct soft_fxstate *fx)
{
	unsigned top = FPU_TOP(fx);
	u16 tw = 0;

	for (unsigned phys = 0; phys < 8; phys++) {
		unsigned tag = 3;
		if (fx->ftw_abridged & (1u << phys))
			tag = fpu_classify(fx->st[(phys - top) & 7]);
		tw |= (u16)(tag << (2 * phys));
	}
	return tw;
}

u8 fpu_abridged_tag(u16 full)
{
	u8 t = 0;

	for (unsigned i = 0; i < 8; i++) {
		if (((full >> (2 * i)) & 3) != 3)
			t |= (u8)(1u << i);
	}
	return t;
}

static bool fpu_real_format(const struct soft_cpu *cpu)
{
	return cpu->mode == SOFT_MODE_REAL || (cpu->rflags & (1ULL << 17)); /* RFLAGS.VM */
}

/* Builds the 14- or 28-byte environment (SDM Vol. 1 Figures 8-9 to 8-12).
 * FPU CS/DS read as 0; reserved halves of the 32-bit format as ones, which
 * is what current CPUs store. Returns the length. */
static unsigned fpu_env_store(const struct soft_cpu *cpu, bool o16, u8 *e)
{
	const struct soft_fxstate *fx = &cpu->fx;
	u32 ip = (u32)fx->fip, dp = (u32)fx->fdp, w[7];
	u16 h[7];

	if (o16) {
		h[0] = fx->fcw;
		h[1] = fx->fsw;
		h[2] = fpu_full_tag(fx);
		h[3] = (u16)ip;
		h[5] = (u16)dp;
		if (fpu_real_format(cpu)) {
			h[4] = (u16)(((ip >> 4) & 0xf000) | (fx->fop & 0x7ff));
			h[6] = (u16)((dp >> 4) & 0xf000);
		} else {
			h[4] = 0;
			h[6] = 0;
		}
		memcpy(e, h, 14);
		return 14;
	}
	w[0] = 0xffff0000u | fx->fcw;
	w[1] = 0xffff0000u | fx->fsw;
	w[2] = 0xffff0000u | fpu_full_tag(fx);
	if (fpu_real_format(cpu)) {
		w[3] = 0xffff0000u | (ip & 0xffff);
		w[4] = ((ip >> 4) & 0x0ffff000u) | (fx->fop & 0x7ff);
		w[5] = 0xffff0000u | (dp & 0xffff);
		w[6] = (dp >> 4) & 0x0ffff000u;
	} else {
		w[3] = ip;
		w[4] = (u32)(fx->fop & 0x7ff) << 16;
		w[5] = dp;
		w[6] = 0xffff0000u;
	}
	memcpy(e, w, 28);
	return 28;
}

/* Loads an environment image built as above into a state copy. */
static void fpu_env_load(const struct soft_cpu *cpu, bool o16, const u8 *e, struct soft_fxstate *fx)
{
	bool real = fpu_real_format(cpu);
	u16 tw, fsw;

	if (o16) {
		u16 h[7];
		memcpy(h, e, 14);
		fx->fcw = h[0];
		fsw = h[1];
		tw = h[2];
		fx->fip = h[3];
		fx->fdp = h[5];
		if (real) {
			fx->fop = h[4] & 0x7ff;
			fx->fip |= (u32)(h[4] & 0xf000) << 4;
			fx->fdp |= (u32)(h[6] & 0xf000) << 4;
		}
	} else {
		u32 w[7];
		memcpy(w, e, 28);
		fx->fcw = (u16)w[0];
		fsw = (u16)w[1];
		tw = (u16)w[2];
		if (real) {
			fx->fip = (w[3] & 0xffff) | ((w[4] & 0x0ffff000u) << 4);
			fx->fop = w[4] & 0x7ff;
			fx->fdp = (w[5] & 0xffff) | ((w[6] & 0x0ffff000u) << 4);
		} else {
			fx->fip = w[3];
			fx->fop = (w[4] >> 16) & 0x7ff;
			fx->fdp = w[5];
		}
	}
	fpu_set_top(fx, (fsw >> 11) & 7);
	fx->fsw = fsw;
	/* FCW bit 6 reads as 1 and bits 7, 13-15 as 0 on current CPUs. */
	fx->fcw = (fx->fcw & 0x1f3f) | 0x40;
	fx->ftw_abridged = fpu_abridged_tag(tw);
	fpu_update_es(fx);
}

/* The x87 registers in FSAVE order: ST(0)..ST(7), 10 bytes each. */
static void fpu_regs_store(const struct soft_fxstate *fx, u8 *p)
{
	for (unsigned i = 0; i < 8; i++)
		memcpy(p + 10 * i, fx->st[i], 10);
}

static void fpu_regs_load(struct soft_fxstate *fx, const u8 *p)
{
	for (unsigned i = 0; i < 8; i++) {
		memset(fx->st[i], 0, 16);
		memcpy(fx->st[i], p + 10 * i, 10);
	}
}

bool fpu_exec_control(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op)
{
	struct soft_fxstate *fx = &cpu->fx, tmp;
	unsigned sub = in->reg & 7;
	bool o16 = in->opsize == 2;
	u8 buf[108];
	u64 ea;

	if (!in->mem) {
		switch (op << 8 | in->modrm) {
		case 0x3e2: /* DB E2 FNCLEX */
			fx->fsw &= ~(0x7f | FSW_ES | FSW_B);
			return true;
		case 0x3e3: /* DB E3 FNINIT */
			fpu_init(fx);
			return true;
		case 0x3e0: /* DB E0 FENI, E1 FDISI, E4 FSETPM: 8087/287 leftovers, no-ops */
		case 0x3e1:
		case 0x3e4:
			return true;
		case 0x7e0: /* DF E0 FNSTSW AX */
			cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffffULL) | fx->fsw;
			return true;
		}
		return false;
	}
	if (op == 1 && sub >= 4) {
		ea = simd_ea(cpu, in, 0);
		switch (sub) {
		case 4: /* FLDENV */
			fpu_check_pending(cpu);
			soft_read_buf(cpu, in->seg, ea, buf, o16 ? 14 : 28);
			tmp = *fx;
			fpu_env_load(cpu, o16, buf, &tmp);
			*fx = tmp;
			return true;
		case 5: /* FLDCW */
			fpu_check_pending(cpu);
			fx->fcw = (u16)((soft_read(cpu, in->seg, ea, 2) & 0x1f3f) | 0x40);
			fpu_update_es(fx);
			return true;
		case 6: /* FNSTENV: then masks all exceptions */
			soft_write_buf(cpu, in->seg, ea, buf, fpu_env_store(cpu, o16, buf));
			fx->fcw |= 0x3f;
			fpu_update_es(fx);
			return true;
		default: /* FNSTCW */
			soft_write(cpu, in->seg, ea, 2, fx->fcw);
			return true;
		}
	}
	if (op == 5 && (sub == 4 || sub == 6 || sub == 7)) {
		unsigned n;
		ea = simd_ea(cpu, in, 0);
		switch (sub) {
		case 4: /* FRSTOR */
			fpu_check_pending(cpu);
			soft_read_buf(cpu, in->seg, ea, buf, o16 ? 94 : 108);
			tmp = *fx;
			fpu_env_load(cpu, o16, buf, &tmp);
			fpu_regs_load(&tmp, buf + (o16 ? 14 : 28));
			*fx = tmp;
			return true;
		case 6: /* FNSAVE: then FNINIT */
			n = fpu_env_store(cpu, o16, buf);
			fpu_regs_store(fx, buf + n);
			soft_write_buf(cpu, in->seg, ea, buf, n + 80);
			fpu_init(fx);
			return true;
		default: /* FNSTSW m16 */
			soft_write(cpu, in->seg, ea, 2, fx->fsw);
			return true;
		}
	}
	return false;
}
