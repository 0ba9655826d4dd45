/* Stack instructions: PUSH, POP, PUSHF, POPF, PUSHA, POPA, ENTER, LEAVE
 * and segment register pushes (Intel SDM Vol. 2B, Vol. 1 6.2). Every
 * memory access happens before RSP changes, so a fault restarts cleanly. */
#include "cpu/soft/exec/exec.h"
#include "cpu/soft/sys/sys.h"

/* RSP (or ESP/SP, by the stack address size) after adding delta. */
static u64 sp_add(const struct soft_cpu *cpu, u64 sp, s64 delta)
{
	switch (cpu->stack_size) {
	case 8:
		return sp + (u64)delta;
	case 4:
		return (u32)(sp + (u64)delta);
	default:
		return (u16)(sp + (u64)delta);
	}
}

static void sp_set(struct soft_cpu *cpu, u64 sp)
{
	if (cpu->stack_size == 2)
		cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~0xffffULL) | (sp & 0xffff);
	else
		cpu->gpr[X86_RSP] = sp;
}

void soft_rsp_add(struct soft_cpu *cpu, s64 delta)
{
	sp_set(cpu, sp_add(cpu, cpu->gpr[X86_RSP], delta));
}

void soft_push(struct soft_cpu *cpu, unsigned size, u64 v)
{
	u64 sp = sp_add(cpu, cpu->gpr[X86_RSP], -(s64)size);

	soft_mem_write(cpu, X86_SS, sp, size, v);
	sp_set(cpu, sp);
}

u64 soft_peek(struct soft_cpu *cpu, unsigned size, unsigned offset)
{
	return soft_mem_read(cpu, X86_SS, sp_add(cpu, cpu->gpr[X86_RSP], offset), size);
}

u64 soft_pop(struct soft_cpu *cpu, unsigned size)
{
	u64 v = soft_peek(cpu, size, 0);

	soft_rsp_add(cpu, size);
	return v;
}

/* 50-57: PUSH r. */
void soft_op_push_reg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned r = (in->opcode & 7) | (in->rex & 1 ? 8 : 0);

	soft_push(cpu, in->opsize, cpu->gpr[r]);
}

/* 58-5F: POP r (POP RSP loads the popped value). */
void soft_op_pop_reg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned r = (in->opcode & 7) | (in->rex & 1 ? 8 : 0);
	u64 v = soft_pop(cpu, in->opsize);

	soft_reg_set(cpu, r, in->opsize, true, v);
}

/* 68/6A: PUSH imm (sign-extended to the operand size). */
void soft_op_push_imm(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_push(cpu, in->opsize, in->imm);
}

/* FF /6: PUSH r/m. */
void soft_push_rm(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_push(cpu, in->opsize, soft_rm_read(cpu, in, in->opsize));
}

/* 8F /0: POP r/m. The address is computed with RSP already incremented
 * (SDM Vol. 2B "POP"); RSP is restored if the store faults. */
void soft_op_pop_rm(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	u64 v = soft_peek(cpu, size, 0);

	cpu->undo_reg = X86_RSP;
	cpu->undo_val = cpu->gpr[X86_RSP];
	soft_rsp_add(cpu, size);
	soft_rm_write(cpu, in, size, v);
	cpu->undo_reg = -1;
}

/* 9C: PUSHF. VM and RF read as 0 in the image (SDM Vol. 2B "PUSHF"). */
void soft_op_pushf(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 f = soft_flags_get(cpu);

	if ((f & RFLAGS_VM) && ((f & RFLAGS_IOPL) >> 12) < 3)
		soft_raise(cpu, EXC_GP, 0);
	soft_push(cpu, in->opsize, f & ~(RFLAGS_VM | RFLAGS_RF));
}

#define POPF_ALWAYS                                                                                \
	(SOFT_FLAGS_ARITH | X86_RFLAGS_TF | X86_RFLAGS_DF | RFLAGS_NT | X86_RFLAGS_AC |            \
	 X86_RFLAGS_ID)

/* 9D: POPF. IOPL changes only at CPL 0, IF only at CPL <= IOPL; VM, VIF,
 * VIP are kept; RF is cleared (SDM Vol. 2B "POPF"). */
