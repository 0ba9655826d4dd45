/* Host code for the integer forms the translator takes itself (native.h):
 * MOV and LEA, ADD/SUB/AND/OR/XOR/CMP/TEST with registers and immediates,
 * shifts by constants, INC/DEC, 32 and 64 bits, 32/64-bit MOV and MOVZX
 * between registers and memory (64-bit addressing), PUSH/POP r64, CALL
 * rel32, RET and JMP rel, ALU and TEST with memory, byte ALU/TEST/MOV on the
 * bytes of registers (AH..BH through rax and rcx), word ALU/TEST/MOV,
 * MOVZX/MOVSXD, IMUL r, r/m, CMOVcc, SETcc, ADC/SBB with registers, JMP and
 * CALL r/m64, INC/DEC with memory, and NOPs. Other memory forms and the rest
 * go to their handlers. */
#include <stddef.h>

#include "cpu/soft/cpu.h"
#include "cpu/soft/jit/native.h"

#define SEG_BASE(s) ((s32)(offsetof(struct soft_cpu, seg) + sizeof(struct x86_seg) * (s) + \
			   offsetof(struct x86_seg, base)))
#define OFF_DBANK   ((s32)offsetof(struct soft_cpu, dbank_off))
#define OFF_READ_KEY ((s32)offsetof(struct soft_cpu, tlb.read_key))
#define OFF_RIP     ((s32)offsetof(struct soft_cpu, rip))
#define OFF_LAZY_RES ((s32)offsetof(struct soft_cpu, lazy.res))
#define OFF_TLB_E   ((s32)offsetof(struct soft_cpu, tlb.e))

_Static_assert(sizeof(struct soft_tlb_entry) == 64, "the inline TLB index scales by 64");
_Static_assert(sizeof(((struct soft_cpu *)0)->dbank_off) == 4, "dbank_off is read as a dword");

/* ALU opcode rows: 00 ADD, 08 OR, 20 AND, 28 SUB, 30 XOR, 38 CMP (not 10 ADC, 18 SBB). */
static bool alu_native(unsigned op)
{
	return op == JA_ADD || op == JA_OR || op == JA_AND || op == JA_SUB || op == JA_XOR ||
	       op == JA_CMP;
}

/* A memory operand the inline path can address: 64-bit addressing, a
 * segment whose base is 0 (or FS/GS, whose base is added). */
static bool mem_native(const struct soft_insn *in)
{
	return in->mem && in->addrsize == 8 && in->seg >= 0 && in->seg <= X86_GS &&
	       in->disp == (s32)in->disp;
}

/* A byte register operand that is the low byte of a guest register: AL to
 * BL, or any with a REX prefix (SPL to DIL, R8B to R15B); AH to BH are not. */
static bool low_byte(const struct soft_insn *in, unsigned r)
{
	return in->rex || (r & 15) < 4;
}

/* An ALU or TEST form and a MOV form with a ModRM operand: as host code
 * with a register, through the inline TLB check with memory it can address. */
static enum jit_native_kind alu_kind(const struct soft_insn *in)
{
	return in->mem ? (mem_native(in) ? JN_MEMALU : JN_NONE) : JN_FLAGS;
}

static enum jit_native_kind mov_kind(const struct soft_insn *in)
{
	return in->mem ? (mem_native(in) ? JN_MEM : JN_NONE) : JN_MOVE;
}

/* Byte forms: ALU, TEST and MOV, with the low byte of a host register
 * standing for the guest's (a write keeps the rest, as the guest's does);
 * between registers, AH..BH too (high_byte_emit). */
static enum jit_native_kind byte_kind(const struct soft_insn *in)
{
	unsigned op = in->opcode;
	/* (with memory, the register operand is a host register's low byte) */
	bool regs_ok = !in->mem || low_byte(in, in->reg);
	enum jit_native_kind alu = alu_kind(in), mov = mov_kind(in);

	if (op < 0x40 && ((op & 7) == 0 || (op & 7) == 2) && alu_native(op >> 3) && regs_ok)
		return alu; /* op Eb, Gb and op Gb, Eb */
	if ((op < 0x40 && (op & 7) == 4 && alu_native(op >> 3)) || op == 0xa8)
		return JN_FLAGS; /* op AL, Ib; TEST AL, Ib */
	if (op == 0x84 && regs_ok)
		return alu;
	if ((op == 0x80 && alu_native(in->reg & 7)) || (op == 0xf6 && (in->reg & 7) == 0))
		return alu; /* group 1 Eb, Ib; TEST Eb, Ib */
	if ((op == 0x88 || op == 0x8a) && regs_ok)
		return mov;
	if (op == 0xc6 && (in->reg & 7) == 0)
		return mov;
	if (op >= 0xb0 && op <= 0xb7)
		return JN_MOVE;
	if (op == 0xfe && in->mem && (in->reg & 7) <= 1)
		return mem_native(in) ? JN_MEMINC : JN_NONE;
	return JN_NONE;
}

/* Word forms (66 prefix) whose host code keeps a register's upper bits as
 * the guest's does: ALU, TEST, NOT/NEG, MOV between registers and memory,
 * MOV m16, imm and INC/DEC r16. Not MOV r16, imm (jit_mov_ri writes all of
 * it), shifts (the vendors' flags), ADC/SBB, the stack and branches. */
