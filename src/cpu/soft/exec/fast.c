/* Specialized handlers for the most frequent instruction forms (register
 * operands of 32 or 64 bits, simple loads and stores in 64-bit mode), bound
 * in place of the generic ones by soft_fast_bind(). Each must behave exactly
 * like the generic handler it replaces (test_soft_fast checks this on
 * random encodings); they only skip work that the form makes unnecessary. */
#include "cpu/soft/exec/exec.h"

static inline void wr32(struct soft_cpu *cpu, unsigned r, u64 v)
{
	cpu->gpr[r] = (u32)v;
}

/* dst/src register numbers of an ALU or MOV register form by direction. */
#define DST(in) ((in)->opcode & 2 ? (in)->reg : (in)->rm)
#define SRC(in) ((in)->opcode & 2 ? (in)->rm : (in)->reg)

/* ---- MOV ---- */

static void mov_rr64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[DST(in)] = cpu->gpr[SRC(in)];
}

static void mov_rr32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	wr32(cpu, DST(in), cpu->gpr[SRC(in)]);
}

/* 64-bit mode loads/stores through the TLB; the general path (soft_mem_*)
 * handles everything unusual. Addressing forms the binder can prove at
 * decode time (64-bit address size, no RIP-relative, a segment without a
 * base in 64-bit mode: not FS or GS, Intel SDM Vol. 3A 3.4.4) skip
 * soft_ea()'s tests: EA_B [base + disp], EA_BI [base + index * scale + disp],
 * EA_I [index * scale + disp]; EA_ANY is any form. A non-canonical linear
 * address never matches a TLB tag: the slow path raises. */
enum { EA_ANY = 0, EA_B = 1, EA_BI = 2, EA_I = 3 };

static inline __attribute__((always_inline)) u64 ea_of(const struct soft_cpu *cpu,
						       const struct soft_insn *in, unsigned kind)
{
	u64 ea = (u64)in->disp;

	if (kind == EA_ANY)
		return soft_ea(cpu, in);
	if (kind != EA_I)
		ea += cpu->gpr[in->base];
	if (kind != EA_B)
		ea += cpu->gpr[in->index] * in->scale;
	return ea;
}

static inline __attribute__((always_inline)) u64 lin_of(const struct soft_cpu *cpu,
							const struct soft_insn *in, unsigned kind,
							u64 off)
{
	return kind == EA_ANY && in->seg >= X86_FS ? off + cpu->seg[in->seg].base : off;
}

static inline __attribute__((always_inline)) u64 ld_k(struct soft_cpu *cpu,
						      const struct soft_insn *in, unsigned size,
						      unsigned kind)
{
	u64 off = ea_of(cpu, in, kind), lin = lin_of(cpu, in, kind, off);
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, lin, cpu->dpriv);

	if (__builtin_expect(e->tag[SOFT_ACC_READ] == (lin & ~0xfffULL) && soft_in_page(lin, size),
			     1))
		return soft_host_load(e->host + (lin & 0xfff), size);
	return soft_mem_read(cpu, in->seg, off, size);
}

static inline __attribute__((always_inline)) void st_k(struct soft_cpu *cpu,
						       const struct soft_insn *in, unsigned size,
						       unsigned kind, u64 v)
{
	u64 off = ea_of(cpu, in, kind), lin = lin_of(cpu, in, kind, off);
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, lin, cpu->dpriv);

	if (__builtin_expect(e->tag[SOFT_ACC_WRITE] == (lin & ~0xfffULL) && soft_in_page(lin, size),
			     1)) {
		soft_host_store(e->host + (lin & 0xfff), size, v);
		return;
	}
	soft_mem_write(cpu, in->seg, off, size, v);
}

static inline u64 ld(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size)
{
	return ld_k(cpu, in, size, EA_ANY);
}

static inline void st(struct soft_cpu *cpu, const struct soft_insn *in, unsigned size, u64 v)
{
	st_k(cpu, in, size, EA_ANY, v);
}

/* The EA kind of a 64-bit address, or 0 for the general path. */
static unsigned ea_kind_addr(const struct soft_insn *in)
{
	if (!in->mem || in->addrsize != 8 || in->rip_rel)
		return 0;
	if (in->base < 0)
		return in->index < 0 ? 0 : EA_I;
	return in->index < 0 ? EA_B : EA_BI;
}

