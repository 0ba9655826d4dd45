/* SIMD entry point: dispatch of MMX/SSE/SSE2/SSE3/SSSE3/SSE4 opcodes through
 * the descriptor tables, the state checks every such instruction makes, and
 * the generic handlers that run a host stub on the guest's operands. */
#include <string.h>

#include "cpu/soft/fpu/fpu.h"
#include "cpu/soft/vendor.h"

/* Intel SDM Vol. 3A 2.5 and Vol. 2 "SIMD Floating-Point Exceptions"
 * tables: EM or !OSFXSR is #UD, then TS is #NM. */
void simd_check_sse(struct soft_cpu *cpu)
{
	if ((cpu->cr0 & X86_CR0_EM) || !(cpu->cr4 & X86_CR4_OSFXSR))
		soft_raise_noerr(cpu, EXC_UD);
	if (cpu->cr0 & X86_CR0_TS)
		soft_raise_noerr(cpu, EXC_NM);
}

/* SDM Vol. 1 9.6.1 / Vol. 3A Table 2-2: MMX instructions. */
void simd_check_mmx(struct soft_cpu *cpu)
{
	if (cpu->cr0 & X86_CR0_EM)
		soft_raise_noerr(cpu, EXC_UD);
	if (cpu->cr0 & X86_CR0_TS)
		soft_raise_noerr(cpu, EXC_NM);
	fpu_check_pending(cpu);
}

u64 simd_ea(struct soft_cpu *cpu, const struct soft_insn *in, unsigned align)
{
	u64 ea = soft_insn_ea(cpu, in);

	if (align) {
		u64 base = 0;
		/* The check is on the linear address; in 64-bit mode only FS and
		 * GS have a base (SDM Vol. 3A 3.4.4). */
		if (cpu->mode != SOFT_MODE_LONG64 || in->seg >= X86_FS)
			base = cpu->seg[in->seg].base;
		if ((ea + base) & (align - 1))
			soft_raise(cpu, EXC_GP, 0);
	}
	return ea;
}

/* AMD's misaligned SSE mode (APM Vol. 1 4.3.2, MXCSR.MM): with MM set, the
 * 16-byte operands of computing instructions need no alignment; the
 * explicitly aligned moves (MOVAPS/APD/DQA, MOVNT*), FXSAVE and FXRSTOR
 * still do. Measured the same on family 1Ah. */
static bool misaligned_ok(const struct soft_cpu *cpu)
{
	return soft_quirk(cpu, SQ_MXCSR_MM) && (cpu->fx.mxcsr & SIMD_MXCSR_MM);
}

static void src_xmm(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size, bool unal,
		    u8 out[16])
{
	u64 ea, v;

	if (!in->mem) {
		memcpy(out, simd_xmm_reg(cpu, in->rm), 16);
		return;
	}
	memset(out, 0, 16);
	ea = simd_ea(cpu, in, size == 16 && !unal ? 16 : 0);
	if (size == 16) {
		soft_read_buf(cpu, in->seg, ea, out, 16);
		return;
	}
	v = soft_read(cpu, in->seg, ea, size);
	memcpy(out, &v, size);
}

void simd_src_xmm(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size, bool unal,
		  u8 out[16])
{
	src_xmm(cpu, in, size, unal || misaligned_ok(cpu), out);
}

void simd_src_xmm_move(struct soft_cpu *cpu, const struct soft_insn *in, bool unal, u8 out[16])
{
	src_xmm(cpu, in, 16, unal, out);
}

void simd_gpr_write(struct soft_cpu *cpu, unsigned reg, unsigned size, u64 v)
{
	cpu->gpr[reg & 15] = size == 8 ? v : (u32)v;
}

