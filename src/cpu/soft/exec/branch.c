/* Control transfers: Jcc, JMP, CALL and RET near, LOOP/LOOPcc, JrCXZ, the
 * far forms (through the system code's soft_far_*) and group 5 (FF)
 * (Intel SDM Vol. 2A/2B, Vol. 1 6.3). */
#include "cpu/soft/exec/exec.h"

/* The target truncated to the operand size, after the checks (canonical in
 * 64-bit mode, CS limit elsewhere: #GP(0)), so that CALL/RET fault before
 * they touch the stack. */
static u64 branch_target(struct soft_cpu *cpu, u64 target, unsigned opsize)
{
	if (opsize == 2)
		target &= 0xffff;
	else if (opsize == 4)
		target &= 0xffffffff;
	if (cpu->mode == SOFT_MODE_LONG64) {
		if (!soft_canonical(target))
			soft_raise(cpu, EXC_GP, 0);
	} else if (target > cpu->seg[X86_CS].limit) {
		soft_raise(cpu, EXC_GP, 0);
	}
	return target;
}

void soft_jump(struct soft_cpu *cpu, u64 target, unsigned opsize)
{
	cpu->rip = branch_target(cpu, target, opsize);
}

/* 70-7F, 0F 80-8F. */
void soft_op_jcc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (soft_cond(cpu, in->opcode & 15))
		soft_jump(cpu, cpu->rip + in->imm, in->opsize);
}

/* E9, EB: JMP rel. */
void soft_op_jmp_rel(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_jump(cpu, cpu->rip + in->imm, in->opsize);
}

static void call_to(struct soft_cpu *cpu, u64 target, unsigned opsize)
{
	target = branch_target(cpu, target, opsize);
	soft_push(cpu, opsize, cpu->rip);
	cpu->rip = target;
}

/* E8: CALL rel. */
void soft_op_call_rel(struct soft_cpu *cpu, const struct soft_insn *in)
{
	call_to(cpu, cpu->rip + in->imm, in->opsize);
}

/* C3: RET, C2: RET imm16. */
void soft_op_ret(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	u64 target = branch_target(cpu, soft_peek(cpu, size, 0), size);

	soft_rsp_add(cpu, size + (in->opcode == 0xc2 ? (in->imm & 0xffff) : 0));
	cpu->rip = target;
}

/* E0 LOOPNE, E1 LOOPE, E2 LOOP, E3 JrCXZ: the count register has the
 * address size. */
void soft_op_loop(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned as = in->addrsize;
	u64 cx = soft_reg_get(cpu, X86_RCX, as, true);
	bool take;

	if (in->opcode == 0xe3) {
		take = cx == 0;
	} else {
		cx = (cx - 1) & soft_size_mask(as);
		soft_reg_set(cpu, X86_RCX, as, true, cx);
		take = cx != 0;
		if (in->opcode == 0xe0)
			take = take && !soft_cond(cpu, 4);
		else if (in->opcode == 0xe1)
			take = take && soft_cond(cpu, 4);
	}
	if (take)
		soft_jump(cpu, cpu->rip + in->imm, in->opsize);
}

/* EA: JMP ptr16:16/32 (not in 64-bit mode). */
void soft_op_jmp_far(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_far_jump(cpu, (u16)in->imm2, in->imm, in->opsize);
}

/* 9A: CALL ptr16:16/32. */
void soft_op_call_far(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_far_call(cpu, (u16)in->imm2, in->imm, in->opsize);
}

/* CB: RETF, CA: RETF imm16. */
void soft_op_ret_far(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_far_ret(cpu, in->opsize, in->opcode == 0xca ? (u16)in->imm : 0);
}

/* FF /3, /5: the m16:16/32/64 far pointer operand. */
static void far_pointer(struct soft_cpu *cpu, const struct soft_insn *in, u16 *sel, u64 *off)
{
	u64 ea = soft_ea(cpu, in);
	unsigned size = in->opsize;

	*off = soft_mem_read(cpu, in->seg, ea, size);
	ea += size;
	if (in->addrsize == 4)
		ea = (u32)ea;
	else if (in->addrsize == 2)
		ea = (u16)ea;
	*sel = (u16)soft_mem_read(cpu, in->seg, ea, 2);
}

/* FF: INC, DEC, CALL, CALL far, JMP, JMP far, PUSH. */
void soft_op_grp5(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u16 sel;
	u64 off;

	switch ((in->modrm >> 3) & 7) {
	case 0:
	case 1:
		soft_op_grp4(cpu, in);
		break;
	case 2:
		call_to(cpu, soft_rm_read(cpu, in, in->opsize), in->opsize);
		break;
	case 3:
		far_pointer(cpu, in, &sel, &off);
		soft_far_call(cpu, sel, off, in->opsize);
		break;
	case 4:
		soft_jump(cpu, soft_rm_read(cpu, in, in->opsize), in->opsize);
		break;
	case 5:
		far_pointer(cpu, in, &sel, &off);
		soft_far_jump(cpu, sel, off, in->opsize);
		break;
	default:
		soft_push_rm(cpu, in);
		break;
	}
}

/* 62: BOUND r, m16&16 / m32&32 (outside 64-bit mode): #BR when the signed
 * index is outside [lower, upper] (SDM Vol. 2A "BOUND"). */
void soft_op_bound(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize;
	u64 ea = soft_ea(cpu, in), ea2 = ea + size;
	s64 idx = soft_sext(soft_greg_read(cpu, in, size), size), lo, hi;

	if (in->addrsize == 4)
		ea2 = (u32)ea2;
	else if (in->addrsize == 2)
		ea2 = (u16)ea2;
	lo = soft_sext(soft_mem_read(cpu, in->seg, ea, size), size);
	hi = soft_sext(soft_mem_read(cpu, in->seg, ea2, size), size);
	if (idx < lo || idx > hi)
		soft_raise_noerr(cpu, EXC_BR);
}
