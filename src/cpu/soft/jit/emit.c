/* x86-64 instruction encoding for the translator (Intel SDM Vol. 2A 2.1-2.2:
 * prefixes, REX, ModRM/SIB, displacements, immediates). */
#include <string.h>

#include "cpu/soft/jit/emit.h"

void jit_emit_init(struct jit_emit *e, u8 *buf, size_t size, s64 exec_delta)
{
	e->p = e->start = buf;
	e->end = buf + size;
	e->exec_delta = exec_delta;
	e->full = false;
	e->data = e->data_end = NULL;
}

void *jit_emit_data(struct jit_emit *e, size_t size)
{
	u8 *d = e->data ? (u8 *)ALIGN_UP((uintptr_t)e->data, 8) : NULL;

	if (!d || e->full || (size_t)(e->data_end - d) < size) {
		e->full = true;
		return NULL;
	}
	e->data = d + size;
	return d;
}

void jit_emit_bytes(struct jit_emit *e, const void *bytes, size_t n)
{
	if (e->full || (size_t)(e->end - e->p) < n) {
		e->full = true;
		return;
	}
	memcpy(e->p, bytes, n);
	e->p += n;
}

static void put8(struct jit_emit *e, u8 b)
{
	jit_emit_bytes(e, &b, 1);
}

static void put32(struct jit_emit *e, u32 v)
{
	jit_emit_bytes(e, &v, 4);
}

/* An immediate of operand size size: 1, 2, or 4 (also for 8: sign-extended
 * by the CPU). */
static void put_imm(struct jit_emit *e, unsigned size, s32 imm)
{
	if (size == 1)
		put8(e, (u8)imm);
	else if (size == 2)
		jit_emit_bytes(e, &imm, 2);
	else
		put32(e, (u32)imm);
}

static bool fits_s8(s64 v)
{
	return v >= -128 && v <= 127;
}

