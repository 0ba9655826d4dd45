/* Host code for the integer forms the translator takes itself (native.h):
 * MOV and LEA, ADD/SUB/AND/OR/XOR/CMP/TEST with registers and immediates,
 * 32 and 64 bits. ADC/SBB (they read CF), INC/DEC (they keep it), byte and
 * word forms (partial registers) and anything touching memory go to their
 * handlers. */
#include <stddef.h>

#include "cpu/soft/cpu.h"
#include "cpu/soft/jit/native.h"

#define GPR(r) ((s32)(offsetof(struct soft_cpu, gpr) + 8 * (r)))

/* ALU opcode rows: 00 ADD, 08 OR, 20 AND, 28 SUB, 30 XOR, 38 CMP (not 10 ADC, 18 SBB). */
static bool alu_native(unsigned op)
{
	return op == JA_ADD || op == JA_OR || op == JA_AND || op == JA_SUB || op == JA_XOR ||
	       op == JA_CMP;
}

enum jit_native_kind jit_native_kind(const struct soft_insn *in)
{
	unsigned op = in->opcode;

	/* Jcc with a 66 prefix truncates RIP to 16 bits on AMD only: handler. */
	if (in->map == SOFT_MAP_0F)
		return op >= 0x80 && op <= 0x8f && !in->p66 ? JN_JCC : JN_NONE;
	if (in->map == SOFT_MAP_1B && op >= 0x70 && op <= 0x7f)
		return in->p66 ? JN_NONE : JN_JCC;
	if (in->map != SOFT_MAP_1B || in->lock || (in->size != 4 && in->size != 8))
		return JN_NONE;
	if (op < 0x40 && (op & 7) == 1 && !in->mem && alu_native(op >> 3))
		return JN_FLAGS; /* op Ev, Gv */
	if (op < 0x40 && (op & 7) == 3 && !in->mem && alu_native(op >> 3))
		return JN_FLAGS; /* op Gv, Ev */
	if (op < 0x40 && (op & 7) == 5 && alu_native(op >> 3))
		return JN_FLAGS; /* op eAX, Iz */
	if ((op == 0x81 || op == 0x83) && !in->mem && alu_native(in->reg & 7))
		return JN_FLAGS; /* group 1 Ev, imm */
	if (op == 0x85 && !in->mem)
		return JN_FLAGS; /* TEST Ev, Gv */
	if (op == 0xa9 || (op == 0xf7 && !in->mem && (in->reg & 7) == 0))
		return JN_FLAGS; /* TEST eAX, Iz; TEST Ev, Iz */
	if ((op == 0x89 || op == 0x8b) && !in->mem)
		return JN_MOVE;
	if ((op >= 0xb8 && op <= 0xbf) || (op == 0xc7 && !in->mem && (in->reg & 7) == 0))
		return JN_MOVE;
	if (op == 0x8d && in->mem && in->addrsize == 8)
		return JN_MOVE; /* LEA: an address computed, no memory touched */
	return JN_NONE;
}

/* op dst, src/imm on guest registers: rax = dst; rax op= src; store. */
static void alu(struct jit_emit *e, unsigned op, unsigned size, unsigned dst, int src, s32 imm)
{
	jit_mov_rm(e, size, JR_RAX, JR_RBX, GPR(dst)); /* a 32-bit load zero-extends */
	if (src >= 0)
		jit_alu_rm(e, op, size, JR_RAX, JR_RBX, GPR(src));
	else
		jit_alu_ri(e, op, size, JR_RAX, imm);
	if (op != JA_CMP)
		jit_mov_mr(e, 8, JR_RBX, GPR(dst), JR_RAX);
}

static void test(struct jit_emit *e, unsigned size, unsigned a, int b, s32 imm)
{
	jit_mov_rm(e, size, JR_RAX, JR_RBX, GPR(a));
	if (b >= 0)
		jit_test_mr(e, size, JR_RBX, GPR(b), JR_RAX);
	else
		jit_test_ri(e, size, JR_RAX, imm);
}

/* LEA: base + index * scale + disp (or next RIP + disp), truncated to the
 * operand size. */
static void lea(struct jit_emit *e, const struct soft_insn *in, s32 next_off)
{
	if (in->rip_rel) {
		jit_lea(e, JR_RAX, JR_R12, next_off);
	} else if (in->base >= 0) {
		jit_mov_rm(e, 8, JR_RAX, JR_RBX, GPR(in->base));
	} else {
		jit_mov_ri(e, JR_RAX, 0);
	}
	/* Only flag-free instructions here: pending guest flags may be in the
	 * host's RFLAGS. lea rax, [rax + rcx * scale] adds the index. */
	if (in->index >= 0) {
		u8 ss = (u8)__builtin_ctz(in->scale | 16); /* scale 1, 2, 4, 8 */
		jit_mov_rm(e, 8, JR_RCX, JR_RBX, GPR(in->index));
		jit_emit_bytes(e, (const u8[]){0x48, 0x8d, 0x04, (u8)(ss << 6 | 0x08)}, 4);
	}
	if (in->disp) {
		if (in->disp >= INT32_MIN && in->disp <= INT32_MAX) {
			jit_lea(e, JR_RAX, JR_RAX, (s32)in->disp);
		} else {
			jit_mov_ri(e, JR_RCX, (u64)in->disp);
			jit_emit_bytes(e, (const u8[]){0x48, 0x8d, 0x04, 0x08}, 4); /* lea rax, [rax+rcx] */
		}
	}
	if (in->size == 4)
		jit_emit_bytes(e, (const u8[]){0x89, 0xc0}, 2); /* mov eax, eax: zero-extend */
	jit_mov_mr(e, 8, JR_RBX, GPR(in->reg), JR_RAX);
}

void jit_native_emit(struct jit_emit *e, const struct soft_insn *in, s32 next_off)
{
	unsigned op = in->opcode, size = in->size;
	s32 imm = (s32)in->imm;

	if (op < 0x40 && (op & 7) == 1)
		alu(e, op >> 3, size, in->rm, in->reg, 0);
	else if (op < 0x40 && (op & 7) == 3)
		alu(e, op >> 3, size, in->reg, in->rm, 0);
	else if (op < 0x40 && (op & 7) == 5)
		alu(e, op >> 3, size, 0, -1, imm);
	else if (op == 0x81 || op == 0x83)
		alu(e, in->reg & 7, size, in->rm, -1, imm);
	else if (op == 0x85)
		test(e, size, in->rm, in->reg, 0);
	else if (op == 0xa9)
		test(e, size, 0, -1, imm);
	else if (op == 0xf7)
		test(e, size, in->rm, -1, imm);
	else if (op == 0x89 || op == 0x8b) {
		unsigned dst = op == 0x89 ? in->rm : in->reg, src = op == 0x89 ? in->reg : in->rm;
		jit_mov_rm(e, size, JR_RAX, JR_RBX, GPR(src));
		jit_mov_mr(e, 8, JR_RBX, GPR(dst), JR_RAX);
	} else if (op >= 0xb8 && op <= 0xbf) {
		unsigned r = (op & 7) | (in->rex & 1 ? 8 : 0);
		jit_mov_ri(e, JR_RAX, size == 4 ? (u32)in->imm : in->imm);
		jit_mov_mr(e, 8, JR_RBX, GPR(r), JR_RAX);
	} else if (op == 0xc7) {
		jit_mov_ri(e, JR_RAX, size == 4 ? (u32)in->imm : in->imm);
		jit_mov_mr(e, 8, JR_RBX, GPR(in->rm), JR_RAX);
	} else if (op == 0x8d) {
		lea(e, in, next_off);
	}
}
