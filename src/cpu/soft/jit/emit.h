/* The translator's x86-64 emitter: host instructions written into a code
 * buffer (Intel SDM Vol. 2, Chapter 2: REX, ModRM, SIB and displacement
 * encoding). Only the forms the translator needs, each a function; a write
 * past the end of the buffer is not done and marks it full, so a block that
 * does not fit is simply not translated. */
#ifndef POPEK_JIT_EMIT_H
#define POPEK_JIT_EMIT_H

#include "popek/types.h"

/* Host registers by their encoding number. */
enum jit_reg {
	JR_RAX, JR_RCX, JR_RDX, JR_RBX, JR_RSP, JR_RBP, JR_RSI, JR_RDI,
	JR_R8, JR_R9, JR_R10, JR_R11, JR_R12, JR_R13, JR_R14, JR_R15,
	JR_NONE = -1, /* no base or no index in jit_lea_x() */
	/* Not a register: as the base of a memory form, [rdx + rax] (a guest
	 * access: the TLB entry's addend plus the linear address). */
	JR_RDX_RAX = 16,
};

/* Group-1 ALU operations by their ModRM.reg / opcode-row number. */
enum jit_alu { JA_ADD, JA_OR, JA_ADC, JA_SBB, JA_AND, JA_SUB, JA_XOR, JA_CMP };

/* Group-2 rotates and shifts by their ModRM.reg number. */
enum jit_shift { JS_ROL = 0, JS_ROR = 1, JS_SHL = 4, JS_SHR = 5, JS_SAR = 7 };

/* x86 condition codes (the low nibble of Jcc/SETcc). */
enum jit_cc {
	JC_O, JC_NO, JC_B, JC_AE, JC_E, JC_NE, JC_BE, JC_A,
	JC_S, JC_NS, JC_P, JC_NP, JC_L, JC_GE, JC_LE, JC_G,
};

struct jit_emit {
	u8 *p;          /* where the next byte goes (in the writable mapping) */
	u8 *start, *end;
	s64 exec_delta; /* executable address = writable address + exec_delta */
	bool full;      /* a write did not fit: the code is incomplete */
	u8 *data, *data_end; /* data beside the code (jit_emit_data), or NULL */
};

void jit_emit_init(struct jit_emit *e, u8 *buf, size_t size, s64 exec_delta);
/* Bytes written so far. */
static inline size_t jit_emit_len(const struct jit_emit *e)
{
	return (size_t)(e->p - e->start);
}

void jit_emit_bytes(struct jit_emit *e, const void *bytes, size_t n);

/* mov reg64, imm64 (the shortest encoding that gives the same value). */
void jit_mov_ri(struct jit_emit *e, enum jit_reg r, u64 imm);
/* mov reg64, imm64 always in its 10-byte form (a field to patch later:
 * the immediate is the last 8 bytes). */
void jit_mov_ri64(struct jit_emit *e, enum jit_reg r, u64 imm);
/* mov reg, [base + disp] and mov [base + disp], reg; size 1, 2, 4 or 8
 * (a 32-bit load zero-extends, as on x86; 1 and 2 leave the rest). */
void jit_mov_rm(struct jit_emit *e, unsigned size, enum jit_reg r, enum jit_reg base, s32 disp);
void jit_mov_mr(struct jit_emit *e, unsigned size, enum jit_reg base, s32 disp, enum jit_reg r);
/* mov qword/dword [base + disp], simm32 (size 8: sign-extended). */
void jit_mov_mi(struct jit_emit *e, unsigned size, enum jit_reg base, s32 disp, s32 imm);
/* mov dst, src (64-bit), and sized (4: zero-extends into the upper half). */
void jit_mov_rr(struct jit_emit *e, enum jit_reg dst, enum jit_reg src);
void jit_mov_rr_sz(struct jit_emit *e, unsigned size, enum jit_reg dst, enum jit_reg src);
/* lea reg, [base + disp]. */
void jit_lea(struct jit_emit *e, enum jit_reg r, enum jit_reg base, s32 disp);
/* op [base + disp], reg and op reg, [base + disp] (size 1, 2, 4, 8). */
void jit_alu_mr(struct jit_emit *e, enum jit_alu op, unsigned size, enum jit_reg base, s32 disp,
		enum jit_reg r);
