/* Instructions the translator runs as host instructions instead of calling
 * their handler: register-only integer forms that cannot fault, whose
 * results and flags the manuals define the same for both vendors (so the host
 * computing them is the modelled CPU computing them), Jcc, and MOV loads and
 * stores through an inline soft-TLB hit (the handler runs on a miss). Guest
 * registers are in host registers (regs.h); rbx holds the vCPU. */
#ifndef POPEK_JIT_NATIVE_H
#define POPEK_JIT_NATIVE_H

#include "cpu/soft/decode/decode.h"
#include "cpu/soft/jit/emit.h"
#include "cpu/soft/jit/regs.h"

enum jit_native_kind {
	JN_NONE,     /* call the handler */
	JN_MOVE,     /* writes a register, touches no flag (MOV, LEA) */
	JN_FLAGS,    /* writes all six arithmetic flags, reads none */
	JN_JCC,      /* reads flags, may leave the block */
	JN_SHIFT,    /* ROL/ROR/SHL/SHR/SAR by a non-zero constant, IMUL r, r: it
		      * leaves some flags undefined, and vendors differ there; with
		      * live flags, jit_native_shift_flags/jit_native_imul_flags */
	JN_INCDEC,   /* INC/DEC: reads CF (as JN_CMOV) */
	JN_SHIFT_CL, /* ROL/ROR/SHL/SHR/SAR r64 and SHL/SHR/SAR r32, CL: a zero
		      * count keeps the flags, others leave some undefined: the
		      * host's shift where its flags are dead (64-bit), else
		      * jit_native_shift_cl_flags (not a rotate: the handler) */
	JN_CMOV,     /* CMOVcc r, r and SETcc r8: reads the flags (the guest's
		      * are loaded into the host's first if saved) */
	JN_CARRY,    /* ADC/SBB with registers and immediates: as JN_CMOV, and
		      * writes all six flags */
	JN_MEM,      /* MOV load/store: inline TLB hit, handler on a miss; uses
		      * the host's flags (the guest's are saved first) */
	JN_STACK,    /* PUSH/POP r64: as JN_MEM, on [RSP] */
	JN_CALL,     /* CALL rel32: as JN_STACK, then the block ends at the target */
	JN_RET,      /* RET: as JN_STACK; RIP is stored and the block ends */
	JN_JMP,      /* JMP rel8/rel32: the block ends at the target */
	JN_MEMALU,   /* ADD/SUB/AND/OR/XOR/CMP/TEST (and IMUL r, m) with a memory
		      * operand: as JN_MEM, and its flags are left in the host's
		      * RFLAGS */
	JN_IND,      /* JMP and CALL r/m64: as JN_MEM (a CALL as JN_CALL), RIP
		      * is stored and the block ends */
	JN_MEMINC,   /* INC/DEC with a memory operand: as JN_MEMALU, and reads CF:
		      * the guest's flags saved in host form before it */
	JN_MUL,      /* MUL r: SF ZF AF PF undefined, kept on AMD (as IMUL's):
		      * host code (as JN_FLAGS) only where its flags are dead */
};

/* The kinds that access memory through the inline TLB check. */
static inline bool jit_native_mem_kind(enum jit_native_kind k)
{
	return k == JN_MEM || k == JN_STACK || k == JN_CALL || k == JN_RET || k == JN_MEMALU ||
	       k == JN_IND || k == JN_MEMINC;
}

/* What in is to the translator (64-bit code). */
enum jit_native_kind jit_native_kind(const struct soft_insn *in);

/* Emits a JN_MOVE or JN_FLAGS instruction; its flags, if any, are left in
 * the host's RFLAGS. next_off: the next instruction's offset from the
 * block's first RIP (held in r12), for RIP-relative LEA. */
void jit_native_emit(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
		     s32 next_off);