static bool word_ok(const struct soft_insn *in)
{
	unsigned op = in->opcode, r = in->reg & 7;

	return (op < 0x40 && alu_native(op >> 3) &&
		((op & 7) == 1 || (op & 7) == 3 || (op & 7) == 5)) ||
	       ((op == 0x81 || op == 0x83) && alu_native(r)) || op == 0x85 || op == 0xa9 ||
	       (op == 0xf7 && (r == 0 || (!in->mem && (r == 2 || r == 3)))) || op == 0x89 ||
	       op == 0x8b || (op == 0xc7 && r == 0 && in->mem) || (op == 0xff && r <= 1 && !in->mem);
}

/* 0F-map forms: MOVZX, MOVSX, IMUL, CMOVcc, SETcc, NOP r/m and Jcc. */
static enum jit_native_kind map0f_kind(const struct soft_insn *in)
{
	unsigned op = in->opcode;
	bool wide = in->size == 4 || in->size == 8;

	/* Jcc with a 66 prefix truncates RIP to 16 bits on AMD only: handler. */
	if (op >= 0x80 && op <= 0x8f)
		return in->p66 ? JN_NONE : JN_JCC;
	if (in->lock)
		return JN_NONE;
	if (op == 0x1f)
		return JN_MOVE; /* NOP r/m: no access is made */
	if ((op == 0xb6 || op == 0xb7 || op == 0xbe || op == 0xbf) && wide) {
		if (in->mem)
			return mem_native(in) ? JN_MEM : JN_NONE;
		return (op & 1) || low_byte(in, in->rm) ? JN_MOVE : JN_NONE;
	}
	if (op == 0xaf && wide) /* with memory: only where its flags are dead (translate.c) */
		return in->mem ? (mem_native(in) ? JN_MEMALU : JN_NONE) : JN_SHIFT;
	if (op >= 0x40 && op <= 0x4f && wide && !in->mem)
		return JN_CMOV;
	if (op >= 0x90 && op <= 0x9f && !in->mem && low_byte(in, in->rm))
		return JN_CMOV;
	return JN_NONE;
}

enum jit_native_kind jit_native_kind(const struct soft_insn *in)
{
	unsigned op = in->opcode;

	if (in->map == SOFT_MAP_0F)
		return map0f_kind(in);
	if (in->map == SOFT_MAP_1B && op >= 0x70 && op <= 0x7f)
		return in->p66 ? JN_NONE : JN_JCC;
	if (in->map == SOFT_MAP_1B && op == 0x90 && !in->rep && !(in->rex & 1) && !in->lock)
		return JN_MOVE; /* NOP (not PAUSE, not XCHG r8, rax) */
	if (in->map == SOFT_MAP_1B && !in->lock && in->size == 1)
		return byte_kind(in);
	if (in->map != SOFT_MAP_1B || in->lock || (in->size != 2 && in->size != 4 && in->size != 8))
		return JN_NONE;
	if (in->size == 2 && !word_ok(in))
		return JN_NONE;
	if (op < 0x40 && ((op & 7) == 1 || (op & 7) == 3) && alu_native(op >> 3))
		return alu_kind(in); /* op Ev, Gv; op Gv, Ev */
	if ((op < 0x40 && (op & 7) == 5 && alu_native(op >> 3)) || op == 0xa9)
		return JN_FLAGS; /* op eAX, Iz; TEST eAX, Iz */
	if ((op == 0x81 || op == 0x83) && alu_native(in->reg & 7))
		return alu_kind(in); /* group 1 Ev, imm */
	if (op == 0x85 || (op == 0xf7 && (in->reg & 7) == 0))
		return alu_kind(in); /* TEST Ev, Gv; TEST Ev, Iz */
	if (op == 0xf7 && !in->mem && ((in->reg & 7) == 2 || (in->reg & 7) == 3))
		return (in->reg & 7) == 2 ? JN_MOVE : JN_FLAGS; /* NOT: no flags; NEG: all six */
	if (op >= 0x10 && op < 0x20 && ((op & 7) == 1 || (op & 7) == 3 || (op & 7) == 5) && !in->mem)
		return JN_CARRY; /* ADC/SBB Ev, Gv; Gv, Ev; eAX, Iz */
	if ((op == 0x81 || op == 0x83) && !in->mem && ((in->reg & 7) == JA_ADC || (in->reg & 7) == JA_SBB))
		return JN_CARRY;
	if (op == 0x89 || op == 0x8b || (op == 0xc7 && (in->reg & 7) == 0) ||
	    (op == 0x63 && in->size == 8))
		return mov_kind(in); /* MOV Ev, Gv; Gv, Ev; Ev, Iz; MOVSXD r64, r/m32 */
	if ((op == 0xc1 || op == 0xd1) && !in->mem) {
		unsigned r = in->reg & 7, count = op == 0xd1 ? 1 : (unsigned)in->imm;
		/* A zero count changes nothing, not even the upper half of a
		 * 32-bit register on every CPU: the handler decides that. */
		if ((r <= 1 || r == 4 || r == 5 || r == 7) && (count & (in->size == 8 ? 63 : 31)))
			return JN_SHIFT; /* ROL ROR SHL SHR SAR */
	}
	if (op == 0xd3 && !in->mem) {
		unsigned r = in->reg & 7;
		if (r == 4 || r == 5 || r == 7 || (in->size == 8 && r <= 1))
			return JN_SHIFT_CL; /* SHL SHR SAR; ROL ROR r64 */
	}
	if (op == 0xff && (in->reg & 7) <= 1)
		return !in->mem ? JN_INCDEC : mem_native(in) ? JN_MEMINC : JN_NONE;
	if (op == 0xf7 && !in->mem && (in->reg & 7) == 4)
		return JN_MUL;
	if (op == 0x98 && in->size >= 4)
		return JN_MOVE; /* CWDE, CDQE */
	if (!in->p66 && (op == 0x6a || op == 0x68))
		return JN_STACK; /* PUSH imm */
	if (op == 0xff && !in->p66 && ((in->reg & 7) == 2 || (in->reg & 7) == 4))
		return !in->mem || mem_native(in) ? JN_IND : JN_NONE; /* CALL, JMP r/m64 */
	/* The stack and near branches, 64-bit operand size (a 66 prefix makes
	 * them 16-bit, with vendor differences): SS's base is 0. */
	if (!in->p66 && op >= 0x50 && op <= 0x5f)
		return JN_STACK;
	if (!in->p66 && op == 0xe8)
		return JN_CALL;
	if (!in->p66 && op == 0xc3)
		return JN_RET;
	if (!in->p66 && (op == 0xe9 || op == 0xeb))
		return JN_JMP;
	if (op >= 0xb8 && op <= 0xbf)
		return JN_MOVE;
	if (op == 0x8d && in->mem && in->addrsize == 8 && in->disp == (s32)in->disp)
		return JN_MOVE; /* LEA: an address computed, no memory touched */
	return JN_NONE;
}