/* The same for a memory access: also not through FS or GS. */
static unsigned ea_kind(const struct soft_insn *in)
{
	return in->seg >= X86_FS ? 0 : ea_kind_addr(in);
}

static void mov_load64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[in->reg] = ld(cpu, in, 8);
}

static void mov_load32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[in->reg] = ld(cpu, in, 4);
}

static void mov_store64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	st(cpu, in, 8, cpu->gpr[in->reg]);
}

static void mov_store32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	st(cpu, in, 4, cpu->gpr[in->reg]);
}

static void lea64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[in->reg] = soft_ea(cpu, in);
}

#define MOV_K(kname, kind)                                                                         \
	static void mov_load64_##kname(struct soft_cpu *cpu, const struct soft_insn *in)           \
	{                                                                                          \
		cpu->gpr[in->reg] = ld_k(cpu, in, 8, kind);                                        \
	}                                                                                          \
	static void mov_load32_##kname(struct soft_cpu *cpu, const struct soft_insn *in)           \
	{                                                                                          \
		cpu->gpr[in->reg] = ld_k(cpu, in, 4, kind);                                        \
	}                                                                                          \
	static void mov_store64_##kname(struct soft_cpu *cpu, const struct soft_insn *in)          \
	{                                                                                          \
		st_k(cpu, in, 8, kind, cpu->gpr[in->reg]);                                         \
	}                                                                                          \
	static void mov_store32_##kname(struct soft_cpu *cpu, const struct soft_insn *in)          \
	{                                                                                          \
		st_k(cpu, in, 4, kind, cpu->gpr[in->reg]);                                         \
	}                                                                                          \
	static void lea64_##kname(struct soft_cpu *cpu, const struct soft_insn *in)                \
	{                                                                                          \
		cpu->gpr[in->reg] = ea_of(cpu, in, kind);                                          \
	}                                                                                          \
	static void lea32_##kname(struct soft_cpu *cpu, const struct soft_insn *in)                \
	{                                                                                          \
		cpu->gpr[in->reg] = (u32)ea_of(cpu, in, kind);                                     \
	}
MOV_K(b, EA_B)
MOV_K(bi, EA_BI)
MOV_K(i, EA_I)

/* [kind][0 load32, 1 load64, 2 store32, 3 store64, 4 lea64, 5 lea32]; kind 0
 * is the general form (no lea32: the generic handler does it). */
static soft_handler_fn *const mov_k[4][6] = {
    {mov_load32, mov_load64, mov_store32, mov_store64, lea64, NULL},
    {mov_load32_b, mov_load64_b, mov_store32_b, mov_store64_b, lea64_b, lea32_b},
    {mov_load32_bi, mov_load64_bi, mov_store32_bi, mov_store64_bi, lea64_bi, lea32_bi},
    {mov_load32_i, mov_load64_i, mov_store32_i, mov_store64_i, lea64_i, lea32_i},
};

/* ---- ALU register forms ---- */

#define ALU_RR(name, size, expr, lazyop, write)                                                    \
	static void name(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                          \
		const u64 m = soft_size_mask(size);                                                \
		u64 d = cpu->gpr[DST(in)] & m, s = cpu->gpr[SRC(in)] & m, r = (expr)&m;            \
		soft_lazy_set(cpu, lazyop, size, d, s, r);                                         \
		if (write)                                                                         \
			cpu->gpr[DST(in)] = r;                                                     \
	}

ALU_RR(add_rr64, 8, d + s, SOFT_LAZY_ADD, 1)
ALU_RR(add_rr32, 4, d + s, SOFT_LAZY_ADD, 1)
ALU_RR(sub_rr64, 8, d - s, SOFT_LAZY_SUB, 1)
ALU_RR(sub_rr32, 4, d - s, SOFT_LAZY_SUB, 1)
ALU_RR(cmp_rr64, 8, d - s, SOFT_LAZY_SUB, 0)
ALU_RR(cmp_rr32, 4, d - s, SOFT_LAZY_SUB, 0)
ALU_RR(and_rr64, 8, d &s, SOFT_LAZY_LOGIC, 1)
ALU_RR(and_rr32, 4, d &s, SOFT_LAZY_LOGIC, 1)
ALU_RR(or_rr64, 8, d | s, SOFT_LAZY_LOGIC, 1)
ALU_RR(or_rr32, 4, d | s, SOFT_LAZY_LOGIC, 1)
ALU_RR(xor_rr64, 8, d ^ s, SOFT_LAZY_LOGIC, 1)
ALU_RR(xor_rr32, 4, d ^ s, SOFT_LAZY_LOGIC, 1)
ALU_RR(test_rr64, 8, d &s, SOFT_LAZY_LOGIC, 0)
ALU_RR(test_rr32, 4, d &s, SOFT_LAZY_LOGIC, 0)

