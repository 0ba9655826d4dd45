/* Instructions the translator runs as host instructions instead of calling
 * their handler: register-only integer forms that cannot fault, whose
 * results and flags the manuals define the same for both vendors (so the host
 * computing them is the modelled CPU computing them), and Jcc. Guest
 * registers live in cpu->gpr[]; rbx holds the vCPU. */
#ifndef POPEK_JIT_NATIVE_H
#define POPEK_JIT_NATIVE_H

#include "cpu/soft/decode/decode.h"
#include "cpu/soft/jit/emit.h"

enum jit_native_kind {
	JN_NONE,     /* call the handler */
	JN_MOVE,     /* writes a register, touches no flag (MOV, LEA) */
	JN_FLAGS,    /* writes all six arithmetic flags, reads none */
	JN_JCC,      /* reads flags, may leave the block */
};

/* What in is to the translator (64-bit code). */
enum jit_native_kind jit_native_kind(const struct soft_insn *in);

/* Emits a JN_MOVE or JN_FLAGS instruction; its flags, if any, are left in
 * the host's RFLAGS. next_off: the next instruction's offset from the
 * block's first RIP (held in r12), for RIP-relative LEA. */
void jit_native_emit(struct jit_emit *e, const struct soft_insn *in, s32 next_off);

/* The condition code of a JN_JCC. */
static inline unsigned jit_native_cc(const struct soft_insn *in)
{
	return in->opcode & 0xf;
}

#endif