/* op dst, src/imm on guest registers (in host registers, regs.h). A 32-bit
 * result zero-extends, as the guest's does. */
static void alu(struct jit_emit *e, struct jit_regs *rg, unsigned op, unsigned size, unsigned dst,
		int src, s32 imm)
{
	enum jit_reg d = jit_regs_get(rg, e, dst, true);

	if (src >= 0)
		jit_alu_rr(e, op, size, d, jit_regs_get(rg, e, (unsigned)src, true));
	else
		jit_alu_ri(e, op, size, d, imm);
	if (op != JA_CMP)
		jit_regs_dirty(rg, dst);
}

static void test(struct jit_emit *e, struct jit_regs *rg, unsigned size, unsigned a, int b,
		 s32 imm)
{
	enum jit_reg ha = jit_regs_get(rg, e, a, true);

	if (b >= 0)
		jit_test_rr(e, size, ha, jit_regs_get(rg, e, (unsigned)b, true));
	else
		jit_test_ri(e, size, ha, imm);
}

/* The address of in's memory operand: lea into r (size 4 or 8), 64-bit
 * addressing; no host flag changes. */
static void ea(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in, s32 next_off,
	       unsigned size, enum jit_reg r)
{
	if (in->rip_rel) { /* next RIP + disp: r12 + next_off + disp */
		jit_lea(e, JR_RAX, JR_R12, next_off);
		jit_lea_x(e, size, r, JR_RAX, JR_NONE, 1, (s32)in->disp);
		return;
	}
	enum jit_reg b = in->base >= 0 ? jit_regs_get(rg, e, (unsigned)in->base, true) : JR_NONE;
	enum jit_reg x = in->index >= 0 ? jit_regs_get(rg, e, (unsigned)in->index, true) : JR_NONE;

	jit_lea_x(e, size, r, b, x, in->scale ? in->scale : 1, (s32)in->disp);
}

/* The linear address of in's memory operand into rax: its address, plus
 * FS's or GS's base, the only segment bases in 64-bit mode (SDM Vol. 3A
 * 3.4.4). */
static void linear_addr(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
			s32 next_off)
{
	ea(e, rg, in, next_off, 8, JR_RAX);
	if (in->seg >= X86_FS)
		jit_alu_rm(e, JA_ADD, 8, JR_RAX, JR_RBX, SEG_BASE(in->seg));
}

/* 0F-map forms (map0f_kind). */
static void emit_0f(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in)
{
	unsigned op = in->opcode, size = in->size;
	enum jit_reg s, d;

	if (op == 0x1f)
		return;
	if (op >= 0x90 && op <= 0x9f) {
		d = jit_regs_get(rg, e, in->rm, true);
		jit_setcc(e, (enum jit_cc)(op & 0xf), d);
		jit_regs_dirty(rg, in->rm);
		return;
	}
	s = jit_regs_get(rg, e, in->rm, true);
	d = jit_regs_get(rg, e, in->reg, op < 0xb6); /* MOVZX, MOVSX write all of it */
	if (op == 0xb6 || op == 0xb7)
		jit_movzx_rr(e, op == 0xb6 ? 1 : 2, d, s);
	else if (op == 0xbe || op == 0xbf)
		jit_movsx_rr(e, op == 0xbe ? 1 : 2, size, d, s);
	else if (op == 0xaf)
		jit_imul_rr(e, size, d, s);
	else /* CMOVcc: a 32-bit one zero-extends even when it does not move */
		jit_cmov_rr(e, (enum jit_cc)(op & 0xf), size, d, s);
	jit_regs_dirty(rg, in->reg);
}

