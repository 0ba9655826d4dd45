/* Natives whose flags include ones the manuals leave undefined (native.h:
 * jit_native_shift_flags, jit_native_imul_flags): the host computes the
 * result and the defined flags, and the undefined ones are then set as the
 * modelled vendor sets them (exec.h soft_shift_sh(), exec/shift.c,
 * exec/muldiv.c), so translated code gives the interpreter's flags on any
 * host. The flags end up saved in their host form (SOFT_LAZY_HOST: LAHF's AH,
 * and OF in AL). */
#include "cpu/soft/decode/decode.h"
#include "cpu/soft/jit/native.h"

bool jit_native_is_shift(const struct soft_insn *in)
{
	unsigned r = in->reg & 7;

	return in->map == SOFT_MAP_1B && (in->opcode == 0xc1 || in->opcode == 0xd1) &&
	       (r == JS_SHL || r == JS_SHR || r == JS_SAR);
}

bool jit_native_is_rotate(const struct soft_insn *in)
{
	return in->map == SOFT_MAP_1B && (in->opcode == 0xc1 || in->opcode == 0xd1) &&
	       (in->reg & 7) <= JS_ROR;
}

/* OF, computed into dl from v (a copy in rdx first): the top two bits of
 * v differ (bits = 32 or 64). Changes the host's flags. */
static void of_top_two(struct jit_emit *e, unsigned size, enum jit_reg v)
{
	jit_mov_rr_sz(e, size, JR_RDX, v);
	jit_shift_ri(e, JS_SHL, size, JR_RDX, 1);
	jit_alu_rr(e, JA_XOR, size, JR_RDX, v);
	jit_shift_ri(e, JS_SHR, size, JR_RDX, (u8)(size * 8 - 1));
}

void jit_native_shift_flags(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
			    bool amd, s32 lazy_res)
{
	unsigned op = in->reg & 7, size = in->size;
	unsigned count = in->opcode == 0xd1 ? 1 : (unsigned)in->imm & (size == 8 ? 63 : 31);
	enum jit_reg d = jit_regs_get(rg, e, in->rm, true);

	jit_mov_rr(e, JR_RCX, d); /* the value before */
	jit_shift_ri(e, (enum jit_shift)op, size, d, (u8)count);
	jit_emit_bytes(e, (const u8[]){0x9f, 0x0f, 0x90, 0xc0}, 4); /* lahf; seto al */
	if (op <= JS_ROR) { /* SF ZF AF PF kept, CF the rotate's: only OF to model */
		if (count > 1 && !amd) { /* Intel: a one-bit rotate of the value before */
			if (op == JS_ROL) {
				of_top_two(e, size, JR_RCX);
			} else { /* its bit 0 ^ its top bit */
				jit_mov_rr_sz(e, size, JR_RDX, JR_RCX);
				jit_shift_ri(e, JS_ROR, size, JR_RDX, 1);
				jit_alu_rr(e, JA_XOR, size, JR_RDX, JR_RCX);
				jit_shift_ri(e, JS_SHR, size, JR_RDX, (u8)(size * 8 - 1));
			}
			jit_emit_bytes(e, (const u8[]){0x88, 0xd0}, 2); /* mov al, dl */
		} else if (count > 1) { /* AMD: read off the result */
			if (op == JS_ROL) { /* its top bit ^ CF (AH bit 0) */
				jit_mov_rr_sz(e, size, JR_RDX, d);
				jit_shift_ri(e, JS_SHR, size, JR_RDX, (u8)(size * 8 - 1));
				jit_emit_bytes(e, (const u8[]){0x30, 0xe2, 0x80, 0xe2, 0x01}, 5);
			} else {
				of_top_two(e, size, d);
			}
			jit_emit_bytes(e, (const u8[]){0x88, 0xd0}, 2); /* mov al, dl */
		}
		jit_mov_mr(e, 2, JR_RBX, lazy_res, JR_RAX);
		jit_regs_dirty(rg, in->rm);
		jit_regs_unpin(rg);
		return;
	}
	if (count > 1 && op == JS_SAR && !amd) {
		jit_emit_bytes(e, (const u8[]){0xb0, 0x00}, 2); /* mov al, 0 */
	} else if (count > 1 && !amd) { /* Intel: OF as a one-bit shift of the value before */
		if (op == JS_SHL) {
			of_top_two(e, size, JR_RCX);
		} else { /* SHR: its top bit */
			jit_mov_rr_sz(e, size, JR_RDX, JR_RCX);
			jit_shift_ri(e, JS_SHR, size, JR_RDX, (u8)(size * 8 - 1));
		}
		jit_emit_bytes(e, (const u8[]){0x88, 0xd0}, 2); /* mov al, dl */
	} else if (count > 1) { /* AMD: OF read off the result */
		if (op == JS_SHL) { /* its top bit ^ CF (AH bit 0) */
			jit_mov_rr_sz(e, size, JR_RDX, d);
			jit_shift_ri(e, JS_SHR, size, JR_RDX, (u8)(size * 8 - 1));
			jit_emit_bytes(e, (const u8[]){0x30, 0xe2, 0x80, 0xe2, 0x01}, 5); /* xor dl, ah; and dl, 1 */
		} else {
			of_top_two(e, size, d);
		}
		jit_emit_bytes(e, (const u8[]){0x88, 0xd0}, 2); /* mov al, dl */
	}
	/* AF: set on AMD, clear on Intel. */
	jit_emit_bytes(e, amd ? (const u8[]){0x80, 0xcc, 0x10} : (const u8[]){0x80, 0xe4, 0xef}, 3);
	jit_mov_mr(e, 2, JR_RBX, lazy_res, JR_RAX);
	jit_regs_dirty(rg, in->rm);
	jit_regs_unpin(rg);
}

bool jit_native_is_imul(const struct soft_insn *in)
{
	return in->map == SOFT_MAP_0F && in->opcode == 0xaf;
}

void jit_native_imul_flags(struct jit_emit *e, struct jit_regs *rg, const struct soft_insn *in,
			   bool keep, s32 lazy_res)
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
	jit_mov_mr(e, 2, JR_RBX, lazy_res, JR_RAX);
	jit_regs_dirty(rg, in->reg);
	jit_regs_unpin(rg);
}