/* ADC/SBB need the carry: the generic core. */
static void adcsbb_rr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size, d = DST(in);
	u64 r = soft_alu(cpu, (in->opcode >> 3) & 7, size, cpu->gpr[d], cpu->gpr[SRC(in)]);

	if (size == 8)
		cpu->gpr[d] = r;
	else
		wr32(cpu, d, r);
}

/* 81/83 with a register: op r, imm. */
#define ALU_RI(name, size, expr, lazyop, write)                                                    \
	static void name(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                          \
		const u64 m = soft_size_mask(size);                                                \
		u64 d = cpu->gpr[in->rm] & m, s = in->imm & m, r = (expr)&m;                       \
		soft_lazy_set(cpu, lazyop, size, d, s, r);                                         \
		if (write)                                                                         \
			cpu->gpr[in->rm] = r;                                                      \
	}

ALU_RI(add_ri64, 8, d + s, SOFT_LAZY_ADD, 1)
ALU_RI(add_ri32, 4, d + s, SOFT_LAZY_ADD, 1)
ALU_RI(sub_ri64, 8, d - s, SOFT_LAZY_SUB, 1)
ALU_RI(sub_ri32, 4, d - s, SOFT_LAZY_SUB, 1)
ALU_RI(cmp_ri64, 8, d - s, SOFT_LAZY_SUB, 0)
ALU_RI(cmp_ri32, 4, d - s, SOFT_LAZY_SUB, 0)
ALU_RI(and_ri64, 8, d &s, SOFT_LAZY_LOGIC, 1)
ALU_RI(and_ri32, 4, d &s, SOFT_LAZY_LOGIC, 1)
ALU_RI(or_ri64, 8, d | s, SOFT_LAZY_LOGIC, 1)
ALU_RI(or_ri32, 4, d | s, SOFT_LAZY_LOGIC, 1)
ALU_RI(xor_ri64, 8, d ^ s, SOFT_LAZY_LOGIC, 1)
ALU_RI(xor_ri32, 4, d ^ s, SOFT_LAZY_LOGIC, 1)

/* op r, [mem] in 64-bit mode (03, 0B, 23, 2B, 33, 3B). */
#define ALU_RM(name, size, expr, lazyop, write)                                                    \
	static void name(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                          \
		const u64 m = soft_size_mask(size);                                                \
		u64 s = ld(cpu, in, size), d = cpu->gpr[in->reg] & m, r = (expr)&m;                \
		soft_lazy_set(cpu, lazyop, size, d, s, r);                                         \
		if (write)                                                                         \
			cpu->gpr[in->reg] = r;                                                     \
	}

ALU_RM(add_rm64, 8, d + s, SOFT_LAZY_ADD, 1)
ALU_RM(add_rm32, 4, d + s, SOFT_LAZY_ADD, 1)
ALU_RM(sub_rm64, 8, d - s, SOFT_LAZY_SUB, 1)
ALU_RM(sub_rm32, 4, d - s, SOFT_LAZY_SUB, 1)
ALU_RM(cmp_rm64, 8, d - s, SOFT_LAZY_SUB, 0)
ALU_RM(cmp_rm32, 4, d - s, SOFT_LAZY_SUB, 0)
ALU_RM(and_rm64, 8, d &s, SOFT_LAZY_LOGIC, 1)
ALU_RM(and_rm32, 4, d &s, SOFT_LAZY_LOGIC, 1)
ALU_RM(or_rm64, 8, d | s, SOFT_LAZY_LOGIC, 1)
ALU_RM(or_rm32, 4, d | s, SOFT_LAZY_LOGIC, 1)
ALU_RM(xor_rm64, 8, d ^ s, SOFT_LAZY_LOGIC, 1)
ALU_RM(xor_rm32, 4, d ^ s, SOFT_LAZY_LOGIC, 1)