/* A byte operand's guest register and whether it is the high byte (AH..BH:
 * encodings 4-7 without REX). */
static unsigned byte_reg(const struct soft_insn *in, unsigned r, bool *high)
{
	*high = !low_byte(in, r);
	return *high ? (r & 3) : r;
}

bool jit_native_high_byte(const struct soft_insn *in)
{
	unsigned op = in->opcode;
	bool high, other;

	if (in->map != SOFT_MAP_1B || in->size != 1 || in->mem || in->rex)
		return false;
	if (op >= 0xb0 && op <= 0xb7)
		return op >= 0xb4;
	if (op == 0x80 || op == 0xc6 || op == 0xf6)
		return byte_reg(in, in->rm, &high), high;
	if (op < 0x40 && (op & 7) >= 4)
		return false; /* op AL, Ib */
	byte_reg(in, in->rm, &high);
	byte_reg(in, in->reg, &other);
	return high || other;
}

/* A byte form that names AH, CH, DH or BH (jit_native_high_byte): no
 * host instruction reaches those bytes of the registers the guest's live
 * in, so the r/m's register is copied to rax and the other to rcx (or both
 * are rax's bytes when they are one register), the instruction runs on
 * AH/AL and CH/CL, and what it wrote is copied back. */
static void high_byte_emit(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in)
{
	unsigned op = in->opcode, ext = in->reg & 7;
	bool imm = op == 0x80 || op == 0xc6 || op == 0xf6, mov_imm = op >= 0xb0 && op <= 0xb7;
	bool a_high, b_high = false;
	unsigned a = byte_reg(in, mov_imm ? op & 7 : in->rm, &a_high);
	unsigned b = imm || mov_imm ? a : byte_reg(in, in->reg, &b_high);
	bool same = imm || mov_imm || a == b;
	enum jit_reg ha = jit_regs_get(rg, e, a, true);
	enum jit_reg8 ra = a_high ? J8_AH : J8_AL;
	enum jit_reg8 rb = same ? (b_high ? J8_AH : J8_AL) : (b_high ? J8_CH : J8_CL);
	/* What it writes: the r/m (or the register) unless CMP or TEST; the
	 * reg operand for op Gb, Eb and MOV Gb, Eb. */
	bool reads_only = op == 0x84 || op == 0xf6 || (op < 0x40 && op >> 3 == JA_CMP) ||
			  (op == 0x80 && ext == JA_CMP);
	bool to_reg = !imm && !mov_imm && (op & 2);

	jit_mov_rr(e, JR_RAX, ha);
	if (!same)
		jit_mov_rr(e, JR_RCX, jit_regs_get(rg, e, b, true));
	if (mov_imm)
		jit_mov8_ri(e, ra, (u8)in->imm);
	else if (imm)
		jit_op8_ri(e, op, op == 0x80 ? ext : 0, ra, (u8)in->imm);
	else
		jit_op8_rr(e, op, ra, rb);
	if (reads_only)
		return;
	unsigned dst = to_reg ? b : a;

	jit_mov_rr(e, jit_regs_get(rg, e, dst, true), to_reg && !same ? JR_RCX : JR_RAX);
	jit_regs_dirty(rg, dst);
}