void jit_alu_rm(struct jit_emit *e, enum jit_alu op, unsigned size, enum jit_reg r,
		enum jit_reg base, s32 disp);
/* op reg, simm32 (size 4 or 8; the imm8 form when it fits; size 1: imm8). */
void jit_alu_ri(struct jit_emit *e, enum jit_alu op, unsigned size, enum jit_reg r, s32 imm);
/* test [base + disp], reg and test reg, imm32 (size 4 or 8). */
void jit_test_mr(struct jit_emit *e, unsigned size, enum jit_reg base, s32 disp, enum jit_reg r);
void jit_test_ri(struct jit_emit *e, unsigned size, enum jit_reg r, s32 imm);
/* test size [base + disp], imm32 (size 4 or 8). */
void jit_test_mi(struct jit_emit *e, unsigned size, enum jit_reg base, s32 disp, s32 imm);
/* mov r8, imm8 (the rest of the register kept). */
void jit_mov_ri8(struct jit_emit *e, enum jit_reg r, u8 imm);
/* movzx r32, r8/r16 (src_size 1 or 2); movsx r32/r64 (size 4, 8), r8/r16. */
void jit_movzx_rr(struct jit_emit *e, unsigned src_size, enum jit_reg dst, enum jit_reg src);
void jit_movsx_rr(struct jit_emit *e, unsigned src_size, unsigned size, enum jit_reg dst,
		  enum jit_reg src);
/* imul dst, src; cmovcc dst, src (size 4 or 8); setcc r8. */
void jit_imul_rr(struct jit_emit *e, unsigned size, enum jit_reg dst, enum jit_reg src);
void jit_cmov_rr(struct jit_emit *e, enum jit_cc cc, unsigned size, enum jit_reg dst,
		 enum jit_reg src);
void jit_setcc(struct jit_emit *e, enum jit_cc cc, enum jit_reg r);
/* movsxd r64, dword [base + disp] and movsxd r64, r32. */
void jit_movsxd_rm(struct jit_emit *e, enum jit_reg r, enum jit_reg base, s32 disp);
void jit_movsxd_rr(struct jit_emit *e, enum jit_reg dst, enum jit_reg src);
/* test a, b (registers). */
void jit_test_rr(struct jit_emit *e, unsigned size, enum jit_reg a, enum jit_reg b);
/* op qword [base + disp], simm32 (the imm8 form when it fits). */
void jit_alu_mi(struct jit_emit *e, enum jit_alu op, unsigned size, enum jit_reg base, s32 disp,
		s32 imm);
void jit_push(struct jit_emit *e, enum jit_reg r);
void jit_pop(struct jit_emit *e, enum jit_reg r);
void jit_ret(struct jit_emit *e);
/* call target: rel32 when it reaches from the executable address, else
 * through scratch (mov scratch, imm64; call scratch). */
void jit_call(struct jit_emit *e, const void *target, enum jit_reg scratch);
/* jmp/jcc rel32 to a place not yet known: returns the position of the
 * rel32 for jit_patch_here(), or NULL when the buffer is full. */
u8 *jit_jmp_fwd(struct jit_emit *e);
u8 *jit_jcc_fwd(struct jit_emit *e, enum jit_cc cc);
/* Points the rel32 at at the current position, or at target (in this
 * buffer), or at data (an address outside it, within 2 GiB of the code). */
void jit_patch_here(struct jit_emit *e, u8 *at);
void jit_patch_to(struct jit_emit *e, u8 *at, const u8 *target);
void jit_patch_data(struct jit_emit *e, u8 *at, const void *data);
/* size bytes of data beside the code, 8-byte aligned, or NULL (and full). */
void *jit_emit_data(struct jit_emit *e, size_t size);
/* jmp qword [base + disp]. */
void jit_jmp_m(struct jit_emit *e, enum jit_reg base, s32 disp);
/* op r64, [rip + disp32] with the disp32 to be patched (jit_patch_data()
 * where the data is): returns its position. */
