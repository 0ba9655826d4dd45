/* Integer arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP, TEST, NOT,
 * NEG, INC, DEC, the BCD adjustments and the flag-bit instructions
 * (Intel SDM Vol. 2A/2B, instruction pages of each). */
#include "cpu/soft/exec/exec.h"

u64 soft_alu(struct soft_cpu *cpu, unsigned op, unsigned size, u64 dst, u64 src)
{
	u64 m = soft_size_mask(size), res;
	bool cf;

	dst &= m;
	src &= m;
	switch (op) {
	case SOFT_ALU_ADD:
		res = (dst + src) & m;
		soft_lazy_set(cpu, SOFT_LAZY_ADD, size, dst, src, res);
		return res;
	case SOFT_ALU_OR:
		res = dst | src;
		break;
	case SOFT_ALU_ADC:
		cf = soft_flags_cf(cpu);
		res = (dst + src + cf) & m;
		soft_lazy_set(cpu, cf ? SOFT_LAZY_ADC : SOFT_LAZY_ADD, size, dst, src, res);
		return res;
	case SOFT_ALU_SBB:
		cf = soft_flags_cf(cpu);
		res = (dst - src - cf) & m;
		soft_lazy_set(cpu, cf ? SOFT_LAZY_SBB : SOFT_LAZY_SUB, size, dst, src, res);
		return res;
	case SOFT_ALU_AND:
		res = dst & src;
		break;
	case SOFT_ALU_XOR:
		res = dst ^ src;
		break;
	default: /* SUB, CMP */
		res = (dst - src) & m;
		soft_lazy_set(cpu, SOFT_LAZY_SUB, size, dst, src, res);
		return res;
	}
	soft_lazy_set(cpu, SOFT_LAZY_LOGIC, size, dst, src, res);
	return res;
}

u64 soft_alu_inc(struct soft_cpu *cpu, unsigned size, u64 dst)
{
	u64 m = soft_size_mask(size), res = (dst + 1) & m;

	soft_lazy_set(cpu, SOFT_LAZY_INC, size, dst & m, soft_flags_cf(cpu), res);
	return res;
}

u64 soft_alu_dec(struct soft_cpu *cpu, unsigned size, u64 dst)
{
	u64 m = soft_size_mask(size), res = (dst - 1) & m;

	soft_lazy_set(cpu, SOFT_LAZY_DEC, size, dst & m, soft_flags_cf(cpu), res);
	return res;
}

u64 soft_alu_neg(struct soft_cpu *cpu, unsigned size, u64 src)
{
	u64 m = soft_size_mask(size), res = (0 - src) & m;

	soft_lazy_set(cpu, SOFT_LAZY_SUB, size, 0, src & m, res);
	return res;
}

/* Unary ops for the locked path: op is ModRM.reg of group 3/4. */
enum { UNARY_INC = 0, UNARY_DEC = 1, UNARY_NOT = 2, UNARY_NEG = 3 };

static u64 alu_rmw_fn(struct soft_cpu *cpu, u64 old, u64 arg, unsigned size, unsigned op)
{
	return soft_alu(cpu, op, size, old, arg);
}

static u64 unary_fn(struct soft_cpu *cpu, u64 old, u64 arg, unsigned size, unsigned op)
{
	(void)arg;
	switch (op) {
	case UNARY_INC:
		return soft_alu_inc(cpu, size, old);
	case UNARY_DEC:
		return soft_alu_dec(cpu, size, old);
	case UNARY_NOT:
		return ~old & soft_size_mask(size);
	default:
		return soft_alu_neg(cpu, size, old);
	}
}

/* r/m op= src, for the group-1 and Ev,Gv forms. */
static void alu_rm(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op, u64 src)
{
	unsigned size = in->size;
	struct soft_rmw r;
	u64 dst;

	if (op == SOFT_ALU_CMP) {
		soft_alu(cpu, op, size, soft_rm_read(cpu, in, size), src);
		return;
	}
	if (in->lock) {
		soft_locked_rmw(cpu, in, size, alu_rmw_fn, src, op);
		return;
	}
	dst = soft_rmw_begin(cpu, in, size, &r);
	soft_rmw_end(cpu, in, size, &r, soft_alu(cpu, op, size, dst, src));
}