void jit_native_emit(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
		     s32 next_off)
{
	unsigned op = in->opcode, size = in->size;
	s32 imm = (s32)in->imm;
	enum jit_reg d;

	if (jit_native_high_byte(in)) {
		high_byte_emit(e, rg, in);
		jit_regs_unpin(rg);
		return;
	}
	if (in->map == SOFT_MAP_0F)
		emit_0f(e, rg, in);
	else if (op == 0x90)
		; /* NOP */
	else if (op < 0x40 && ((op & 7) == 0 || (op & 7) == 1))
		alu(e, rg, op >> 3, size, in->rm, in->reg, 0);
	else if (op < 0x40 && ((op & 7) == 2 || (op & 7) == 3))
		alu(e, rg, op >> 3, size, in->reg, in->rm, 0);
	else if (op < 0x40 && ((op & 7) == 4 || (op & 7) == 5))
		alu(e, rg, op >> 3, size, 0, -1, imm);
	else if (op == 0x80 || op == 0x81 || op == 0x83)
		alu(e, rg, in->reg & 7, size, in->rm, -1, imm);
	else if (op == 0x84 || op == 0x85)
		test(e, rg, size, in->rm, in->reg, 0);
	else if (op == 0xa8 || op == 0xa9)
		test(e, rg, size, 0, -1, imm);
	else if (op == 0xf7 && ((in->reg & 7) == 2 || (in->reg & 7) == 3)) {
		d = jit_regs_get(rg, e, in->rm, true);
		jit_notneg(e, (in->reg & 7) == 3, size, d);
		jit_regs_dirty(rg, in->rm);
	} else if (op == 0xf7 && (in->reg & 7) == 4) { /* MUL r: rdx:rax = rax * r */
		enum jit_reg s = jit_regs_get(rg, e, in->rm, true);
		enum jit_reg a = jit_regs_get(rg, e, X86_RAX, true);

		jit_mov_rr(e, JR_RAX, a);
		jit_mul_r(e, size, s);
		jit_mov_rr(e, a, JR_RAX);
		jit_mov_rr(e, jit_regs_get(rg, e, X86_RDX, false), JR_RDX);
		jit_regs_dirty(rg, X86_RAX);
		jit_regs_dirty(rg, X86_RDX);
	} else if (op == 0xf6 || op == 0xf7) {
		test(e, rg, size, in->rm, -1, imm);
	} else if (op == 0x88 || op == 0x89 || op == 0x8a || op == 0x8b) {
		bool to_rm = op == 0x88 || op == 0x89;
		unsigned dst = to_rm ? in->rm : in->reg, src = to_rm ? in->reg : in->rm;
		enum jit_reg s = jit_regs_get(rg, e, src, true);

		d = jit_regs_get(rg, e, dst, size <= 2); /* a byte or word move keeps the rest */
		jit_mov_rr_sz(e, size, d, s);
		jit_regs_dirty(rg, dst);
	} else if (op == 0x98) { /* CWDE: movsx eax, ax; CDQE: movsxd rax, eax */
		d = jit_regs_get(rg, e, X86_RAX, true);
		if (size == 8)
			jit_movsxd_rr(e, d, d);
		else
			jit_movsx_rr(e, 2, 4, d, d);
		jit_regs_dirty(rg, X86_RAX);
	} else if (op == 0x63) {
		enum jit_reg s = jit_regs_get(rg, e, in->rm, true);

		d = jit_regs_get(rg, e, in->reg, false);
		jit_movsxd_rr(e, d, s);
		jit_regs_dirty(rg, in->reg);
	} else if ((op >= 0xb0 && op <= 0xbf) || op == 0xc6 || op == 0xc7) {
		unsigned r = op >= 0xc6 ? in->rm : (op & 7) | (in->rex & 1 ? 8 : 0);

		d = jit_regs_get(rg, e, r, size == 1);
		if (size == 1)
			jit_mov_ri8(e, d, (u8)in->imm);
		else
			jit_mov_ri(e, d, size == 4 ? (u32)in->imm : in->imm);
		jit_regs_dirty(rg, r);
	} else if (op == 0x8d && in->rip_rel) {
		ea(e, rg, in, next_off, size, JR_RAX);
		jit_mov_rr(e, jit_regs_get(rg, e, in->reg, false), JR_RAX);
		jit_regs_dirty(rg, in->reg);
	} else if (op == 0x8d) {
		enum jit_reg b = in->base >= 0 ? jit_regs_get(rg, e, (unsigned)in->base, true) : JR_NONE;
		enum jit_reg x = in->index >= 0 ? jit_regs_get(rg, e, (unsigned)in->index, true) : JR_NONE;

		d = jit_regs_get(rg, e, in->reg, false);
		jit_lea_x(e, size, d, b, x, in->scale ? in->scale : 1, (s32)in->disp);
		jit_regs_dirty(rg, in->reg);
	} else if (op == 0xc1 || op == 0xd1) {
		unsigned count = op == 0xd1 ? 1 : (unsigned)in->imm & (size == 8 ? 63 : 31);

		d = jit_regs_get(rg, e, in->rm, true);
		jit_shift_ri(e, (enum jit_shift)(in->reg & 7), size, d, (u8)count);
		jit_regs_dirty(rg, in->rm);
	} else if (op == 0xd3) { /* the count in cl: rcx is scratch */
		jit_mov_rr(e, JR_RCX, jit_regs_get(rg, e, X86_RCX, true));
		d = jit_regs_get(rg, e, in->rm, true);
		jit_shift_cl(e, (enum jit_shift)(in->reg & 7), size, d);
		jit_regs_dirty(rg, in->rm);
	} else if (op == 0xff) {
		d = jit_regs_get(rg, e, in->rm, true);
		jit_incdec(e, (in->reg & 7) == 1, size, d);
		jit_regs_dirty(rg, in->rm);
	}
	jit_regs_unpin(rg);
}

/* The soft-TLB lookup of mem.h's soft_lin_load/soft_lin_store, inline: rax
 * holds the linear address; on a hit rdx = the entry's addend, so that the
 * access is to [rdx + rax] (JR_RDX_RAX). The entry is
 * cpu->tlb.e[cpu->dpriv][soft_tlb_index(lin)] (its bank at cpu->dbank_off);
 * its tag for the access must be the page of the access's last byte, which
 * is lin's page unless the access crosses into the next one. Clobbers rcx,
 * rdx and the host's flags; *miss = the rel32 of the jump taken on a miss. */