u8 *jit_alu_r_rip(struct jit_emit *e, enum jit_alu op, enum jit_reg r);
/* mov r64, [rip + disp32] and mov [rip + disp32], r64; the disp32's
 * position is returned for jit_patch_data(). */
u8 *jit_mov_r_rip(struct jit_emit *e, enum jit_reg r);
u8 *jit_mov_rip_r(struct jit_emit *e, enum jit_reg r);
/* lea r64, [rip + disp32]: the address of target, a position in this buffer. */
void jit_lea_rip(struct jit_emit *e, enum jit_reg r, const u8 *target);
/* jmp rel32 to target, a position already written in this buffer. */
void jit_jmp_to(struct jit_emit *e, const u8 *target);

/* movzx r32, byte/word [base + disp] (src_size 1 or 2); movsx r32/r64;
 * imul r32/r64, [base + disp] (size 4 or 8). */
void jit_movzx_rm(struct jit_emit *e, unsigned src_size, enum jit_reg r, enum jit_reg base,
		  s32 disp);
void jit_movsx_rm(struct jit_emit *e, unsigned src_size, unsigned size, enum jit_reg r,
		  enum jit_reg base, s32 disp);
void jit_imul_rm(struct jit_emit *e, unsigned size, enum jit_reg r, enum jit_reg base, s32 disp);
/* lea reg, [base + index * scale + disp] with operand size 4 or 8 (4: the
 * address truncated and zero-extended); scale 1, 2, 4 or 8; index not rsp;
 * base, index or both may be JR_NONE. */
void jit_lea_x(struct jit_emit *e, unsigned size, enum jit_reg r, enum jit_reg base,
	       enum jit_reg index, unsigned scale, s32 disp);
/* mov r64, [base + index + disp] and op r64, [base + index + disp] (index
 * not rsp). */
void jit_mov_rm_x(struct jit_emit *e, enum jit_reg r, enum jit_reg base, enum jit_reg index,
		  s32 disp);
void jit_alu_rm_x(struct jit_emit *e, enum jit_alu op, enum jit_reg r, enum jit_reg base,
		  enum jit_reg index, s32 disp);
/* op dst, src (registers). */
void jit_alu_rr(struct jit_emit *e, enum jit_alu op, unsigned size, enum jit_reg dst,
		enum jit_reg src);
/* shl/shr/sar reg, imm8. */
void jit_shift_ri(struct jit_emit *e, enum jit_shift op, unsigned size, enum jit_reg r, u8 count);
/* The byte registers that need no REX prefix, AH..BH among them. */
enum jit_reg8 { J8_AL, J8_CL, J8_DL, J8_BL, J8_AH, J8_CH, J8_DH, J8_BH };
/* A byte instruction on them, no prefix: opcode with ModRM (mod 11) rm,
 * reg; opcode /ext rm, imm8 (80, C6, F6); mov r8, imm8. */
void jit_op8_rr(struct jit_emit *e, u8 opcode, enum jit_reg8 rm, enum jit_reg8 reg);
void jit_op8_ri(struct jit_emit *e, u8 opcode, unsigned ext, enum jit_reg8 rm, u8 imm);
void jit_mov8_ri(struct jit_emit *e, enum jit_reg8 r, u8 imm);
/* inc reg or dec reg; inc or dec [base + disp]. */
void jit_incdec(struct jit_emit *e, bool dec, unsigned size, enum jit_reg r);
void jit_incdec_m(struct jit_emit *e, bool dec, unsigned size, enum jit_reg base, s32 disp);
/* rol/ror/shl/shr/sar reg, cl. */
void jit_shift_cl(struct jit_emit *e, enum jit_shift op, unsigned size, enum jit_reg r);
/* mul reg (rdx:rax = rax * reg). */
void jit_mul_r(struct jit_emit *e, unsigned size, enum jit_reg r);
/* not reg or neg reg. */
void jit_notneg(struct jit_emit *e, bool neg, unsigned size, enum jit_reg r);

#endif