/* 00-3B: op Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev. */
void soft_op_alu(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned op = (in->opcode >> 3) & 7, size = in->size;

	if (in->opcode & 2) {
		u64 src = soft_rm_read(cpu, in, size);
		u64 res = soft_alu(cpu, op, size, soft_greg_read(cpu, in, size), src);
		if (op != SOFT_ALU_CMP)
			soft_greg_write(cpu, in, size, res);
		return;
	}
	alu_rm(cpu, in, op, soft_greg_read(cpu, in, size));
}

/* 04/05 .. 3C/3D: op AL/rAX, imm. */
void soft_op_alu_imm_acc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned op = (in->opcode >> 3) & 7, size = in->size;
	u64 res = soft_alu(cpu, op, size, soft_reg_get(cpu, X86_RAX, size, true), in->imm);

	if (op != SOFT_ALU_CMP)
		soft_reg_set(cpu, X86_RAX, size, true, res);
}

/* 80-83: op r/m, imm. */
void soft_op_grp1(struct soft_cpu *cpu, const struct soft_insn *in)
{
	alu_rm(cpu, in, (in->modrm >> 3) & 7, in->imm);
}

/* 84/85 TEST r/m, reg; A8/A9 TEST AL/rAX, imm. */
void soft_op_test(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size;
	u64 a, b;

	if (in->has_modrm) {
		a = soft_rm_read(cpu, in, size);
		b = soft_greg_read(cpu, in, size);
	} else {
		a = soft_reg_get(cpu, X86_RAX, size, true);
		b = in->imm;
	}
	soft_alu(cpu, SOFT_ALU_AND, size, a, b);
}

static void unary_rm(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op)
{
	unsigned size = in->size;
	struct soft_rmw r;
	u64 v;

	if (in->lock) {
		soft_locked_rmw(cpu, in, size, unary_fn, 0, op);
		return;
	}
	v = soft_rmw_begin(cpu, in, size, &r);
	soft_rmw_end(cpu, in, size, &r, unary_fn(cpu, v, 0, size, op));
}

/* F6/F7: TEST imm, NOT, NEG, MUL, IMUL, DIV, IDIV. */
void soft_op_grp3(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned op = (in->modrm >> 3) & 7;

	switch (op) {
	case 0:
	case 1:
		soft_alu(cpu, SOFT_ALU_AND, in->size, soft_rm_read(cpu, in, in->size), in->imm);
		break;
	case 2:
		unary_rm(cpu, in, UNARY_NOT);
		break;
	case 3:
		unary_rm(cpu, in, UNARY_NEG);
		break;
	default:
		soft_muldiv(cpu, in, op);
		break;
	}
}

/* 40-4F outside 64-bit mode: INC/DEC r16/r32. */
void soft_op_incdec_reg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned r = in->opcode & 7, size = in->opsize;
	u64 v = soft_reg_get(cpu, r, size, true);

	v = in->opcode & 8 ? soft_alu_dec(cpu, size, v) : soft_alu_inc(cpu, size, v);
	soft_reg_set(cpu, r, size, true, v);
}

/* FE /0 /1 and FF /0 /1: INC/DEC r/m. */
void soft_op_grp4(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unary_rm(cpu, in, (in->modrm >> 3) & 1 ? UNARY_DEC : UNARY_INC);
}

/* Sets AL/AH and flags for the BCD instructions (SDM Vol. 2A DAA, DAS, AAA,
 * AAS, AAM, AAD); flags that the SDM leaves undefined follow the result, as
 * Intel processors do. */