static void tlb_probe(struct jit_emit *e, enum soft_access acc, unsigned size, u8 **miss)
{
	jit_mov_rr_sz(e, 4, JR_RCX, JR_RAX);
	jit_shift_ri(e, JS_SHR, 4, JR_RCX, 12 - 6);
	jit_alu_ri(e, JA_AND, 4, JR_RCX, (SOFT_TLB_SIZE - 1) << 6);
	jit_alu_rm(e, JA_ADD, 4, JR_RCX, JR_RBX, OFF_DBANK);
	jit_lea(e, JR_RDX, JR_RAX, (s32)size - 1);
	jit_alu_ri(e, JA_AND, 8, JR_RDX, -4096);
	jit_alu_rm_x(e, JA_CMP, JR_RDX, JR_RBX, JR_RCX,
		     OFF_TLB_E + (s32)offsetof(struct soft_tlb_entry, tag) + 8 * (s32)acc);
	*miss = jit_jcc_fwd(e, JC_NE);
	jit_mov_rm_x(e, JR_RDX, JR_RBX, JR_RCX,
		     OFF_TLB_E + (s32)offsetof(struct soft_tlb_entry, addend));
}

/* Jumps to *miss unless rcx is canonical (bits 63-47 all equal). Clobbers
 * rdx. */
static void canonical_check(struct jit_emit *e, u8 **miss)
{
	jit_mov_rr(e, JR_RDX, JR_RCX);
	jit_shift_ri(e, JS_SHL, 8, JR_RDX, 16);
	jit_shift_ri(e, JS_SAR, 8, JR_RDX, 16);
	jit_alu_rr(e, JA_CMP, 8, JR_RDX, JR_RCX);
	*miss = jit_jcc_fwd(e, JC_NE);
}

/* PUSH, POP, CALL and RET (JN_STACK, JN_CALL, JN_RET): RSP - 8 or RSP is
 * checked in the TLB; RSP and the register change only after the access.
 * PUSH RSP pushes the old value; POP RSP loads RSP. A RET to a
 * non-canonical address leaves it to the handler (#GP). */
static void stack_op(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
		     s32 next_off, u8 *miss[JIT_MISSES], struct jit_regs *before)
{
	unsigned op = in->opcode, r = (op & 7) | (in->rex & 1 ? 8 : 0);
	bool imm = op == 0x6a || op == 0x68;
	bool push = op == 0xe8 || imm || (op >= 0x50 && op <= 0x57);
	enum jit_reg v = push && op != 0xe8 && !imm ? jit_regs_get(rg, e, r, true) : JR_NONE;
	enum jit_reg sp = jit_regs_get(rg, e, X86_RSP, true);

	if (push)
		jit_lea(e, JR_RAX, sp, -8);
	else
		jit_mov_rr(e, JR_RAX, sp);
	*before = *rg;
	tlb_probe(e, push ? SOFT_ACC_WRITE : SOFT_ACC_READ, 8, miss);
	if (op == 0xe8) { /* the return address: the next instruction */
		jit_lea(e, JR_RCX, JR_R12, next_off);
		jit_mov_mr(e, 8, JR_RDX_RAX, 0, JR_RCX);
	} else if (imm) { /* sign-extended to 64 bits */
		jit_mov_ri(e, JR_RCX, (u64)(s64)(s32)in->imm);
		jit_mov_mr(e, 8, JR_RDX_RAX, 0, JR_RCX);
	} else if (push) {
		jit_mov_mr(e, 8, JR_RDX_RAX, 0, v);
	} else if (op == 0xc3) {
		jit_mov_rm(e, 8, JR_RCX, JR_RDX_RAX, 0);
		canonical_check(e, &miss[1]);
		jit_mov_mr(e, 8, JR_RBX, OFF_RIP, JR_RCX);
	} else if (r == X86_RSP) {
		jit_mov_rm(e, 8, sp, JR_RDX_RAX, 0);
		jit_regs_dirty(rg, X86_RSP);
		jit_regs_unpin(rg);
		return;
	} else {
		v = jit_regs_get(rg, e, r, false);
		jit_mov_rm(e, 8, v, JR_RDX_RAX, 0);
		jit_regs_dirty(rg, r);
	}
	jit_lea(e, sp, JR_RAX, push ? 0 : 8);
	jit_regs_dirty(rg, X86_RSP);
	jit_regs_unpin(rg);
}

/* INC or DEC with memory (JN_MEMINC): after the TLB check, the guest's flags
 * saved in host form (translate.c) loaded into the host's, for the CF the
 * instruction keeps; rdx takes the host address, as ax takes the word. */
static void incdec_mem(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
		       s32 next_off, u8 *miss[JIT_MISSES], struct jit_regs *before)
{
	linear_addr(e, rg, in, next_off);
	*before = *rg;
	tlb_probe(e, SOFT_ACC_WRITE, in->size, &miss[0]);
	jit_lea_x(e, 8, JR_RDX, JR_RDX, JR_RAX, 1, 0);
	jit_movzx_rm(e, 2, JR_RAX, JR_RBX, OFF_LAZY_RES);
	jit_emit_bytes(e, (const u8[]){0x04, 0x7f, 0x9e}, 3); /* add al, 0x7f; sahf */
	jit_incdec_m(e, (in->reg & 7) == 1, in->size, JR_RDX, 0);
	jit_regs_unpin(rg);
}

/* JN_MEMALU: ALU or TEST with a memory operand, on the host's copy of the
 * guest's memory after the TLB check, flags in the host's RFLAGS. A write
 * (anything but CMP and TEST) needs the write entry. */