/* CMP [mem], r and CMP [mem], imm in 64-bit mode (39 and 81/83 /7). */
static void cmp_mr64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 d = ld(cpu, in, 8), s = cpu->gpr[in->reg];

	soft_lazy_set(cpu, SOFT_LAZY_SUB, 8, d, s, d - s);
}

static void cmp_mr32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 d = ld(cpu, in, 4), s = (u32)cpu->gpr[in->reg];

	soft_lazy_set(cpu, SOFT_LAZY_SUB, 4, d, s, (u32)(d - s));
}

static void cmp_mi64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 d = ld(cpu, in, 8);

	soft_lazy_set(cpu, SOFT_LAZY_SUB, 8, d, in->imm, d - in->imm);
}

static void cmp_mi32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 d = ld(cpu, in, 4), s = (u32)in->imm;

	soft_lazy_set(cpu, SOFT_LAZY_SUB, 4, d, s, (u32)(d - s));
}

/* ---- INC/DEC, IMUL, shifts, moves with extension ---- */

static void incdec_r(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size, r = in->rm;
	u64 v = (in->modrm >> 3) & 1 ? soft_alu_dec(cpu, size, cpu->gpr[r])
				     : soft_alu_inc(cpu, size, cpu->gpr[r]);

	cpu->gpr[r] = v; /* masked to 32 bits by the core for size 4 */
}

static void imul_rr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size;
	u64 r = soft_imul2(cpu, size, cpu->gpr[in->reg], cpu->gpr[in->rm]);

	cpu->gpr[in->reg] = r; /* masked by the core */
}

/* C1 (imm8), D1 (1), D3 (CL) /4 /5 /7 with a 32- or 64-bit register:
 * SHL/SHR/SAR, one handler per operation and size so that soft_shift_sh()
 * folds. A zero count leaves the flags; the 32-bit form still writes the
 * register (zero-extended), as soft_shift() does. */
static inline __attribute__((always_inline)) void shift_r(struct soft_cpu *cpu,
							  const struct soft_insn *in, unsigned op,
							  unsigned size)
{
	const u64 m = soft_size_mask(size);
	unsigned count = in->opcode == 0xd1 ? 1 : in->opcode == 0xd3 ? (unsigned)cpu->gpr[X86_RCX] : (unsigned)in->imm;
	u64 v = cpu->gpr[in->rm] & m;

	count &= size == 8 ? 63 : 31;
	cpu->gpr[in->rm] = count ? soft_shift_sh(cpu, op, size, v, count) : v;
}

#define SHIFT_R(name, op, size)                                                                    \
	static void name(struct soft_cpu *cpu, const struct soft_insn *in)                         \
	{                                                                                          \
		shift_r(cpu, in, op, size);                                                        \
	}
SHIFT_R(shl_r32, 4, 4)
SHIFT_R(shr_r32, 5, 4)
SHIFT_R(sar_r32, 7, 4)
SHIFT_R(shl_r64, 4, 8)
SHIFT_R(shr_r64, 5, 8)
SHIFT_R(sar_r64, 7, 8)

/* [wide][ModRM.reg - 4]; /6 (SAL) takes the generic path. */
static soft_handler_fn *const shift_r_fn[2][4] = {
    {shl_r32, shr_r32, NULL, sar_r32},
    {shl_r64, shr_r64, NULL, sar_r64},
};

static void movzx_rr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned ss = in->opcode & 1 ? 2 : 1;

	/* Destination 32 or 64 bits: the zero-extended value either way. */
	cpu->gpr[in->reg] = soft_reg_get(cpu, in->rm, ss, in->rex);
}

static void movsxd_rr64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[in->reg] = (u64)(s64)(s32)cpu->gpr[in->rm];
}

/* ---- stack and branches in 64-bit mode ---- */

static void push_r64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned r = (in->opcode & 7) | (in->rex & 1 ? 8 : 0);
	u64 sp = cpu->gpr[X86_RSP] - 8, v = cpu->gpr[r];
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, sp, cpu->dpriv);

	if (__builtin_expect(e->tag[SOFT_ACC_WRITE] == (sp & ~0xfffULL) && soft_in_page(sp, 8), 1))
		soft_host_store(e->host + (sp & 0xfff), 8, v);
	else
		soft_mem_write(cpu, X86_SS, sp, 8, v);
	cpu->gpr[X86_RSP] = sp;
}