void soft_op_popf(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 old = soft_flags_get(cpu), v, mask = POPF_ALWAYS | RFLAGS_RF;
	unsigned iopl = (unsigned)((old & RFLAGS_IOPL) >> 12);

	if ((old & RFLAGS_VM) && iopl < 3)
		soft_raise(cpu, EXC_GP, 0);
	v = soft_peek(cpu, in->opsize, 0);
	if (cpu->cpl == 0 || cpu->mode == SOFT_MODE_REAL)
		mask |= RFLAGS_IOPL;
	if (cpu->cpl <= iopl || cpu->mode == SOFT_MODE_REAL)
		mask |= X86_RFLAGS_IF;
	if (in->opsize == 2)
		mask &= 0xffff;
	soft_rsp_add(cpu, in->opsize);
	soft_flags_set(cpu, v & ~RFLAGS_RF, mask);
	/* Pending interrupts may now be taken, or single-stepping starts. */
	if ((!(old & X86_RFLAGS_IF) && (cpu->rflags & X86_RFLAGS_IF)) ||
	    (cpu->rflags & X86_RFLAGS_TF))
		cpu->exec_stop = true;
}

/* 60: PUSHA/PUSHAD. */
void soft_op_pusha(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	u64 sp = cpu->gpr[X86_RSP];

	for (unsigned r = 0; r < 8; r++) {
		u64 v = r == X86_RSP ? sp : cpu->gpr[r];
		u64 a = sp_add(cpu, sp, -(s64)(size * (r + 1)));
		soft_mem_write(cpu, X86_SS, a, size, v);
	}
	soft_rsp_add(cpu, -(s64)(size * 8));
}

/* 61: POPA/POPAD (the SP image is skipped). */
void soft_op_popa(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	u64 v[8];

	for (unsigned i = 0; i < 8; i++)
		v[7 - i] = soft_peek(cpu, size, size * i);
	for (unsigned r = 0; r < 8; r++)
		if (r != X86_RSP)
			soft_reg_set(cpu, r, size, true, v[r]);
	soft_rsp_add(cpu, size * 8);
}

/* C8: ENTER imm16, imm8 (SDM Vol. 2A "ENTER": nesting level mod 32). */
void soft_op_enter(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize, level = in->imm2 & 31;
	u64 sp = cpu->gpr[X86_RSP], bp = cpu->gpr[X86_RBP], frame;

	sp = sp_add(cpu, sp, -(s64)size);
	soft_mem_write(cpu, X86_SS, sp, size, bp);
	frame = sp;
	if (level) {
		for (unsigned i = 1; i < level; i++) {
			bp = sp_add(cpu, bp, -(s64)size);
			u64 v = soft_mem_read(cpu, X86_SS, bp, size);
			sp = sp_add(cpu, sp, -(s64)size);
			soft_mem_write(cpu, X86_SS, sp, size, v);
		}
		sp = sp_add(cpu, sp, -(s64)size);
		soft_mem_write(cpu, X86_SS, sp, size, frame);
	}
	sp = sp_add(cpu, sp, -(s64)(in->imm & 0xffff));
	/* The final stack pointer must be usable: probe it as a write. */
	if (in->imm & 0xffff)
		soft_read_for_write(cpu, X86_SS, sp, 1);
	soft_reg_set(cpu, X86_RBP, cpu->stack_size == 2 ? 2 : size, true, frame);
	sp_set(cpu, sp);
}

/* C9: LEAVE. */
void soft_op_leave(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	u64 sp = sp_add(cpu, cpu->gpr[X86_RBP], 0);
	u64 v = soft_mem_read(cpu, X86_SS, sp, size);

	sp_set(cpu, sp_add(cpu, sp, size));
	soft_reg_set(cpu, X86_RBP, size, true, v);
}

static int sreg_of(const struct soft_insn *in)
{
	if (in->map == SOFT_MAP_0F)
		return in->opcode < 0xa8 ? X86_FS : X86_GS;
	return (in->opcode >> 3) & 3; /* 06 ES, 0E CS, 16 SS, 1E DS */
}

/* 06/0E/16/1E, 0F A0/A8: PUSH Sreg. Intel writes only the 16-bit selector
 * into the operand-size slot (SDM Vol. 2B "PUSH"). */
void soft_op_push_sreg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	u64 sp = sp_add(cpu, cpu->gpr[X86_RSP], -(s64)size);

	soft_mem_write(cpu, X86_SS, sp, 2, cpu->seg[sreg_of(in)].selector);
	sp_set(cpu, sp);
}

/* 07/17/1F, 0F A1/A9: POP Sreg. POP SS blocks interrupts for one instruction. */
void soft_op_pop_sreg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	int seg = sreg_of(in);
	u16 sel = (u16)soft_peek(cpu, 2, 0);

	soft_load_seg(cpu, seg, sel);
	soft_rsp_add(cpu, in->opsize);
	if (seg == X86_SS)
		cpu->intr_shadow = cpu->db_ss_shadow = 1;
}