static void alu_mem(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
		    s32 next_off, u8 *miss[JIT_MISSES], struct jit_regs *before)
{
	unsigned op = in->opcode, size = in->size;
	bool test = op == 0x84 || op == 0x85 || op == 0xf6 || op == 0xf7;
	unsigned alu = op < 0x40 ? op >> 3 : test ? ~0u : in->reg & 7u;
	bool imm = op == 0x80 || op == 0x81 || op == 0x83 || op == 0xf6 || op == 0xf7;
	bool writes = alu != ~0u && alu != JA_CMP;
	bool reg_dst = op < 0x40 && ((op & 7) == 2 || (op & 7) == 3); /* op Gv, Ev */
	enum jit_reg v = JR_NONE;

	linear_addr(e, rg, in, next_off);
	if (!imm)
		v = jit_regs_get(rg, e, in->reg, true);
	*before = *rg;
	/* The memory operand is written by op Ev, Gv and group 1 (not CMP). */
	tlb_probe(e, writes && !reg_dst ? SOFT_ACC_WRITE : SOFT_ACC_READ, size, miss);
	if (test && !imm)
		jit_test_mr(e, size, JR_RDX_RAX, 0, v);
	else if (test)
		jit_test_mi(e, size, JR_RDX_RAX, 0, (s32)in->imm);
	else if (imm)
		jit_alu_mi(e, alu, size, JR_RDX_RAX, 0, (s32)in->imm);
	else if (!reg_dst)
		jit_alu_mr(e, alu, size, JR_RDX_RAX, 0, v);
	else
		jit_alu_rm(e, alu, size, v, JR_RDX_RAX, 0);
	if (reg_dst && writes)
		jit_regs_dirty(rg, in->reg);
	jit_regs_unpin(rg);
}

/* IMUL r, m (a JN_MEMALU whose flags nothing reads, translate.c): the
 * product of the register and the memory operand after the TLB check. */
static void imul_mem(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
		     s32 next_off, u8 *miss[JIT_MISSES], struct jit_regs *before)
{
	linear_addr(e, rg, in, next_off);
	enum jit_reg v = jit_regs_get(rg, e, in->reg, true);

	*before = *rg;
	tlb_probe(e, SOFT_ACC_READ, in->size, miss);
	jit_imul_rm(e, in->size, v, JR_RDX_RAX, 0);
	jit_regs_dirty(rg, in->reg);
	jit_regs_unpin(rg);
}

/* JMP and CALL r/m64 (JN_IND): the target from the register or, through
 * the TLB check, from memory, into cpu->rip (a miss path's handler sets it
 * again); a non-canonical one is the handler's (#GP before anything is
 * pushed); a CALL then pushes the next RIP as JN_CALL does. */
static void indirect(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
		     s32 next_off, u8 *miss[JIT_MISSES], struct jit_regs *before)
{
	const bool call = (in->reg & 7) == 2;

	if (in->mem) {
		linear_addr(e, rg, in, next_off);
	}
	enum jit_reg v = in->mem ? JR_NONE : jit_regs_get(rg, e, in->rm, true);
	enum jit_reg sp = call ? jit_regs_get(rg, e, X86_RSP, true) : JR_NONE;

	*before = *rg;
	if (in->mem) {
		tlb_probe(e, SOFT_ACC_READ, 8, &miss[0]);
		jit_mov_rm(e, 8, JR_RCX, JR_RDX_RAX, 0);
	} else {
		jit_mov_rr(e, JR_RCX, v);
	}
	canonical_check(e, &miss[1]);
	jit_mov_mr(e, 8, JR_RBX, OFF_RIP, JR_RCX);
	if (call) {
		jit_lea(e, JR_RAX, sp, -8);
		tlb_probe(e, SOFT_ACC_WRITE, 8, &miss[2]);
		jit_lea(e, JR_RCX, JR_R12, next_off);
		jit_mov_mr(e, 8, JR_RDX_RAX, 0, JR_RCX);
		jit_mov_rr(e, sp, JR_RAX);
		jit_regs_dirty(rg, X86_RSP);
	}
	jit_regs_unpin(rg);
}

/* A load site's data (jit_refill.site). */
enum { SITE_PAGE, SITE_KEY, SITE_ADDEND, SITE_WORDS };

/* The inline part of a load through its site (jit_refill): rdx = the host
 * address's addend when the site's page and key hold, else out of line. */
static bool load_site(struct jit_emit *e, unsigned size, struct jit_refill *rf)
{
	u64 *d = jit_emit_data(e, SITE_WORDS * 8);
	u8 *d_page, *d_key, *d_add;

	if (!d)
		return false;
	d[SITE_PAGE] = d[SITE_KEY] = ~0ULL; /* never an aligned page, nor a key */
	d[SITE_ADDEND] = 0;
	/* Misaligned accesses keep low bits, and so never match a page: they
	 * never cross one here. */
	jit_mov_rr(e, JR_RDX, JR_RAX);
	jit_alu_ri(e, JA_AND, 8, JR_RDX, (s32)(-4096 | (s32)(size - 1)));
	d_page = jit_alu_r_rip(e, JA_CMP, JR_RDX);
	rf->at[0] = jit_jcc_fwd(e, JC_NE);
	jit_mov_rm(e, 8, JR_RCX, JR_RBX, OFF_READ_KEY);
	d_key = jit_alu_r_rip(e, JA_CMP, JR_RCX);
	rf->at[1] = jit_jcc_fwd(e, JC_NE);
	d_add = jit_mov_r_rip(e, JR_RDX);
	jit_patch_data(e, d_page, &d[SITE_PAGE]);
	jit_patch_data(e, d_key, &d[SITE_KEY]);
	jit_patch_data(e, d_add, &d[SITE_ADDEND]);
	rf->back = e->p;
	rf->site = d;
	rf->size = size;
	return true;
}