static void pop_r64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned r = (in->opcode & 7) | (in->rex & 1 ? 8 : 0);
	u64 sp = cpu->gpr[X86_RSP], v;
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, sp, cpu->dpriv);

	if (__builtin_expect(e->tag[SOFT_ACC_READ] == (sp & ~0xfffULL) && soft_in_page(sp, 8), 1))
		v = soft_host_load(e->host + (sp & 0xfff), 8);
	else
		v = soft_mem_read(cpu, X86_SS, sp, 8);
	cpu->gpr[X86_RSP] = sp + 8;
	cpu->gpr[r] = v;
}

/* Jcc in 64-bit mode, one handler per condition so that soft_cond_fast()
 * folds to the one comparison it needs. */
static inline __attribute__((always_inline)) void jcc64(struct soft_cpu *cpu,
							const struct soft_insn *in, unsigned cc)
{
	if (soft_cond_fast(cpu, cc)) {
		u64 t = cpu->rip + in->imm;
		if (__builtin_expect(!soft_canonical(t), 0))
			soft_raise(cpu, EXC_GP, 0);
		cpu->rip = t;
	}
}

#define JCC64(cc)                                                                                  \
	static void jcc64_##cc(struct soft_cpu *cpu, const struct soft_insn *in)                   \
	{                                                                                          \
		jcc64(cpu, in, cc);                                                                \
	}
JCC64(0)
JCC64(1)
JCC64(2)
JCC64(3)
JCC64(4)
JCC64(5)
JCC64(6)
JCC64(7)
JCC64(8)
JCC64(9)
JCC64(10)
JCC64(11)
JCC64(12)
JCC64(13)
JCC64(14)
JCC64(15)

static soft_handler_fn *const jcc64_cc[16] = {
    jcc64_0, jcc64_1, jcc64_2,  jcc64_3,  jcc64_4,  jcc64_5,  jcc64_6,  jcc64_7,
    jcc64_8, jcc64_9, jcc64_10, jcc64_11, jcc64_12, jcc64_13, jcc64_14, jcc64_15,
};

static void cmov_rr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 v = soft_cond_fast(cpu, in->opcode & 15) ? cpu->gpr[in->rm] : cpu->gpr[in->reg];

	cpu->gpr[in->reg] = in->opsize == 8 ? v : (u32)v;
}

static void setcc_r(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_reg_set(cpu, in->rm, 1, in->rex, soft_cond_fast(cpu, in->opcode & 15));
}

/* E8 CALL rel32 and C3 RET with a 64-bit operand size: the checks and the
 * order of branch.c's call_to()/soft_op_ret() (target #GP before the stack
 * is touched; RET reads the stack first). */
static void call_rel64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 t = cpu->rip + in->imm, sp = cpu->gpr[X86_RSP] - 8;
	struct soft_tlb_entry *e;

	if (__builtin_expect(!soft_canonical(t), 0))
		soft_raise(cpu, EXC_GP, 0);
	e = soft_tlb_slot(cpu, sp, cpu->dpriv);
	if (__builtin_expect(e->tag[SOFT_ACC_WRITE] == (sp & ~0xfffULL) && soft_in_page(sp, 8), 1))
		soft_host_store(e->host + (sp & 0xfff), 8, cpu->rip);
	else
		soft_mem_write(cpu, X86_SS, sp, 8, cpu->rip);
	cpu->gpr[X86_RSP] = sp;
	cpu->rip = t;
}

static void ret64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 sp = cpu->gpr[X86_RSP], t;
	struct soft_tlb_entry *e = soft_tlb_slot(cpu, sp, cpu->dpriv);

	(void)in;
	if (__builtin_expect(e->tag[SOFT_ACC_READ] == (sp & ~0xfffULL) && soft_in_page(sp, 8), 1))
		t = soft_host_load(e->host + (sp & 0xfff), 8);
	else
		t = soft_mem_read(cpu, X86_SS, sp, 8);
	if (__builtin_expect(!soft_canonical(t), 0))
		soft_raise(cpu, EXC_GP, 0);
	cpu->gpr[X86_RSP] = sp + 8;
	cpu->rip = t;
}