/* A load (MOV, MOVZX, MOVSX, MOVSXD from memory) with no base register,
 * or based on RSP, RBP or RIP, checks the page its site read last instead
 * of the TLB, when the code cache has a data area: the site keeps that
 * page, its addend and tlb.read_key (mmu/tlb.h) in the data area, and reads
 * through it while the access is aligned, in that page and the key
 * unchanged. Else (rf->at[0] set) the code goes out of line to
 * jit_native_refill(), where the TLB check is (and miss[0]). */
struct jit_refill {
	u8 *at[2];       /* the rel32s to point at the refill */
	const u8 *back;  /* where it comes back, with the addend in rdx */
	u64 *site;       /* the site's page, key and addend */
	unsigned size;   /* the access's */
};

/* Emits the inline part of a JN_MEM, JN_STACK, JN_CALL, JN_RET, JN_MEMALU or
 * JN_IND: the address, the soft-TLB check (or a load's site, *rf) and the
 * access (a RET's or JN_IND's target in cpu->rip).
 * The returned rel32 positions (miss[0], the TLB miss; miss[1], a RET's or
 * JN_IND's non-canonical target; miss[2], a CALL r/m's stack miss; NULL
 * where there is none) must be pointed at an out-of-line path that stores
 * the registers as in *before (the state when the check starts), calls the
 * handler, loads them as in *rg (the state after the access) and comes back
 * after the access. */
#define JIT_MISSES 3
void jit_native_mem(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
		    s32 next_off, u8 *miss[JIT_MISSES], struct jit_regs *before,
		    struct jit_refill *rf);
/* The refill of a load's site (rf from jit_native_mem, at[] pointed here):
 * the TLB check (miss[0]: its miss, to the handler as jit_native_mem says),
 * the site's page, key and addend from the entry, back to the access. */
void jit_native_refill(struct jit_emit *e, const struct jit_refill *rf, u8 *miss[JIT_MISSES]);

/* A JN_SHIFT rotate or shift whose flags are live (vendor_flags.c): the
 * host shifts, and the flags the manuals leave undefined are set as the
 * vendor model sets them (exec.h soft_shift_sh(), exec/shift.c: amd =
 * SQ_SHIFT_OF_FROM_RESULT); ax is left holding the flags' word as
 * SOFT_LAZY_HOST keeps it (LAHF's AH, OF in AL). A rotate keeps SF ZF AF
 * PF: only while the guest's flags are in the host's (pending). Clobbers
 * rax, rcx, rdx. */
bool jit_native_is_rotate(const struct soft_insn *in);
void jit_native_shift_flags(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
			    bool amd);

/* A JN_SHIFT_CL shift (SHL, SHR, SAR) whose flags are live, or any 32-bit
 * one: CL & 31 (63) is tested, and unless zero the host shifts and ax is
 * left as above. Returns the rel32 of the jump taken for a zero count (the
 * value and the flags as they were): the caller points it past the flags'
 * store, where a 32-bit register is zero-extended as the interpreter does.
 * Pins the registers it uses; clobbers rax, rcx, rdx and the host's flags. */
u8 *jit_native_shift_cl_flags(struct jit_emit *e, struct jit_regs *rg,
			      const struct soft_insn *in, bool amd);

/* The same for IMUL r, r: CF and OF the host's; SF ZF AF PF as the model
 * has them (exec/muldiv.c): keep = SQ_MUL_KEEPS_SZAP, where they stay as
 * they were, so only while the guest's flags are in the host's (pending). */
bool jit_native_is_imul(const struct soft_insn *in);
void jit_native_imul_flags(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
			   bool keep);

/* A byte form between registers that names AH..BH: its host code uses rax
 * and rcx (native.c high_byte_emit). */
bool jit_native_high_byte(const struct soft_insn *in);

/* The condition code of a JN_JCC. */
static inline unsigned jit_native_cc(const struct soft_insn *in)
{
	return in->opcode & 0xf;
}

#endif