void jit_native_refill(struct jit_emit *e, const struct jit_refill *rf, u8 *miss[JIT_MISSES])
{
	u8 *at;

	jit_patch_here(e, rf->at[0]);
	jit_patch_here(e, rf->at[1]);
	tlb_probe(e, SOFT_ACC_READ, rf->size, &miss[0]);
	jit_mov_rr(e, JR_RCX, JR_RAX);
	jit_alu_ri(e, JA_AND, 8, JR_RCX, -4096);
	at = jit_mov_rip_r(e, JR_RCX);
	jit_patch_data(e, at, &rf->site[SITE_PAGE]);
	at = jit_mov_rip_r(e, JR_RDX);
	jit_patch_data(e, at, &rf->site[SITE_ADDEND]);
	jit_mov_rm(e, 8, JR_RCX, JR_RBX, OFF_READ_KEY);
	at = jit_mov_rip_r(e, JR_RCX);
	jit_patch_data(e, at, &rf->site[SITE_KEY]);
	jit_jmp_to(e, rf->back);
}

void jit_native_mem(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
		    s32 next_off, u8 *miss[JIT_MISSES], struct jit_regs *before, struct jit_refill *rf)
{
	unsigned op = in->opcode, size = in->size;

	miss[0] = miss[1] = miss[2] = NULL;
	rf->at[0] = rf->at[1] = NULL;
	if (in->map == SOFT_MAP_1B &&
	    ((op >= 0x50 && op <= 0x5f) || op == 0xe8 || op == 0xc3 || op == 0x6a || op == 0x68)) {
		stack_op(e, rg, in, next_off, miss, before);
		return;
	}
	if (in->map == SOFT_MAP_1B && (op == 0xfe || op == 0xff) && (in->reg & 7) <= 1) {
		incdec_mem(e, rg, in, next_off, miss, before);
		return;
	}
	if (in->map == SOFT_MAP_1B && op == 0xff) {
		indirect(e, rg, in, next_off, miss, before);
		return;
	}
	if (in->map == SOFT_MAP_1B && op != 0x88 && op != 0x89 && op != 0x8a && op != 0x8b &&
	    op != 0xc6 && op != 0xc7 && op != 0x63) {
		alu_mem(e, rg, in, next_off, miss, before);
		return;
	}
	if (jit_native_is_imul(in)) {
		imul_mem(e, rg, in, next_off, miss, before);
		return;
	}
	bool ext = in->map == SOFT_MAP_0F; /* MOVZX, MOVSX */
	bool store = !ext && (op == 0x88 || op == 0x89 || op == 0xc6 || op == 0xc7);
	enum jit_reg v = JR_NONE;

	linear_addr(e, rg, in, next_off);
	if ((op == 0x88 || op == 0x89) && !ext)
		v = jit_regs_get(rg, e, in->reg, true);
	*before = *rg;
	const unsigned asize = ext ? (op & 1 ? 2u : 1u) : op == 0x63 ? 4u : size;

	/* A site for the loads that keep reading one page: array elements
	 * (no base register), the stack and globals. Loads through a pointer
	 * go from page to page too often: each refill costs more than a hit
	 * saves (the workload's time went up 15% with them). */
	const bool site_ok = in->base < 0 || in->base == X86_RSP || in->base == X86_RBP || in->rip_rel;

	if (store || !e->data || !site_ok || !load_site(e, asize, rf))
		tlb_probe(e, store ? SOFT_ACC_WRITE : SOFT_ACC_READ, asize, miss);
	if (!store) {
		/* After the probe: an eviction here happens on the hit path
		 * only, and the miss path stores `before` (regs.h). */
		v = jit_regs_get(rg, e, in->reg, size <= 2 && !ext); /* a byte or word keeps the rest */
		if (ext && op >= 0xbe)
			jit_movsx_rm(e, op & 1 ? 2 : 1, size, v, JR_RDX_RAX, 0);
		else if (ext)
			jit_movzx_rm(e, op & 1 ? 2 : 1, v, JR_RDX_RAX, 0);
		else if (op == 0x63)
			jit_movsxd_rm(e, v, JR_RDX_RAX, 0);
		else
			jit_mov_rm(e, size, v, JR_RDX_RAX, 0); /* a 32-bit load zero-extends */
		jit_regs_dirty(rg, in->reg);
	} else if (op == 0x88 || op == 0x89) {
		jit_mov_mr(e, size, JR_RDX_RAX, 0, v);
	} else {
		jit_mov_mi(e, size, JR_RDX_RAX, 0, (s32)in->imm);
	}
	jit_regs_unpin(rg);
}