void simd_mxcsr_merge(struct soft_cpu *cpu, u32 host_after)
{
	u32 flags = host_after & 0x3f;
	u32 unmasked = flags & ~(cpu->fx.mxcsr >> 7) & 0x3f;

	/* With an unmasked one these are the flags the CPU reports with its
	 * #XM, as simd_run derived them (simd_fpexc_flags, SDM Vol. 1 11.5.3). */
	cpu->fx.mxcsr |= flags;
	if (unmasked)
		soft_raise_noerr(cpu, (cpu->cr4 & X86_CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD);
}

/* Runs a stub. For floating point with MXCSR.UM clear the CPU reports
 * underflow on tininess alone (SDM Vol. 1 11.5.2.5), which a run with
 * everything masked does not show for exact tiny results; a second run
 * with FTZ set flags every tiny result (UE), whatever its exactness. When
 * the flags then include an unmasked exception, simd_fpexc_flags derives
 * the ones the CPU reports with its #XM from the original operands. */
static void simd_run(struct soft_cpu *cpu, const struct simd_op *op, struct simd_host *h,
		     enum simd_stub stub, bool mmx)
{
	unsigned how = (mmx ? SIMD_RUN_MMX : 0) | ((op->flags & SOP_FP) ? SIMD_RUN_FP : 0);
	u32 masks = (op->flags & SOP_FP) ? (cpu->fx.mxcsr >> 7) & 0x3f : 0x3f;
	struct simd_host in;

	if (!simd_host_has(stub))
		soft_raise_noerr(cpu, EXC_UD);
	if (masks == 0x3f) {
		simd_host_run(h, stub, how);
		return;
	}
	in = *h;
	simd_host_run(h, stub, how);
	if (!(masks & 0x10)) {
		struct simd_host again = in;

		again.mxcsr |= 0x8000;
		simd_host_run(&again, stub, how);
		h->mxcsr |= again.mxcsr & 0x10;
	}
	if (h->mxcsr & ~masks & 0x3f)
		h->mxcsr = (h->mxcsr & ~0x3fu) | simd_fpexc_flags(cpu, stub, &in, h->mxcsr);
}

static enum simd_stub simd_stub_for(const struct soft_insn *in, const struct simd_op *op)
{
	unsigned s = (unsigned)op->stub;

	if (op->imm_mask == 0x11) /* PCLMULQDQ: only imm8 bits 0 and 4 count */
		s += (in->imm & 1) | ((in->imm >> 3) & 2);
	else
		s += in->imm & op->imm_mask;
	if ((op->flags & SOP_W) && (in->rex & 8))
		s += 1;
	return (enum simd_stub)s;
}

static void simd_results(struct soft_cpu *cpu, const struct simd_op *op, struct simd_host *h)
{
	if (op->flags & SOP_FP)
		simd_mxcsr_merge(cpu, h->mxcsr);
	if (op->flags & SOP_EFL)
		soft_flags_set(cpu, h->rflags,
			       X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF |
				   X86_RFLAGS_SF | X86_RFLAGS_OF);
}

/* PCMPESTRx length registers: with REX.W they are RAX/RDX as 64-bit signed
 * values; the instruction only uses min(|len|, 16), so saturating here lets
 * the 32-bit stub compute the same (SDM Vol. 2B PCMPESTRI). */
static u64 simd_strlen_arg(u64 v, bool w)
{
	s64 s = w ? (s64)v : (s32)v;

	if (s > 16 || s < -16)
		s = 16;
	return (u32)(s32)s;
}

void simd_xmm(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	struct simd_host h;

	simd_src_xmm(cpu, in, op->size, op->flags & SOP_UNAL, h.x2);
	memcpy(h.x1, simd_xmm_reg(cpu, in->reg), 16);
	memcpy(h.x0, simd_xmm_reg(cpu, 0), 16);
	h.rax = h.rcx = h.rdx = 0;
	if (op->flags & SOP_LEN) {
		h.rax = simd_strlen_arg(cpu->gpr[X86_RAX], in->rex & 8);
		h.rdx = simd_strlen_arg(cpu->gpr[X86_RDX], in->rex & 8);
	}
	h.mxcsr = simd_host_mxcsr(cpu);
	simd_run(cpu, op, &h, simd_stub_for(in, op), false);
	simd_results(cpu, op, &h);
	if (!(op->flags & SOP_NODST))
		memcpy(simd_xmm_reg(cpu, in->reg), h.x1, 16);
	if (op->flags & SOP_X0)
		memcpy(simd_xmm_reg(cpu, 0), h.x0, 16);
	if (op->flags & SOP_ECX)
		cpu->gpr[X86_RCX] = (u32)h.rcx;
}

void simd_mmx(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	struct simd_host h;

	memset(&h, 0, sizeof(h));
	if (in->mem)
		h.mm1 = soft_read(cpu, in->seg, simd_ea(cpu, in, 0), op->size);
	else
		h.mm1 = mmx_get(cpu, in->rm);
	h.mm0 = mmx_get(cpu, in->reg);
	h.mxcsr = simd_host_mxcsr(cpu);
	simd_run(cpu, op, &h, simd_stub_for(in, op), true);
	mmx_enter(cpu);
	mmx_set(cpu, in->reg, h.mm0);
}

/* CVTSS2SI, CVTTSD2SI, ...: r32/r64 from xmm/m32/m64. */
void simd_gpr_xmm(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	struct simd_host h;

	memset(&h, 0, sizeof(h));
	simd_src_xmm(cpu, in, op->size, false, h.x2);
	h.mxcsr = simd_host_mxcsr(cpu);
	simd_run(cpu, op, &h, simd_stub_for(in, op), false);
	simd_results(cpu, op, &h);
	simd_gpr_write(cpu, in->reg, (in->rex & 8) ? 8 : 4, h.rax);
}

/* CVTSI2SS/CVTSI2SD xmm, r/m32 or r/m64 (REX.W). */
void simd_xmm_gpr(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	unsigned size = (in->rex & 8) ? 8 : 4;
	struct simd_host h;

	memset(&h, 0, sizeof(h));
	if (in->mem)
		h.rax = soft_read(cpu, in->seg, simd_ea(cpu, in, 0), size);
	else
		h.rax = cpu->gpr[in->rm];
	memcpy(h.x1, simd_xmm_reg(cpu, in->reg), 16);
	h.mxcsr = simd_host_mxcsr(cpu);
	simd_run(cpu, op, &h, simd_stub_for(in, op), false);
	simd_results(cpu, op, &h);
	memcpy(simd_xmm_reg(cpu, in->reg), h.x1, 16);
}

/* CVTPI2PS/PD xmm, mm/m64 and CVT(T)PS2PI/PD2PI mm, xmm/m: SSE instructions
 * with an MMX operand; a register MMX operand makes the x87->MMX transition
 * (SDM Vol. 1 11.6.5). */
void simd_cvt_mmx(struct soft_cpu *cpu, const struct soft_insn *in, const struct simd_op *op)
{
	bool mm_src = (op->flags & SOP_MMSRC) != 0;
	struct simd_host h;

	memset(&h, 0, sizeof(h));
	if (!mm_src || !in->mem)
		fpu_check_pending(cpu);
	if (mm_src) {
		if (in->mem)
			h.mm1 = soft_read(cpu, in->seg, simd_ea(cpu, in, 0), 8);
		else
			h.mm1 = mmx_get(cpu, in->rm);
		memcpy(h.x1, simd_xmm_reg(cpu, in->reg), 16);
	} else {
		simd_src_xmm(cpu, in, op->size, false, h.x2);
	}
	h.mxcsr = simd_host_mxcsr(cpu);
	simd_run(cpu, op, &h, simd_stub_for(in, op), true);
	/* The switch to MMX state (none for a memory MMX source): AMD makes it
	 * before reporting a SIMD exception, so #XM finds it done; Intel after
	 * (SQ_MMX_BEFORE_XM). A fault on the memory operand (above) leaves the
	 * x87 state alone on both. */
	bool to_mmx = !mm_src || !in->mem;
	if (to_mmx && soft_quirk(cpu, SQ_MMX_BEFORE_XM))
		mmx_enter(cpu);
	simd_results(cpu, op, &h);
	if (to_mmx)
		mmx_enter(cpu);
	if (mm_src)
		memcpy(simd_xmm_reg(cpu, in->reg), h.x1, 16);
	else
		mmx_set(cpu, in->reg, h.mm0);
}

void soft_exec_simd(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned pfx = in->rep == 0xf3 ? 2 : in->rep == 0xf2 ? 3 : in->p66 ? 1 : 0;
	const struct simd_op *op;

	switch (in->map) {
	case SOFT_MAP_0F:
		if (in->opcode == 0xae) {
			simd_exec_0fae(cpu, in);
			return;
		}
		if (in->opcode == 0x77 && pfx == 0) {
			simd_emms(cpu);
			return;
		}
		op = &simd_tab_0f[pfx][in->opcode];
		break;
	case SOFT_MAP_0F38:
		op = &simd_tab_0f38[pfx][in->opcode];
		break;
	case SOFT_MAP_0F3A:
		op = &simd_tab_0f3a[pfx][in->opcode];
		break;
	default:
		op = NULL;
		break;
	}
	if (!op || !op->fn || ((op->flags & SOP_REG) && in->mem) ||
	    ((op->flags & SOP_MEM) && !in->mem))
		soft_raise_noerr(cpu, EXC_UD);
	if (op->flags & SOP_MMX)
		simd_check_mmx(cpu);
	else
		simd_check_sse(cpu);
	op->fn(cpu, in, op);
}