/* E9/EB JMP rel with a 64-bit operand size. */
static void jmp_rel64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 t = cpu->rip + in->imm;

	if (__builtin_expect(!soft_canonical(t), 0))
		soft_raise(cpu, EXC_GP, 0);
	cpu->rip = t;
}

/* B8+r MOV r, imm and C7 /0 with a register, 32 or 64 bits. */
static void mov_ri64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned r = in->opcode == 0xc7 ? in->rm : (in->opcode & 7) | (in->rex & 1 ? 8 : 0);

	cpu->gpr[r] = in->imm;
}

static void mov_ri32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned r = in->opcode == 0xc7 ? in->rm : (in->opcode & 7) | (in->rex & 1 ? 8 : 0);

	cpu->gpr[r] = (u32)in->imm;
}

/* C6/C7 /0 MOV [mem], imm in 64-bit mode (any operand size). */
static void mov_mi(struct soft_cpu *cpu, const struct soft_insn *in)
{
	st(cpu, in, in->size, in->imm);
}

/* 0F B6/B7 MOVZX and 0F BE/BF MOVSX r32/r64, [mem] in 64-bit mode. */
static void movzx_load(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[in->reg] = ld(cpu, in, in->opcode & 1 ? 2 : 1);
}

static void movsx_load(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned ss = in->opcode & 1 ? 2 : 1;
	u64 v = (u64)soft_sext(ld(cpu, in, ss), ss);

	cpu->gpr[in->reg] = in->opsize == 8 ? v : (u32)v;
}

static void movsx_rr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned ss = in->opcode & 1 ? 2 : 1;
	u64 v = (u64)soft_sext(soft_reg_get(cpu, in->rm, ss, in->rex), ss);

	cpu->gpr[in->reg] = in->opsize == 8 ? v : (u32)v;
}

/* 84 TEST r/m8, r8 with registers; 84/85 TEST [mem], r in 64-bit mode. */
static void test_rr8(struct soft_cpu *cpu, const struct soft_insn *in)
{
	u64 d = soft_reg_get(cpu, in->rm, 1, in->rex), s = soft_reg_get(cpu, in->reg, 1, in->rex);

	soft_lazy_set(cpu, SOFT_LAZY_LOGIC, 1, d, s, d & s);
}

static void test_mr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->size;
	u64 d = ld(cpu, in, size), s = soft_reg_get(cpu, in->reg, size, in->rex);

	soft_lazy_set(cpu, SOFT_LAZY_LOGIC, size, d, s, d & s);
}

/* ---- binding ---- */

static soft_handler_fn *const alu_rr64[8] = {add_rr64, or_rr64,  adcsbb_rr, adcsbb_rr,
					     and_rr64, sub_rr64, xor_rr64,  cmp_rr64};
static soft_handler_fn *const alu_rr32[8] = {add_rr32, or_rr32,  adcsbb_rr, adcsbb_rr,
					     and_rr32, sub_rr32, xor_rr32,  cmp_rr32};
static soft_handler_fn *const alu_ri64[8] = {add_ri64, or_ri64,  NULL,     NULL,
					     and_ri64, sub_ri64, xor_ri64, cmp_ri64};
static soft_handler_fn *const alu_ri32[8] = {add_ri32, or_ri32,  NULL,     NULL,
					     and_ri32, sub_ri32, xor_ri32, cmp_ri32};
static soft_handler_fn *const alu_rm64[8] = {add_rm64, or_rm64,  NULL,     NULL,
					     and_rm64, sub_rm64, xor_rm64, cmp_rm64};
static soft_handler_fn *const alu_rm32[8] = {add_rm32, or_rm32,  NULL,     NULL,
					     and_rm32, sub_rm32, xor_rm32, cmp_rm32};

/* A specialized handler for in, or NULL. code64: decoded as 64-bit code
 * (the fast memory forms assume 64-bit mode, where no segment limits exist). */