static void bcd_daa_das(struct soft_cpu *cpu, bool sub)
{
	u64 f = soft_flags_get(cpu);
	u8 al = (u8)cpu->gpr[X86_RAX], old = al;
	bool cf = f & X86_RFLAGS_CF, af = f & X86_RFLAGS_AF, ncf = false;

	if ((al & 0xf) > 9 || af) {
		al = sub ? (u8)(al - 6) : (u8)(al + 6);
		ncf = cf || (sub ? old < 6 : old > 0xf9);
		af = true;
	} else {
		af = false;
	}
	if (old > 0x99 || cf) {
		al = sub ? (u8)(al - 0x60) : (u8)(al + 0x60);
		ncf = true;
	}
	soft_reg_set(cpu, X86_RAX, 1, true, al);
	f = soft_flags_szp(al, 1) | (ncf ? X86_RFLAGS_CF : 0) | (af ? X86_RFLAGS_AF : 0);
	soft_flags_set_arith(cpu, f); /* OF (undefined) is cleared, as on Intel */
}

static void bcd_aaa_aas(struct soft_cpu *cpu, bool sub)
{
	u64 f = soft_flags_get(cpu);
	u16 ax = (u16)cpu->gpr[X86_RAX];
	bool adj = (ax & 0xf) > 9 || (f & X86_RFLAGS_AF);

	if (adj) {
		/* SDM: AX <- AX - 6 (a borrow reaches AH), AH <- AH - 1; AAA
		 * adds 106H to AX. */
		ax = sub ? (u16)(ax - 6 - 0x100) : (u16)(ax + 0x106);
	}
	ax &= 0xff0f;
	soft_reg_set(cpu, X86_RAX, 2, true, ax);
	f = soft_flags_szp(ax & 0xff, 1) & ~(X86_RFLAGS_SF);
	if (adj)
		f |= X86_RFLAGS_AF | X86_RFLAGS_CF;
	soft_flags_set_arith(cpu, f);
}

void soft_op_bcd(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u8 al, ah;

	switch (in->opcode) {
	case 0x27:
		bcd_daa_das(cpu, false);
		break;
	case 0x2f:
		bcd_daa_das(cpu, true);
		break;
	case 0x37:
		bcd_aaa_aas(cpu, false);
		break;
	case 0x3f:
		bcd_aaa_aas(cpu, true);
		break;
	case 0xd4: /* AAM imm8 */
		if (!(in->imm & 0xff))
			soft_raise_noerr(cpu, EXC_DE);
		al = (u8)cpu->gpr[X86_RAX];
		ah = (u8)(al / (u8)in->imm);
		al = (u8)(al % (u8)in->imm);
		soft_reg_set(cpu, X86_RAX, 2, true, (u64)ah << 8 | al);
		soft_flags_set_arith(cpu, soft_flags_szp(al, 1));
		break;
	default: /* D5: AAD imm8 */
		al = (u8)cpu->gpr[X86_RAX];
		ah = (u8)(cpu->gpr[X86_RAX] >> 8);
		soft_alu(cpu, SOFT_ALU_ADD, 1, al, (u8)(ah * (u8)in->imm));
		soft_reg_set(cpu, X86_RAX, 2, true, (u8)(al + ah * (u8)in->imm));
		break;
	}
}

/* D6: SALC (undocumented, Intel: AL = CF ? 0xFF : 0). */
void soft_op_salc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	soft_reg_set(cpu, X86_RAX, 1, true, soft_flags_cf(cpu) ? 0xff : 0);
}

/* F5 CMC, F8 CLC, F9 STC, FC CLD, FD STD. */
void soft_op_flagop(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 f;

	switch (in->opcode) {
	case 0xf5:
		f = soft_flags_get(cpu);
		cpu->rflags = f ^ X86_RFLAGS_CF;
		break;
	case 0xf8:
	case 0xf9:
		f = soft_flags_get(cpu) & ~X86_RFLAGS_CF;
		cpu->rflags = f | (in->opcode & 1 ? X86_RFLAGS_CF : 0);
		break;
	case 0xfc:
		cpu->rflags &= ~X86_RFLAGS_DF;
		break;
	default:
		cpu->rflags |= X86_RFLAGS_DF;
		break;
	}
}