static bool fits_s32(s64 v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* Operand-size prefix and REX for an instruction with operand size `size`,
 * ModRM.reg `reg` and ModRM.rm (or SIB.base) `rm`. REX is also needed for
 * the byte registers SPL, BPL, SIL and DIL (4-7 without REX are AH..BH). */
static void prefixes(struct jit_emit *e, unsigned size, unsigned reg, unsigned rm, bool rm_is_reg)
{
	u8 rex = 0x40 | (size == 8 ? 8 : 0) | (reg & 8 ? 4 : 0) | (rm & 8 ? 1 : 0);

	if (size == 2)
		put8(e, 0x66);
	if (rex != 0x40 || (size == 1 && ((reg & 7) >= 4 || (rm_is_reg && (rm & 7) >= 4))))
		put8(e, rex);
}

/* ModRM (and SIB, displacement) for [base + disp] with ModRM.reg = reg. */
static void modrm_sib(struct jit_emit *e, unsigned reg, enum jit_reg base, enum jit_reg index,
		      unsigned ss, s32 disp);

static void modrm_mem(struct jit_emit *e, unsigned reg, enum jit_reg base, s32 disp)
{
	if (base == JR_RDX_RAX) { /* (prefixes() needs no REX.B or REX.X for it) */
		modrm_sib(e, reg, JR_RDX, JR_RAX, 0, disp);
		return;
	}
	unsigned mod = (disp == 0 && (base & 7) != JR_RBP) ? 0 : fits_s8(disp) ? 1 : 2;

	put8(e, (u8)(mod << 6 | (reg & 7) << 3 | (base & 7)));
	if ((base & 7) == JR_RSP)
		put8(e, 0x24); /* SIB: no index, base = rsp/r12 */
	if (mod == 1)
		put8(e, (u8)disp);
	else if (mod == 2)
		put32(e, (u32)disp);
}

static void modrm_reg(struct jit_emit *e, unsigned reg, unsigned rm)
{
	put8(e, (u8)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

void jit_mov_ri(struct jit_emit *e, enum jit_reg r, u64 imm)
{
	if (imm <= UINT32_MAX) { /* mov r32, imm32 zero-extends */
		if (r & 8)
			put8(e, 0x41);
		put8(e, (u8)(0xb8 | (r & 7)));
		put32(e, (u32)imm);
	} else if (fits_s32((s64)imm)) { /* mov r/m64, simm32 */
		prefixes(e, 8, 0, r, true);
		put8(e, 0xc7);
		modrm_reg(e, 0, r);
		put32(e, (u32)imm);
	} else {
		put8(e, (u8)(0x48 | (r & 8 ? 1 : 0)));
		put8(e, (u8)(0xb8 | (r & 7)));
		jit_emit_bytes(e, &imm, 8);
	}
}

void jit_mov_rm(struct jit_emit *e, unsigned size, enum jit_reg r, enum jit_reg base, s32 disp)
{
	prefixes(e, size, r, base, false);
	put8(e, size == 1 ? 0x8a : 0x8b);
	modrm_mem(e, r, base, disp);
}

void jit_mov_mr(struct jit_emit *e, unsigned size, enum jit_reg base, s32 disp, enum jit_reg r)
{
	prefixes(e, size, r, base, false);
	put8(e, size == 1 ? 0x88 : 0x89);
	modrm_mem(e, r, base, disp);
}

void jit_mov_mi(struct jit_emit *e, unsigned size, enum jit_reg base, s32 disp, s32 imm)
{
	prefixes(e, size, 0, base, false);
	put8(e, size == 1 ? 0xc6 : 0xc7);
	modrm_mem(e, 0, base, disp);
	put_imm(e, size, imm);
}

void jit_mov_rr_sz(struct jit_emit *e, unsigned size, enum jit_reg dst, enum jit_reg src)
{
	prefixes(e, size, src, dst, true);
	put8(e, size == 1 ? 0x88 : 0x89);
	modrm_reg(e, src, dst);
}

void jit_mov_rr(struct jit_emit *e, enum jit_reg dst, enum jit_reg src)
{
	jit_mov_rr_sz(e, 8, dst, src);
}

void jit_lea(struct jit_emit *e, enum jit_reg r, enum jit_reg base, s32 disp)
{
	prefixes(e, 8, r, base, false);
	put8(e, 0x8d);
	modrm_mem(e, r, base, disp);
}

void jit_alu_mr(struct jit_emit *e, enum jit_alu op, unsigned size, enum jit_reg base, s32 disp,
		enum jit_reg r)
{
	prefixes(e, size, r, base, false);
	put8(e, (u8)(op * 8 + (size == 1 ? 0 : 1)));
	modrm_mem(e, r, base, disp);
}

void jit_alu_rm(struct jit_emit *e, enum jit_alu op, unsigned size, enum jit_reg r,
		enum jit_reg base, s32 disp)
{
	prefixes(e, size, r, base, false);
	put8(e, (u8)(op * 8 + (size == 1 ? 2 : 3)));
	modrm_mem(e, r, base, disp);
}

void jit_alu_ri(struct jit_emit *e, enum jit_alu op, unsigned size, enum jit_reg r, s32 imm)
{
	prefixes(e, size, 0, r, true);
	put8(e, size == 1 ? 0x80 : fits_s8(imm) ? 0x83 : 0x81);
	modrm_reg(e, op, r);
	put_imm(e, fits_s8(imm) ? 1 : size, imm);
}

void jit_test_mr(struct jit_emit *e, unsigned size, enum jit_reg base, s32 disp, enum jit_reg r)
{
	prefixes(e, size, r, base, false);
	put8(e, size == 1 ? 0x84 : 0x85);
	modrm_mem(e, r, base, disp);
}

void jit_test_ri(struct jit_emit *e, unsigned size, enum jit_reg r, s32 imm)
{
	prefixes(e, size, 0, r, true);
	put8(e, size == 1 ? 0xf6 : 0xf7);
	modrm_reg(e, 0, r);
	put_imm(e, size, imm);
}

void jit_test_mi(struct jit_emit *e, unsigned size, enum jit_reg base, s32 disp, s32 imm)
{
	prefixes(e, size, 0, base, false);
	put8(e, size == 1 ? 0xf6 : 0xf7);
	modrm_mem(e, 0, base, disp);
	put_imm(e, size, imm);
}

void jit_mov_ri8(struct jit_emit *e, enum jit_reg r, u8 imm)
{
	prefixes(e, 1, 0, r, true);
	put8(e, (u8)(0xb0 | (r & 7)));
	put8(e, imm);
}

/* 0F op (MOVZX B6/B7, MOVSX BE/BF) dst, src: odd ops read a word. */
static void movx_rr(struct jit_emit *e, u8 op, unsigned size, enum jit_reg dst, enum jit_reg src)
{
	prefixes(e, size == 8 ? 8 : op & 1 ? 4 : 1, dst, src, true); /* REX for SIL/DIL */
	put8(e, 0x0f);
	put8(e, op);
	modrm_reg(e, dst, src);
}

void jit_movzx_rr(struct jit_emit *e, unsigned src_size, enum jit_reg dst, enum jit_reg src)
{
	movx_rr(e, src_size == 1 ? 0xb6 : 0xb7, 4, dst, src);
}

void jit_movsx_rr(struct jit_emit *e, unsigned src_size, unsigned size, enum jit_reg dst,
		  enum jit_reg src)
{
	movx_rr(e, src_size == 1 ? 0xbe : 0xbf, size, dst, src);
}

void jit_imul_rr(struct jit_emit *e, unsigned size, enum jit_reg dst, enum jit_reg src)
{
	prefixes(e, size, dst, src, true);
	put8(e, 0x0f);
	put8(e, 0xaf);
	modrm_reg(e, dst, src);
}

void jit_cmov_rr(struct jit_emit *e, enum jit_cc cc, unsigned size, enum jit_reg dst,
		 enum jit_reg src)
{
	prefixes(e, size, dst, src, true);
	put8(e, 0x0f);
	put8(e, (u8)(0x40 | cc));
	modrm_reg(e, dst, src);
}

void jit_setcc(struct jit_emit *e, enum jit_cc cc, enum jit_reg r)
{
	prefixes(e, 1, 0, r, true);
	put8(e, 0x0f);
	put8(e, (u8)(0x90 | cc));
	modrm_reg(e, 0, r);
}

void jit_movsxd_rm(struct jit_emit *e, enum jit_reg r, enum jit_reg base, s32 disp)
{
	prefixes(e, 8, r, base, false);
	put8(e, 0x63);
	modrm_mem(e, r, base, disp);
}

void jit_movsxd_rr(struct jit_emit *e, enum jit_reg dst, enum jit_reg src)
{
	prefixes(e, 8, dst, src, true);
	put8(e, 0x63);
	modrm_reg(e, dst, src);
}

void jit_test_rr(struct jit_emit *e, unsigned size, enum jit_reg a, enum jit_reg b)
{
	prefixes(e, size, b, a, true);
	put8(e, size == 1 ? 0x84 : 0x85);
	modrm_reg(e, b, a);
}

void jit_alu_mi(struct jit_emit *e, enum jit_alu op, unsigned size, enum jit_reg base, s32 disp,
		s32 imm)
{
	bool short_imm = size != 1 && fits_s8(imm);

	prefixes(e, size, 0, base, false);
	put8(e, size == 1 ? 0x80 : short_imm ? 0x83 : 0x81);
	modrm_mem(e, op, base, disp);
	put_imm(e, short_imm ? 1 : size, imm);
}

void jit_push(struct jit_emit *e, enum jit_reg r)
{
	if (r & 8)
		put8(e, 0x41);
	put8(e, (u8)(0x50 | (r & 7)));
}

void jit_pop(struct jit_emit *e, enum jit_reg r)
{
	if (r & 8)
		put8(e, 0x41);
	put8(e, (u8)(0x58 | (r & 7)));
}

void jit_ret(struct jit_emit *e)
{
	put8(e, 0xc3);
}

void jit_call(struct jit_emit *e, const void *target, enum jit_reg scratch)
{
	/* rel32 counts from the end of the 5-byte call, at its executable address. */
	s64 rel = (s64)(uintptr_t)target - ((s64)(uintptr_t)e->p + e->exec_delta + 5);

	if (fits_s32(rel)) {
		put8(e, 0xe8);
		put32(e, (u32)rel);
		return;
	}
	jit_mov_ri(e, scratch, (u64)(uintptr_t)target);
	if (scratch & 8)
		put8(e, 0x41);
	put8(e, 0xff);
	modrm_reg(e, 2, scratch);
}

u8 *jit_jmp_fwd(struct jit_emit *e)
{
	put8(e, 0xe9);
	put32(e, 0);
	return e->full ? NULL : e->p - 4;
}

u8 *jit_jcc_fwd(struct jit_emit *e, enum jit_cc cc)
{
	put8(e, 0x0f);
	put8(e, (u8)(0x80 | cc));
	put32(e, 0);
	return e->full ? NULL : e->p - 4;
}

void jit_patch_to(struct jit_emit *e, u8 *at, const u8 *target)
{
	s32 rel;

	if (!at || e->full)
		return;
	rel = (s32)(target - (at + 4));
	memcpy(at, &rel, 4);
}

void jit_patch_data(struct jit_emit *e, u8 *at, const void *data)
{
	s64 rel;

	if (!at || e->full)
		return;
	rel = (const u8 *)data - (at + e->exec_delta + 4);
	if (!fits_s32(rel)) {
		e->full = true;
		return;
	}
	s32 r = (s32)rel;
	memcpy(at, &r, 4);
}

void jit_patch_here(struct jit_emit *e, u8 *at)
{
	jit_patch_to(e, at, e->p);
}

void jit_jmp_to(struct jit_emit *e, const u8 *target)
{
	s64 rel = target - (e->p + 5);

	put8(e, 0xe9);
	put32(e, (u32)(s32)rel);
}

/* ModRM + SIB for [base + index * (1 << ss) + disp]; index must not be rsp. */
static void modrm_sib(struct jit_emit *e, unsigned reg, enum jit_reg base, enum jit_reg index,
		      unsigned ss, s32 disp)
{
	unsigned mod = (disp == 0 && (base & 7) != JR_RBP) ? 0 : fits_s8(disp) ? 1 : 2;

	put8(e, (u8)(mod << 6 | (reg & 7) << 3 | 4));
	put8(e, (u8)(ss << 6 | (index & 7) << 3 | (base & 7)));
	if (mod == 1)
		put8(e, (u8)disp);
	else if (mod == 2)
		put32(e, (u32)disp);
}

static void prefixes_sib(struct jit_emit *e, unsigned size, unsigned reg, enum jit_reg base,
			 enum jit_reg index)
{
	u8 rex = 0x40 | (size == 8 ? 8 : 0) | (reg & 8 ? 4 : 0) | (index & 8 ? 2 : 0) |
		 (base & 8 ? 1 : 0);

	if (size == 2)
		put8(e, 0x66);
	if (rex != 0x40 || (size == 1 && (reg & 7) >= 4))
		put8(e, rex);
}

/* 0F op r, [base + disp]: MOVZX, MOVSX, IMUL. */
static void movx_rm(struct jit_emit *e, u8 op, unsigned size, enum jit_reg r, enum jit_reg base,
		    s32 disp)
{
	prefixes(e, size, r, base, false);
	put8(e, 0x0f);
	put8(e, op);
	modrm_mem(e, r, base, disp);
}

void jit_movzx_rm(struct jit_emit *e, unsigned src_size, enum jit_reg r, enum jit_reg base, s32 disp)
{
	movx_rm(e, src_size == 1 ? 0xb6 : 0xb7, 4, r, base, disp);
}

void jit_movsx_rm(struct jit_emit *e, unsigned src_size, unsigned size, enum jit_reg r,
		  enum jit_reg base, s32 disp)
{
	movx_rm(e, src_size == 1 ? 0xbe : 0xbf, size, r, base, disp);
}

void jit_imul_rm(struct jit_emit *e, unsigned size, enum jit_reg r, enum jit_reg base, s32 disp)
{
	movx_rm(e, 0xaf, size, r, base, disp);
}

void jit_lea_x(struct jit_emit *e, unsigned size, enum jit_reg r, enum jit_reg base,
	       enum jit_reg index, unsigned scale, s32 disp)
{
	if (index == JR_NONE && base == JR_NONE) {
		/* mov r, simm32 (size 4: the low half, zero-extended). */
		jit_mov_ri(e, r, size == 4 ? (u32)disp : (u64)(s64)disp);
		return;
	}
	if (index == JR_NONE) {
		prefixes(e, size, r, base, false);
		put8(e, 0x8d);
		modrm_mem(e, r, base, disp);
		return;
	}
	prefixes_sib(e, size, r, base == JR_NONE ? 0 : base, index);
	put8(e, 0x8d);
	if (base == JR_NONE) { /* SIB base 101 with mod 00: no base, disp32 */
		put8(e, (u8)(0 << 6 | (r & 7) << 3 | 4));
		put8(e, (u8)((unsigned)__builtin_ctz(scale | 16) << 6 | (index & 7) << 3 | 5));
		put32(e, (u32)disp);
		return;
	}
	modrm_sib(e, r, base, index, (unsigned)__builtin_ctz(scale | 16), disp);
}

/* opcode r, [base + index + disp] (a base, and an index that is not rsp). */
static void op_rm_x(struct jit_emit *e, u8 opcode, unsigned size, enum jit_reg r,
		    enum jit_reg base, enum jit_reg index, s32 disp)
{
	prefixes_sib(e, size, r, base, index);
	put8(e, opcode);
	modrm_sib(e, r, base, index, 0, disp);
}

void jit_mov_rm_x(struct jit_emit *e, enum jit_reg r, enum jit_reg base, enum jit_reg index,
		  s32 disp)
{
	op_rm_x(e, 0x8b, 8, r, base, index, disp);
}

void jit_alu_rm_x(struct jit_emit *e, enum jit_alu op, enum jit_reg r, enum jit_reg base,
		  enum jit_reg index, s32 disp)
{
	op_rm_x(e, (u8)(op * 8 + 3), 8, r, base, index, disp);
}

void jit_alu_rr(struct jit_emit *e, enum jit_alu op, unsigned size, enum jit_reg dst,
		enum jit_reg src)
{
	prefixes(e, size, src, dst, true);
	put8(e, (u8)(op * 8 + (size == 1 ? 0 : 1)));
	modrm_reg(e, src, dst);
}

void jit_shift_ri(struct jit_emit *e, enum jit_shift op, unsigned size, enum jit_reg r, u8 count)
{
	prefixes(e, size, 0, r, true);
	put8(e, size == 1 ? 0xc0 : 0xc1);
	modrm_reg(e, op, r);
	put8(e, count);
}

/* Group 2 (D3) and group 3 (F7) forms with a register: /op r. */
static void group_r(struct jit_emit *e, u8 op_byte, unsigned op, unsigned size, enum jit_reg r)
{
	prefixes(e, size, 0, r, true);
	put8(e, size == 1 ? (u8)(op_byte - 1) : op_byte);
	modrm_reg(e, op, r);
}

void jit_shift_cl(struct jit_emit *e, enum jit_shift op, unsigned size, enum jit_reg r)
{
	group_r(e, 0xd3, op, size, r);
}

void jit_mul_r(struct jit_emit *e, unsigned size, enum jit_reg r)
{
	group_r(e, 0xf7, 4, size, r);
}

void jit_notneg(struct jit_emit *e, bool neg, unsigned size, enum jit_reg r)
{
	group_r(e, 0xf7, neg ? 3 : 2, size, r);
}

void jit_incdec(struct jit_emit *e, bool dec, unsigned size, enum jit_reg r)
{
	prefixes(e, size, 0, r, true);
	put8(e, size == 1 ? 0xfe : 0xff);
	modrm_reg(e, dec ? 1 : 0, r);
}

void jit_incdec_m(struct jit_emit *e, bool dec, unsigned size, enum jit_reg base, s32 disp)
{
	prefixes(e, size, 0, base, false);
	put8(e, size == 1 ? 0xfe : 0xff);
	modrm_mem(e, dec ? 1 : 0, base, disp);
}

void jit_op8_rr(struct jit_emit *e, u8 opcode, enum jit_reg8 rm, enum jit_reg8 reg)
{
	put8(e, opcode);
	modrm_reg(e, reg, rm);
}

void jit_op8_ri(struct jit_emit *e, u8 opcode, unsigned ext, enum jit_reg8 rm, u8 imm)
{
	put8(e, opcode);
	modrm_reg(e, ext, rm);
	put8(e, imm);
}

void jit_mov8_ri(struct jit_emit *e, enum jit_reg8 r, u8 imm)
{
	put8(e, (u8)(0xb0 | r));
	put8(e, imm);
}

void jit_mov_ri64(struct jit_emit *e, enum jit_reg r, u64 imm)
{
	put8(e, (u8)(0x48 | (r & 8 ? 1 : 0)));
	put8(e, (u8)(0xb8 | (r & 7)));
	jit_emit_bytes(e, &imm, 8);
}

/* REX.W op r, [rip + disp32] with the disp32 left 0: returns its position. */
static u8 *op_r_rip(struct jit_emit *e, u8 op, enum jit_reg r)
{
	put8(e, (u8)(0x48 | (r & 8 ? 4 : 0)));
	put8(e, op);
	put8(e, (u8)((r & 7) << 3 | 5)); /* mod 00, rm 101: RIP-relative */
	put32(e, 0);
	return e->full ? NULL : e->p - 4;
}

u8 *jit_alu_r_rip(struct jit_emit *e, enum jit_alu op, enum jit_reg r)
{
	return op_r_rip(e, (u8)(op << 3 | 3), r);
}

u8 *jit_mov_r_rip(struct jit_emit *e, enum jit_reg r)
{
	return op_r_rip(e, 0x8b, r);
}

u8 *jit_mov_rip_r(struct jit_emit *e, enum jit_reg r)
{
	return op_r_rip(e, 0x89, r);
}

void jit_lea_rip(struct jit_emit *e, enum jit_reg r, const u8 *target)
{
	u8 *at = op_r_rip(e, 0x8d, r);

	if (at) {
		s32 rel = (s32)(target - (at + 4));
		memcpy(at, &rel, 4);
	}
}

void jit_jmp_m(struct jit_emit *e, enum jit_reg base, s32 disp)
{
	prefixes(e, 4, 0, base, false);
	put8(e, 0xff);
	modrm_mem(e, 4, base, disp);
}