static soft_handler_fn *fast_pick(const struct soft_insn *in, bool code64)
{
	const bool wide = in->size == 8, dword = in->size == 4, reg = in->has_modrm && !in->mem;
	const bool m64 = code64 && in->mem && in->addrsize == 8 && !in->lock;
	const unsigned op = in->opcode, regf = (in->modrm >> 3) & 7;

	if (in->map == SOFT_MAP_1B) {
		if (op < 0x40 && ((op & 7) == 1 || (op & 7) == 3)) {
			/* 01 03 09 0B ...: Ev,Gv / Gv,Ev of 32 or 64 bits */
			if (reg && (wide || dword))
				return (wide ? alu_rr64 : alu_rr32)[(op >> 3) & 7];
			if (m64 && (op & 2) && (wide || dword))
				return (wide ? alu_rm64 : alu_rm32)[(op >> 3) & 7];
			if (m64 && op == 0x39 && (wide || dword))
				return wide ? cmp_mr64 : cmp_mr32;
			return NULL;
		}
		switch (op) {
		case 0x81:
		case 0x83:
			if (reg && (wide || dword))
				return (wide ? alu_ri64 : alu_ri32)[regf];
			if (m64 && regf == 7 && (wide || dword))
				return wide ? cmp_mi64 : cmp_mi32;
			return NULL;
		case 0x84:
			if (reg)
				return test_rr8;
			return m64 ? test_mr : NULL;
		case 0x85:
			if (reg && (wide || dword))
				return wide ? test_rr64 : test_rr32;
			return m64 && (wide || dword) ? test_mr : NULL;
		case 0xb8 ... 0xbf:
			if (wide || dword)
				return wide ? mov_ri64 : mov_ri32;
			return NULL;
		case 0xc6:
		case 0xc7:
			if (regf != 0)
				return NULL;
			if (op == 0xc7 && reg && (wide || dword))
				return wide ? mov_ri64 : mov_ri32;
			return m64 ? mov_mi : NULL;
		case 0xe8:
			return code64 && in->opsize == 8 ? call_rel64 : NULL;
		case 0xe9:
		case 0xeb:
			return code64 && in->opsize == 8 ? jmp_rel64 : NULL;
		case 0xc3:
			return code64 && in->opsize == 8 ? ret64 : NULL;
		case 0x89:
		case 0x8b:
			if (reg && (wide || dword))
				return wide ? mov_rr64 : mov_rr32;
			if (m64 && (wide || dword))
				return mov_k[ea_kind(in)][(op == 0x8b ? 0 : 2) + wide];
			return NULL;
		case 0x8d:
			/* LEA's operand ignores the segment; the result is the
			 * offset truncated to the operand size (SDM Vol. 2A LEA). */
			if (!code64 || !(wide || dword))
				return NULL;
			return mov_k[ea_kind_addr(in)][wide ? 4 : 5];
		case 0x50 ... 0x57:
			return code64 && in->opsize == 8 ? push_r64 : NULL;
		case 0x58 ... 0x5f:
			return code64 && in->opsize == 8 ? pop_r64 : NULL;
		case 0x63:
			return code64 && reg && wide ? movsxd_rr64 : NULL;
		case 0x70 ... 0x7f:
			return code64 ? jcc64_cc[op & 15] : NULL;
		case 0xc1:
		case 0xd1:
		case 0xd3:
			if (reg && (wide || dword) && (regf == 4 || regf == 5 || regf == 7))
				return shift_r_fn[wide][regf - 4];
			return NULL;
		case 0xff:
			return reg && (wide || dword) && regf < 2 ? incdec_r : NULL;
		}
		return NULL;
	}
	if (in->map != SOFT_MAP_0F)
		return NULL;
	switch (op) {
	case 0x40 ... 0x4f:
		return reg && (wide || dword) ? cmov_rr : NULL;
	case 0x80 ... 0x8f:
		return code64 ? jcc64_cc[op & 15] : NULL;
	case 0x90 ... 0x9f:
		return reg ? setcc_r : NULL;
	case 0xaf:
		return reg && (wide || dword) ? imul_rr : NULL;
	case 0xb6:
	case 0xb7:
		if (wide || dword)
			return reg ? movzx_rr : m64 ? movzx_load : NULL;
		return NULL;
	case 0xbe:
	case 0xbf:
		if (wide || dword)
			return reg ? movsx_rr : m64 ? movsx_load : NULL;
		return NULL;
	}
	return NULL;
}

void soft_fast_bind(struct soft_insn *in, unsigned code_size)
{
	soft_handler_fn *fn = fast_pick(in, code_size == 8);

	if (fn)
		in->exec = fn;
}
