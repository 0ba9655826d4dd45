/* Natives whose flags include ones the manuals leave undefined (native.h:
 * jit_native_shift_flags, jit_native_imul_flags): the host computes the
 * result and the defined flags, and the undefined ones are then set as the
 * modelled vendor sets them (exec.h soft_shift_sh(), exec/shift.c,
 * exec/muldiv.c), so translated code gives the interpreter's flags on any
 * host. They are left in ax as SOFT_LAZY_HOST keeps them (LAHF's AH, OF in
 * AL), for the translator to save. */
#include "core/x86_state.h"
#include "cpu/soft/decode/decode.h"
#include "cpu/soft/jit/native.h"

bool jit_native_is_rotate(const struct soft_insn *in)
{
	return in->map == SOFT_MAP_1B && (in->opcode == 0xc1 || in->opcode == 0xd1) &&
	       (in->reg & 7) <= JS_ROR;
}

/* dl = the top bit of v (bits = 32 or 64), through a copy in rdx. */
static void top_bit(struct jit_emit *e, unsigned size, enum jit_reg v)
{
	jit_mov_rr_sz(e, size, JR_RDX, v);
	jit_shift_ri(e, JS_SHR, size, JR_RDX, (u8)(size * 8 - 1));
}

/* dl = the top bit of (v moved one place by op) ^ v: with SHL, 1 when the
 * top two bits of v differ; with ROR, its bit 0 ^ its top bit. Changes the
 * host's flags. */
static void moved_xor_top(struct jit_emit *e, unsigned size, enum jit_reg v, enum jit_shift op)
{
	jit_mov_rr_sz(e, size, JR_RDX, v);
	jit_shift_ri(e, op, size, JR_RDX, 1);
	jit_alu_rr(e, JA_XOR, size, JR_RDX, v);
	jit_shift_ri(e, JS_SHR, size, JR_RDX, (u8)(size * 8 - 1));
}

/* dl = the modelled OF of a shift or rotate by a count above 1, as a one-bit
 * move would give it. Intel reads it off the value before, in v (ROL, SHL:
 * its top two bits differ; SHR: its top bit; ROR: its bit 0 ^ its top bit;
 * SAR: 0, which the caller writes). Changes the host's flags. */
static void intel_of(struct jit_emit *e, unsigned op, unsigned size, enum jit_reg v)
{
	if (op == JS_SHR)
		top_bit(e, size, v);
	else /* ROL, SHL; ROR */
		moved_xor_top(e, size, v, op == JS_ROR ? JS_ROR : JS_SHL);
}

/* AMD reads it off the result, in v, after LAHF (left: its top bit ^ CF;
 * right: its top two bits differ). */
static void amd_of(struct jit_emit *e, unsigned op, unsigned size, enum jit_reg v)
{
	if (op == JS_ROL || op == JS_SHL) {
		top_bit(e, size, v);
		jit_emit_bytes(e, (const u8[]){0x30, 0xe2, 0x80, 0xe2, 0x01}, 5); /* xor dl, ah; and dl, 1 */
	} else {
		moved_xor_top(e, size, v, JS_SHL);
	}
}

/* AF after a shift (not a rotate, which keeps it): set on AMD, clear on Intel. */
static void shift_af(struct jit_emit *e, bool amd)
{
	jit_emit_bytes(e, amd ? (const u8[]){0x80, 0xcc, 0x10} : (const u8[]){0x80, 0xe4, 0xef}, 3);
}

static void of_dl_to_al(struct jit_emit *e)
{
	jit_emit_bytes(e, (const u8[]){0x88, 0xd0}, 2); /* mov al, dl */
}

static void of_clear_al(struct jit_emit *e)
{
	jit_emit_bytes(e, (const u8[]){0xb0, 0x00}, 2); /* mov al, 0 */
}

void jit_native_shift_flags(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
			    bool amd)
{
	unsigned op = in->reg & 7, size = in->size;
	unsigned count = in->opcode == 0xd1 ? 1 : (unsigned)in->imm & (size == 8 ? 63 : 31);
	enum jit_reg d = jit_regs_get(rg, e, in->rm, true);

	jit_mov_rr(e, JR_RCX, d); /* the value before */
	jit_shift_ri(e, (enum jit_shift)op, size, d, (u8)count);
	jit_emit_bytes(e, (const u8[]){0x9f, 0x0f, 0x90, 0xc0}, 4); /* lahf; seto al */
	/* OF is defined for a count of 1 only (SETO has it). */
	if (count > 1 && !amd && op == JS_SAR) {
		of_clear_al(e);
	} else if (count > 1) {
		if (amd)
			amd_of(e, op, size, d);
		else
			intel_of(e, op, size, JR_RCX);
		of_dl_to_al(e);
	}
	if (op > JS_ROR)
		shift_af(e, amd);
	jit_regs_dirty(rg, in->rm);
	jit_regs_unpin(rg);
}

/* The modelled OF of a shift by any count from 1 up is the formula that
 * gives the defined OF of a count of 1 (exec/shift.c), so one sequence
 * serves every count the guest's CL may hold; a zero count changes nothing
 * (but a 32-bit register's upper half: the caller). */
u8 *jit_native_shift_cl_flags(struct jit_emit *e, struct jit_regs *rg,
			      const struct soft_insn *in, bool amd)
{
	unsigned op = in->reg & 7, size = in->size;
	enum jit_reg d;
	u8 *zero;

	jit_mov_rr(e, JR_RCX, jit_regs_get(rg, e, X86_RCX, true));
	d = jit_regs_get(rg, e, in->rm, true);
	jit_test_ri(e, 1, JR_RCX, size == 8 ? 63 : 31);
	zero = jit_jcc_fwd(e, JC_E);
	if (!amd && op != JS_SAR) /* Intel's OF: off the value before (rcx holds the count) */
		intel_of(e, op, size, d);
	jit_shift_cl(e, (enum jit_shift)op, size, d);
	jit_emit_bytes(e, (const u8[]){0x9f}, 1); /* lahf */
	if (!amd && op == JS_SAR) {
		of_clear_al(e);
	} else {
		if (amd)
			amd_of(e, op, size, d);
		of_dl_to_al(e);
	}
	shift_af(e, amd);
	return zero;
}

bool jit_native_is_imul(const struct soft_insn *in)
{
	return in->map == SOFT_MAP_0F && in->opcode == 0xaf;
}

void jit_native_imul_flags(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
			   bool keep)
{
	enum jit_reg s = jit_regs_get(rg, e, in->rm, true), d = jit_regs_get(rg, e, in->reg, true);

	if (keep)
		jit_emit_bytes(e, (const u8[]){0x9f}, 1); /* lahf: SF ZF AF PF as they were */
	jit_imul_rr(e, in->size, d, s);
	jit_emit_bytes(e, (const u8[]){0x0f, 0x92, 0xc1}, 3); /* setc cl: CF = OF */
	if (!keep) { /* Intel: SF PF of the product, ZF AF clear */
		jit_test_rr(e, in->size, d, d);
		jit_emit_bytes(e, (const u8[]){0x9f}, 1); /* lahf */
	}
	jit_emit_bytes(e, (const u8[]){0x80, 0xe4, keep ? 0xfe : 0xae, /* and ah: CF (and ZF AF) */
				       0x08, 0xcc, 0x88, 0xc8}, 7); /* or ah, cl; mov al, cl */
	jit_regs_dirty(rg, in->reg);
	jit_regs_unpin(rg);
}
